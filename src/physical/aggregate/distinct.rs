//! `DISTINCT` inside an aggregate call (`count(DISTINCT x)`, `sum(DISTINCT x)`, ...): a
//! wrapper around any accumulator. It remembers each distinct (group, arguments) pair once
//! in a [`DistinctSet`] and at evaluation feeds the distinct values to the inner
//! accumulator in one batch, in the order they were first seen.
//!
//! A single integer-like argument (integers, dates, times, timestamps, decimals) is kept
//! as it is ([`super::distinct_primitive`]); anything else is encoded with Arrow's row
//! format into comparable bytes, kept in a hash table keyed by (group, bytes).
//!
//! DISTINCT aggregates run only in single mode (the planner shuffles raw rows by the group
//! keys first); their partial state, used when the hash aggregate spills, is the distinct
//! set: one list per argument and group (see [`super::list_state`]).

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};
use hashbrown::HashTable;

use super::distinct_primitive::primitive_set;
use super::list_state::{expand_lists, group_into_lists};
use super::{check_inputs, for_each_valid_row, GroupsAccumulator};
use crate::error::{Error, Result};
use crate::exec::shuffle::hash_rows;

/// The distinct (group, arguments) pairs an accumulator has seen.
pub(super) trait DistinctSet: Send {
    /// Adds the argument tuples of the rows that `nulls` (no argument NULL) and
    /// `opt_filter` keep to the sets of their groups (each below `total_num_groups`).
    fn insert(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
        nulls: Option<&NullBuffer>,
        opt_filter: Option<&BooleanArray>,
    ) -> Result<()>;

    /// The distinct tuples (one column per argument) with the group of each, in the order
    /// they were first seen; the set is left empty.
    fn take(&mut self) -> Result<(Vec<ArrayRef>, Vec<usize>)>;

    /// Distinct tuples held.
    fn len(&self) -> usize;

    /// Bytes held.
    fn size(&self) -> usize;
}

/// Mixes the group index into a value hash.
fn mix(hash: u64, group: usize) -> u64 {
    (hash ^ (group as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).rotate_left(23)
}

/// Any arguments, encoded with Arrow's row format.
struct RowSet {
    converter: RowConverter,
    /// The distinct argument tuples, encoded.
    rows: Rows,
    /// The group of each entry of `rows`.
    groups: Vec<usize>,
    /// (hash, index into `rows`).
    table: HashTable<(u64, usize)>,
    hashes: Vec<u64>,
}

impl RowSet {
    fn try_new(input_types: &[DataType]) -> Result<Self> {
        let converter = RowConverter::new(input_types.iter().cloned().map(SortField::new).collect())?;
        let rows = converter.empty_rows(0, 0);
        Ok(Self {
            converter,
            rows,
            groups: Vec::new(),
            table: HashTable::new(),
            hashes: Vec::new(),
        })
    }
}

impl DistinctSet for RowSet {
    fn insert(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        _total_num_groups: usize,
        nulls: Option<&NullBuffer>,
        opt_filter: Option<&BooleanArray>,
    ) -> Result<()> {
        let encoded = self.converter.convert_columns(values)?;
        hash_rows(values, group_indices.len(), &mut self.hashes)?;
        let Self {
            rows,
            groups,
            table,
            hashes,
            ..
        } = self;
        for_each_valid_row(group_indices, nulls, opt_filter, |g, row| {
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

    fn take(&mut self) -> Result<(Vec<ArrayRef>, Vec<usize>)> {
        let values = self.converter.convert_rows(self.rows.iter())?;
        self.rows = self.converter.empty_rows(0, 0);
        self.table = HashTable::new();
        Ok((values, std::mem::take(&mut self.groups)))
    }

    fn len(&self) -> usize {
        self.groups.len()
    }

    fn size(&self) -> usize {
        self.converter.size()
            + self.rows.size()
            + self.groups.capacity() * std::mem::size_of::<usize>()
            + self.table.allocation_size()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
    }
}

/// Feeds only distinct argument values per group to an inner accumulator.
pub struct DistinctGroupsAccumulator {
    inner: Box<dyn GroupsAccumulator>,
    set: Box<dyn DistinctSet>,
    total_num_groups: usize,
}

impl std::fmt::Debug for DistinctGroupsAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistinctGroupsAccumulator")
            .field("distinct_values", &self.set.len())
            .finish()
    }
}

impl DistinctGroupsAccumulator {
    /// Wraps `inner`, whose arguments have `input_types`.
    pub fn try_new(input_types: &[DataType], inner: Box<dyn GroupsAccumulator>) -> Result<Self> {
        let set: Box<dyn DistinctSet> = match input_types {
            [] => return Err(Error::plan("DISTINCT needs an argument")),
            [single] => match primitive_set(single) {
                Some(set) => set,
                None => Box::new(RowSet::try_new(input_types)?),
            },
            _ => Box::new(RowSet::try_new(input_types)?),
        };
        Ok(Self {
            inner,
            set,
            total_num_groups: 0,
        })
    }

    /// The distinct tuples with their groups and the number of groups, leaving the set
    /// empty.
    fn take(&mut self) -> Result<(Vec<ArrayRef>, Vec<usize>, usize)> {
        let (values, groups) = self.set.take()?;
        Ok((values, groups, std::mem::take(&mut self.total_num_groups)))
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
        self.set
            .insert(values, group_indices, total_num_groups, nulls.as_ref(), opt_filter)
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let (values, groups) = expand_lists(states, group_indices)?;
        if values.is_empty() {
            return Err(Error::internal("DISTINCT aggregate state has no columns"));
        }
        self.update_batch(&values, &groups, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        let (values, groups, total) = self.take()?;
        self.inner.update_batch(&values, &groups, None, total)?;
        self.inner.evaluate()
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        let (values, groups, total) = self.take()?;
        group_into_lists(&values, &groups, total)
    }

    fn size(&self) -> usize {
        self.inner.size() + self.set.size()
    }
}
