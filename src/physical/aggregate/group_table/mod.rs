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

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, UInt32Array};
use arrow::datatypes::{DataType, Int32Type};

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
        if let [key] = keys {
            if let Some(dictionary) = key.as_dictionary_opt::<Int32Type>() {
                if dictionary.values().len() <= dictionary.len() {
                    return self.intern_dictionary(dictionary, out);
                }
            }
        }
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
            GroupTable::Rows(rows) => rows.intern(&without_dictionaries(keys)?, out),
            GroupTable::Packed(_) => Err(Error::internal("group table did not switch to rows")),
        }
    }

    /// [`GroupTable::intern`] for one dictionary-encoded key column with no more values than
    /// rows: the values the rows use are interned once, in order of first use, and each row
    /// takes its value's group.
    fn intern_dictionary(&mut self, dictionary: &DictionaryArray<Int32Type>, out: &mut Vec<usize>) -> Result<()> {
        const UNUSED: usize = usize::MAX;
        let values = dictionary.values();
        let null_value = values.len();
        // Per value, and for NULL (last), its group once a row uses it.
        let mut value_group = vec![UNUSED; values.len() + 1];
        let nulls = dictionary.logical_nulls();
        let indices = dictionary.keys().values();
        let value_of = |row: usize| match &nulls {
            Some(n) if n.is_null(row) => null_value,
            _ => usize::try_from(indices[row]).unwrap_or(null_value).min(null_value),
        };
        let mut first_used: Vec<usize> = Vec::new();
        for row in 0..dictionary.len() {
            let value = value_of(row);
            if value_group[value] == UNUSED {
                value_group[value] = 0;
                first_used.push(value);
            }
        }
        // The used values as a column, NULL for the index past the values.
        let taken = UInt32Array::from_iter(
            first_used
                .iter()
                .map(|&v| (v != null_value).then(|| u32::try_from(v).unwrap_or(u32::MAX))),
        );
        let used_keys = arrow::compute::take(values.as_ref(), &taken, None)?;
        let mut groups = Vec::with_capacity(first_used.len());
        self.intern(&[used_keys], &mut groups)?;
        for (&value, &group) in first_used.iter().zip(&groups) {
            value_group[value] = group;
        }
        out.extend((0..dictionary.len()).map(|row| value_group[value_of(row)]));
        Ok(())
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

/// A group count as a table index, or an error past `u32::MAX` groups.
fn group_index(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::execution("too many groups in one aggregate partition (over 4 billion)"))
}

#[cfg(test)]
mod tests;
