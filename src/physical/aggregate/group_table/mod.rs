//! Group tables: turn the group-key columns of a batch into one dense group index per row
//! (`0..len()`, in order of first appearance), adding groups as new keys appear.
//!
//! Three layouts:
//! - [`PackedGroupTable`] packs each row's keys into one `u128` (integers, dates, booleans and
//!   short strings, with a NULL flag per column) and compares those: no per-row allocation,
//!   no row encoding. It is chosen when the key types fit in 16 bytes.
//! - [`ColumnGroupTable`] keeps each key column's group values in a column of its own and
//!   compares the input with them in place: for any mix of fixed-width and string keys.
//! - [`RowGroupTable`] encodes keys with Arrow's row format and handles anything else.
//!
//! A packed table whose strings outgrow their slot (a longer value arrives) turns itself into
//! a column table (or a row table), keeping its group indices.
//!
//! Keys whose values number into a small range (dictionary-encoded columns, integers in a
//! window, and combinations of them) are looked up by that number instead of hashed
//! ([`slots`]).

mod columns;
mod domain;
mod packed;
mod rows;
mod slots;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;

pub use columns::ColumnGroupTable;
pub use packed::PackedGroupTable;
pub use rows::RowGroupTable;

use slots::SlotGroups;

use crate::error::{Error, Result};

/// Maps group keys to dense group indices.
#[derive(Debug)]
pub struct GroupTable {
    layout: Layout,
    /// The groups of keys looked up directly by their values' slots.
    slots: SlotGroups,
}

/// How a [`GroupTable`] stores its keys.
#[derive(Debug)]
enum Layout {
    /// Keys packed into a `u128`.
    Packed(PackedGroupTable),
    /// Fixed-width and string keys, column by column.
    Columns(ColumnGroupTable),
    /// Any keys, compared as Arrow row-format bytes.
    Rows(RowGroupTable),
}

impl GroupTable {
    /// A table for keys of `types`.
    pub fn try_new(types: &[DataType]) -> Result<Self> {
        Ok(Self {
            layout: Layout::try_new(types)?,
            slots: SlotGroups::default(),
        })
    }

    /// Sets `out` to the group index of every row of `keys`, adding new groups.
    pub fn intern(&mut self, keys: &[ArrayRef], out: &mut Vec<usize>) -> Result<()> {
        let layout = &mut self.layout;
        let layout_size = layout.size();
        if self.slots.intern(layout_size, keys, out, |new_keys, groups| {
            layout.intern(new_keys, groups)
        })? {
            return Ok(());
        }
        self.layout.intern(keys, out)
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// True when there is no group.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key columns of all groups, in group order; empties the table.
    pub fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        self.slots.clear();
        match &mut self.layout {
            Layout::Packed(t) => t.emit(),
            Layout::Columns(t) => t.emit(),
            Layout::Rows(t) => t.emit(),
        }
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.layout.size() + self.slots.size()
    }

    /// Makes room for `groups` more groups without growing (a table about to take a
    /// partition of known size).
    pub fn reserve(&mut self, groups: usize) {
        match &mut self.layout {
            Layout::Packed(t) => t.reserve(groups),
            Layout::Columns(t) => t.reserve(groups),
            Layout::Rows(t) => t.reserve(groups),
        }
    }
}

impl Layout {
    /// Packed keys when `types` fit in a `u128`, else columns when they are fixed-width
    /// and strings, else rows.
    fn try_new(types: &[DataType]) -> Result<Self> {
        Ok(match PackedGroupTable::try_new(types) {
            Some(packed) => Layout::Packed(packed),
            None => Self::unpacked(types)?,
        })
    }

    /// Columns when `types` are fixed-width and strings, else rows.
    fn unpacked(types: &[DataType]) -> Result<Self> {
        Ok(match ColumnGroupTable::try_new(types) {
            Some(columns) => Layout::Columns(columns),
            None => Layout::Rows(RowGroupTable::try_new(types)?),
        })
    }

    /// Number of groups.
    fn len(&self) -> usize {
        match self {
            Layout::Packed(t) => t.len(),
            Layout::Columns(t) => t.len(),
            Layout::Rows(t) => t.len(),
        }
    }

    /// Bytes held.
    fn size(&self) -> usize {
        match self {
            Layout::Packed(t) => t.size(),
            Layout::Columns(t) => t.size(),
            Layout::Rows(t) => t.size(),
        }
    }

    /// Sets `out` to the group index of every row of `keys`, adding new groups.
    fn intern(&mut self, keys: &[ArrayRef], out: &mut Vec<usize>) -> Result<()> {
        out.clear();
        // DuckDB groups -0.0 with 0.0.
        let keys = &crate::physical::float_zero::canonical_all(keys);
        if let Layout::Packed(packed) = self {
            if packed.intern(keys, out)? {
                return Ok(());
            }
            // A string did not fit its slot: move every group to another table, in order.
            let types = packed.types().to_vec();
            let existing = packed.emit()?;
            let mut unpacked = Self::unpacked(&types)?;
            let mut seeded = Vec::new();
            unpacked.intern(&existing, &mut seeded)?;
            *self = unpacked;
            out.clear();
        }
        match self {
            Layout::Columns(columns) => columns.intern(keys, out),
            Layout::Rows(rows) => rows.intern(&without_dictionaries(keys)?, out),
            Layout::Packed(_) => Err(Error::internal("group table did not switch from packed keys")),
        }
    }
}

/// `keys` with dictionary-encoded columns (which a packed table reads as they come) decoded
/// to their value type, for the row table.
fn without_dictionaries(keys: &[ArrayRef]) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .map(|k| match k.data_type() {
            DataType::Dictionary(_, value) => Ok(arrow::compute::cast(k, value)?),
            _ => Ok(Arc::clone(k)),
        })
        .collect()
}

/// foldhash's folded multiply of two words, each mixed with a seed first: their 128-bit
/// product's halves XORed. The hash of a packed key's two halves, and of a (value, group)
/// pair in a DISTINCT set.
pub(crate) fn fold_multiply(a: u64, b: u64) -> u64 {
    const K1: u64 = 0x243f_6a88_85a3_08d3;
    const K2: u64 = 0x1319_8a2e_0370_7344;
    let product = u128::from(a ^ K1) * u128::from(b ^ K2);
    (product as u64) ^ ((product >> 64) as u64)
}

/// A group count as a table index, or an error past `u32::MAX` groups.
fn group_index(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| too_many_groups())
}

/// The error of a partition with more groups than a `u32` indexes.
fn too_many_groups() -> Error {
    Error::execution("too many groups in one aggregate partition (over 4 billion)")
}

#[cfg(test)]
mod tests;
