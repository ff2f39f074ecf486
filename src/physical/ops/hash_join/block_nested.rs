//! Block nested loop join of one spilled partition pair whose build side does not fit in
//! memory and cannot be split further by hash (a single key value, or a keyless join):
//! the build file is read in chunks that fit, and the whole probe file is joined with each
//! chunk by the ordinary in-memory join. Every build row belongs to one chunk, so the
//! chunk's pass emits its unmatched build rows (Left, Full, LeftAnti) and matched ones
//! (LeftSemi); probe rows carry [`ProbeMarks`] across passes so that a RightSemi row comes
//! out once, in the first pass that matches it, and unmatched probe rows (Right, Full,
//! RightAnti) come out in the last pass when no pass matched them.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;

use super::probe::{HashJoinStream, ProbeMarks};
use super::table::{index_bytes, JoinTable};
use super::JoinSpec;
use crate::error::{Error, Result};
use crate::exec::memory::{human_bytes, MemoryReservation};
use crate::exec::spill::{SpillFile, SpillReader};
use crate::exec::task::TaskContext;
use crate::physical::plan::BatchStream;

/// Joins a spilled build partition chunk by chunk with its (re-read) probe partition.
pub(super) struct BlockNestedStream {
    spec: Arc<JoinSpec>,
    ctx: TaskContext,
    consumer: String,
    build: SpillReader,
    build_file: SpillFile,
    probe: Option<SpillFile>,
    /// A build batch read but not taken into the previous chunk.
    leftover: Option<RecordBatch>,
    build_done: bool,
    marks: Option<ProbeMarks>,
    _marks_reservation: MemoryReservation,
    current: Option<HashJoinStream>,
    finished: bool,
}

impl BlockNestedStream {
    /// Joins `build` with `probe` (no probe rows when `None`).
    pub(super) fn new(
        spec: Arc<JoinSpec>,
        build: SpillFile,
        probe: Option<SpillFile>,
        ctx: &TaskContext,
        consumer: String,
    ) -> Result<Self> {
        let mut marks_reservation = ctx.reservation(format!("{consumer} probe marks"));
        let marks = if spec.tracks_probe() {
            let marks = ProbeMarks::new(probe.as_ref().map_or(0, |p| p.rows()) as usize);
            // One bit per probe row: bookkeeping the loop cannot do without.
            marks_reservation.grow(marks.bytes());
            Some(marks)
        } else {
            None
        };
        Ok(Self {
            spec,
            ctx: ctx.clone(),
            consumer,
            build: build.read()?,
            build_file: build,
            probe,
            leftover: None,
            build_done: false,
            marks,
            _marks_reservation: marks_reservation,
            current: None,
            finished: false,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(stream) = self.current.as_mut() {
                if let Some(batch) = stream.next().transpose()? {
                    return Ok(Some(batch));
                }
                self.marks = stream.take_marks();
                self.current = None;
            }
            if self.build_done {
                return Ok(None);
            }
            let (batches, reservation) = self.fill_chunk()?;
            if batches.is_empty() {
                return Ok(None);
            }
            let table = JoinTable::from_batches(batches, reservation, &self.spec, false)?;
            if let Some(marks) = self.marks.as_mut() {
                marks.start_pass(self.build_done);
            }
            let probe: BatchStream = match &self.probe {
                Some(file) => Box::new(file.read()?),
                None => Box::new(std::iter::empty()),
            };
            self.current = Some(HashJoinStream::new(
                Arc::clone(&self.spec),
                Arc::new(table),
                probe,
                &self.ctx,
                self.marks.take(),
            ));
        }
    }

    /// Reads build batches while the pool allows them and their share of the table.
    fn fill_chunk(&mut self) -> Result<(Vec<RecordBatch>, MemoryReservation)> {
        let mut reservation = self.ctx.reservation(format!("{} build chunk", self.consumer));
        let mut batches = Vec::new();
        loop {
            let batch = match self.leftover.take() {
                Some(batch) => batch,
                None => match self.build.next().transpose()? {
                    Some(batch) => batch,
                    None => {
                        self.build_done = true;
                        break;
                    }
                },
            };
            self.ctx.check_cancelled()?;
            if batch.num_rows() == 0 {
                continue;
            }
            let size = batch.get_array_memory_size();
            // The batch, its part of the concatenated copy, its index entries.
            if reservation.try_grow(2 * size + index_bytes(batch.num_rows())).is_ok() {
                batches.push(batch);
                continue;
            }
            if batches.is_empty() {
                // The minimum working set: one batch, granted even while other operators
                // hold the pool, unless it alone exceeds the limit.
                let need = 2 * size + index_bytes(batch.num_rows());
                let pool = self.ctx.memory();
                if need > pool.limit() {
                    return Err(Error::ResourcesExhausted(format!(
                        "{} cannot hold one batch ({} in {} rows) of a build partition of {} rows ({} spilled) \
                         that hashing cannot split (no join keys, or one dominant key), within the {} memory limit",
                        self.consumer,
                        human_bytes(need),
                        batch.num_rows(),
                        self.build_file.rows(),
                        human_bytes(self.build_file.bytes() as usize),
                        human_bytes(pool.limit()),
                    )));
                }
                reservation.grow(need);
                batches.push(batch);
                continue;
            }
            self.leftover = Some(batch);
            break;
        }
        Ok((batches, reservation))
    }
}

impl Iterator for BlockNestedStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.finished = true;
            self.current = None;
            self.leftover = None;
        }
        out
    }
}
