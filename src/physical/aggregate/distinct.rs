//! `DISTINCT` inside an aggregate call (`count(DISTINCT x)`, `sum(DISTINCT x)`, ...): a
//! wrapper around any accumulator. It remembers each distinct (group, arguments) pair once —
//! the arguments encoded with Arrow's row format into comparable bytes, kept in a hash table
//! keyed by (group, bytes) — and at evaluation decodes the distinct values back into arrays
//! and feeds them to the inner accumulator in one batch.
//!
//! DISTINCT aggregates run only in single mode (the planner shuffles raw rows by the group
//! keys first); their partial state, used when the hash aggregate spills, is the distinct
//! set: one list per argument and group (see [`super::list_state`]).

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};
use hashbrown::HashTable;

use super::list_state::{expand_lists, group_into_lists};
use super::{check_inputs, for_each_valid_row, GroupsAccumulator};
use crate::error::{Error, Result};
use crate::exec::shuffle::hash_rows;

/// Mixes the group index into a value hash.
fn mix(hash: u64, group: usize) -> u64 {
    (hash ^ (group as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).rotate_left(23)
}

/// Feeds only distinct argument values per group to an inner accumulator.
pub struct DistinctGroupsAccumulator {
    inner: Box<dyn GroupsAccumulator>,
    converter: RowConverter,
    /// The distinct argument tuples, encoded.
    rows: Rows,
    /// The group of each entry of `rows`.
    groups: Vec<usize>,
    /// (hash, index into `rows`).
    table: HashTable<(u64, usize)>,
    total_num_groups: usize,
    hashes: Vec<u64>,
}

impl std::fmt::Debug for DistinctGroupsAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistinctGroupsAccumulator")
            .field("distinct_values", &self.groups.len())
            .finish()
    }
}

impl DistinctGroupsAccumulator {
    /// Wraps `inner`, whose arguments have `input_types`.
    pub fn try_new(input_types: &[DataType], inner: Box<dyn GroupsAccumulator>) -> Result<Self> {
        if input_types.is_empty() {
            return Err(Error::plan("DISTINCT needs an argument"));
        }
        let converter = RowConverter::new(input_types.iter().cloned().map(SortField::new).collect())?;
        let rows = converter.empty_rows(0, 0);
        Ok(Self {
            inner,
            converter,
            rows,
            groups: Vec::new(),
            table: HashTable::new(),
            total_num_groups: 0,
            hashes: Vec::new(),
        })
    }
}

impl GroupsAccumulator for DistinctGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(first) = values.first() else {
            return Err(Error::internal("DISTINCT aggregate got no arguments"));
        };
        let num_rows = first.len();
        check_inputs(num_rows, group_indices, opt_filter, total_num_groups)?;
        self.total_num_groups = self.total_num_groups.max(total_num_groups);
        if num_rows == 0 {
            return Ok(());
        }
        // -0.0 and 0.0 are one value (see physical::float_zero).
        let values = &crate::physical::float_zero::canonical_all(values);
        // Rows with a NULL argument are ignored by every aggregate, so they are not kept.
        let nulls = values.iter().fold(None::<NullBuffer>, |acc, v| {
            NullBuffer::union(acc.as_ref(), v.logical_nulls().as_ref())
        });
        let encoded = self.converter.convert_columns(values)?;
        hash_rows(values, num_rows, &mut self.hashes)?;

        let Self {
            rows,
            groups,
            table,
            hashes,
            ..
        } = self;
        for_each_valid_row(group_indices, nulls.as_ref(), opt_filter, |g, row| {
            let hash = mix(hashes[row], g);
            let value = encoded.row(row);
            let found = table
                .find(hash, |&(h, idx)| {
                    h == hash && groups[idx] == g && rows.row(idx) == value
                })
                .is_some();
            if !found {
                let idx = groups.len();
                rows.push(value);
                groups.push(g);
                table.insert_unique(hash, (hash, idx), |&(h, _)| h);
            }
        });
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let (values, groups) = expand_lists(states, group_indices)?;
        if values.is_empty() {
            return Err(Error::internal("DISTINCT aggregate state has no columns"));
        }
        self.update_batch(&values, &groups, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        let values = self.converter.convert_rows(self.rows.iter())?;
        let groups = std::mem::take(&mut self.groups);
        self.rows = self.converter.empty_rows(0, 0);
        self.table = HashTable::new();
        let total = std::mem::take(&mut self.total_num_groups);
        self.inner.update_batch(&values, &groups, None, total)?;
        self.inner.evaluate()
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        let values = self.converter.convert_rows(self.rows.iter())?;
        let groups = std::mem::take(&mut self.groups);
        self.rows = self.converter.empty_rows(0, 0);
        self.table = HashTable::new();
        let total = std::mem::take(&mut self.total_num_groups);
        group_into_lists(&values, &groups, total)
    }

    fn size(&self) -> usize {
        self.inner.size()
            + self.converter.size()
            + self.rows.size()
            + self.groups.capacity() * std::mem::size_of::<usize>()
            + self.table.allocation_size()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
    }
}
