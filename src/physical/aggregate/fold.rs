//! Small mergeable folds: `bool_and`, `bool_or` (a BOOLEAN per group, NULL when the group
//! saw no value), `count_if` (a count of true values, NULL only without any row) and `product` (a DOUBLE).
//! The partial state is the result itself; merging folds it again.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use super::{accumulate, as_primitive, check_inputs, for_each_valid_row, nulls_from, single, GroupsAccumulator};
use crate::error::{Error, Result};

/// Which fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// `bool_and`.
    And,
    /// `bool_or`.
    Or,
    /// `count_if`.
    CountIf,
    /// `product`.
    Product,
}

/// Grouped fold state: `acc` holds booleans as 0/1 for the boolean folds.
#[derive(Debug)]
pub struct FoldAccumulator {
    fold: Fold,
    acc: Vec<f64>,
    counts: Vec<i64>,
    seen: Vec<bool>,
}

impl FoldAccumulator {
    /// A fresh accumulator.
    pub fn new(fold: Fold) -> Self {
        Self {
            fold,
            acc: Vec::new(),
            counts: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn add(
        &mut self,
        array: &ArrayRef,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total: usize,
    ) -> Result<()> {
        check_inputs(array.len(), group_indices, opt_filter, total)?;
        let init = match self.fold {
            Fold::And | Fold::Product => 1.0,
            _ => 0.0,
        };
        self.acc.resize(total, init);
        self.counts.resize(total, 0);
        self.seen.resize(total, false);
        let (acc, counts, seen) = (&mut self.acc, &mut self.counts, &mut self.seen);
        match self.fold {
            Fold::CountIf => {
                let b = cast(array, &DataType::Boolean)?;
                let b = b
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| Error::internal("count_if expects BOOLEAN"))?;
                let nulls = b.logical_nulls();
                let values = b.values();
                for_each_valid_row(group_indices, nulls.as_ref(), opt_filter, |g, row| {
                    counts[g] += i64::from(values.value(row));
                    seen[g] = true;
                });
            }
            Fold::And | Fold::Or => {
                let b = cast(array, &DataType::Boolean)?;
                let b = b
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| Error::internal("bool_and/bool_or expect BOOLEAN"))?;
                let nulls = b.logical_nulls();
                let values = b.values();
                let and = self.fold == Fold::And;
                for_each_valid_row(group_indices, nulls.as_ref(), opt_filter, |g, row| {
                    let v = values.value(row);
                    let cur = acc[g] != 0.0;
                    acc[g] = f64::from(u8::from(if and { cur && v } else { cur || v }));
                    seen[g] = true;
                });
            }
            Fold::Product => {
                let f = cast(array, &DataType::Float64)?;
                let f = as_primitive::<Float64Type>(&f, "product")?;
                accumulate(group_indices, f, opt_filter, |g, v| {
                    acc[g] *= v;
                    seen[g] = true;
                });
            }
        }
        Ok(())
    }

    fn take(&mut self) -> ArrayRef {
        let acc = std::mem::take(&mut self.acc);
        let counts = std::mem::take(&mut self.counts);
        let seen = std::mem::take(&mut self.seen);
        match self.fold {
            Fold::CountIf => Arc::new(Int64Array::new(counts.into(), nulls_from(seen))),
            Fold::Product => Arc::new(Float64Array::new(acc.into(), nulls_from(seen))),
            Fold::And | Fold::Or => Arc::new(BooleanArray::new(
                acc.iter().map(|&v| v != 0.0).collect(),
                nulls_from(seen),
            )),
        }
    }
}

impl GroupsAccumulator for FoldAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(single(values, "fold")?, group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let state = single(states, "fold merge")?;
        if self.fold == Fold::CountIf {
            let partial = as_primitive::<Int64Type>(state, "count_if merge")?;
            check_inputs(partial.len(), group_indices, None, total_num_groups)?;
            self.counts.resize(total_num_groups, 0);
            let counts = &mut self.counts;
            self.seen.resize(total_num_groups, false);
            let seen = &mut self.seen;
            accumulate(group_indices, partial, None, |g, c| {
                counts[g] += c;
                seen[g] = true;
            });
            return Ok(());
        }
        self.add(state, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        Ok(self.take())
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.take()])
    }

    fn size(&self) -> usize {
        self.acc.capacity() * 8 + self.counts.capacity() * 8 + self.seen.capacity()
    }
}
