//! Shuffle outputs: where a stage's tasks leave their batches for the stages that read them.
//! In-process shuffles hand over `Arc`ed Arrow arrays (hash-split with `take`), never
//! serialized while they fit; every buffered byte is reserved from the memory pool, and
//! what does not fit is spilled to compressed Arrow IPC files that readers stream back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion_common::hash_utils::{create_hashes, RandomState};

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::spill::{SpillFile, SpillManager, SpillReader, SpillWriter};
use crate::physical::plan::BatchStream;

/// The hash state every hash exchange and hash table uses, so both sides of a join agree.
pub const SHUFFLE_HASH_STATE: RandomState = RandomState::with_seed(0x5eed_5eed);

/// Computes one hash per row over `keys` (all the same length) into `buffer`.
pub fn hash_rows(keys: &[ArrayRef], num_rows: usize, buffer: &mut Vec<u64>) -> Result<()> {
    buffer.clear();
    buffer.resize(num_rows, 0);
    hash_rows_into(keys, buffer)
}

/// Computes one hash per row over `keys` (all `out.len()` long) into `out`.
pub fn hash_rows_into(keys: &[ArrayRef], out: &mut [u64]) -> Result<()> {
    // -0.0 and 0.0 are one key (see physical::float_zero).
    let keys = crate::physical::float_zero::canonical_all(keys);
    create_hashes(keys.iter(), &SHUFFLE_HASH_STATE, out)?;
    Ok(())
}

/// Splits `batch` into `n` batches by the hash of `keys`: row `i` goes to bucket
/// `hash(i) % n`. Empty buckets are `None`.
pub fn hash_split(batch: &RecordBatch, keys: &[ArrayRef], n: usize) -> Result<Vec<Option<RecordBatch>>> {
    let mut hashes = Vec::new();
    hash_rows(keys, batch.num_rows(), &mut hashes)?;
    let mut indices: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (row, h) in hashes.iter().enumerate() {
        // The high bits are independent of the low bits hash tables use.
        let bucket = ((h >> 32) % n as u64) as usize;
        indices[bucket].push(row as u32);
    }
    indices
        .into_iter()
        .map(|idx| {
            if idx.is_empty() {
                Ok(None)
            } else if idx.len() == batch.num_rows() {
                Ok(Some(batch.clone()))
            } else {
                Ok(Some(crate::physical::rows::take_rows(batch, &UInt32Array::from(idx))?))
            }
        })
        .collect()
}

/// The batches one map task wrote to one bucket: first the spilled files, then what the
/// open spill writer holds, then the batches still in memory (newest last).
#[derive(Debug, Default)]
struct Slot {
    files: Vec<Arc<SpillFile>>,
    writer: Option<SpillWriter>,
    memory: Vec<RecordBatch>,
    memory_bytes: usize,
    /// The map task has finished: a later spill closes its file at once.
    done: bool,
}

/// The buffered output of one stage: `buckets[bucket][map_task]` holds the batches that
/// map task wrote to that bucket, in order (so a sorted run stays a run).
///
/// Batches stay in memory while the pool grants their bytes. When it refuses, the output
/// spills: every slot moves its in-memory batches to its spill file (one file per slot and
/// map task, LZ4-compressed Arrow IPC) and the batch that did not fit follows them there.
/// Readers stream each slot back in order, files first.
#[derive(Debug)]
pub struct StageOutput {
    schema: SchemaRef,
    buckets: Vec<Vec<Mutex<Slot>>>,
    reservation: Mutex<MemoryReservation>,
    spill: Arc<SpillManager>,
    label: String,
    /// Each bucket is read exactly once: readers take its batches (and their memory).
    read_once: bool,
    /// One shuffle read in the plan reads this output (in any number of partitions).
    sole_reader: bool,
    /// Map task `i` writes only bucket `i`, which then holds one slot (a forward exchange).
    diagonal: bool,
}

impl StageOutput {
    /// An empty output with `buckets` buckets written by `map_tasks` tasks; it spills to
    /// `spill` under the name `label`.
    pub fn new(
        schema: SchemaRef,
        buckets: usize,
        map_tasks: usize,
        reservation: MemoryReservation,
        spill: Arc<SpillManager>,
        label: String,
    ) -> Self {
        Self {
            schema,
            buckets: (0..buckets)
                .map(|_| (0..map_tasks).map(|_| Mutex::new(Slot::default())).collect())
                .collect(),
            reservation: Mutex::new(reservation),
            spill,
            label,
            read_once: false,
            sole_reader: false,
            diagonal: false,
        }
    }

    /// An empty output of `buckets` buckets, each written only by the map task of the same
    /// number (a forward exchange: the partitions stay as they were written).
    pub fn forward(
        schema: SchemaRef,
        buckets: usize,
        reservation: MemoryReservation,
        spill: Arc<SpillManager>,
        label: String,
    ) -> Self {
        Self {
            diagonal: true,
            ..Self::new(schema, buckets, 1, reservation, spill, label)
        }
    }

    /// Marks this output as read by one shuffle read in the plan, which may let it go
    /// before its stage ends ([`ShuffleStore::release_for_sole_reader`]).
    pub fn sole_reader(mut self) -> Self {
        self.sole_reader = true;
        self
    }

    /// Marks every bucket as read exactly once (one reader, no broadcast): a reader takes
    /// the in-memory batches and their reservation, which shrinks as it hands them on, so
    /// the memory follows the data into the consuming operator.
    pub fn read_once(mut self) -> Self {
        self.read_once = true;
        self
    }

    /// The schema of the buffered batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Number of buckets.
    pub fn num_buckets(&self) -> usize {
        self.buckets.len()
    }

    fn slot(&self, bucket: usize, map_task: usize) -> Result<&Mutex<Slot>> {
        let index = match self.diagonal {
            true if map_task == bucket => 0,
            true => usize::MAX,
            false => map_task,
        };
        self.buckets
            .get(bucket)
            .and_then(|b| b.get(index))
            .ok_or_else(|| Error::internal(format!("no shuffle slot for bucket {bucket}, map task {map_task}")))
    }

    /// Appends `batch` to `bucket` from `map_task`: in memory when the pool grants its bytes,
    /// otherwise after spilling this output's in-memory batches.
    pub fn push(&self, bucket: usize, map_task: usize, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let bytes = batch.get_array_memory_size();
        let slot = self.slot(bucket, map_task)?;
        if lock(&self.reservation)?.try_grow(bytes).is_err() {
            self.spill_all()?;
            if lock(&self.reservation)?.try_grow(bytes).is_err() {
                // Still no room (other operators hold the pool): straight to disk.
                let mut slot = lock(slot)?;
                return self.write_to_file(&mut slot, &[batch]);
            }
        }
        let mut slot = lock(slot)?;
        slot.memory_bytes += bytes;
        slot.memory.push(batch);
        Ok(())
    }

    /// Moves every slot's in-memory batches to its spill file and returns their memory.
    fn spill_all(&self) -> Result<()> {
        for bucket in &self.buckets {
            for slot in bucket {
                let mut slot = lock(slot)?;
                if slot.memory.is_empty() {
                    continue;
                }
                let batches = std::mem::take(&mut slot.memory);
                let freed = std::mem::take(&mut slot.memory_bytes);
                self.write_to_file(&mut slot, &batches)?;
                lock(&self.reservation)?.shrink(freed);
            }
        }
        Ok(())
    }

    /// Appends `batches` to the slot's spill file (closing it at once when its task is done).
    fn write_to_file(&self, slot: &mut Slot, batches: &[RecordBatch]) -> Result<()> {
        if !slot.memory.is_empty() {
            return Err(Error::internal("shuffle slot spilled out of order"));
        }
        let writer = match slot.writer.as_mut() {
            Some(w) => w,
            None => slot.writer.insert(self.spill.writer(&self.label, &self.schema)?),
        };
        for batch in batches {
            writer.write(batch)?;
        }
        if slot.done {
            Self::close_writer(slot)?;
        }
        Ok(())
    }

    fn close_writer(slot: &mut Slot) -> Result<()> {
        if let Some(writer) = slot.writer.take() {
            slot.files.push(Arc::new(writer.finish()?));
        }
        Ok(())
    }

    /// Marks `map_task` finished: closes its spill files so they can be read.
    pub fn finish_task(&self, map_task: usize) -> Result<()> {
        let buckets = match self.diagonal {
            true => map_task..map_task + 1,
            false => 0..self.buckets.len(),
        };
        for bucket in buckets {
            let mut slot = lock(self.slot(bucket, map_task)?)?;
            slot.done = true;
            Self::close_writer(&mut slot)?;
        }
        Ok(())
    }

    /// All batches of `bucket`, map task by map task, streamed (spilled ones read back).
    pub fn bucket(&self, bucket: usize) -> Result<BatchStream> {
        let runs = self.runs(bucket)?;
        Ok(Box::new(runs.into_iter().flatten()))
    }

    /// The batches of `bucket` kept apart per map task (each a sorted run after a sort);
    /// map tasks that wrote nothing there are left out.
    pub fn runs(&self, bucket: usize) -> Result<Vec<BatchStream>> {
        let slots = self
            .buckets
            .get(bucket)
            .ok_or_else(|| Error::internal(format!("no shuffle bucket {bucket}")))?;
        let mut runs = Vec::new();
        for s in slots {
            let mut slot = lock(s)?;
            if slot.files.is_empty() && slot.memory.is_empty() && slot.writer.is_none() {
                continue;
            }
            if slot.writer.is_some() {
                return Err(Error::internal("a shuffle slot is read while still being written"));
            }
            let reader = if self.read_once {
                let bytes = std::mem::take(&mut slot.memory_bytes);
                SlotReader {
                    files: std::mem::take(&mut slot.files).into_iter(),
                    current: None,
                    memory: std::mem::take(&mut slot.memory).into_iter(),
                    reservation: Some(lock(&self.reservation)?.split(bytes)),
                }
            } else {
                SlotReader {
                    files: slot.files.clone().into_iter(),
                    current: None,
                    memory: slot.memory.clone().into_iter(),
                    reservation: None,
                }
            };
            runs.push(Box::new(reader) as BatchStream);
        }
        Ok(runs)
    }

    /// Bytes buffered in memory (as reserved from the pool).
    pub fn reserved_bytes(&self) -> usize {
        self.reservation.lock().map(|r| r.size()).unwrap_or(0)
    }
}

/// Streams one slot: its spill files in order, then its in-memory batches (giving back
/// their bytes as it hands them on, when it took them over).
struct SlotReader {
    files: std::vec::IntoIter<Arc<SpillFile>>,
    current: Option<(Arc<SpillFile>, SpillReader)>,
    memory: std::vec::IntoIter<RecordBatch>,
    reservation: Option<MemoryReservation>,
}

impl Iterator for SlotReader {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, reader)) = self.current.as_mut() {
                match reader.next() {
                    Some(item) => return Some(item),
                    None => self.current = None,
                }
            }
            match self.files.next() {
                Some(file) => match file.read() {
                    Ok(reader) => self.current = Some((file, reader)),
                    Err(e) => return Some(Err(e)),
                },
                None => {
                    let batch = self.memory.next()?;
                    if let Some(r) = self.reservation.as_mut() {
                        r.shrink(batch.get_array_memory_size());
                    }
                    return Some(Ok(batch));
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::internal("a shuffle lock was poisoned by a panicking task"))
}

/// The outputs of all stages of one query, by stage id.
#[derive(Debug, Default)]
pub struct ShuffleStore {
    outputs: RwLock<HashMap<usize, Arc<StageOutput>>>,
}

impl ShuffleStore {
    /// Makes `output` the output of `stage`.
    pub fn register(&self, stage: usize, output: Arc<StageOutput>) -> Result<()> {
        self.outputs
            .write()
            .map_err(|_| Error::internal("shuffle store poisoned"))?
            .insert(stage, output);
        Ok(())
    }

    /// The output of `stage`.
    pub fn get(&self, stage: usize) -> Result<Arc<StageOutput>> {
        self.outputs
            .read()
            .map_err(|_| Error::internal("shuffle store poisoned"))?
            .get(&stage)
            .cloned()
            .ok_or_else(|| Error::internal(format!("stage {stage} has no output yet")))
    }

    /// Drops the output of `stage` when its reader is done with it for good before its
    /// stage ends and no other shuffle read reads it: a broadcast build side, once built
    /// into the table every partition of the join shares, is not held twice while the
    /// join is probed.
    pub fn release_for_sole_reader(&self, stage: usize) {
        if self.get(stage).is_ok_and(|output| output.sole_reader) {
            self.release(stage);
        }
    }

    /// Drops the output of `stage` once every reader is done, returning its memory.
    pub fn release(&self, stage: usize) {
        if let Ok(mut outputs) = self.outputs.write() {
            outputs.remove(&stage);
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::exec::memory::MemoryPool;

    /// A one-bucket output of one map task holding rows 0..1000, as `sole_reader` says.
    fn output(pool: &Arc<MemoryPool>, spill: &Arc<SpillManager>, sole_reader: bool) -> Arc<StageOutput> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let output = StageOutput::new(
            Arc::clone(&schema),
            1,
            1,
            pool.reservation("test output"),
            Arc::clone(spill),
            "test".into(),
        );
        let output = if sole_reader { output.sole_reader() } else { output };
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..1000))]).unwrap();
        output.push(0, 0, batch).unwrap();
        Arc::new(output)
    }

    #[test]
    fn an_output_with_one_reader_goes_when_it_is_done_and_its_memory_with_it() {
        let pool = MemoryPool::new(1 << 30);
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillManager::new(Some(dir.path().to_path_buf()), None);
        let store = ShuffleStore::default();
        store.register(0, output(&pool, &spill, true)).unwrap();
        store.register(1, output(&pool, &spill, false)).unwrap();
        let held = pool.used();
        assert!(held > 0);
        store.release_for_sole_reader(0);
        store.release_for_sole_reader(1);
        assert!(store.get(0).is_err());
        let rows: usize = store
            .get(1)
            .unwrap()
            .bucket(0)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 1000);
        assert_eq!(pool.used(), held / 2);
        // Releasing again, or an output never registered, is harmless.
        store.release_for_sole_reader(0);
        store.release_for_sole_reader(7);
    }
}
