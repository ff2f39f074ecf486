//! What a scan keeps of the rows it reads: the predicates pushed into it and the filters
//! joins above publish ([`JoinFilter`]), as a [`StagedFilter`] a Parquet reader applies
//! while it decodes. Stage 0 is the predicate, over its own columns; each join filter with
//! something published is a stage over its key columns. The stages pay when the rows they
//! keep come in long runs (few rows pass, or they pass together): the reader then skips
//! the others as it decodes the remaining columns. When the runs are short, the reader
//! decodes those columns whole and filters them ([`MASK_BELOW_RUN_LENGTH`]), which is what
//! reading the row group whole and filtering it does without the stages' extra work: the
//! scan then reads its row groups whole. Stages go in the order of the share of rows each
//! kept so far, untried ones first; a stage that keeps too much of a row group gives up on
//! it, and the scan stops reading in stages once every stage has been tried.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::BooleanArray;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::task::TaskContext;
use crate::io::parquet_read::{FilterStage, StagedFilter, MASK_BELOW_RUN_LENGTH};
use crate::physical::expr::PhysExprRef;
use crate::physical::join_filter::JoinFilter;
use crate::physical::ops::filter::{filter_batch, filter_mask};

/// Rows read in stages before the runs they made decide whether stages pay.
const JUDGE_AFTER_ROWS: u64 = 1 << 16;

/// A scan's filter, shared by its tasks (see the module docs).
#[derive(Debug)]
pub struct ScanFilter {
    predicate: Option<PhysExprRef>,
    /// The predicate's columns (output positions), and the predicate over them.
    staged_predicate: Option<(Vec<usize>, PhysExprRef)>,
    join_filters: Vec<(Arc<JoinFilter>, Vec<usize>)>,
    /// Number of output columns.
    width: usize,
    /// Rows read in stages, and the runs of kept or skipped rows they made.
    read: AtomicU64,
    runs: AtomicU64,
    /// Per stage (the predicate, then each join filter): rows it saw, and how many it kept.
    stage_rates: Vec<(AtomicU64, AtomicU64)>,
    /// Row groups the filter was asked about, and those it had read in stages.
    groups: AtomicU64,
    groups_in_stages: AtomicU64,
}

impl ScanFilter {
    /// The filter keeping the rows where `predicate` holds and every join filter's keys
    /// may match, over a scan of `width` columns; `None` when it keeps everything.
    pub fn new(
        predicate: Option<PhysExprRef>,
        join_filters: Vec<(Arc<JoinFilter>, Vec<usize>)>,
        width: usize,
    ) -> Option<ScanFilter> {
        if predicate.is_none() && join_filters.is_empty() {
            return None;
        }
        let staged_predicate = predicate.as_ref().and_then(|p| {
            let columns: Vec<usize> = p.column_indices().into_iter().collect();
            if columns.is_empty() {
                return None;
            }
            let on_columns = p.with_columns_mapped(&|c| columns.iter().position(|&k| k == c))?;
            Some((columns, on_columns))
        });
        let stage_rates = (0..=join_filters.len())
            .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
            .collect();
        Some(ScanFilter {
            predicate,
            staged_predicate,
            join_filters,
            width,
            read: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            stage_rates,
            groups: AtomicU64::new(0),
            groups_in_stages: AtomicU64::new(0),
        })
    }

    /// Whether the rows read in stages so far made runs long enough for stages to pay (or
    /// too few were read to tell).
    fn stages_pay(&self) -> bool {
        let read = self.read.load(Ordering::Relaxed);
        let runs = self.runs.load(Ordering::Relaxed);
        read < JUDGE_AFTER_ROWS || read >= runs.saturating_mul(MASK_BELOW_RUN_LENGTH as u64)
    }

    /// Whether a stage that could be read has not seen any row yet.
    fn has_untried_stage(&self) -> bool {
        self.candidate_stages().iter().any(|s| {
            self.stage_rates
                .get(s.id)
                .is_some_and(|(seen, _)| seen.load(Ordering::Relaxed) == 0)
        })
    }

    /// The stages that could be read, by id: the predicate when it has columns of its own,
    /// and every join filter with something published that still pays.
    fn candidate_stages(&self) -> Vec<FilterStage> {
        let predicate = self.staged_predicate.iter().map(|(columns, _)| FilterStage {
            id: 0,
            columns: columns.clone(),
        });
        let joins = self
            .join_filters
            .iter()
            .enumerate()
            .filter(|(_, (join, _))| join.is_active())
            .map(|(i, (_, keys))| FilterStage {
                id: i + 1,
                columns: keys.clone(),
            });
        predicate.chain(joins).collect()
    }

    /// The share of the rows it saw that stage `id` kept (0 before it saw any: a stage
    /// not tried yet goes first).
    fn stage_pass_rate(&self, id: usize) -> f64 {
        self.stage_rates.get(id).map_or(0.0, |(seen, kept)| {
            let seen = seen.load(Ordering::Relaxed);
            if seen == 0 {
                0.0
            } else {
                kept.load(Ordering::Relaxed) as f64 / seen as f64
            }
        })
    }

    /// Notes that stage `id` kept `kept` of `seen` rows.
    fn record_stage(&self, id: usize, seen: usize, kept: usize) {
        if let Some((s, k)) = self.stage_rates.get(id) {
            s.fetch_add(seen as u64, Ordering::Relaxed);
            k.fetch_add(kept as u64, Ordering::Relaxed);
        }
    }

    /// How many row groups were read in stages, of how many read so far (for EXPLAIN
    /// ANALYZE).
    pub fn row_groups_in_stages(&self) -> (u64, u64) {
        (
            self.groups_in_stages.load(Ordering::Relaxed),
            self.groups.load(Ordering::Relaxed),
        )
    }

    /// The stages to read the next row group in (see [`StagedFilter::stages`]).
    fn next_stages(&self) -> Vec<FilterStage> {
        if !self.stages_pay() {
            return Vec::new();
        }
        // A predicate without columns of its own is applied to whole row groups.
        if self.predicate.is_some() && self.staged_predicate.is_none() {
            return Vec::new();
        }
        let mut stages = self.candidate_stages();
        // The stages that keep fewest rows first, so the others see fewer.
        stages.sort_by(|a, b| self.stage_pass_rate(a.id).total_cmp(&self.stage_pass_rate(b.id)));
        // The first stage decodes its columns for every row; the later stages' columns and
        // the rest are decoded for the rows kept before them. With every column the first
        // stage's, nothing is left to decode for fewer rows (TPC-H q04 filters lineitem on
        // its order key, 4% kept, then on two dates: those are decoded for that 4%).
        let first: BTreeSet<usize> = stages
            .first()
            .map_or_else(BTreeSet::new, |s| s.columns.iter().copied().collect());
        if first.len() >= self.width {
            return Vec::new();
        }
        stages
    }

    /// This filter as task `ctx` applies it: it reports the rows read to the query's
    /// progress and stops when the query is cancelled.
    pub fn for_task(self: &Arc<Self>, ctx: &TaskContext) -> Arc<dyn StagedFilter> {
        Arc::new(TaskFilter {
            shared: Arc::clone(self),
            ctx: ctx.clone(),
            held: Mutex::new(ctx.reservation("Scan (filter stages)")),
        })
    }
}

/// A [`ScanFilter`] as one task applies it.
struct TaskFilter {
    shared: Arc<ScanFilter>,
    ctx: TaskContext,
    /// The memory of the rows held between stages.
    held: Mutex<MemoryReservation>,
}

impl TaskFilter {
    /// Reports `rows` rows read to the query's progress.
    fn count_read(&self, rows: usize) {
        if rows > 0 {
            self.ctx.query.progress.add_read(rows as u64, 0);
        }
    }
}

impl StagedFilter for TaskFilter {
    fn stages(&self) -> Vec<FilterStage> {
        let filter = &self.shared;
        let stages = filter.next_stages();
        filter.groups.fetch_add(1, Ordering::Relaxed);
        if !stages.is_empty() {
            filter.groups_in_stages.fetch_add(1, Ordering::Relaxed);
        }
        stages
    }

    fn keep(&self, id: usize, batch: &RecordBatch) -> Result<BooleanArray> {
        self.ctx.check_cancelled()?;
        let filter = &self.shared;
        if id == 0 {
            let (_, predicate) = filter
                .staged_predicate
                .as_ref()
                .ok_or_else(|| Error::internal("scan filter stage without a predicate"))?;
            let mask = filter_mask(batch, predicate)?;
            filter.record_stage(0, batch.num_rows(), mask.true_count());
            return Ok(mask);
        }
        let (join, keys) = filter
            .join_filters
            .get(id - 1)
            .ok_or_else(|| Error::internal(format!("scan filter has no stage {id}")))?;
        let on_batch: Vec<usize> = (0..keys.len()).collect();
        let mask = join
            .mask(batch, &on_batch)?
            .unwrap_or_else(|| BooleanArray::from(vec![true; batch.num_rows()]));
        filter.record_stage(id, batch.num_rows(), mask.true_count());
        Ok(mask)
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        self.ctx.check_cancelled()?;
        self.ctx
            .query
            .progress
            .add_read(batch.num_rows() as u64, batch.get_array_memory_size() as u64);
        let filter = &self.shared;
        let mut batch = match &filter.predicate {
            Some(p) => filter_batch(&batch, p)?,
            None => batch,
        };
        for (join, keys) in &filter.join_filters {
            batch = join.apply(batch, keys)?;
        }
        Ok(batch)
    }

    fn hold(&self, bytes: usize) -> bool {
        self.held.lock().is_ok_and(|mut held| held.try_resize(bytes).is_ok())
    }

    fn record(&self, read: usize, runs: usize) {
        let filter = &self.shared;
        filter.read.fetch_add(read as u64, Ordering::Relaxed);
        filter.runs.fetch_add(runs as u64, Ordering::Relaxed);
        self.count_read(read);
    }

    fn gave_up(&self, rows: usize) {
        if self.shared.has_untried_stage() {
            // The stage that gave up has its pass rate now: the next row group tries the
            // others first (TPC-H q04: the dates keep 63% of lineitem, the order keys 4%).
            self.count_read(rows);
        } else {
            // As if every row were a run of its own: too many pass for stages.
            self.record(rows, rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::exec::shuffle::hash_rows;
    use crate::physical::expr::PhysicalExpr;
    use crate::physical::ops::hash_join::bloom::KeyBloom;
    use crate::physical::ops::limit::testing::task_ctx_with;

    /// A filter over three columns: `b IS NOT NULL` (stage 0, over column 1) and a join
    /// filter over column 0 holding keys 0..10 (stage 1).
    fn filter() -> Arc<ScanFilter> {
        let keys: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10));
        let mut hashes = Vec::new();
        hash_rows(&[keys], 10, &mut hashes).unwrap();
        let join = Arc::new(JoinFilter::default());
        join.publish(Arc::new(KeyBloom::of_hashes(&hashes, None, false)));
        let predicate = Arc::new(PhysicalExpr::IsNotNull(PhysicalExpr::column(1, "b")));
        Arc::new(ScanFilter::new(Some(predicate), vec![(join, vec![0])], 3).unwrap())
    }

    fn batch(values: impl Iterator<Item = Option<i64>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter(values))]).unwrap()
    }

    fn order(filter: &ScanFilter) -> Vec<usize> {
        filter.next_stages().iter().map(|s| s.id).collect()
    }

    /// A stage that gives up on the first row groups it is tried on leaves the stages to an
    /// untried one, which goes first next; once every stage gave up, the scan reads its row
    /// groups whole.
    #[test]
    fn a_stage_that_gives_up_leaves_the_next_row_group_to_an_untried_one() {
        let filter = filter();
        let task = filter.for_task(&task_ctx_with(1024, 1 << 30));
        assert_eq!(order(&filter), vec![0, 1], "untried: the predicate first");
        // The predicate keeps 2 rows in 3 and gives up on a large row group.
        let mask = task
            .keep(0, &batch((0..3000).map(|i| (i % 3 != 0).then_some(i))))
            .unwrap();
        assert_eq!(mask.true_count(), 2000);
        task.gave_up(100_000);
        assert_eq!(order(&filter), vec![1, 0], "the untried join filter goes first");
        // The join filter keeps 10 in 3000 in two runs: stages pay.
        let mask = task.keep(1, &batch((0..3000).map(Some))).unwrap();
        assert_eq!(mask.true_count(), 10);
        task.record(100_000, 2);
        assert_eq!(order(&filter), vec![1, 0]);
        // Every stage tried: a stage giving up now ends the stages.
        task.gave_up(100_000);
        assert!(order(&filter).is_empty());
    }

    /// Stages are read when the first one leaves a column to decode for fewer rows, even
    /// if the stages together read every column.
    #[test]
    fn stages_pay_while_the_first_leaves_a_column_for_later() {
        let filter = ScanFilter::new(
            Some(Arc::new(PhysicalExpr::IsNotNull(PhysicalExpr::column(1, "b")))),
            filter().join_filters.clone(),
            2,
        )
        .unwrap();
        assert_eq!(order(&filter), vec![0, 1]);
        let one_column = ScanFilter::new(
            Some(Arc::new(PhysicalExpr::IsNotNull(PhysicalExpr::column(0, "a")))),
            Vec::new(),
            1,
        )
        .unwrap();
        assert!(order(&one_column).is_empty(), "the only stage reads every column");
    }
}
