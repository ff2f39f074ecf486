//! `ReplicateExec`: emits each input row as many times as a BIGINT count expression says
//! (NULL or negative: not at all). INTERSECT ALL and EXCEPT ALL end in this after counting
//! each distinct row's occurrences on both sides.

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, UInt32Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Most rows put in one output batch.
const OUTPUT_BATCH_ROWS: usize = 8192;

/// Repeats rows.
#[derive(Debug)]
pub struct ReplicateExec {
    input: PlanRef,
    count: PhysExprRef,
}

impl ReplicateExec {
    /// Repeats each row of `input` `count` times.
    pub fn new(input: PlanRef, count: PhysExprRef) -> Self {
        Self { input, count }
    }
}

/// The output batches for one input batch: row indices repeated, cut into batches of at most
/// [`OUTPUT_BATCH_ROWS`] rows.
fn replicate_batch(batch: &RecordBatch, count: &PhysExprRef) -> Result<Vec<RecordBatch>> {
    let counts = count.evaluate(batch)?;
    let counts = counts
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| Error::internal("replicate count is not BIGINT"))?;
    let mut out = Vec::new();
    let mut indices: Vec<u32> = Vec::with_capacity(batch.num_rows());
    for (row, n) in counts.iter().enumerate() {
        let mut n = n.unwrap_or(0).max(0);
        while n > 0 {
            let room = (OUTPUT_BATCH_ROWS - indices.len()) as i64;
            let k = n.min(room);
            indices.extend(std::iter::repeat_n(row as u32, k as usize));
            n -= k;
            if indices.len() == OUTPUT_BATCH_ROWS {
                out.push(crate::physical::rows::take_rows(
                    batch,
                    &UInt32Array::from(std::mem::take(&mut indices)),
                )?);
            }
        }
    }
    if !indices.is_empty() {
        out.push(crate::physical::rows::take_rows(batch, &UInt32Array::from(indices))?);
    }
    Ok(out)
}

impl ExecutionPlan for ReplicateExec {
    fn name(&self) -> &'static str {
        "Replicate"
    }
    fn details(&self) -> String {
        format!("count={}", self.count)
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(ReplicateExec::new(
            children.remove(0),
            Arc::clone(&self.count),
        )))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        let count = Arc::clone(&self.count);
        Ok(Box::new(input.flat_map(move |b| {
            let batches = b.and_then(|b| replicate_batch(&b, &count));
            match batches {
                Ok(v) => v.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }
        })))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
