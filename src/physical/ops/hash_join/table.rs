//! The build side of a hash join in memory: its rows (one batch), their key columns and a
//! chained hash index over the key hashes (the shuffle's hash function, so build and probe
//! agree with the exchange that partitioned them).

use std::fmt;

use arrow::array::{Array, ArrayRef};
use arrow::buffer::NullBuffer;
use std::sync::Arc;

use arrow::compute::concat;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use hashbrown::HashTable;

use super::JoinSpec;
use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::shuffle::hash_rows;

/// The build side: its rows, their keys and a chained hash index over them.
pub(super) struct JoinTable {
    pub(super) batch: RecordBatch,
    pub(super) keys: Vec<ArrayRef>,
    /// Key hash → 1-based index of the first build row with that hash.
    pub(super) map: HashTable<(u64, u32)>,
    /// 1-based index of the next build row with the same hash (0 ends the chain), by row.
    /// Chains run in ascending row order.
    pub(super) next: Vec<u32>,
    _reservation: MemoryReservation,
}

impl fmt::Debug for JoinTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinTable")
            .field("rows", &self.batch.num_rows())
            .field("distinct_hashes", &self.map.len())
            .finish()
    }
}

/// The validity of a set of key columns: a row is valid when no key is NULL.
pub(super) fn key_validity(keys: &[ArrayRef]) -> Option<NullBuffer> {
    keys.iter().fold(None, |acc, k| {
        NullBuffer::union(acc.as_ref(), k.logical_nulls().as_ref())
    })
}

/// Bytes of the hash index over `rows` rows: hashbrown buckets (16 B + a control byte, a
/// power of two at 7/8 load) plus the chain entry per row.
pub(super) fn index_bytes(rows: usize) -> usize {
    let buckets = if rows == 0 {
        0
    } else {
        (rows.saturating_mul(8) / 7 + 1).next_power_of_two()
    };
    buckets * 17 + rows * std::mem::size_of::<u32>()
}

/// The memory a table over `batches` needs beyond the batches themselves: the copy that
/// concatenates them (while the pieces are alive) and the hash index.
pub(super) fn table_overhead(batches: &[RecordBatch]) -> usize {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let copy: usize = if batches.len() > 1 {
        batches.iter().map(|b| b.get_array_memory_size()).sum()
    } else {
        0
    };
    copy + index_bytes(rows)
}

/// Concatenates `batches` one column at a time, freeing each column's pieces as soon as it
/// is copied: the process holds the pieces plus one column's copy at a time rather than
/// twice the build side (fresh pages are zeroed by the kernel, so the copy's size is also
/// its cost).
fn concat_releasing(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<RecordBatch> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut pieces: Vec<std::vec::IntoIter<ArrayRef>> =
        batches.into_iter().map(|b| b.into_parts().1.into_iter()).collect();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for _ in schema.fields() {
        let column: Vec<ArrayRef> = pieces.iter_mut().filter_map(|p| p.next()).collect();
        let refs: Vec<&dyn Array> = column.iter().map(|a| a.as_ref()).collect();
        columns.push(concat(&refs)?);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

impl JoinTable {
    /// Indexes `batches` (build rows). `reservation` holds at least their size plus
    /// [`table_overhead`] (callers reserve that first, spilling when refused); it ends at
    /// the table's real size.
    pub(super) fn from_batches(
        mut batches: Vec<RecordBatch>,
        mut reservation: MemoryReservation,
        spec: &JoinSpec,
    ) -> Result<Self> {
        let batch = match batches.len() {
            0 => RecordBatch::new_empty(Arc::clone(&spec.left_schema)),
            1 => batches.swap_remove(0),
            _ => concat_releasing(&spec.left_schema, batches)?,
        };
        let rows = batch.num_rows();
        if rows >= u32::MAX as usize {
            return Err(Error::not_supported(format!(
                "a hash join build side of {rows} rows in one partition"
            )));
        }
        let keys: Vec<ArrayRef> = spec
            .left_keys
            .iter()
            .map(|k| k.evaluate(&batch))
            .collect::<Result<_>>()?;
        let mut hashes = Vec::new();
        hash_rows(&keys, rows, &mut hashes)?;
        let valid = key_validity(&keys);
        let mut map: HashTable<(u64, u32)> = HashTable::with_capacity(rows);
        let mut next = vec![0u32; rows];
        // Inserting from the last row makes every chain ascend.
        for row in (0..rows).rev() {
            if valid.as_ref().is_some_and(|v| v.is_null(row)) {
                continue;
            }
            let hash = hashes[row];
            let id = row as u32 + 1;
            match map.find_mut(hash, |e| e.0 == hash) {
                Some(entry) => {
                    next[row] = entry.1;
                    entry.1 = id;
                }
                None => {
                    map.insert_unique(hash, (hash, id), |e| e.0);
                }
            }
        }
        let table_bytes = map.allocation_size() + next.capacity() * std::mem::size_of::<u32>();
        let real = batch.get_array_memory_size() + table_bytes;
        // The headroom was reserved up front; the real size may differ a little either way.
        if real > reservation.size() {
            reservation.grow(real - reservation.size());
        } else {
            reservation.shrink(reservation.size() - real);
        }
        Ok(Self {
            batch,
            keys,
            map,
            next,
            _reservation: reservation,
        })
    }
}
