//! Spill partitions of a hash aggregate: batches of partial states (group keys first) split
//! by a hash of their keys into [`FANOUT`] spill files, so that each file holds every state
//! of its groups and can be aggregated on its own.
//!
//! Rows are hashed with the shuffle's hash, then each re-partitioning level scrambles that
//! hash with its own seed through a full-avalanche mixer (MurmurHash3's finalizer), so the
//! partitions of a partition spread again and the choice is independent of the shuffle's
//! buckets and of the group tables' hash bits.

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::shuffle::hash_rows;
use crate::exec::spill::{SpillFile, SpillWriter};
use crate::exec::task::TaskContext;

/// Partitions per spill.
pub(super) const FANOUT: usize = 16;

/// Re-partitioning levels before the aggregate gives up (`FANOUT^MAX_LEVEL` partitions).
pub(super) const MAX_LEVEL: usize = 4;

/// The partition of a row with (shuffle) hash `hash` at re-partitioning `level`.
fn partition_of(hash: u64, level: usize) -> usize {
    let mut h = hash ^ 0x6167_6772_6567_0000_u64.wrapping_add((level as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    ((h >> 32) % FANOUT as u64) as usize
}

/// A spilled partition waiting to be aggregated.
#[derive(Debug)]
pub(super) struct Partition {
    /// Partial states of the partition's groups, in the order they were written.
    pub file: SpillFile,
    /// The re-partitioning level that wrote it (1 for the first spill).
    pub level: usize,
}

/// Writes batches of partial states into [`FANOUT`] spill files by key hash.
pub(super) struct Partitioner {
    ctx: TaskContext,
    label: String,
    schema: SchemaRef,
    num_keys: usize,
    level: usize,
    writers: Vec<Option<SpillWriter>>,
    hashes: Vec<u64>,
}

impl Partitioner {
    /// Partitions for batches of `schema` whose first `num_keys` columns are the group keys,
    /// at re-partitioning `level` (0 for the operator's input).
    pub fn new(ctx: &TaskContext, label: String, schema: SchemaRef, num_keys: usize, level: usize) -> Self {
        Self {
            ctx: ctx.clone(),
            label,
            schema,
            num_keys,
            level,
            writers: (0..FANOUT).map(|_| None).collect(),
            hashes: Vec::new(),
        }
    }

    /// Writes the rows of `batch` to their partitions, in batches of up to `batch_size` rows.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let keys: Vec<ArrayRef> = batch
            .columns()
            .get(..self.num_keys)
            .ok_or_else(|| Error::internal("spilled aggregate state without its keys"))?
            .to_vec();
        hash_rows(&keys, batch.num_rows(), &mut self.hashes)?;
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); FANOUT];
        for (row, &h) in self.hashes.iter().enumerate() {
            rows[partition_of(h, self.level)].push(row as u32);
        }
        let step = self.ctx.batch_size().max(1);
        for (partition, rows) in rows.into_iter().enumerate() {
            for chunk in rows.chunks(step) {
                self.ctx.check_cancelled()?;
                let part = if chunk.len() == batch.num_rows() {
                    batch.clone()
                } else {
                    crate::physical::rows::take_rows(batch, &UInt32Array::from(chunk.to_vec()))?
                };
                let writer = match &mut self.writers[partition] {
                    Some(w) => w,
                    slot => slot.insert(self.ctx.spill().writer(&self.label, &self.schema)?),
                };
                writer.write(&part)?;
            }
        }
        Ok(())
    }

    /// Closes the files; the non-empty partitions, to be aggregated at the next level.
    pub fn finish(self) -> Result<Vec<Partition>> {
        let level = self.level + 1;
        self.writers
            .into_iter()
            .flatten()
            .map(|w| {
                Ok(Partition {
                    file: w.finish()?,
                    level,
                })
            })
            .collect()
    }
}

/// The partition of every row of `keys` at `level` (for tests).
#[cfg(test)]
pub(super) fn partitions_of(keys: &[ArrayRef], level: usize) -> Vec<usize> {
    let mut hashes = Vec::new();
    hash_rows(keys, keys.first().map_or(0, |k| k.len()), &mut hashes).unwrap();
    hashes.into_iter().map(|h| partition_of(h, level)).collect()
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
}
