//! The general group table: keys encoded with Arrow's row format, hashed with the shuffle's
//! hash, and compared as bytes.

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};
use hashbrown::HashTable;

use super::group_index;
use crate::error::Result;
use crate::exec::shuffle::hash_rows;

/// Keys of any types, stored as comparable row bytes.
#[derive(Debug)]
pub struct RowGroupTable {
    converter: RowConverter,
    /// The key of each group.
    rows: Rows,
    /// (hash, group index).
    map: HashTable<(u64, u32)>,
    hashes: Vec<u64>,
}

impl RowGroupTable {
    /// A table for keys of `types`.
    pub fn try_new(types: &[DataType]) -> Result<Self> {
        let converter = RowConverter::new(types.iter().cloned().map(SortField::new).collect())?;
        let rows = converter.empty_rows(0, 0);
        Ok(Self {
            converter,
            rows,
            map: HashTable::new(),
            hashes: Vec::new(),
        })
    }

    /// Appends the group index of every row of `keys` to `out`.
    pub fn intern(&mut self, keys: &[ArrayRef], out: &mut Vec<usize>) -> Result<()> {
        let num_rows = keys.first().map_or(0, |k| k.len());
        let encoded = self.converter.convert_columns(keys)?;
        hash_rows(keys, num_rows, &mut self.hashes)?;
        let Self { rows, map, hashes, .. } = self;
        out.reserve(num_rows);
        for (row, &hash) in hashes.iter().enumerate() {
            let key = encoded.row(row);
            // A lookup first: `entry` would also make room for an insert on every row.
            let group = match map.find(hash, |&(h, g)| h == hash && rows.row(g as usize) == key) {
                Some(&(_, g)) => g,
                None => {
                    let g = group_index(rows.num_rows())?;
                    rows.push(key);
                    map.insert_unique(hash, (hash, g), |&(h, _)| h);
                    g
                }
            };
            out.push(group as usize);
        }
        Ok(())
    }

    /// Number of groups.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.rows.num_rows()
    }

    /// Makes room for `groups` more groups.
    pub fn reserve(&mut self, groups: usize) {
        self.map.reserve(groups, |&(h, _)| h);
    }

    /// The key columns of all groups; empties the table.
    pub fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let columns = self.converter.convert_rows(self.rows.iter())?;
        self.rows = self.converter.empty_rows(0, 0);
        self.map = HashTable::new();
        Ok(columns)
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.converter.size()
            + self.rows.size()
            + self.map.allocation_size()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
    }
}
