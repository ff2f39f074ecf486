//! `ValuesExec`: literal rows (`VALUES …`, `SELECT` without FROM), in one partition.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::exec::task::TaskContext;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Produces a fixed batch.
#[derive(Debug)]
pub struct ValuesExec {
    batch: RecordBatch,
}

impl ValuesExec {
    /// Produces `batch`.
    pub fn new(batch: RecordBatch) -> Self {
        Self { batch }
    }
}

impl ExecutionPlan for ValuesExec {
    fn name(&self) -> &'static str {
        "Values"
    }
    fn details(&self) -> String {
        format!("rows={}", self.batch.num_rows())
    }
    fn schema(&self) -> SchemaRef {
        self.batch.schema()
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![]
    }
    fn with_new_children(self: Arc<Self>, _children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(self)
    }
    fn output_partitions(&self) -> Option<usize> {
        Some(1)
    }
    fn execute(&self, _partition: usize, _ctx: &TaskContext) -> Result<BatchStream> {
        Ok(Box::new(std::iter::once(Ok(self.batch.clone()))))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
