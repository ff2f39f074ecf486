//! The stream of one task of `WindowExec`: reads the input (sorted by partition keys, then
//! order keys) and holds only the window partition in progress. As soon as a batch shows
//! that partitions are complete (its partition keys change), the complete rows (the buffer
//! plus the batch up to the last change) are computed together and handed out, and the rest
//! of the batch starts the new buffer. Without PARTITION BY the whole input is one window
//! partition. A window partition must fit in memory: when the pool refuses it (beyond this
//! task's share), the query ends with a "resources exhausted" error naming the operator and
//! the sizes.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::{concat, concat_batches, partition};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::{human_bytes, MemoryReservation};
use crate::exec::task::TaskContext;
use crate::physical::ops::sort::merge::task_share;
use crate::physical::plan::BatchStream;

use super::WindowCalls;

/// Computes window calls one (group of complete) window partition(s) at a time.
pub(super) struct WindowStream {
    input: Option<BatchStream>,
    calls: Arc<WindowCalls>,
    ctx: TaskContext,
    reservation: MemoryReservation,
    /// The rows of the window partition in progress.
    buffer: Vec<RecordBatch>,
    buffered_rows: usize,
    /// Bytes reserved for the buffer (twice its batches: the batches and their concatenation).
    buffer_bytes: usize,
    /// The partition keys of the last buffered row (one-row arrays).
    last_key: Vec<ArrayRef>,
    /// Computed batches waiting to be handed out.
    output: VecDeque<RecordBatch>,
    done: bool,
}

impl WindowStream {
    pub(super) fn new(input: BatchStream, calls: Arc<WindowCalls>, consumer: String, ctx: &TaskContext) -> Self {
        Self {
            input: Some(input),
            calls,
            ctx: ctx.clone(),
            reservation: ctx.memory().reservation(consumer),
            buffer: Vec::new(),
            buffered_rows: 0,
            buffer_bytes: 0,
            last_key: Vec::new(),
            output: VecDeque::new(),
            done: false,
        }
    }

    /// Whether row 0 of `keys` has the partition keys of the last buffered row (with the
    /// equality the window layout uses).
    fn continues(&self, keys: &[ArrayRef]) -> Result<bool> {
        if self.buffer.is_empty() {
            return Ok(false);
        }
        let pairs = self
            .last_key
            .iter()
            .zip(keys)
            .map(|(last, k)| Ok(concat(&[last.as_ref(), k.slice(0, 1).as_ref()])?))
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(partition(&pairs)?.len() == 1)
    }

    /// Computes the complete window partitions `batches` and queues the output in
    /// `batch_size` chunks.
    fn compute(&mut self, batches: Vec<RecordBatch>) -> Result<()> {
        let input = match batches.as_slice() {
            [] => return Ok(()),
            [one] => one.clone(),
            [first, ..] => concat_batches(&first.schema(), &batches)?,
        };
        drop(batches);
        let out = self.calls.compute(&input)?;
        drop(input);
        // The output lives until its last chunk is handed out (a transient working set).
        self.reservation.grow(out.get_array_memory_size());
        let batch_size = self.ctx.batch_size().max(1);
        let rows = out.num_rows();
        for start in (0..rows).step_by(batch_size) {
            self.output.push_back(out.slice(start, batch_size.min(rows - start)));
        }
        Ok(())
    }

    /// Adds `batch` (rows of the window partition in progress) to the buffer.
    fn buffer(&mut self, batch: RecordBatch, keys: &[ArrayRef]) -> Result<()> {
        let bytes = 2 * batch.get_array_memory_size();
        if self.reservation.try_grow(bytes).is_err() {
            if self.buffer_bytes + bytes > task_share(&self.ctx) {
                return Err(Error::ResourcesExhausted(format!(
                    "{} cannot hold one window partition of more than {} ({} rows so far) within the {} \
                     memory limit: a window partition must fit in memory (more PARTITION BY keys or a \
                     larger memory_limit help)",
                    self.reservation.consumer(),
                    human_bytes(self.buffer_bytes / 2 + bytes / 2),
                    self.buffered_rows + batch.num_rows(),
                    human_bytes(self.ctx.memory().limit()),
                )));
            }
            // A small window partition is this task's minimum working set.
            self.reservation.grow(bytes);
        }
        self.buffer_bytes += bytes;
        self.buffered_rows += batch.num_rows();
        let last = batch.num_rows() - 1;
        self.last_key = keys.iter().map(|k| k.slice(last, 1)).collect();
        self.buffer.push(batch);
        Ok(())
    }

    /// Takes the buffer out (its rows are complete window partitions).
    fn take_buffer(&mut self) -> Vec<RecordBatch> {
        self.buffered_rows = 0;
        self.last_key.clear();
        std::mem::take(&mut self.buffer)
    }

    /// Gives back the reservation of a buffer that was computed.
    fn release_buffer(&mut self) {
        self.reservation.shrink(self.buffer_bytes);
        self.buffer_bytes = 0;
    }

    /// Reads one input batch and computes what it completes; `false` at the end of input.
    fn read(&mut self) -> Result<bool> {
        let Some(batch) = self.input.as_mut().and_then(Iterator::next).transpose()? else {
            self.input = None;
            let complete = self.take_buffer();
            self.compute(complete)?;
            self.release_buffer();
            return Ok(false);
        };
        self.ctx.check_cancelled()?;
        if batch.num_rows() == 0 {
            return Ok(true);
        }
        let keys = self
            .calls
            .partition_keys
            .iter()
            .map(|k| k.evaluate(&batch))
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            self.buffer(batch, &keys)?;
            return Ok(true);
        }
        // Where the last window partition of the batch starts.
        let cut = partition(&keys)?.ranges().last().map_or(0, |r| r.start);
        if cut == 0 && self.continues(&keys)? {
            self.buffer(batch, &keys)?;
            return Ok(true);
        }
        let mut complete = self.take_buffer();
        if cut > 0 {
            complete.push(batch.slice(0, cut));
        }
        // The finished buffer's reservation covers its computation.
        self.compute(complete)?;
        self.release_buffer();
        let rest = batch.num_rows() - cut;
        let tail_keys: Vec<ArrayRef> = keys.iter().map(|k| k.slice(cut, rest)).collect();
        self.buffer(batch.slice(cut, rest), &tail_keys)?;
        Ok(true)
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(batch) = self.output.pop_front() {
                if self.output.is_empty() {
                    // The computed batch goes with its last chunk; the buffer stays reserved.
                    let held = self.reservation.size();
                    self.reservation.shrink(held.saturating_sub(self.buffer_bytes));
                }
                return Ok(Some(batch));
            }
            let more = self.input.is_some() && self.read()?;
            if !more && self.output.is_empty() {
                return Ok(None);
            }
        }
    }
}

impl Iterator for WindowStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
            self.input = None;
            self.buffer.clear();
            self.output.clear();
            self.reservation.free();
        }
        out
    }
}
