//! `FilterExec`: keeps the rows where a predicate is true (NULL counts as false).

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Filters its input.
#[derive(Debug)]
pub struct FilterExec {
    input: PlanRef,
    predicate: PhysExprRef,
}

impl FilterExec {
    /// Keeps rows of `input` where `predicate` holds.
    pub fn new(input: PlanRef, predicate: PhysExprRef) -> Self {
        Self { input, predicate }
    }
}

/// Applies `predicate` to `batch`.
pub fn filter_batch(batch: &RecordBatch, predicate: &PhysExprRef) -> Result<RecordBatch> {
    let mask = predicate.evaluate(batch)?;
    let mask = mask
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::internal("filter predicate is not boolean"))?;
    if mask.null_count() == 0 && mask.true_count() == mask.len() {
        return Ok(batch.clone());
    }
    let mask = crate::physical::expr::null_as_false(mask);
    Ok(filter_record_batch(batch, &mask)?)
}

impl ExecutionPlan for FilterExec {
    fn name(&self) -> &'static str {
        "Filter"
    }
    fn details(&self) -> String {
        self.predicate.to_string()
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(FilterExec::new(
            children.remove(0),
            Arc::clone(&self.predicate),
        )))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        let predicate = Arc::clone(&self.predicate);
        Ok(Box::new(
            input
                .map(move |b| b.and_then(|b| filter_batch(&b, &predicate)))
                .filter(|b| !matches!(b, Ok(b) if b.num_rows() == 0)),
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
