//! `count(*)` (rows) and `count(x)` (non-null values): one `i64` per group. The state is
//! the count itself; merging adds counts. Empty groups count 0, never NULL.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use arrow::datatypes::Int64Type;

use super::{accumulate, as_primitive, check_inputs, for_each_valid_row, single, valid_mask, GroupsAccumulator};
use crate::error::Result;

/// Grouped `count`.
#[derive(Debug)]
pub struct CountGroupsAccumulator {
    /// `count(*)`: count rows, ignoring the (absent) arguments.
    count_rows: bool,
    counts: Vec<i64>,
}

impl CountGroupsAccumulator {
    /// `count(*)` when `count_rows`, else `count(x)`.
    pub fn new(count_rows: bool) -> Self {
        Self {
            count_rows,
            counts: Vec::new(),
        }
    }

    fn take(&mut self) -> ArrayRef {
        Arc::new(Int64Array::from(std::mem::take(&mut self.counts)))
    }
}

impl GroupsAccumulator for CountGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let counts = &mut self.counts;
        let nulls = if self.count_rows || values.is_empty() {
            check_inputs(group_indices.len(), group_indices, opt_filter, total_num_groups)?;
            None
        } else {
            let array = single(values, "count")?;
            check_inputs(array.len(), group_indices, opt_filter, total_num_groups)?;
            // A NULL-typed argument has no logical nulls buffer but is all NULL.
            array.logical_nulls()
        };
        if total_num_groups == 1 {
            let counted = valid_mask(nulls.as_ref(), opt_filter).map_or(group_indices.len(), |m| m.count_set_bits());
            counts[0] += counted as i64;
        } else {
            for_each_valid_row(group_indices, nulls.as_ref(), opt_filter, |g, _| counts[g] += 1);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let partial = as_primitive::<Int64Type>(single(states, "count merge")?, "count merge")?;
        check_inputs(partial.len(), group_indices, None, total_num_groups)?;
        self.counts.resize(total_num_groups, 0);
        let counts = &mut self.counts;
        accumulate(group_indices, partial, None, |g, c| counts[g] += c);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        Ok(self.take())
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.take()])
    }

    fn size(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<i64>()
    }
}
