//! Group tables: turn the group-key columns of a batch into one dense group index per row
//! (`0..len()`, in order of first appearance), adding groups as new keys appear.
//!
//! Two layouts:
//! - [`PackedGroupTable`] packs each row's keys into one `u128` (integers, dates, booleans and
//!   short strings, with a NULL flag per column) and compares those: no per-row allocation,
//!   no row encoding. It is chosen when the key types fit in 16 bytes.
//! - [`RowGroupTable`] encodes keys with Arrow's row format and handles anything.
//!
//! A packed table whose strings outgrow their slot (a longer value arrives) turns itself into
//! a row table, keeping its group indices.

mod packed;
mod rows;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

pub use packed::PackedGroupTable;
pub use rows::RowGroupTable;

use crate::error::{Error, Result};

/// Maps group keys to dense group indices.
#[derive(Debug)]
pub enum GroupTable {
    /// Keys packed into a `u128`.
    Packed(PackedGroupTable),
    /// Any keys, compared as Arrow row-format bytes.
    Rows(RowGroupTable),
}

impl GroupTable {
    /// A table for keys of `types`.
    pub fn try_new(types: &[DataType]) -> Result<Self> {
        match PackedGroupTable::try_new(types) {
            Some(packed) => Ok(GroupTable::Packed(packed)),
            None => Ok(GroupTable::Rows(RowGroupTable::try_new(types)?)),
        }
    }

    /// Sets `out` to the group index of every row of `keys`, adding new groups.
    pub fn intern(&mut self, keys: &[ArrayRef], out: &mut Vec<usize>) -> Result<()> {
        out.clear();
        // DuckDB groups -0.0 with 0.0.
        let keys = &crate::physical::float_zero::canonical_all(keys);
        if let GroupTable::Packed(packed) = self {
            if packed.intern(keys, out)? {
                return Ok(());
            }
            // A string did not fit its slot: move every group to a row table, in order.
            let types = packed.types().to_vec();
            let existing = packed.emit()?;
            let mut rows = RowGroupTable::try_new(&types)?;
            let mut seeded = Vec::new();
            rows.intern(&existing, &mut seeded)?;
            *self = GroupTable::Rows(rows);
            out.clear();
        }
        match self {
            GroupTable::Rows(rows) => rows.intern(keys, out),
            GroupTable::Packed(_) => Err(Error::internal("group table did not switch to rows")),
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        match self {
            GroupTable::Packed(t) => t.len(),
            GroupTable::Rows(t) => t.len(),
        }
    }

    /// True when there is no group.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key columns of all groups, in group order; empties the table.
    pub fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        match self {
            GroupTable::Packed(t) => t.emit(),
            GroupTable::Rows(t) => t.emit(),
        }
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        match self {
            GroupTable::Packed(t) => t.size(),
            GroupTable::Rows(t) => t.size(),
        }
    }
}

/// A group count as a table index, or an error past `u32::MAX` groups.
fn group_index(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::execution("too many groups in one aggregate partition (over 4 billion)"))
}

#[cfg(test)]
mod tests;
