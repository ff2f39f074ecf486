//! Shuffle outputs: where a stage's tasks leave their batches for the stages that read them.
//! In-process shuffles hand over `Arc`ed Arrow arrays (hash-split with `take`), never
//! serialized; every buffered byte is reserved from the memory pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion_common::hash_utils::{create_hashes, RandomState};

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;

/// The hash state every hash exchange and hash table uses, so both sides of a join agree.
pub const SHUFFLE_HASH_STATE: RandomState = RandomState::with_seed(0x5eed_5eed);

/// Computes one hash per row over `keys` (all the same length) into `buffer`.
pub fn hash_rows(keys: &[ArrayRef], num_rows: usize, buffer: &mut Vec<u64>) -> Result<()> {
    buffer.clear();
    buffer.resize(num_rows, 0);
    create_hashes(keys.iter(), &SHUFFLE_HASH_STATE, buffer)?;
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
                Ok(Some(take_record_batch(batch, &UInt32Array::from(idx))?))
            }
        })
        .collect()
}

/// The buffered output of one stage: `buckets[bucket][map_task]` holds the batches that
/// map task wrote to that bucket, in order (so a sorted run stays a run).
#[derive(Debug)]
pub struct StageOutput {
    schema: SchemaRef,
    buckets: Vec<Vec<Mutex<Vec<RecordBatch>>>>,
    reservation: Mutex<MemoryReservation>,
}

impl StageOutput {
    /// An empty output with `buckets` buckets written by `map_tasks` tasks.
    pub fn new(schema: SchemaRef, buckets: usize, map_tasks: usize, reservation: MemoryReservation) -> Self {
        Self {
            schema,
            buckets: (0..buckets)
                .map(|_| (0..map_tasks).map(|_| Mutex::new(Vec::new())).collect())
                .collect(),
            reservation: Mutex::new(reservation),
        }
    }

    /// The schema of the buffered batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Number of buckets.
    pub fn num_buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Appends `batch` to `bucket` from `map_task`, reserving its memory first.
    pub fn push(&self, bucket: usize, map_task: usize, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let bytes = batch.get_array_memory_size();
        lock(&self.reservation)?.try_grow(bytes)?;
        let slot = self
            .buckets
            .get(bucket)
            .and_then(|b| b.get(map_task))
            .ok_or_else(|| Error::internal(format!("no shuffle slot for bucket {bucket}, map task {map_task}")))?;
        lock(slot)?.push(batch);
        Ok(())
    }

    /// All batches of `bucket`, map task by map task.
    pub fn bucket(&self, bucket: usize) -> Result<Vec<RecordBatch>> {
        Ok(self.runs(bucket)?.into_iter().flatten().collect())
    }

    /// The batches of `bucket` kept apart per map task (each a sorted run after a sort).
    pub fn runs(&self, bucket: usize) -> Result<Vec<Vec<RecordBatch>>> {
        let slots = self
            .buckets
            .get(bucket)
            .ok_or_else(|| Error::internal(format!("no shuffle bucket {bucket}")))?;
        slots.iter().map(|s| Ok(lock(s)?.clone())).collect()
    }

    /// Bytes buffered (as reserved from the pool).
    pub fn reserved_bytes(&self) -> usize {
        self.reservation.lock().map(|r| r.size()).unwrap_or(0)
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

    /// Drops the output of `stage` once every reader is done, returning its memory.
    pub fn release(&self, stage: usize) {
        if let Ok(mut outputs) = self.outputs.write() {
            outputs.remove(&stage);
        }
    }
}
