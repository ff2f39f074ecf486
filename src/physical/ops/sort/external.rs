//! The external sort behind `SortExec`: input batches are buffered (with their sort keys)
//! while the memory pool grants them; when it refuses, the buffer is sorted and written to
//! disk as a sorted run (`batch_size`-row chunks), its memory is released and buffering goes
//! on. At the end, if nothing spilled, the buffer is sorted in memory; otherwise the sorted
//! tail joins the spilled runs (in memory when the merge can afford it, else spilled too) and
//! everything is k-way merged by the shared bounded merge of [`super::merge`].

use arrow::array::{Array, ArrayRef, UInt32Array};
use arrow::compute::concat;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::exec::memory::MemoryReservation;
use crate::exec::spill::SpillFile;
use crate::exec::task::TaskContext;
use crate::physical::ops::sort::merge::{file_run, merge_runs, MergeSpec};
use crate::physical::ops::sort::{array_memory, batch_memory, sort_columns, sort_keys, PhysSortExpr, SortedOutput};
use crate::physical::plan::BatchStream;

/// Bytes reserved per buffered row for the sort itself (the index array and the
/// (index, key) pairs the sort kernels build).
const SORT_BYTES_PER_ROW: usize = 32;

/// The result of sorting one partition.
pub(crate) enum Sorted {
    /// Everything fit: sorted in memory.
    Memory(SortedOutput),
    /// Runs were spilled: the merged stream.
    Merged(BatchStream),
}

/// Buffers one partition's batches and spills sorted runs when memory runs out.
pub(crate) struct ExternalSorter {
    schema: SchemaRef,
    exprs: std::sync::Arc<[PhysSortExpr]>,
    ctx: TaskContext,
    consumer: String,
    reservation: MemoryReservation,
    batches: Vec<RecordBatch>,
    /// The evaluated sort keys of each buffered batch.
    keys: Vec<Vec<ArrayRef>>,
    rows: usize,
    runs: Vec<SpillFile>,
    /// The largest spilled chunk (memory size), to estimate the merge's working set.
    max_chunk_bytes: usize,
}

impl ExternalSorter {
    /// An empty sorter; `consumer` names its memory reservation (`Sort[2]`).
    pub(crate) fn new(
        schema: SchemaRef,
        exprs: std::sync::Arc<[PhysSortExpr]>,
        ctx: &TaskContext,
        consumer: String,
    ) -> Self {
        Self {
            schema,
            exprs,
            reservation: ctx.reservation(consumer.clone()),
            ctx: ctx.clone(),
            consumer,
            batches: Vec::new(),
            keys: Vec::new(),
            rows: 0,
            runs: Vec::new(),
            max_chunk_bytes: 0,
        }
    }

    /// Buffers `batch`, first spilling the buffer as a sorted run when the pool refuses it
    /// (or the run would pass the `u32` row index limit).
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let keys = sort_keys(&self.exprs, &batch)?;
        let key_bytes: usize = keys.iter().map(|k| array_memory(k.as_ref())).sum();
        let bytes = batch_memory(&batch) + key_bytes + SORT_BYTES_PER_ROW * batch.num_rows();
        let too_many_rows = self.rows + batch.num_rows() > u32::MAX as usize;
        if too_many_rows || self.reservation.try_grow(bytes).is_err() {
            if !self.batches.is_empty() {
                self.spill_buffer()?;
            }
            if self.reservation.try_grow(bytes).is_err() {
                // The minimum working set: one batch is buffered even past the limit and
                // becomes a run of its own when the next batch comes.
                self.reservation.grow(bytes);
            }
        }
        self.rows += batch.num_rows();
        self.batches.push(batch);
        self.keys.push(keys);
        Ok(())
    }

    /// Sorts the buffered batches (the reservation keeps holding them).
    fn sort_buffer(&mut self) -> Result<SortedOutput> {
        let batches = std::mem::take(&mut self.batches);
        let per_batch = std::mem::take(&mut self.keys);
        self.rows = 0;
        let mut offsets = Vec::with_capacity(batches.len() + 1);
        let mut total = 0usize;
        for b in &batches {
            offsets.push(total);
            total += b.num_rows();
        }
        offsets.push(total);
        let order = if batches.is_empty() {
            UInt32Array::from(Vec::<u32>::new())
        } else {
            let mut keys = Vec::with_capacity(self.exprs.len());
            for k in 0..self.exprs.len() {
                let column: Vec<&dyn Array> = per_batch.iter().map(|keys| keys[k].as_ref()).collect();
                keys.push(concat(&column)?);
            }
            drop(per_batch);
            super::packed_keys::sort_to_indices(&sort_columns(&self.exprs, keys), None)?
        };
        Ok(SortedOutput {
            batches,
            offsets,
            order,
            pos: 0,
        })
    }

    /// Sorts the buffer, writes it as a run and releases its memory.
    fn spill_buffer(&mut self) -> Result<()> {
        let mut sorted = self.sort_buffer()?;
        let mut writer = self.ctx.spill().writer(&self.ctx.spill_label("Sort"), &self.schema)?;
        let batch_size = self.ctx.batch_size();
        while let Some(chunk) = sorted.next_chunk(batch_size)? {
            self.ctx.check_cancelled()?;
            self.max_chunk_bytes = self.max_chunk_bytes.max(batch_memory(&chunk));
            writer.write(&chunk)?;
        }
        drop(sorted);
        self.runs.push(writer.finish()?);
        self.reservation.free();
        Ok(())
    }

    /// Sorts everything pushed: in memory when nothing spilled, else by merging the runs.
    /// In memory, `hold` takes over the reservation of the sorted batches.
    pub(crate) fn finish(mut self, fetch: Option<usize>, hold: &mut MemoryReservation) -> Result<Sorted> {
        if self.runs.is_empty() {
            let mut sorted = self.sort_buffer()?;
            if let Some(fetch) = fetch {
                sorted.order = sorted.order.slice(0, fetch.min(sorted.order.len()));
            }
            let bytes: usize = sorted.batches.iter().map(batch_memory).sum();
            self.reservation
                .shrink(self.reservation.size().saturating_sub(bytes + 4 * sorted.order.len()));
            std::mem::swap(hold, &mut self.reservation);
            return Ok(Sorted::Memory(sorted));
        }
        let spec = MergeSpec {
            exprs: std::sync::Arc::clone(&self.exprs),
            schema: std::sync::Arc::clone(&self.schema),
            fetch,
            consumer: format!("{} merge", self.consumer),
            spill_label: self.ctx.spill_label("Sort"),
        };
        let mut runs: Vec<BatchStream> = Vec::with_capacity(self.runs.len() + 1);
        if !self.batches.is_empty() {
            // The tail stays in memory if a batch of every spilled run fits beside it
            // (row-format keys included); otherwise it is spilled like the others.
            let merge_bytes = 2 * self.max_chunk_bytes * self.runs.len();
            if self.reservation.try_grow(merge_bytes).is_ok() {
                self.reservation.shrink(merge_bytes);
                let sorted = self.sort_buffer()?;
                let reservation = std::mem::replace(&mut self.reservation, self.ctx.reservation(self.consumer.clone()));
                runs.push(Box::new(TailRun {
                    sorted,
                    batch_size: self.ctx.batch_size(),
                    _reservation: reservation,
                }));
            } else {
                self.spill_buffer()?;
            }
        }
        for file in std::mem::take(&mut self.runs) {
            runs.push(file_run(file)?);
        }
        Ok(Sorted::Merged(merge_runs(runs, spec, &self.ctx)))
    }
}

/// The in-memory sorted tail as a run of the merge; its memory goes when the merge is done
/// with it.
struct TailRun {
    sorted: SortedOutput,
    batch_size: usize,
    _reservation: MemoryReservation,
}

impl Iterator for TailRun {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        self.sorted.next_chunk(self.batch_size).transpose()
    }
}
