//! `LimitExec`: per partition, skips the first `skip` rows and passes at most `fetch` rows,
//! slicing batches at the boundaries and pulling no more input once the limit is reached.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Skips `skip` rows, then passes `fetch` rows (all remaining when `None`), per partition.
#[derive(Debug)]
pub struct LimitExec {
    input: PlanRef,
    skip: usize,
    fetch: Option<usize>,
}

impl LimitExec {
    /// A limit over `input`.
    pub fn new(input: PlanRef, skip: usize, fetch: Option<usize>) -> Self {
        Self { input, skip, fetch }
    }

    /// Rows skipped at the start of each partition.
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// Rows passed after the skipped ones (`None`: all).
    pub fn fetch(&self) -> Option<usize> {
        self.fetch
    }
}

impl ExecutionPlan for LimitExec {
    fn name(&self) -> &'static str {
        "Limit"
    }

    fn details(&self) -> String {
        match self.fetch {
            Some(fetch) => format!("skip={}, fetch={fetch}", self.skip),
            None => format!("skip={}, fetch=all", self.skip),
        }
    }

    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [input]: [PlanRef; 1] = children
            .try_into()
            .map_err(|c: Vec<PlanRef>| Error::internal(format!("Limit takes 1 child, got {}", c.len())))?;
        Ok(Arc::new(LimitExec::new(input, self.skip, self.fetch)))
    }

    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        if self.fetch == Some(0) {
            return Ok(Box::new(std::iter::empty()));
        }
        let input = execute_measured(&self.input, partition, ctx)?;
        Ok(Box::new(LimitStream {
            input,
            ctx: ctx.clone(),
            to_skip: self.skip,
            remaining: self.fetch,
            done: false,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The stream of one partition of a [`LimitExec`].
struct LimitStream {
    input: BatchStream,
    ctx: TaskContext,
    to_skip: usize,
    remaining: Option<usize>,
    done: bool,
}

impl LimitStream {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.remaining == Some(0) {
                return Ok(None);
            }
            self.ctx.check_cancelled()?;
            let Some(batch) = self.input.next().transpose()? else {
                return Ok(None);
            };
            let rows = batch.num_rows();
            if self.to_skip >= rows {
                self.to_skip -= rows;
                continue;
            }
            let start = self.to_skip;
            self.to_skip = 0;
            let available = rows - start;
            let take = match self.remaining {
                Some(r) => r.min(available),
                None => available,
            };
            if let Some(r) = self.remaining.as_mut() {
                *r -= take;
            }
            if take == 0 {
                continue;
            }
            return Ok(Some(if start == 0 && take == rows {
                batch
            } else {
                batch.slice(start, take)
            }));
        }
    }
}

impl Iterator for LimitStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
        }
        out
    }
}

/// Test-only helpers shared by the operator tests of this directory: an in-memory source
/// and a task context.
#[cfg(test)]
pub(crate) mod testing {
    use std::any::Any;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use arrow::datatypes::SchemaRef;
    use arrow::record_batch::RecordBatch;

    use crate::error::Result;
    use crate::exec::task::{ExecConfig, TaskContext};
    use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

    /// An in-memory source: `parts[partition][run]` is a list of batches. With `broadcast`,
    /// every partition returns partition 0 and `output_partitions` is `None`. Counts the
    /// batches handed out (to check that operators stop pulling).
    #[derive(Debug)]
    pub(crate) struct TestScan {
        pub schema: SchemaRef,
        pub parts: Vec<Vec<Vec<RecordBatch>>>,
        pub broadcast: bool,
        pub pulled: Arc<AtomicUsize>,
        pub executions: Arc<AtomicUsize>,
    }

    impl TestScan {
        /// One run per partition.
        pub fn new(schema: SchemaRef, parts: Vec<Vec<RecordBatch>>) -> Arc<Self> {
            Self::with_runs(schema, parts.into_iter().map(|p| vec![p]).collect())
        }

        /// Explicit runs per partition.
        pub fn with_runs(schema: SchemaRef, parts: Vec<Vec<Vec<RecordBatch>>>) -> Arc<Self> {
            Arc::new(Self {
                schema,
                parts,
                broadcast: false,
                pulled: Arc::new(AtomicUsize::new(0)),
                executions: Arc::new(AtomicUsize::new(0)),
            })
        }

        /// A broadcast source: every partition sees `batches`.
        pub fn broadcast(schema: SchemaRef, batches: Vec<RecordBatch>) -> Arc<Self> {
            Arc::new(Self {
                schema,
                parts: vec![vec![batches]],
                broadcast: true,
                pulled: Arc::new(AtomicUsize::new(0)),
                executions: Arc::new(AtomicUsize::new(0)),
            })
        }

        fn runs_of(&self, partition: usize) -> Vec<Vec<RecordBatch>> {
            let p = if self.broadcast { 0 } else { partition };
            self.parts.get(p).cloned().unwrap_or_default()
        }

        fn stream(&self, batches: Vec<RecordBatch>) -> BatchStream {
            let pulled = Arc::clone(&self.pulled);
            Box::new(batches.into_iter().map(move |b| {
                pulled.fetch_add(1, Ordering::SeqCst);
                Ok(b)
            }))
        }
    }

    impl ExecutionPlan for TestScan {
        fn name(&self) -> &'static str {
            "TestScan"
        }
        fn schema(&self) -> SchemaRef {
            Arc::clone(&self.schema)
        }
        fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
            vec![]
        }
        fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
            Ok(self)
        }
        fn output_partitions(&self) -> Option<usize> {
            if self.broadcast {
                None
            } else {
                Some(self.parts.len())
            }
        }
        fn execute(&self, partition: usize, _ctx: &TaskContext) -> Result<BatchStream> {
            self.executions.fetch_add(1, Ordering::SeqCst);
            Ok(self.stream(self.runs_of(partition).into_iter().flatten().collect()))
        }
        fn execute_runs(&self, partition: usize, _ctx: &TaskContext) -> Result<Vec<BatchStream>> {
            self.executions.fetch_add(1, Ordering::SeqCst);
            Ok(self.runs_of(partition).into_iter().map(|r| self.stream(r)).collect())
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    /// A task context with the default configuration and a 1 GiB pool.
    pub(crate) fn task_ctx() -> TaskContext {
        task_ctx_with(8192, 1 << 30)
    }

    /// A task context with the given batch size and memory limit.
    pub(crate) fn task_ctx_with(batch_size: usize, memory: usize) -> TaskContext {
        let config = ExecConfig {
            batch_size,
            ..ExecConfig::default()
        };
        TaskContext::standalone(config, memory)
    }

    /// Runs `plan` on `partition` and collects its batches.
    pub(crate) fn collect(plan: &PlanRef, partition: usize, ctx: &TaskContext) -> Vec<RecordBatch> {
        plan.execute(partition, ctx)
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::testing::{collect, task_ctx, TestScan};
    use super::*;

    fn batch(schema: &SchemaRef, values: std::ops::Range<i64>) -> RecordBatch {
        RecordBatch::try_new(Arc::clone(schema), vec![Arc::new(Int64Array::from_iter_values(values))]).unwrap()
    }

    fn values(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    fn source() -> Arc<TestScan> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let p0 = vec![
            batch(&schema, 0..4),
            batch(&schema, 4..8),
            batch(&schema, 8..12),
            batch(&schema, 12..16),
        ];
        let p1 = vec![batch(&schema, 100..103)];
        TestScan::new(schema, vec![p0, p1])
    }

    #[test]
    fn skips_and_fetches_across_batch_boundaries() {
        let scan = source();
        let pulled = Arc::clone(&scan.pulled);
        let plan: PlanRef = Arc::new(LimitExec::new(scan, 3, Some(6)));
        let out = collect(&plan, 0, &task_ctx());
        assert_eq!(values(&out), vec![3, 4, 5, 6, 7, 8]);
        assert!(out.iter().all(|b| b.num_rows() > 0));
        // Stops after the third batch: the fourth is never pulled.
        assert_eq!(pulled.load(Ordering::SeqCst), 3);
        assert_eq!(plan.details(), "skip=3, fetch=6");
        assert_eq!(plan.output_partitions(), Some(2));
    }

    #[test]
    fn skip_only_and_limits_per_partition() {
        let plan: PlanRef = Arc::new(LimitExec::new(source(), 14, None));
        assert_eq!(values(&collect(&plan, 0, &task_ctx())), vec![14, 15]);
        let plan: PlanRef = Arc::new(LimitExec::new(source(), 0, Some(2)));
        assert_eq!(values(&collect(&plan, 1, &task_ctx())), vec![100, 101]);
        let plan: PlanRef = Arc::new(LimitExec::new(source(), 5, Some(100)));
        assert_eq!(values(&collect(&plan, 1, &task_ctx())), Vec::<i64>::new());
    }

    #[test]
    fn fetch_zero_pulls_nothing() {
        let scan = source();
        let pulled = Arc::clone(&scan.pulled);
        let plan: PlanRef = Arc::new(LimitExec::new(scan, 0, Some(0)));
        assert!(collect(&plan, 0, &task_ctx()).is_empty());
        assert_eq!(pulled.load(Ordering::SeqCst), 0);
    }
}
