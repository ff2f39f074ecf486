//! `SortExec`: sorts each partition by a list of sort expressions. The partition is buffered
//! (with a memory reservation), only the sort keys are concatenated and sorted (as packed
//! integers when they are fixed-width, see [`packed_keys`], else with
//! `lexsort_to_indices`), and the output is gathered with `interleave` in `batch_size` chunks.
//! When the pool refuses more memory the sort goes external (`external.rs`: sorted runs on
//! disk, then the bounded k-way merge of `merge.rs`, shared with `SortPreservingMergeExec`).
//! With a `fetch` (top-k), memory stays bounded: each batch is cut to its best `fetch` rows
//! and the kept rows are re-compacted to `fetch` whenever they exceed `2 × fetch`.

mod external;
pub(crate) mod merge;
pub(crate) mod packed_keys;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::{concat_batches, SortColumn, SortOptions};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::SortField;

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::task::TaskContext;
use crate::physical::expr::{PhysExprRef, PhysicalExpr};
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};
use crate::physical::rows::{interleave_rows, take_rows};

use external::{ExternalSorter, Sorted};

/// One sort key: an expression and its direction.
#[derive(Debug, Clone)]
pub struct PhysSortExpr {
    /// The value sorted on, over the input schema.
    pub expr: PhysExprRef,
    /// Largest first.
    pub descending: bool,
    /// NULLs before all values (otherwise after).
    pub nulls_first: bool,
}

impl PhysSortExpr {
    /// A sort key.
    pub fn new(expr: PhysExprRef, descending: bool, nulls_first: bool) -> Self {
        Self {
            expr,
            descending,
            nulls_first,
        }
    }

    /// The Arrow sort options of this key.
    pub fn options(&self) -> SortOptions {
        SortOptions {
            descending: self.descending,
            nulls_first: self.nulls_first,
        }
    }
}

impl fmt::Display for PhysSortExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            expr_label(&self.expr),
            if self.descending { "DESC" } else { "ASC" },
            if self.nulls_first { "NULLS FIRST" } else { "NULLS LAST" }
        )
    }
}

/// A short label for an expression in EXPLAIN output: a column's name, else the
/// expression's own display.
pub(crate) fn expr_label(expr: &PhysicalExpr) -> String {
    match expr {
        PhysicalExpr::Column { name, .. } => name.clone(),
        other => other.to_string(),
    }
}

/// EXPLAIN details shared by the sort and the merge: `[keys], fetch=n`.
pub(crate) fn describe_sort(exprs: &[PhysSortExpr], fetch: Option<usize>) -> String {
    let keys: Vec<String> = exprs.iter().map(|e| e.to_string()).collect();
    match fetch {
        Some(fetch) => format!("[{}], fetch={fetch}", keys.join(", ")),
        None => format!("[{}]", keys.join(", ")),
    }
}

/// Checks that every key evaluates over `schema` and returns the row-format fields of the
/// keys (used by the merge).
pub(crate) fn sort_fields(exprs: &[PhysSortExpr], schema: &Schema) -> Result<Vec<SortField>> {
    if exprs.is_empty() {
        return Err(Error::internal("a sort needs at least one sort expression"));
    }
    exprs
        .iter()
        .map(|e| Ok(SortField::new_with_options(e.expr.data_type(schema)?, e.options())))
        .collect()
}

/// The memory `batch` holds for its rows: the sliced part of its buffers (a slice of a larger
/// batch is not charged for all of it, `get_array_memory_size` would be), at most the whole.
pub(crate) fn batch_memory(batch: &RecordBatch) -> usize {
    batch.columns().iter().map(|c| array_memory(c.as_ref())).sum()
}

/// See [`batch_memory`], for one array.
pub(crate) fn array_memory(array: &dyn arrow::array::Array) -> usize {
    let whole = array.get_array_memory_size();
    array.to_data().get_slice_memory_size().map_or(whole, |s| s.min(whole))
}

/// Evaluates the sort keys on `batch`.
pub(crate) fn sort_keys(exprs: &[PhysSortExpr], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    // DuckDB sorts -0.0 as 0.0 (ties broken by the next key).
    exprs
        .iter()
        .map(|e| Ok(crate::physical::float_zero::canonical(&e.expr.evaluate(batch)?)))
        .collect()
}

/// Sorts `batch` by `exprs`, keeping the first `limit` rows when given.
pub(crate) fn sort_batch(batch: &RecordBatch, exprs: &[PhysSortExpr], limit: Option<usize>) -> Result<RecordBatch> {
    let keys = sort_keys(exprs, batch)?;
    let indices = packed_keys::sort_to_indices(&sort_columns(exprs, keys), limit)?;
    take_rows(batch, &indices)
}

pub(crate) fn sort_columns(exprs: &[PhysSortExpr], keys: Vec<ArrayRef>) -> Vec<SortColumn> {
    exprs
        .iter()
        .zip(keys)
        .map(|(e, values)| SortColumn {
            values,
            options: Some(e.options()),
        })
        .collect()
}

/// Sorts each partition of its input.
#[derive(Debug)]
pub struct SortExec {
    input: PlanRef,
    exprs: Arc<[PhysSortExpr]>,
    fetch: Option<usize>,
}

impl SortExec {
    /// A sort of `input` by `exprs` (at least one), keeping the first `fetch` rows per
    /// partition when given.
    pub fn try_new(input: PlanRef, exprs: Vec<PhysSortExpr>, fetch: Option<usize>) -> Result<Self> {
        sort_fields(&exprs, &input.schema())?;
        Ok(Self {
            input,
            exprs: exprs.into(),
            fetch,
        })
    }

    /// The sort keys.
    pub fn exprs(&self) -> &[PhysSortExpr] {
        &self.exprs
    }

    /// Rows kept per partition (`None`: all).
    pub fn fetch(&self) -> Option<usize> {
        self.fetch
    }
}

impl ExecutionPlan for SortExec {
    fn name(&self) -> &'static str {
        "Sort"
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
        let [input]: [PlanRef; 1] = children
            .try_into()
            .map_err(|c: Vec<PlanRef>| Error::internal(format!("Sort takes 1 child, got {}", c.len())))?;
        Ok(Arc::new(SortExec::try_new(input, self.exprs.to_vec(), self.fetch)?))
    }

    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        if self.fetch == Some(0) {
            return Ok(Box::new(std::iter::empty()));
        }
        let input = execute_measured(&self.input, partition, ctx)?;
        Ok(Box::new(SortStream {
            input: Some(input),
            schema: self.input.schema(),
            exprs: Arc::clone(&self.exprs),
            fetch: self.fetch,
            reservation: ctx.reservation(format!("Sort[{partition}]")),
            ctx: ctx.clone(),
            output: None,
            done: false,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The sorted data of a partition, handed out `batch_size` rows at a time.
pub(crate) struct SortedOutput {
    pub(crate) batches: Vec<RecordBatch>,
    /// First global row index of each batch, plus the total at the end.
    pub(crate) offsets: Vec<usize>,
    /// Global row indices in sorted order.
    pub(crate) order: UInt32Array,
    pub(crate) pos: usize,
}

impl SortedOutput {
    /// The next `batch_size` sorted rows (`None` when all were handed out).
    pub(crate) fn next_chunk(&mut self, batch_size: usize) -> Result<Option<RecordBatch>> {
        if self.pos >= self.order.len() {
            return Ok(None);
        }
        let len = batch_size.max(1).min(self.order.len() - self.pos);
        let chunk = self.order.slice(self.pos, len);
        self.pos += len;
        if let [batch] = self.batches.as_slice() {
            return Ok(Some(take_rows(batch, &chunk)?));
        }
        let pairs: Vec<(usize, usize)> = chunk
            .values()
            .iter()
            .map(|&g| {
                let g = g as usize;
                // offsets[0] == 0, so the batch holding g is the last offset <= g.
                let b = self.offsets.partition_point(|&o| o <= g) - 1;
                (b, g - self.offsets[b])
            })
            .collect();
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        Ok(Some(interleave_rows(&refs, &pairs)?))
    }
}

/// The stream of one partition of a [`SortExec`].
struct SortStream {
    input: Option<BatchStream>,
    schema: SchemaRef,
    exprs: Arc<[PhysSortExpr]>,
    fetch: Option<usize>,
    reservation: MemoryReservation,
    ctx: TaskContext,
    output: Option<Sorted>,
    done: bool,
}

impl SortStream {
    /// Sorts the whole input, spilling sorted runs when memory runs out; keeps the first
    /// `fetch` rows when given.
    fn sort_all(&mut self, input: impl Iterator<Item = Result<RecordBatch>>, fetch: Option<usize>) -> Result<Sorted> {
        self.reservation.free();
        let consumer = self.reservation.consumer().to_string();
        let mut sorter = ExternalSorter::new(Arc::clone(&self.schema), Arc::clone(&self.exprs), &self.ctx, consumer);
        for batch in input {
            let batch = batch?;
            self.ctx.check_cancelled()?;
            sorter.push(batch)?;
        }
        sorter.finish(fetch, &mut self.reservation)
    }

    /// Keeps only the best `fetch` rows while reading the input. When even those do not fit
    /// in memory, the sort goes external (the merge stops after `fetch` rows).
    fn top_k(&mut self, mut input: BatchStream, fetch: usize) -> Result<Sorted> {
        let mut kept: Vec<RecordBatch> = Vec::new();
        let mut kept_rows = 0;
        while let Some(batch) = input.next() {
            let batch = batch?;
            self.ctx.check_cancelled()?;
            if batch.num_rows() == 0 {
                continue;
            }
            let batch = if batch.num_rows() > fetch {
                sort_batch(&batch, &self.exprs, Some(fetch))?
            } else {
                batch
            };
            if self.reservation.try_grow(batch_memory(&batch)).is_err() {
                kept.push(batch);
                return self.sort_all(kept.into_iter().map(Ok).chain(input), Some(fetch));
            }
            kept_rows += batch.num_rows();
            kept.push(batch);
            if kept_rows > 2 * fetch {
                match self.compact(&kept, fetch) {
                    Ok(compacted) => {
                        kept_rows = compacted.num_rows();
                        kept = vec![compacted];
                    }
                    Err(Error::ResourcesExhausted(_)) => {
                        return self.sort_all(kept.into_iter().map(Ok).chain(input), Some(fetch));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let sorted = if kept.is_empty() {
            Vec::new()
        } else {
            match self.compact(&kept, fetch) {
                Ok(compacted) => vec![compacted],
                Err(Error::ResourcesExhausted(_)) => return self.sort_all(kept.into_iter().map(Ok), Some(fetch)),
                Err(e) => return Err(e),
            }
        };
        let rows = sorted.first().map_or(0, RecordBatch::num_rows);
        Ok(Sorted::Memory(SortedOutput {
            batches: sorted,
            offsets: vec![0, rows],
            order: UInt32Array::from_iter_values(0..rows as u32),
            pos: 0,
        }))
    }

    /// Concatenates `kept` and keeps its best `fetch` rows, sorted, resizing the reservation.
    fn compact(&mut self, kept: &[RecordBatch], fetch: usize) -> Result<RecordBatch> {
        let all = concat_batches(&self.schema, kept)?;
        let sorted = sort_batch(&all, &self.exprs, Some(fetch))?;
        self.reservation.try_resize(batch_memory(&sorted))?;
        Ok(sorted)
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.output.is_none() {
            let Some(input) = self.input.take() else {
                return Ok(None);
            };
            let sorted = match self.fetch {
                Some(fetch) => self.top_k(input, fetch)?,
                None => self.sort_all(input, None)?,
            };
            self.output = Some(sorted);
        }
        self.ctx.check_cancelled()?;
        let batch_size = self.ctx.batch_size();
        match self.output.as_mut() {
            Some(Sorted::Memory(out)) => out.next_chunk(batch_size),
            Some(Sorted::Merged(stream)) => stream.next().transpose(),
            None => Ok(None),
        }
    }
}

impl Iterator for SortStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
            self.output = None;
            self.reservation.free();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    use super::super::limit::testing::{collect, task_ctx, task_ctx_with, TestScan};
    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("id", DataType::Int64, false),
        ]))
    }

    fn batch(a: Vec<Option<i64>>, s: Vec<Option<&str>>, id: Vec<i64>) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(a)),
                Arc::new(StringArray::from(s)),
                Arc::new(Int64Array::from(id)),
            ],
        )
        .unwrap()
    }

    fn ids(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(2)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    fn key(index: usize, name: &str, descending: bool, nulls_first: bool) -> PhysSortExpr {
        PhysSortExpr::new(PhysicalExpr::column(index, name), descending, nulls_first)
    }

    /// ids 0..8 with (a, s):
    /// 0:(3,"b") 1:(null,"a") 2:(1,"z") 3:(3,null) 4:(1,"c") | 5:(2,"b") 6:(3,"a") 7:(null,null)
    fn source() -> Arc<TestScan> {
        let b1 = batch(
            vec![Some(3), None, Some(1), Some(3), Some(1)],
            vec![Some("b"), Some("a"), Some("z"), None, Some("c")],
            vec![0, 1, 2, 3, 4],
        );
        let b2 = batch(
            vec![Some(2), Some(3), None],
            vec![Some("b"), Some("a"), None],
            vec![5, 6, 7],
        );
        TestScan::new(schema(), vec![vec![b1, b2]])
    }

    #[test]
    fn sorts_by_several_keys_in_both_directions() {
        // a ASC NULLS LAST, s DESC NULLS FIRST
        let plan: PlanRef = Arc::new(
            SortExec::try_new(source(), vec![key(0, "a", false, false), key(1, "s", true, true)], None).unwrap(),
        );
        assert_eq!(ids(&collect(&plan, 0, &task_ctx())), vec![2, 4, 5, 3, 0, 6, 7, 1]);
        assert_eq!(plan.details(), "[a ASC NULLS LAST, s DESC NULLS FIRST]");

        // a DESC NULLS FIRST, s ASC NULLS LAST
        let plan: PlanRef = Arc::new(
            SortExec::try_new(source(), vec![key(0, "a", true, true), key(1, "s", false, false)], None).unwrap(),
        );
        assert_eq!(ids(&collect(&plan, 0, &task_ctx())), vec![1, 7, 6, 0, 3, 5, 4, 2]);
    }

    #[test]
    fn sorts_strings_and_chunks_output() {
        let plan: PlanRef = Arc::new(
            SortExec::try_new(
                source(),
                vec![key(1, "s", false, false), key(2, "id", false, false)],
                None,
            )
            .unwrap(),
        );
        let out = collect(&plan, 0, &task_ctx_with(3, 1 << 30));
        assert_eq!(out.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), vec![3, 3, 2]);
        assert_eq!(ids(&out), vec![1, 6, 0, 5, 4, 2, 3, 7]);
        let s = concat_batches(&schema(), &out).unwrap();
        let s = s.column(1).as_any().downcast_ref::<StringArray>().unwrap().clone();
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![
                Some("a"),
                Some("a"),
                Some("b"),
                Some("b"),
                Some("c"),
                Some("z"),
                None,
                None
            ]
        );
    }

    #[test]
    fn top_k_keeps_the_best_rows_with_bounded_buffers() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("id", DataType::Int64, false),
        ]));
        // 50 batches of 10 rows; a = (id * 37) % 500 is a permutation of 0..500.
        let batches: Vec<RecordBatch> = (0..50)
            .map(|b| {
                let ids: Vec<i64> = (b * 10..b * 10 + 10).collect();
                let a: Vec<Option<i64>> = ids.iter().map(|i| Some((i * 37) % 500)).collect();
                batch(a, vec![None; 10], ids)
            })
            .collect();
        let scan = TestScan::new(schema, vec![batches]);
        let ctx = task_ctx_with(4, 1 << 30);
        let plan: PlanRef = Arc::new(SortExec::try_new(scan, vec![key(0, "a", true, false)], Some(7)).unwrap());
        let out = collect(&plan, 0, &ctx);
        assert_eq!(out.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), vec![4, 3]);
        let a: Vec<i64> = out
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(a, vec![499, 498, 497, 496, 495, 494, 493]);
        assert_eq!(plan.details(), "[a DESC NULLS LAST], fetch=7");
        assert_eq!(ctx.memory().used(), 0);
    }

    #[test]
    fn spills_runs_with_a_tiny_pool_and_handles_empty_input() {
        let keys = || vec![key(0, "a", false, false), key(1, "s", true, true)];
        let plan: PlanRef = Arc::new(SortExec::try_new(source(), keys(), None).unwrap());
        let expected = ids(&collect(&plan, 0, &task_ctx_with(2, 1 << 30)));
        let ctx = task_ctx_with(2, 64);
        assert_eq!(ids(&collect(&plan, 0, &ctx)), expected);
        assert!(
            ctx.spill().stats().values().map(|s| s.files).sum::<u64>() >= 2,
            "{:?}",
            ctx.spill().stats()
        );
        assert_eq!(ctx.memory().used(), 0);

        let empty = TestScan::new(schema(), vec![vec![]]);
        let plan: PlanRef = Arc::new(SortExec::try_new(empty, vec![key(0, "a", false, false)], None).unwrap());
        assert!(collect(&plan, 0, &task_ctx()).is_empty());
        assert!(SortExec::try_new(source(), vec![], None).is_err());
    }
}
