//! The output stream of a hash aggregate, and its answer to a refused reservation.
//!
//! Batches go into the in-memory [`Groups`] while the pool allows. When it refuses:
//! - `Partial` hands the groups' partial states out at once and starts over (the `Final`
//!   stage after the shuffle merges groups that show up more than once);
//! - `Final` and `Single` write the groups' partial states to [`FANOUT`] spill files by key
//!   hash ([`Partitioner`]) and start over; at the end of the input the remaining groups
//!   follow, and each file is then aggregated on its own with a fresh table (merging the
//!   states, in the order they were written, so order-sensitive aggregates such as `list`
//!   see their rows in input order). A file that still does not fit is partitioned again
//!   with another hash seed, up to [`MAX_LEVEL`] levels (not for a single group, which no
//!   partitioning splits); past that the groups may take up to half the pool past a refusal,
//!   and the query fails with `ResourcesExhausted` when they need more. An aggregate without
//!   keys has a single group and cannot spill.
//!
//! A `Final` or `Single` aggregate whose table reaches [`ExecConfig::aggregate_partition_groups`]
//! groups, with fewer than two input rows per group so far, hands its groups' states to
//! [`MEMORY_FANOUT`] partitions by key hash, held in memory until the pool refuses (then they
//! are spilled like the above, the waiting ones first), and starts over with an empty table;
//! at the end each partition is aggregated on its own. A table that outgrows
//! the processor's caches misses them on nearly every row (TPC-H q18 at SF10: 7.5 million
//! order keys per task took 2.5 s), while a partition's table stays small, and copying a
//! state into its partition costs far less than a miss. The rest of the input then goes
//! straight to the partitions, as states, a table's worth of rows at a time, without being
//! grouped first (its keys were just seen to hardly repeat): grouping every row in a table
//! only to take it out again made TPC-H SF10 q18 2.37 s against 1.90 s, q13 1.29 against
//! 1.07 s (medians of 7 alternating runs).
//!
//! Groups smaller than a minimum working set (1/[`MIN_SHARE`] of the pool) are never spilled:
//! when other operators hold the whole pool, the aggregate takes that much past the limit
//! rather than spill every batch (the others spill when they are refused in turn).
//!
//! The reservation covers the groups' [`Groups::footprint`], twice their size: growing
//! tables and state vectors double their allocations, and a spill builds the states next to
//! the groups.
//!
//! Output is handed out `batch_size` rows at a time; a spilled aggregate emits one partition's
//! groups at a time.
//!
//! A `Partial` aggregate that finds, after [`PROBE_ROWS`] input rows, at least
//! [`PASS_THROUGH_PERCENT`]% as many groups as rows hands its groups on and from then on
//! passes every batch through as states of one row each: its table would not shrink what the
//! shuffle carries, only build what the `Final` aggregate builds again (H2O q10, ten million
//! groups of ten million rows). Tasks too small to reach [`PROBE_ROWS`] on their own (TPC-H
//! q15 sums 2.3M lineitem rows per supplier in 303 tasks of 7.5k rows, each with nearly as
//! many groups) go by the tasks of the same aggregate before them: once those grouped
//! [`PROBE_ROWS`] rows in all into at least [`PASS_THROUGH_PERCENT`]% as many groups, the
//! next tasks pass their batches through from the start.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;

#[cfg(doc)]
use super::spill::MEMORY_FANOUT;
use super::spill::{Partition, PartitionStates, Partitioner, FANOUT, MAX_LEVEL};
use super::{AggregateCore, AggregateMode, Groups, Source};
use crate::error::{Error, Result};
use crate::exec::memory::{human_bytes, MemoryReservation};
use crate::exec::spill::SpillFile;
#[cfg(doc)]
use crate::exec::task::ExecConfig;
use crate::exec::task::TaskContext;
use crate::physical::plan::BatchStream;

/// The minimum working set of an aggregate is this fraction of the pool.
const MIN_SHARE: usize = 32;

/// Input rows a `Partial` aggregate sees before judging whether grouping pays.
const PROBE_ROWS: usize = 100_000;

/// At this many groups per hundred input rows, a `Partial` aggregate stops grouping.
const PASS_THROUGH_PERCENT: usize = 80;

/// What is being aggregated now.
struct Current {
    batches: BatchStream,
    source: Source,
    /// The re-partitioning level (0 for the operator's input).
    level: usize,
    /// The spill file being read (removed when dropped).
    _file: Option<SpillFile>,
    /// The memory of the in-memory partition being read.
    _memory: Option<MemoryReservation>,
}

/// Groups being handed out.
struct Output {
    batch: RecordBatch,
    offset: usize,
    _reservation: MemoryReservation,
}

/// The output stream of a hash aggregate.
pub(super) struct AggregateStream {
    core: Arc<AggregateCore>,
    ctx: TaskContext,
    /// Held by `groups`.
    reservation: MemoryReservation,
    groups: Groups,
    current: Option<Current>,
    /// Where the current source's groups go once they have been partitioned.
    spill: Option<Partitioner>,
    /// Partitions still to aggregate (the last first).
    pending: Vec<Partition>,
    output: Option<Output>,
    /// Input rows fed so far (while judging whether grouping pays).
    rows_in: usize,
    /// Rows fed into the current table.
    rows_in_table: usize,
    /// A `Partial` aggregate that stopped grouping: batches pass through as states.
    passing_through: bool,
    /// A `Final` or `Single` aggregate whose table outgrew the caches: the rest of its
    /// input goes to the partitions without being grouped first.
    partitioning_input: bool,
    /// Input batches (as states) waiting to be written to the partitions together.
    to_partition: Vec<RecordBatch>,
    /// Holds `to_partition`.
    to_partition_memory: MemoryReservation,
}

/// Whether `rows` input rows that made `groups` groups are enough to tell, and tell that
/// the keys hardly repeat: a `Partial` aggregate then passes its rows through (see the
/// module docs).
fn too_many_groups_to_pay(rows: u64, groups: u64) -> bool {
    rows >= PROBE_ROWS as u64 && groups * 100 >= rows * PASS_THROUGH_PERCENT as u64
}

impl AggregateStream {
    /// A stream aggregating `input`.
    pub fn try_new(core: Arc<AggregateCore>, input: BatchStream, ctx: &TaskContext) -> Result<Self> {
        let groups = Groups::try_new(&core)?;
        Ok(Self {
            core,
            ctx: ctx.clone(),
            reservation: ctx.reservation("HashAggregate"),
            groups,
            current: Some(Current {
                batches: input,
                source: Source::Input,
                level: 0,
                _file: None,
                _memory: None,
            }),
            spill: None,
            pending: Vec::new(),
            output: None,
            rows_in: 0,
            rows_in_table: 0,
            passing_through: false,
            partitioning_input: false,
            to_partition: Vec::new(),
            to_partition_memory: ctx.reservation("HashAggregate partitioning"),
        })
    }

    /// The next slice of the output being handed out.
    fn next_slice(&mut self) -> Option<RecordBatch> {
        let output = self.output.as_mut()?;
        let remaining = output.batch.num_rows().saturating_sub(output.offset);
        if remaining == 0 {
            self.output = None;
            return None;
        }
        let len = remaining.min(self.ctx.batch_size().max(1));
        let batch = output.batch.slice(output.offset, len);
        output.offset += len;
        Some(batch)
    }

    /// Does one unit of work; `false` when everything has been handed out.
    pub(super) fn step(&mut self) -> Result<bool> {
        let Some(current) = self.current.as_mut() else {
            let Some(partition) = self.pending.pop() else {
                return Ok(false);
            };
            let mut current = Current {
                batches: Box::new(std::iter::empty()),
                source: Source::States,
                level: partition.level,
                _file: None,
                _memory: None,
            };
            match partition.states {
                PartitionStates::Spilled(file) => {
                    current.batches = Box::new(file.read()?);
                    current._file = Some(file);
                }
                PartitionStates::Memory(batches, reservation) => {
                    // At most one group per state: a table that will not grow as it fills.
                    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                    self.groups.reserve(rows.min(self.partition_groups_at()));
                    current.batches = Box::new(batches.into_iter().map(Ok));
                    current._memory = Some(reservation);
                }
            }
            self.current = Some(current);
            return Ok(true);
        };
        let (source, level) = (current.source, current.level);
        match current.batches.next() {
            Some(batch) => {
                self.ctx.check_cancelled()?;
                let batch = batch?;
                if batch.num_rows() == 0 {
                    return Ok(true);
                }
                if self.rows_in == 0 && source == Source::Input && self.earlier_tasks_found_grouping_does_not_pay() {
                    self.passing_through = true;
                }
                if self.passing_through {
                    let states = self.core.rows_as_states(&batch)?;
                    self.set_output(states);
                    return Ok(true);
                }
                if self.partitioning_input && source == Source::Input {
                    return self.partition_input(&batch).map(|()| true);
                }
                self.groups.feed(&self.core, &batch, source)?;
                self.rows_in_table += batch.num_rows();
                if self.reservation.try_resize(self.groups.footprint()).is_err() {
                    self.relieve(level)?;
                } else if self.table_outgrows_caches(level) {
                    self.partition_groups(level, true)?;
                    self.partitioning_input = source == Source::Input;
                }
                self.rows_in += batch.num_rows();
                if self.grouping_does_not_pay() {
                    self.share_judgement();
                    let groups = self.take_groups()?.finish(&self.core, true)?;
                    self.hold_fresh_groups()?;
                    self.set_output(groups);
                    self.passing_through = true;
                }
            }
            None => {
                self.current = None;
                self.flush_to_partitions()?;
                if source == Source::Input && !self.passing_through && self.spill.is_none() {
                    self.share_judgement();
                }
                self.finish_source()?;
            }
        }
        Ok(true)
    }

    /// Whether a `Partial` aggregate has seen enough of its input to tell that its keys
    /// hardly repeat (see the module docs). Never while it has output pending (a refused
    /// reservation just handed its groups out) or once it has spilled.
    fn grouping_does_not_pay(&self) -> bool {
        self.core.mode == AggregateMode::Partial
            && self.output.is_none()
            && self.spill.is_none()
            && self.groups.table.is_some()
            && too_many_groups_to_pay(self.rows_in as u64, self.groups.len() as u64)
    }

    /// Whether the tasks of this `Partial` aggregate that finished judging grouped enough
    /// rows in all into so many groups that grouping does not pay (see the module docs).
    fn earlier_tasks_found_grouping_does_not_pay(&self) -> bool {
        let rows = self.core.partial_rows.load(Ordering::Relaxed);
        let groups = self.core.partial_groups.load(Ordering::Relaxed);
        self.core.mode == AggregateMode::Partial && too_many_groups_to_pay(rows, groups)
    }

    /// Adds this `Partial` task's input rows so far and the groups they made to what the
    /// aggregate's next tasks go by.
    fn share_judgement(&self) {
        if self.core.mode == AggregateMode::Partial {
            self.core.partial_rows.fetch_add(self.rows_in as u64, Ordering::Relaxed);
            self.core
                .partial_groups
                .fetch_add(self.groups.len() as u64, Ordering::Relaxed);
        }
    }

    /// Whether a `Final` or `Single` aggregate's table has grown past what stays in the
    /// caches while its keys hardly repeat, so its groups are better partitioned (see the
    /// module docs).
    fn table_outgrows_caches(&self, level: usize) -> bool {
        self.core.mode != AggregateMode::Partial
            && level < MAX_LEVEL
            && self.groups.table.is_some()
            && self.groups.len() >= self.partition_groups_at()
            && self.rows_in_table < 2 * self.groups.len()
    }

    /// The table size at which groups are partitioned.
    fn partition_groups_at(&self) -> usize {
        self.ctx.query.config.aggregate_partition_groups
    }

    /// Hands the groups' states to the partitions of the current source (creating them, in
    /// memory when `in_memory`) and starts over with an empty table.
    fn partition_groups(&mut self, level: usize, in_memory: bool) -> Result<()> {
        let batch = self.take_groups()?.finish(&self.core, true)?;
        if in_memory {
            let states = batch.num_rows() as u64;
            self.core.partitioned_states.fetch_add(states, Ordering::Relaxed);
            // The next table will most likely fill up too.
            self.groups.reserve(self.partition_groups_at());
        }
        self.hold_fresh_groups()?;
        let partitioner = match &mut self.spill {
            Some(p) => p,
            slot => {
                let label = self.ctx.spill_label("HashAggregate");
                let num_keys = self.core.group_exprs.len();
                let schema = Arc::clone(&self.core.state_schema);
                slot.insert(Partitioner::new(&self.ctx, label, schema, num_keys, level, in_memory))
            }
        };
        partitioner.write(&batch)
    }

    /// Queues an input batch for the partitions, as states, and writes the queue once it
    /// holds a table's worth of rows or the pool will not hold more.
    fn partition_input(&mut self, batch: &RecordBatch) -> Result<()> {
        let states = self.core.input_as_states(batch)?;
        let held = self
            .to_partition_memory
            .try_grow(states.get_array_memory_size())
            .is_ok();
        self.to_partition.push(states);
        let queued: usize = self.to_partition.iter().map(RecordBatch::num_rows).sum();
        if !held || queued >= self.partition_groups_at() {
            self.flush_to_partitions()?;
        }
        Ok(())
    }

    /// Writes the queued input batches to the partitions.
    fn flush_to_partitions(&mut self) -> Result<()> {
        if self.to_partition.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.to_partition);
        let states: usize = batches.iter().map(RecordBatch::num_rows).sum();
        self.core.partitioned_states.fetch_add(states as u64, Ordering::Relaxed);
        let partitioner = self
            .spill
            .as_mut()
            .ok_or_else(|| Error::internal("an aggregate partitions its input without partitions"))?;
        partitioner.write_all(&batches)?;
        self.to_partition_memory.free();
        Ok(())
    }

    /// Takes the groups out, leaving a fresh table.
    fn take_groups(&mut self) -> Result<Groups> {
        self.rows_in_table = 0;
        let fresh = Groups::try_new(&self.core)?;
        let old = std::mem::replace(&mut self.groups, fresh);
        Ok(old)
    }

    /// The pool refused to hold the groups: hand them out (`Partial`) or spill them.
    fn relieve(&mut self, level: usize) -> Result<()> {
        let size = self.groups.footprint();
        if size <= self.ctx.memory().limit() / MIN_SHARE {
            self.reservation.grow(size.saturating_sub(self.reservation.size()));
            return Ok(());
        }
        if self.core.mode == AggregateMode::Partial {
            let batch = self.take_groups()?.finish(&self.core, true)?;
            self.hold_fresh_groups()?;
            self.set_output(batch);
            return Ok(());
        }
        let label = self.ctx.spill_label("HashAggregate");
        // Partitions held in memory are the first to go: what they give back may let the
        // groups stay.
        if self.spill_partitions_in_memory(&label)? && self.reservation.try_resize(size).is_ok() {
            return Ok(());
        }
        let pool = self.ctx.memory();
        // Re-partitioning cannot split a single group (or the one group of an aggregate
        // without keys), nor go on forever: what is left either takes its memory past the
        // refusal (others spill when they are refused in turn) or, when it is too big for
        // the pool on its own, ends the query.
        let no_keys = self.groups.table.is_none();
        let exhausted = no_keys || level >= MAX_LEVEL || (level > 0 && self.groups.len() == 1);
        if exhausted {
            if size <= pool.limit() / 2 {
                self.reservation.grow(size.saturating_sub(self.reservation.size()));
                return Ok(());
            }
            let what = if no_keys {
                format!(
                    "{label} without GROUP BY keys cannot hold its aggregate state (needing {})",
                    human_bytes(size)
                )
            } else {
                format!(
                    "{label} cannot hold one partition of its groups ({} groups needing {}) after {level} re-partitionings into {FANOUT}",
                    self.groups.len(),
                    human_bytes(size)
                )
            };
            return Err(Error::ResourcesExhausted(format!(
                "{what} within the {} memory limit ({} in use)",
                human_bytes(pool.limit()),
                human_bytes(pool.used()),
            )));
        }
        self.partition_groups(level, false)
    }

    /// Writes every partition held in memory (being written, or waiting) to its spill file;
    /// whether there was any.
    pub(super) fn spill_partitions_in_memory(&mut self, label: &str) -> Result<bool> {
        let mut any = match &mut self.spill {
            Some(partitioner) => partitioner.spill_all()?,
            None => false,
        };
        for partition in &mut self.pending {
            any |= partition.spill(&self.ctx, label, &self.core.state_schema)?;
        }
        Ok(any)
    }

    /// The current source is exhausted: hand its groups out, or, if it spilled, spill the
    /// rest too and queue its partitions.
    fn finish_source(&mut self) -> Result<()> {
        let groups = self.take_groups()?;
        if let Some(mut partitioner) = self.spill.take() {
            let batch = groups.finish(&self.core, true)?;
            partitioner.write(&batch)?;
            self.pending.extend(partitioner.finish()?);
        } else {
            let batch = groups.finish(&self.core, self.core.mode == AggregateMode::Partial)?;
            self.set_output(batch);
        }
        self.hold_fresh_groups()
    }

    /// Reserves the fresh (empty) table that replaced spilled or emitted groups. It is within
    /// the minimum working set, so it is held even when other operators fill the pool: the
    /// aggregate has nothing left to give back, and they spill when they are refused in turn.
    fn hold_fresh_groups(&mut self) -> Result<()> {
        let size = self.groups.footprint();
        if self.reservation.try_resize(size).is_err() {
            if size > self.ctx.memory().limit() / MIN_SHARE {
                return self.reservation.try_resize(size);
            }
            self.reservation.resize_unchecked(size);
        }
        Ok(())
    }

    /// Starts handing out `batch`, whose memory is held until it has been.
    fn set_output(&mut self, batch: RecordBatch) {
        let mut reservation = self.ctx.reservation("HashAggregate output");
        // The groups it replaces were admitted; their output cannot be refused.
        reservation.grow(batch.get_array_memory_size());
        self.output = Some(Output {
            batch,
            offset: 0,
            _reservation: reservation,
        });
    }

    /// After an error: drops everything (spill files included) and ends the stream.
    fn abandon(&mut self) {
        self.current = None;
        self.to_partition.clear();
        self.spill = None;
        self.pending.clear();
        self.output = None;
    }
}

#[cfg(test)]
impl AggregateStream {
    /// Partitions waiting to be aggregated that are held in memory.
    pub(super) fn waiting_in_memory(&self) -> usize {
        self.pending
            .iter()
            .filter(|p| matches!(p.states, PartitionStates::Memory(..)))
            .count()
    }
}

impl Iterator for AggregateStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = self.next_slice() {
                return Some(Ok(batch));
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.abandon();
                    return Some(Err(e));
                }
            }
        }
    }
}
