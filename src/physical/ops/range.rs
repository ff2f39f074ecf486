//! `RangeExec`: the `range(…)` / `generate_series(…)` table functions. The values
//! `start, start + step, …` (`count` of them) are split into contiguous runs, one per
//! partition, and each partition makes its batches lazily as they are pulled.

use std::any::Any;
use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::exec::task::TaskContext;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Fewest values worth a partition of their own.
const MIN_PARTITION_ROWS: u64 = 1 << 16;

/// Generates an arithmetic series of BIGINTs.
#[derive(Debug)]
pub struct RangeExec {
    start: i64,
    step: i64,
    count: u64,
    partitions: usize,
    batch_size: usize,
    schema: SchemaRef,
}

impl RangeExec {
    /// `count` values from `start` by `step`, in up to `max_partitions` partitions of
    /// batches of `batch_size` rows; `schema` has one BIGINT column.
    pub fn new(start: i64, step: i64, count: u64, max_partitions: usize, batch_size: usize, schema: SchemaRef) -> Self {
        let wanted = count.div_ceil(MIN_PARTITION_ROWS).max(1);
        let partitions = wanted.min(max_partitions.max(1) as u64) as usize;
        Self {
            start,
            step,
            count,
            partitions,
            batch_size: batch_size.max(1),
            schema,
        }
    }

    /// The index range `[from, to)` of values partition `p` produces.
    fn bounds(&self, p: usize) -> (u64, u64) {
        let n = self.partitions as u64;
        let per = self.count / n;
        let extra = self.count % n;
        let p = p as u64;
        let from = p * per + p.min(extra);
        let len = per + u64::from(p < extra);
        (from, from + len)
    }
}

impl ExecutionPlan for RangeExec {
    fn name(&self) -> &'static str {
        "Range"
    }
    fn details(&self) -> String {
        format!("start={}, step={}, count={}", self.start, self.step, self.count)
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![]
    }
    fn with_new_children(self: Arc<Self>, _children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(self)
    }
    fn output_partitions(&self) -> Option<usize> {
        Some(self.partitions)
    }
    fn execute(&self, partition: usize, _ctx: &TaskContext) -> Result<BatchStream> {
        let (from, to) = self.bounds(partition);
        let (start, step, batch) = (self.start, self.step, self.batch_size as u64);
        let schema = Arc::clone(&self.schema);
        let chunks = (from..to).step_by(batch as usize).map(move |lo| {
            let hi = (lo + batch).min(to);
            // Values stay within [start, last], which is known to fit in i64.
            let first = (start as i128 + lo as i128 * step as i128) as i64;
            let values: Int64Array = (0..(hi - lo) as i64)
                .map(|i| first.wrapping_add(i.wrapping_mul(step)))
                .collect::<Vec<i64>>()
                .into();
            Ok(RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)])?)
        });
        Ok(Box::new(chunks))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
