//! The k-way merge of sorted runs, shared by `SortPreservingMergeExec` (runs = the sorted
//! shuffle slots of the map tasks) and the external sort (runs = sorted spill files).
//!
//! Sort keys are converted to Arrow's row format so that comparing two rows is a byte
//! comparison; a `BinaryHeap` of run cursors picks the next row, and output batches are
//! gathered with `interleave`. Memory stays bounded: each open run holds one batch (and its
//! keys in row format), reserved from the pool. When the pool cannot hold one batch of every
//! run at once, the runs are merged in passes: the runs that fit are merged into a new run on
//! disk, which joins the queue, until the remaining runs fit and are merged into the output.

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows};

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::spill::{SpillFile, SpillReader};
use crate::exec::task::TaskContext;
use crate::physical::ops::sort::{batch_memory, sort_fields, sort_keys, PhysSortExpr};
use crate::physical::plan::BatchStream;
use crate::physical::rows::interleave_rows;

/// What a merge needs to know besides its runs.
#[derive(Clone)]
pub(crate) struct MergeSpec {
    /// The sort keys every run is ordered by.
    pub exprs: Arc<[PhysSortExpr]>,
    /// The schema of the runs.
    pub schema: SchemaRef,
    /// Rows produced at most (`None`: all).
    pub fetch: Option<usize>,
    /// The memory consumer name (errors, pool accounting).
    pub consumer: String,
    /// The spill label of intermediate merge passes (EXPLAIN ANALYZE).
    pub spill_label: String,
}

/// The memory one task may take for a working set that it could also run in less (a merge's
/// fan-in, a minimum working set taken past the limit): half the pool shared by the worker
/// threads, so that operators downstream in the same task keep room.
pub(crate) fn task_share(ctx: &TaskContext) -> usize {
    ctx.memory().limit() / (2 * ctx.query.config.threads.max(1))
}

/// Merges `runs` (each sorted by `spec.exprs`) into one sorted stream. Nothing is read
/// until the stream is first polled.
pub(crate) fn merge_runs(runs: Vec<BatchStream>, spec: MergeSpec, ctx: &TaskContext) -> BatchStream {
    Box::new(MergeStream {
        pending: Some(runs),
        spec,
        ctx: ctx.clone(),
        merger: None,
        done: false,
    })
}

/// A finished spill file read back as a run; the file is removed when the run is dropped.
pub(crate) fn file_run(file: SpillFile) -> Result<BatchStream> {
    let reader = file.read()?;
    Ok(Box::new(FileRun { _file: file, reader }))
}

struct FileRun {
    _file: SpillFile,
    reader: SpillReader,
}

impl Iterator for FileRun {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next()
    }
}

/// The merged stream: on first poll, merges runs in passes until the rest fit, then hands
/// out the final merge.
struct MergeStream {
    pending: Option<Vec<BatchStream>>,
    spec: MergeSpec,
    ctx: TaskContext,
    merger: Option<Merger>,
    done: bool,
}

impl MergeStream {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if let Some(runs) = self.pending.take() {
            self.merger = Some(final_merger(runs, &self.spec, &self.ctx)?);
        }
        match self.merger.as_mut() {
            Some(m) => m.next_batch(),
            None => Ok(None),
        }
    }
}

impl Iterator for MergeStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
            self.pending = None;
            self.merger = None;
        }
        out
    }
}

/// Opens as many runs as memory allows; while some are left over, merges the open ones into
/// a spilled run at the back of the queue. Returns the merger over the last group.
fn final_merger(runs: Vec<BatchStream>, spec: &MergeSpec, ctx: &TaskContext) -> Result<Merger> {
    let mut queue: VecDeque<BatchStream> = runs.into();
    loop {
        let mut merger = Merger::open(&mut queue, spec, ctx)?;
        if queue.is_empty() {
            return Ok(merger);
        }
        let mut writer = ctx.spill().writer(&spec.spill_label, &spec.schema)?;
        while let Some(batch) = merger.next_batch()? {
            writer.write(&batch)?;
        }
        drop(merger);
        queue.push_back(file_run(writer.finish()?)?);
    }
}

/// The current batch of one run and the position of its next row.
struct Cursor {
    rows: Rows,
    pos: usize,
    run: usize,
    /// Index of the batch in [`Merger::slots`].
    slot: usize,
}

impl Cursor {
    fn cmp_key(&self, other: &Self) -> Ordering {
        self.rows
            .row(self.pos)
            .cmp(&other.rows.row(other.pos))
            .then(self.run.cmp(&other.run))
    }
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_key(other) == Ordering::Equal
    }
}

impl Eq for Cursor {}

impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cursor {
    /// Reversed, so that the max-heap yields the smallest row (ties: the lowest run).
    fn cmp(&self, other: &Self) -> Ordering {
        other.cmp_key(self)
    }
}

/// One merge of a group of open runs.
struct Merger {
    runs: Vec<BatchStream>,
    exprs: Arc<[PhysSortExpr]>,
    converter: RowConverter,
    heap: BinaryHeap<Cursor>,
    /// Batches that pending output rows or live cursors refer to.
    slots: Vec<RecordBatch>,
    remaining: Option<usize>,
    reservation: MemoryReservation,
    ctx: TaskContext,
}

/// A batch read from a run with its keys in row format.
struct Loaded {
    batch: RecordBatch,
    rows: Rows,
}

impl Loaded {
    fn bytes(&self) -> usize {
        batch_memory(&self.batch) + self.rows.size()
    }
}

impl Merger {
    /// Opens runs from the front of `queue` while the pool grants one batch of each (at
    /// least two runs, the minimum for progress). A run whose first batch did not fit goes
    /// back to the front of the queue, that batch first.
    fn open(queue: &mut VecDeque<BatchStream>, spec: &MergeSpec, ctx: &TaskContext) -> Result<Self> {
        let converter = RowConverter::new(sort_fields(&spec.exprs, &spec.schema)?)?;
        let mut merger = Merger {
            runs: Vec::new(),
            exprs: Arc::clone(&spec.exprs),
            converter,
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            remaining: spec.fetch,
            reservation: ctx.reservation(spec.consumer.clone()),
            ctx: ctx.clone(),
        };
        while let Some(mut run) = queue.pop_front() {
            ctx.check_cancelled()?;
            let Some(loaded) = merger.read(&mut run)? else {
                continue;
            };
            let bytes = loaded.bytes();
            let over_share = merger.reservation.size() + bytes > task_share(ctx);
            if over_share || merger.reservation.try_grow(bytes).is_err() {
                if merger.runs.len() >= 2 {
                    let first = std::iter::once(Ok(loaded.batch));
                    queue.push_front(Box::new(first.chain(run)));
                    break;
                }
                // The minimum working set of a merge: one batch of each of two runs.
                merger.reservation.grow(bytes);
            }
            merger.runs.push(run);
            let cursor = merger.cursor(loaded, merger.runs.len() - 1);
            merger.heap.push(cursor);
        }
        Ok(merger)
    }

    /// Reads the next non-empty batch of `run` and converts its keys.
    fn read(&self, run: &mut BatchStream) -> Result<Option<Loaded>> {
        loop {
            let Some(batch) = run.next().transpose()? else {
                return Ok(None);
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let rows = self.converter.convert_columns(&sort_keys(&self.exprs, &batch)?)?;
            return Ok(Some(Loaded { batch, rows }));
        }
    }

    fn cursor(&mut self, loaded: Loaded, run: usize) -> Cursor {
        self.slots.push(loaded.batch);
        Cursor {
            rows: loaded.rows,
            pos: 0,
            run,
            slot: self.slots.len() - 1,
        }
    }

    /// The next batch of `run` replacing its exhausted one (the working set stays one batch
    /// per run, so it is reserved without a check); `None` at the end of the run.
    fn advance(&mut self, run: usize) -> Result<Option<Cursor>> {
        let Some(stream) = self.runs.get_mut(run) else {
            return Ok(None);
        };
        let mut stream = std::mem::replace(stream, Box::new(std::iter::empty()));
        let loaded = self.read(&mut stream)?;
        match loaded {
            Some(loaded) => {
                self.reservation.grow(loaded.bytes());
                self.runs[run] = stream;
                Ok(Some(self.cursor(loaded, run)))
            }
            // The run is done: dropping its stream releases it (a spilled run's file goes).
            None => Ok(None),
        }
    }

    /// Drops the batches no live cursor refers to (after an output batch was built) and sets
    /// the reservation to what the cursors hold.
    fn compact_slots(&mut self) -> Result<()> {
        let mut cursors = std::mem::take(&mut self.heap).into_vec();
        let mut slots = Vec::with_capacity(cursors.len());
        let mut bytes = 0;
        for c in &mut cursors {
            let batch = self
                .slots
                .get(c.slot)
                .ok_or_else(|| Error::internal("merge cursor refers to a released batch"))?;
            bytes += batch_memory(batch) + c.rows.size();
            slots.push(batch.clone());
            c.slot = slots.len() - 1;
        }
        self.slots = slots;
        self.heap = BinaryHeap::from(cursors);
        if bytes > self.reservation.size() {
            self.reservation.grow(bytes - self.reservation.size());
        } else {
            self.reservation.shrink(self.reservation.size() - bytes);
        }
        Ok(())
    }

    /// Releases the runs and everything held.
    fn release(&mut self) {
        self.runs.clear();
        self.heap.clear();
        self.slots.clear();
        self.reservation.free();
    }

    /// The next merged batch of at most `batch_size` rows (`None` when done).
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        self.ctx.check_cancelled()?;
        let mut limit = self.ctx.batch_size().max(1);
        if let Some(r) = self.remaining {
            limit = limit.min(r);
        }
        let mut indices: Vec<(usize, usize)> = Vec::with_capacity(limit);
        while indices.len() < limit {
            let Some(mut top) = self.heap.peek_mut() else {
                break;
            };
            indices.push((top.slot, top.pos));
            top.pos += 1;
            if top.pos >= top.rows.num_rows() {
                let run = PeekMut::pop(top).run;
                if let Some(cursor) = self.advance(run)? {
                    self.heap.push(cursor);
                }
            }
        }
        if indices.is_empty() {
            self.release();
            return Ok(None);
        }
        if let Some(r) = self.remaining.as_mut() {
            *r -= indices.len();
        }
        let refs: Vec<&RecordBatch> = self.slots.iter().collect();
        let batch = interleave_rows(&refs, &indices)?;
        if self.remaining == Some(0) {
            // Stop reading the runs and release what they hold.
            self.release();
        } else {
            self.compact_slots()?;
        }
        Ok(Some(batch))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::super::super::limit::testing::task_ctx_with;
    use super::*;
    use crate::physical::expr::PhysicalExpr;

    fn run(schema: &SchemaRef, values: Vec<i64>, per_batch: usize) -> BatchStream {
        let batches: Vec<Result<RecordBatch>> = values
            .chunks(per_batch)
            .map(|c| {
                Ok(RecordBatch::try_new(Arc::clone(schema), vec![Arc::new(Int64Array::from(c.to_vec()))]).unwrap())
            })
            .collect();
        Box::new(batches.into_iter())
    }

    #[test]
    fn merges_in_passes_when_few_runs_fit() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let base = tempfile::tempdir().unwrap();
        // A pool that holds about three batches of 4 rows with their row-format keys.
        let mut ctx = task_ctx_with(4, 1200);
        let mut config = ctx.query.config.clone();
        config.temp_dir = Some(base.path().to_path_buf());
        ctx.query = Arc::new(crate::exec::task::QueryContext::new(
            config,
            crate::exec::memory::MemoryPool::new(1200),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        ));
        let runs: Vec<BatchStream> = (0..20)
            .map(|r| run(&schema, (0..30).map(|i| i * 20 + (19 - r)).collect(), 4))
            .collect();
        let spec = MergeSpec {
            exprs: vec![PhysSortExpr::new(PhysicalExpr::column(0, "v"), false, false)].into(),
            schema: Arc::clone(&schema),
            fetch: None,
            consumer: "test merge".into(),
            spill_label: "merge".into(),
        };
        let out: Vec<RecordBatch> = merge_runs(runs, spec, &ctx).collect::<Result<_>>().unwrap();
        let values: Vec<i64> = out
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(values, (0..600).collect::<Vec<i64>>());
        assert!(
            ctx.spill().stats().values().map(|s| s.files).sum::<u64>() > 1,
            "{:?}",
            ctx.spill().stats()
        );
        assert_eq!(ctx.memory().used(), 0);
        assert!(out.iter().all(|b| b.num_rows() <= 4));
        drop(ctx);
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }
}
