//! Group indices for one dictionary-encoded key column, as a Parquet scan hands string keys
//! on: each dictionary value a row uses is interned once (as a plain value, in order of first
//! use), and every row takes its value's group.
//!
//! The group of each value is kept for the next batch: a Parquet column chunk hands all its
//! batches the same dictionary, so after the first batch a batch costs one lookup per row
//! (H2O q1 groups ten million rows by a 100-value dictionary).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, DictionaryArray, UInt32Array};
use arrow::datatypes::Int32Type;

use crate::error::{Error, Result};

/// The group of a value no row has used yet.
const UNUSED: u32 = u32::MAX;

/// The groups of the values of the last dictionary seen.
#[derive(Debug, Default)]
pub(super) struct DictionaryGroups {
    /// The dictionary's values (held so that their buffers' addresses are not reused).
    values: Option<ArrayRef>,
    /// The group of each value, and of NULL (last); [`UNUSED`] until a row uses it.
    groups: Vec<u32>,
}

impl DictionaryGroups {
    /// Whether `dictionary` is grouped here: when its groups are known from an earlier
    /// batch, or when it has no more values than rows (a larger dictionary costs more to
    /// look up than its rows cost to intern).
    pub fn applies(&self, dictionary: &DictionaryArray<Int32Type>) -> bool {
        self.holds(dictionary.values()) || dictionary.values().len() <= dictionary.len()
    }

    /// Whether `values` are the held dictionary's: the same buffers (a Parquet reader wraps
    /// them in a new array for every batch).
    fn holds(&self, values: &ArrayRef) -> bool {
        self.values
            .as_ref()
            .is_some_and(|held| Arc::ptr_eq(held, values) || held.to_data().ptr_eq(&values.to_data()))
    }

    /// Sets `out` to the group of every row of `dictionary`. Values that no row had used
    /// before go to `intern_values` as one plain column, in order of first use, which sets
    /// their groups.
    pub fn intern(
        &mut self,
        dictionary: &DictionaryArray<Int32Type>,
        out: &mut Vec<usize>,
        intern_values: impl FnOnce(&[ArrayRef], &mut Vec<usize>) -> Result<()>,
    ) -> Result<()> {
        let values = dictionary.values();
        if !self.holds(values) {
            self.values = Some(Arc::clone(values));
            self.groups.clear();
            self.groups.resize(values.len() + 1, UNUSED);
        }
        let null_value = values.len();
        let nulls = dictionary.logical_nulls();
        let keys = dictionary.keys().values();
        // A key outside the values (which validated arrays do not have) counts as NULL.
        let slot = move |key: i32| usize::try_from(key).map_or(null_value, |k| k.min(null_value));
        let value_of = |row: usize| match &nulls {
            Some(n) if n.is_null(row) => null_value,
            _ => slot(keys[row]),
        };
        let groups = &self.groups[..=null_value];
        out.clear();
        match &nulls {
            None => out.extend(keys.iter().map(|&k| groups[slot(k)] as usize)),
            Some(n) => out.extend(
                keys.iter()
                    .zip(n.iter())
                    .map(|(&k, valid)| groups[if valid { slot(k) } else { null_value }] as usize),
            ),
        }
        // One pass the compiler vectorizes, rather than a flag carried through the lookups.
        let missing = out.iter().fold(false, |missing, &g| missing | (g == UNUSED as usize));
        if !missing {
            return Ok(());
        }
        // Values used for the first time, in order of first use.
        let mut first_used = Vec::new();
        let mut listed = vec![false; null_value + 1];
        for (row, &group) in out.iter().enumerate() {
            let value = value_of(row);
            if group == UNUSED as usize && !listed[value] {
                listed[value] = true;
                first_used.push(value);
            }
        }
        let taken = first_used
            .iter()
            .map(|&v| {
                if v == null_value {
                    Ok(None)
                } else {
                    Ok(Some(u32::try_from(v)?))
                }
            })
            .collect::<std::result::Result<UInt32Array, std::num::TryFromIntError>>()
            .map_err(|_| Error::internal("dictionary with over 4 billion values"))?;
        let used_values = arrow::compute::take(values.as_ref(), &taken, None)?;
        let mut new_groups = Vec::with_capacity(first_used.len());
        intern_values(&[used_values], &mut new_groups)?;
        for (&value, &group) in first_used.iter().zip(&new_groups) {
            self.groups[value] = u32::try_from(group)
                .ok()
                .filter(|&g| g != UNUSED)
                .ok_or_else(super::too_many_groups)?;
        }
        for (row, group) in out.iter_mut().enumerate() {
            if *group == UNUSED as usize {
                *group = self.groups[value_of(row)] as usize;
            }
        }
        Ok(())
    }

    /// Forgets every group (the table was emptied).
    pub fn clear(&mut self) {
        self.values = None;
        self.groups = Vec::new();
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<u32>()
    }
}
