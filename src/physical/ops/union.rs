//! `UnionExec`: UNION ALL; its partitions are its inputs' partitions one after another.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::plan::execute_measured;
use crate::physical::plan::{stage_partitions, BatchStream, ExecutionPlan, PlanRef};

/// Concatenates inputs.
#[derive(Debug)]
pub struct UnionExec {
    inputs: Vec<PlanRef>,
    schema: SchemaRef,
}

impl UnionExec {
    /// UNION ALL of `inputs`, producing `schema` (inputs have the same column types).
    pub fn new(inputs: Vec<PlanRef>, schema: SchemaRef) -> Self {
        Self { inputs, schema }
    }
}

impl ExecutionPlan for UnionExec {
    fn name(&self) -> &'static str {
        "Union"
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        self.inputs.iter().collect()
    }
    fn with_new_children(self: Arc<Self>, children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(UnionExec::new(children, Arc::clone(&self.schema))))
    }
    fn output_partitions(&self) -> Option<usize> {
        Some(self.inputs.iter().map(stage_partitions).sum())
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let mut p = partition;
        for input in &self.inputs {
            let n = stage_partitions(input);
            if p < n {
                let schema = Arc::clone(&self.schema);
                let stream = execute_measured(input, p, ctx)?;
                return Ok(Box::new(stream.map(move |b| {
                    let b = b?;
                    // Untyped NULL columns take the union's column type.
                    let columns = b
                        .columns()
                        .iter()
                        .zip(schema.fields())
                        .map(|(c, f)| {
                            if c.data_type() == f.data_type() {
                                Ok(Arc::clone(c))
                            } else {
                                Ok(arrow::compute::cast(c, f.data_type())?)
                            }
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok(RecordBatch::try_new_with_options(
                        Arc::clone(&schema),
                        columns,
                        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
                    )?)
                })));
            }
            p -= n;
        }
        Err(Error::internal(format!("union has no partition {partition}")))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
