//! `WriteExec`: the root of a directory COPY's result stage (PARTITION_BY,
//! PER_THREAD_OUTPUT). Each task writes its own partition of the input into its own files
//! (see [`crate::copy_to::partitioned`]) and produces one row: how many rows it wrote.

use std::any::Any;
use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::copy_to::partitioned::WriteTarget;
use crate::error::Result;
use crate::exec::task::TaskContext;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Writes its input into files, one set per task.
#[derive(Debug)]
pub struct WriteExec {
    input: PlanRef,
    target: Arc<WriteTarget>,
    schema: SchemaRef,
}

impl WriteExec {
    /// Writes `input` as `target` says.
    pub fn new(input: PlanRef, target: Arc<WriteTarget>) -> Self {
        let schema = Arc::new(Schema::new(vec![Field::new("Count", DataType::Int64, false)]));
        Self { input, target, schema }
    }
}

impl ExecutionPlan for WriteExec {
    fn name(&self) -> &'static str {
        "Write"
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(WriteExec::new(children.remove(0), Arc::clone(&self.target))))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = self.input.execute(partition, ctx)?;
        let rows = self.target.write_task(input, ctx)?;
        let batch = RecordBatch::try_new(
            Arc::clone(&self.schema),
            vec![Arc::new(Int64Array::from(vec![rows as i64]))],
        )?;
        Ok(Box::new(std::iter::once(Ok(batch))))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
