//! `SortPreservingMergeExec`: the final k-way merge of sorted runs into one sorted
//! partition. The runs come from `execute_runs` of the input (one per map task of a sorted
//! shuffle, possibly spilled); each is streamed batch by batch through the shared bounded
//! merge of `sort::merge` (one batch per run in memory, merge passes on disk when even that
//! does not fit).

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::ops::sort::merge::{merge_runs, MergeSpec};
use crate::physical::ops::sort::{describe_sort, sort_fields, PhysSortExpr};
use crate::physical::plan::execute_runs_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Merges the sorted runs of its input's partition 0 into one sorted partition.
#[derive(Debug)]
pub struct SortPreservingMergeExec {
    input: PlanRef,
    exprs: Arc<[PhysSortExpr]>,
    fetch: Option<usize>,
}

impl SortPreservingMergeExec {
    /// A merge of `input`'s runs, each sorted by `exprs`, stopping after `fetch` rows.
    pub fn try_new(input: PlanRef, exprs: Vec<PhysSortExpr>, fetch: Option<usize>) -> Result<Self> {
        sort_fields(&exprs, &input.schema())?;
        Ok(Self {
            input,
            exprs: exprs.into(),
            fetch,
        })
    }

    /// The sort keys the runs are ordered by.
    pub fn exprs(&self) -> &[PhysSortExpr] {
        &self.exprs
    }

    /// Rows produced at most (`None`: all).
    pub fn fetch(&self) -> Option<usize> {
        self.fetch
    }
}

impl ExecutionPlan for SortPreservingMergeExec {
    fn name(&self) -> &'static str {
        "SortPreservingMerge"
    }

    fn details(&self) -> String {
        describe_sort(&self.exprs, self.fetch)
    }

    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [input]: [PlanRef; 1] = children.try_into().map_err(|c: Vec<PlanRef>| {
            Error::internal(format!("SortPreservingMerge takes 1 child, got {}", c.len()))
        })?;
        Ok(Arc::new(SortPreservingMergeExec::try_new(
            input,
            self.exprs.to_vec(),
            self.fetch,
        )?))
    }

    fn output_partitions(&self) -> Option<usize> {
        Some(1)
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        if partition != 0 {
            return Err(Error::internal(format!(
                "SortPreservingMerge has one partition, asked for partition {partition}"
            )));
        }
        if self.fetch == Some(0) {
            return Ok(Box::new(std::iter::empty()));
        }
        let runs = execute_runs_measured(&self.input, 0, ctx)?;
        let spec = MergeSpec {
            exprs: Arc::clone(&self.exprs),
            schema: self.input.schema(),
            fetch: self.fetch,
            consumer: "SortPreservingMerge".into(),
            spill_label: ctx.spill_label("SortPreservingMerge"),
        };
        Ok(merge_runs(runs, spec, ctx))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering as AtomicOrdering;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    use super::super::limit::testing::{collect, task_ctx_with, TestScan};
    use super::*;
    use crate::physical::expr::PhysicalExpr;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("tag", DataType::Utf8, false),
        ]))
    }

    fn batch(k: Vec<Option<i64>>, tag: &str) -> RecordBatch {
        let tags = vec![tag; k.len()];
        RecordBatch::try_new(
            schema(),
            vec![Arc::new(Int64Array::from(k)), Arc::new(StringArray::from(tags))],
        )
        .unwrap()
    }

    fn rows(batches: &[RecordBatch]) -> Vec<(Option<i64>, String)> {
        batches
            .iter()
            .flat_map(|b| {
                let k = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().clone();
                let t = b.column(1).as_any().downcast_ref::<StringArray>().unwrap().clone();
                (0..b.num_rows()).map(move |i| (k.iter().nth(i).flatten(), t.value(i).to_string()))
            })
            .collect()
    }

    /// Three runs sorted by k DESC NULLS FIRST.
    fn source() -> Arc<TestScan> {
        let run_a = vec![
            batch(vec![None, Some(9), Some(5)], "a"),
            batch(vec![Some(5), Some(1)], "a"),
        ];
        let run_b = vec![
            batch(vec![], "b"),
            batch(vec![Some(8), Some(5)], "b"),
            batch(vec![Some(0)], "b"),
        ];
        let run_c = vec![batch(vec![None, Some(7), Some(6), Some(2)], "c")];
        TestScan::with_runs(schema(), vec![vec![run_a, run_b, run_c]])
    }

    fn key() -> Vec<PhysSortExpr> {
        vec![PhysSortExpr::new(PhysicalExpr::column(0, "k"), true, true)]
    }

    fn r(k: Option<i64>, tag: &str) -> (Option<i64>, String) {
        (k, tag.to_string())
    }

    #[test]
    fn merges_three_runs_in_order_with_ties_by_run() {
        let plan: PlanRef = Arc::new(SortPreservingMergeExec::try_new(source(), key(), None).unwrap());
        let ctx = task_ctx_with(4, 1 << 30);
        let out = collect(&plan, 0, &ctx);
        assert_eq!(out.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), vec![4, 4, 4]);
        assert_eq!(
            rows(&out),
            vec![
                r(None, "a"),
                r(None, "c"),
                r(Some(9), "a"),
                r(Some(8), "b"),
                r(Some(7), "c"),
                r(Some(6), "c"),
                r(Some(5), "a"),
                r(Some(5), "a"),
                r(Some(5), "b"),
                r(Some(2), "c"),
                r(Some(1), "a"),
                r(Some(0), "b"),
            ]
        );
        assert_eq!(plan.output_partitions(), Some(1));
        assert_eq!(plan.details(), "[k DESC NULLS FIRST]");
        assert_eq!(ctx.memory().used(), 0);
    }

    #[test]
    fn stops_after_fetch_without_reading_the_rest() {
        let scan = source();
        let pulled = Arc::clone(&scan.pulled);
        let plan: PlanRef = Arc::new(SortPreservingMergeExec::try_new(scan, key(), Some(5)).unwrap());
        let out = collect(&plan, 0, &task_ctx_with(3, 1 << 30));
        assert_eq!(out.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), vec![3, 2]);
        assert_eq!(
            rows(&out),
            vec![
                r(None, "a"),
                r(None, "c"),
                r(Some(9), "a"),
                r(Some(8), "b"),
                r(Some(7), "c")
            ]
        );
        // First batch of each run (run b: the empty one and the next), never run a's second
        // or run b's third batch.
        assert_eq!(pulled.load(AtomicOrdering::SeqCst), 4);
        assert_eq!(plan.details(), "[k DESC NULLS FIRST], fetch=5");
    }

    #[test]
    fn only_partition_zero_exists() {
        let plan: PlanRef = Arc::new(SortPreservingMergeExec::try_new(source(), key(), None).unwrap());
        assert!(plan.execute(1, &task_ctx_with(4, 1 << 30)).is_err());
    }
}
