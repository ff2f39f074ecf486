//! The stream of one task of `WindowExec`: reads the input (sorted by partition keys, then
//! order keys) and holds only the window partition in progress. As soon as a batch shows
//! that partitions are complete (its partition keys change), the complete rows (the buffer
//! plus the batch up to the last change) are computed together and handed out, and the rest
//! of the batch starts the new buffer. Without PARTITION BY the whole input is one window
//! partition. When the pool refuses a window partition (beyond this task's share), it is
//! written to a spill file and computed from there in chunks (`spilled.rs`) if its calls
//! allow that; otherwise the query ends with a "resources exhausted" error naming the
//! operator and the sizes.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::{concat, concat_batches, partition};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::{human_bytes, MemoryReservation};
use crate::exec::spill::SpillWriter;
use crate::exec::task::TaskContext;
use crate::physical::float_zero::canonical;
use crate::physical::ops::sort::batch_memory;
use crate::physical::ops::sort::merge::{file_run, task_share};
use crate::physical::plan::BatchStream;

use super::spilled::{streamable, SpilledPartition};
use super::WindowCalls;

/// The ranges of rows of `batch` equal on `keys` (with the equality the window layout uses),
/// and whether the first range continues the group of `last` (the keys of the previous row,
/// one-row arrays; empty when there is none).
pub(super) fn groups(keys: &[ArrayRef], last: &[ArrayRef]) -> Result<(Vec<Range<usize>>, bool)> {
    let ranges = partition(keys)?.ranges();
    if last.is_empty() || keys.is_empty() {
        return Ok((ranges, !last.is_empty()));
    }
    let pairs = last
        .iter()
        .zip(keys)
        .map(|(l, k)| Ok(concat(&[l.as_ref(), k.slice(0, 1).as_ref()])?))
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok((ranges, partition(&pairs)?.len() == 1))
}

/// Output waiting to be handed out.
enum Pending {
    /// A computed chunk.
    Batch(RecordBatch),
    /// A spilled window partition, computed as it is read.
    Spilled(SpilledPartition),
}

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
    /// The partition keys of the last row of the partition in progress (one-row arrays;
    /// empty when there is none).
    last_key: Vec<ArrayRef>,
    /// The partition in progress, when it went to disk.
    spill: Option<SpillWriter>,
    /// Output waiting to be handed out, in order.
    output: VecDeque<Pending>,
    done: bool,
}

impl WindowStream {
    pub(super) fn new(input: BatchStream, calls: Arc<WindowCalls>, consumer: String, ctx: &TaskContext) -> Self {
        Self {
            input: Some(input),
            calls,
            ctx: ctx.clone(),
            reservation: ctx.reservation(consumer),
            buffer: Vec::new(),
            buffered_rows: 0,
            buffer_bytes: 0,
            last_key: Vec::new(),
            spill: None,
            output: VecDeque::new(),
            done: false,
        }
    }

    /// Computes the complete window partitions `batches` and queues the output in
    /// `batch_size` chunks.
    fn compute(&mut self, batches: Vec<RecordBatch>) -> Result<()> {
        let input = match batches.as_slice() {
            [] => {
                self.release_buffer();
                return Ok(());
            }
            [one] => one.clone(),
            [first, ..] => concat_batches(&first.schema(), &batches)?,
        };
        drop(batches);
        let out = self.calls.compute(&input)?;
        drop(input);
        // The computed rows' reservation passes to the output, which lives until its last
        // chunk is handed out.
        self.release_buffer();
        self.reservation.grow(batch_memory(&out));
        let batch_size = self.ctx.batch_size().max(1);
        let rows = out.num_rows();
        for start in (0..rows).step_by(batch_size) {
            self.output
                .push_back(Pending::Batch(out.slice(start, batch_size.min(rows - start))));
        }
        Ok(())
    }

    /// Adds `batch` (rows of the window partition in progress) to the buffer, or to its
    /// spill file once it went to disk.
    fn append(&mut self, batch: RecordBatch, keys: &[ArrayRef]) -> Result<()> {
        let last = batch.num_rows() - 1;
        self.last_key = keys.iter().map(|k| k.slice(last, 1)).collect();
        if let Some(writer) = self.spill.as_mut() {
            return writer.write(&batch);
        }
        let bytes = 2 * batch_memory(&batch);
        if self.reservation.try_grow(bytes).is_err() {
            // A small window partition is this task's minimum working set (taken past the
            // limit rather than written to a file of its own); a larger one goes to disk if
            // its calls allow, else it may grow to the task's share.
            let wanted = self.buffer_bytes + bytes;
            let share = task_share(&self.ctx);
            let small = wanted <= share / 8;
            if !small && (wanted > share || streamable(&self.calls, &batch.schema())) {
                return self.spill_partition(batch, bytes);
            }
            self.reservation.grow(bytes);
        }
        self.buffer_bytes += bytes;
        self.buffered_rows += batch.num_rows();
        self.buffer.push(batch);
        Ok(())
    }

    /// Moves the partition in progress (the buffer, then `batch`) to a spill file, if its
    /// calls can be computed from there.
    fn spill_partition(&mut self, batch: RecordBatch, bytes: usize) -> Result<()> {
        let schema = batch.schema();
        if !streamable(&self.calls, &schema) {
            return Err(Error::ResourcesExhausted(format!(
                "{} cannot hold one window partition of more than {} ({} rows so far) within the {} \
                 memory limit: a window partition must fit in memory unless its functions only look \
                 back (row_number, rank, dense_rank, or count/sum/min/max from UNBOUNDED PRECEDING to \
                 CURRENT ROW); more PARTITION BY keys or a larger memory_limit help",
                self.reservation.consumer(),
                human_bytes(self.buffer_bytes / 2 + bytes / 2),
                self.buffered_rows + batch.num_rows(),
                human_bytes(self.ctx.memory().limit()),
            )));
        }
        let mut writer = self.ctx.spill().writer(&self.ctx.spill_label("Window"), &schema)?;
        for b in self.take_rows() {
            writer.write(&b)?;
        }
        writer.write(&batch)?;
        self.release_buffer();
        self.spill = Some(writer);
        Ok(())
    }

    /// Ends the partition in progress: a spilled one is queued for computing from disk; the
    /// rows of a buffered one are returned (to be computed with what follows them).
    fn end_partition(&mut self) -> Result<Vec<RecordBatch>> {
        self.last_key.clear();
        let Some(writer) = self.spill.take() else {
            return Ok(self.take_rows());
        };
        let file = writer.finish()?;
        let schema = std::sync::Arc::clone(file.schema());
        let consumer = self.reservation.consumer().to_string();
        let partition = SpilledPartition::new(file_run(file)?, Arc::clone(&self.calls), &schema, &self.ctx, &consumer)?;
        self.output.push_back(Pending::Spilled(partition));
        Ok(Vec::new())
    }

    /// Takes the buffered rows out (their reservation stays until [`Self::release_buffer`]).
    fn take_rows(&mut self) -> Vec<RecordBatch> {
        self.buffered_rows = 0;
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
            let complete = self.end_partition()?;
            self.compute(complete)?;
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
            .map(|k| Ok(canonical(&k.evaluate(&batch)?)))
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            self.append(batch, &keys)?;
            return Ok(true);
        }
        let (ranges, continues) = groups(&keys, &self.last_key)?;
        if ranges.len() == 1 && continues {
            self.append(batch, &keys)?;
            return Ok(true);
        }
        // The partition in progress ends in this batch (at its first range when that
        // continues it) and the batch's last range starts a new one.
        let first_end = match ranges.first() {
            Some(r) if continues => r.end,
            _ => 0,
        };
        let cut = ranges.last().map_or(0, |r| r.start);
        let start = if self.spill.is_some() {
            if let Some(writer) = self.spill.as_mut() {
                writer.write(&batch.slice(0, first_end))?;
            }
            first_end
        } else {
            0
        };
        let mut complete = self.end_partition()?;
        if cut > start {
            complete.push(batch.slice(start, cut - start));
        }
        // The finished buffer's reservation covers its computation.
        self.compute(complete)?;
        let rest = batch.num_rows() - cut;
        let tail_keys: Vec<ArrayRef> = keys.iter().map(|k| k.slice(cut, rest)).collect();
        self.append(batch.slice(cut, rest), &tail_keys)?;
        Ok(true)
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            match self.output.front_mut() {
                Some(Pending::Batch(_)) => {
                    if let Some(Pending::Batch(batch)) = self.output.pop_front() {
                        if self.output.is_empty() {
                            // The computed batch goes with its last chunk; the buffer stays
                            // reserved.
                            let held = self.reservation.size();
                            self.reservation.shrink(held.saturating_sub(self.buffer_bytes));
                        }
                        return Ok(Some(batch));
                    }
                }
                Some(Pending::Spilled(partition)) => match partition.next().transpose()? {
                    Some(batch) => return Ok(Some(batch)),
                    None => {
                        self.output.pop_front();
                        continue;
                    }
                },
                None => {}
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
            self.spill = None;
            self.reservation.free();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, Int64Array};

    use super::*;

    #[test]
    fn groups_split_a_batch_and_continue_the_previous_row() {
        let keys: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![None, None, Some(1), Some(1), Some(2)]))];
        let (ranges, continues) = groups(&keys, &[]).unwrap();
        assert_eq!(ranges, vec![0..2, 2..4, 4..5]);
        assert!(!continues);
        let null: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![None::<i64>]))];
        assert!(groups(&keys, &null).unwrap().1);
        let one: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![1]))];
        assert!(!groups(&keys, &one).unwrap().1);
        // The layout's equality: NaN equals NaN.
        let nan: Vec<ArrayRef> = vec![Arc::new(Float64Array::from(vec![f64::NAN, 1.0]))];
        let last: Vec<ArrayRef> = vec![Arc::new(Float64Array::from(vec![f64::NAN]))];
        assert_eq!(groups(&nan, &last).unwrap(), (vec![0..1, 1..2], true));
    }
}
