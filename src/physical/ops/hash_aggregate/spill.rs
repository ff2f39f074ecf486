//! Partitions of a hash aggregate: batches of partial states (group keys first) split by a
//! hash of their keys into [`FANOUT`] partitions, so that each holds every state of its
//! groups and can be aggregated on its own. A partition is held in memory, reserved from the
//! pool, until the pool refuses; then every partition goes to its own spill file.
//!
//! Rows are hashed with the shuffle's hash, then each re-partitioning level scrambles that
//! hash with its own seed through a full-avalanche mixer (MurmurHash3's finalizer), so the
//! partitions of a partition spread again and the choice is independent of the shuffle's
//! buckets and of the group tables' hash bits.

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::shuffle::hash_rows;
use crate::exec::spill::{SpillFile, SpillWriter};
use crate::exec::task::TaskContext;

/// Partitions per spill.
pub(super) const FANOUT: usize = 16;

/// Partitions per in-memory partitioning: enough that a partition of the largest tables
/// (7.5 million groups per task in TPC-H q18 at SF10) fits the caches without partitioning
/// again.
pub(super) const MEMORY_FANOUT: usize = 64;

/// Re-partitioning levels before the aggregate gives up (at least `FANOUT^MAX_LEVEL`
/// partitions).
pub(super) const MAX_LEVEL: usize = 4;

/// The partition, of `fanout`, of a row with (shuffle) hash `hash` at re-partitioning `level`.
fn partition_of(hash: u64, level: usize, fanout: usize) -> usize {
    let mut h = hash ^ 0x6167_6772_6567_0000_u64.wrapping_add((level as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    ((h >> 32) % fanout as u64) as usize
}

/// A partition waiting to be aggregated.
#[derive(Debug)]
pub(super) struct Partition {
    /// Partial states of the partition's groups, in the order they were written.
    pub states: PartitionStates,
    /// The re-partitioning level that wrote it (1 for the first partitioning).
    pub level: usize,
}

impl Partition {
    /// Writes a partition held in memory to a spill file, giving its memory back; `false`
    /// when it was spilled already.
    pub fn spill(&mut self, ctx: &TaskContext, label: &str, schema: &SchemaRef) -> Result<bool> {
        let PartitionStates::Memory(batches, _) = &self.states else {
            return Ok(false);
        };
        let writer = spill_file_of(ctx, label, schema, batches)?;
        // Dropping the in-memory states releases their reservation.
        self.states = PartitionStates::Spilled(writer.finish()?);
        Ok(true)
    }
}

/// A new spill file (still open for writing) holding `batches`.
fn spill_file_of(ctx: &TaskContext, label: &str, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<SpillWriter> {
    let mut writer = ctx.spill().writer(label, schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    Ok(writer)
}

/// Where a partition's states are.
#[derive(Debug)]
pub(super) enum PartitionStates {
    /// In memory, held by the reservation.
    Memory(Vec<RecordBatch>, MemoryReservation),
    /// In a spill file (removed when dropped).
    Spilled(SpillFile),
}

/// Where one partition's states go while they are written.
enum Sink {
    Memory(Vec<RecordBatch>),
    File(Box<SpillWriter>),
}

/// Splits batches of partial states into partitions by key hash: [`MEMORY_FANOUT`] held in
/// memory while the pool allows (then spilled), or [`FANOUT`] spill files.
pub(super) struct Partitioner {
    ctx: TaskContext,
    label: String,
    schema: SchemaRef,
    num_keys: usize,
    level: usize,
    /// One per partition.
    sinks: Vec<Option<Sink>>,
    /// Holds the partitions kept in memory.
    reservation: MemoryReservation,
    /// Whether partitions are still kept in memory (until the pool first refuses).
    in_memory: bool,
    hashes: Vec<u64>,
}

impl Partitioner {
    /// Partitions for batches of `schema` whose first `num_keys` columns are the group keys,
    /// at re-partitioning `level` (0 for the operator's input); `in_memory` keeps them in
    /// memory while the pool allows, else they go straight to spill files.
    pub fn new(
        ctx: &TaskContext,
        label: String,
        schema: SchemaRef,
        num_keys: usize,
        level: usize,
        in_memory: bool,
    ) -> Self {
        Self {
            reservation: ctx.reservation(format!("{label} partitions")),
            ctx: ctx.clone(),
            label,
            schema,
            num_keys,
            level,
            sinks: (0..if in_memory { MEMORY_FANOUT } else { FANOUT })
                .map(|_| None)
                .collect(),
            in_memory,
            hashes: Vec::new(),
        }
    }

    /// Writes the rows of `batch` to their partitions, in batches of up to `batch_size` rows.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.write_all(std::slice::from_ref(batch))
    }

    /// Writes the rows of `batches` to their partitions, in batches of up to `batch_size`
    /// rows gathered from all of them: many small batches make a few whole ones per
    /// partition rather than a sliver each.
    pub fn write_all(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let fanout = self.sinks.len();
        let mut rows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); fanout];
        for (b, batch) in batches.iter().enumerate() {
            let keys: Vec<ArrayRef> = batch
                .columns()
                .get(..self.num_keys)
                .ok_or_else(|| Error::internal("aggregate state without its keys"))?
                .to_vec();
            hash_rows(&keys, batch.num_rows(), &mut self.hashes)?;
            for (row, &h) in self.hashes.iter().enumerate() {
                rows[partition_of(h, self.level, fanout)].push((b, row));
            }
        }
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        let step = self.ctx.batch_size().max(1);
        for (partition, rows) in rows.into_iter().enumerate() {
            for chunk in rows.chunks(step) {
                self.ctx.check_cancelled()?;
                let part = match batches {
                    [batch] if chunk.len() == batch.num_rows() => batch.clone(),
                    [batch] => {
                        let indices = UInt32Array::from_iter_values(chunk.iter().map(|&(_, row)| row as u32));
                        crate::physical::rows::take_rows(batch, &indices)?
                    }
                    _ => crate::physical::rows::interleave_rows(&refs, chunk)?,
                };
                self.push(partition, part)?;
            }
        }
        Ok(())
    }

    /// Adds `part` to partition `partition`: to its batches in memory while the pool
    /// allows, to its spill file once it refused.
    fn push(&mut self, partition: usize, part: RecordBatch) -> Result<()> {
        if self.in_memory && self.reservation.try_grow(part.get_array_memory_size()).is_err() {
            self.spill_all()?;
        }
        match &mut self.sinks[partition] {
            Some(Sink::Memory(batches)) => batches.push(part),
            Some(Sink::File(writer)) => writer.write(&part)?,
            slot @ None if self.in_memory => *slot = Some(Sink::Memory(vec![part])),
            slot @ None => {
                let writer = spill_file_of(&self.ctx, &self.label, &self.schema, &[part])?;
                *slot = Some(Sink::File(Box::new(writer)));
            }
        }
        Ok(())
    }

    /// The pool refused: every partition held in memory goes to its spill file, and so does
    /// everything written from now on. Returns whether any was held in memory.
    pub fn spill_all(&mut self) -> Result<bool> {
        let held = self.in_memory && self.sinks.iter().any(|s| matches!(s, Some(Sink::Memory(_))));
        self.in_memory = false;
        for slot in &mut self.sinks {
            if let Some(Sink::Memory(batches)) = slot {
                let writer = spill_file_of(&self.ctx, &self.label, &self.schema, batches)?;
                *slot = Some(Sink::File(Box::new(writer)));
            }
        }
        self.reservation.free();
        Ok(held)
    }

    /// Closes the files; the non-empty partitions, to be aggregated at the next level.
    pub fn finish(mut self) -> Result<Vec<Partition>> {
        let level = self.level + 1;
        let mut partitions = Vec::new();
        for sink in std::mem::take(&mut self.sinks).into_iter().flatten() {
            let states = match sink {
                Sink::Memory(batches) => {
                    let bytes = batches.iter().map(RecordBatch::get_array_memory_size).sum();
                    let held = self.reservation.split(bytes);
                    PartitionStates::Memory(batches, held)
                }
                Sink::File(writer) => PartitionStates::Spilled(writer.finish()?),
            };
            partitions.push(Partition { states, level });
        }
        Ok(partitions)
    }
}

/// The partition of every row of `keys` at `level` (for tests).
#[cfg(test)]
pub(super) fn partitions_of(keys: &[ArrayRef], level: usize) -> Vec<usize> {
    let mut hashes = Vec::new();
    hash_rows(keys, keys.first().map_or(0, |k| k.len()), &mut hashes).unwrap();
    hashes.into_iter().map(|h| partition_of(h, level, FANOUT)).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};

    use super::*;

    /// The keys of one partition spread over all partitions at the next level.
    #[test]
    fn levels_split_independently() {
        for keys in [
            Arc::new(Int64Array::from_iter_values(0..20_000)) as ArrayRef,
            Arc::new(StringArray::from_iter_values((0..20_000).map(|i| format!("k{i}")))) as ArrayRef,
        ] {
            let level0 = partitions_of(&[Arc::clone(&keys)], 0);
            let mut counts0 = [0usize; FANOUT];
            level0.iter().for_each(|&p| counts0[p] += 1);
            assert!(counts0.iter().all(|&c| c > 20_000 / FANOUT / 2), "{counts0:?}");
            let rows: Vec<u32> = (0..level0.len() as u32).filter(|&r| level0[r as usize] == 3).collect();
            let part = arrow::compute::take(keys.as_ref(), &UInt32Array::from(rows), None).unwrap();
            let level1 = partitions_of(std::slice::from_ref(&part), 1);
            let mut counts1 = [0usize; FANOUT];
            level1.iter().for_each(|&p| counts1[p] += 1);
            assert!(counts1.iter().all(|&c| c > part.len() / FANOUT / 2), "{counts1:?}");
        }
    }

    fn states() -> RecordBatch {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("k", arrow::datatypes::DataType::Int64, false),
            arrow::datatypes::Field::new("s", arrow::datatypes::DataType::Utf8, false),
        ]));
        let keys = Arc::new(Int64Array::from_iter_values(0..5_000)) as ArrayRef;
        let names = Arc::new(StringArray::from_iter_values((0..5_000).map(|i| format!("v{i}")))) as ArrayRef;
        RecordBatch::try_new(schema, vec![keys, names]).unwrap()
    }

    /// The rows of every partition, read back, sorted.
    fn rows_of(partitions: &[Partition]) -> Vec<i64> {
        let mut keys: Vec<i64> = Vec::new();
        for p in partitions {
            let batches: Vec<RecordBatch> = match &p.states {
                PartitionStates::Memory(batches, _) => batches.clone(),
                PartitionStates::Spilled(file) => file.read().unwrap().collect::<Result<_>>().unwrap(),
            };
            for b in batches {
                let k = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                keys.extend(k.values().iter().copied());
            }
        }
        keys.sort_unstable();
        keys
    }

    /// In-memory partitions hold their batches in the pool; spilled, partition by partition
    /// or all at once, they give that memory back and keep every row.
    #[test]
    fn in_memory_partitions_spill_and_keep_their_rows() {
        let ctx = crate::physical::ops::limit::testing::task_ctx_with(1_000, 1 << 30);
        let batch = states();
        let everything: Vec<i64> = (0..5_000).collect();
        let mut partitioner = Partitioner::new(&ctx, "test".into(), batch.schema(), 1, 0, true);
        partitioner.write(&batch).unwrap();
        let mut partitions = partitioner.finish().unwrap();
        assert_eq!(partitions.len(), MEMORY_FANOUT);
        assert!(ctx.memory().used() > 0);
        assert_eq!(rows_of(&partitions), everything);
        for p in &mut partitions {
            assert!(p.spill(&ctx, "test", &batch.schema()).unwrap());
            assert!(!p.spill(&ctx, "test", &batch.schema()).unwrap(), "spilled once");
        }
        assert_eq!(ctx.memory().used(), 0);
        assert_eq!(rows_of(&partitions), everything);

        let mut partitioner = Partitioner::new(&ctx, "test".into(), batch.schema(), 1, 0, true);
        partitioner.write(&batch.slice(0, 2_000)).unwrap();
        assert!(partitioner.spill_all().unwrap());
        assert_eq!(ctx.memory().used(), 0);
        partitioner.write(&batch.slice(2_000, 3_000)).unwrap();
        assert!(!partitioner.spill_all().unwrap(), "nothing left in memory");
        let partitions = partitioner.finish().unwrap();
        assert!(partitions
            .iter()
            .all(|p| matches!(p.states, PartitionStates::Spilled(_))));
        assert_eq!(ctx.memory().used(), 0);
        assert_eq!(rows_of(&partitions), everything);
    }
}
