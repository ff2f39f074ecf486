//! What a scan keeps of the rows it reads: the predicates pushed into it and the filters
//! joins above publish ([`JoinFilter`]), as a [`StagedFilter`] a Parquet reader applies
//! while it decodes. Stage 0 is the predicate, over its own columns; each join filter with
//! something published is a stage over its key columns. The stages pay when the rows they
//! keep come in long runs (few rows pass, or they pass together): the reader then skips
//! the others as it decodes the remaining columns. When the runs are short, the reader
//! decodes those columns whole and filters them ([`MASK_BELOW_RUN_LENGTH`]), which is what
//! reading the row group whole and filtering it does without the stages' extra work: the
//! scan then reads its row groups whole.

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
        let mut stages = Vec::new();
        if let Some((columns, _)) = &self.staged_predicate {
            stages.push(FilterStage {
                id: 0,
                columns: columns.clone(),
            });
        } else if self.predicate.is_some() {
            return Vec::new();
        }
        for (i, (join, keys)) in self.join_filters.iter().enumerate() {
            if join.is_active() {
                stages.push(FilterStage {
                    id: i + 1,
                    columns: keys.clone(),
                });
            }
        }
        // The stages that keep fewest rows first, so the others see fewer.
        stages.sort_by(|a, b| self.stage_pass_rate(a.id).total_cmp(&self.stage_pass_rate(b.id)));
        let read: BTreeSet<usize> = stages.iter().flat_map(|s| s.columns.iter().copied()).collect();
        // With every column a stage's, there is nothing left to decode for fewer rows.
        if read.len() >= self.width {
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
        if read > 0 {
            self.ctx.query.progress.add_read(read as u64, 0);
        }
    }
}
