//! `avg(x)`: a sum and a count per group, the result a DOUBLE. Integer and decimal sums are
//! kept exact as `i128` (the state type is `DECIMAL(38,s)`, `s = 0` for integers) and divided
//! by `10^s` only when the average is computed; float sums are `f64`.

use std::sync::Arc;

use arrow::array::{ArrayRef, ArrowPrimitiveType, BooleanArray, Float64Array, Int64Array, PrimitiveArray};
use arrow::datatypes::{ArrowNativeTypeOp, DataType, Decimal128Type, Float64Type, Int64Type, DECIMAL128_MAX_PRECISION};

use super::sum::{accumulate_sum_input, check_decimal_range, overflow_error, to_sum_input, SumOfNarrowIntegers};
use super::{
    accumulate, add_to_single_average, as_primitive, check_inputs, nulls_from, single, GroupsAccumulator, Summable,
};
use crate::error::{Error, Result};

/// The type of the running sum of `avg` over `input` (the `{name}[sum]` state field).
pub fn sum_type(input: &DataType) -> DataType {
    match input {
        t if t.is_integer() => DataType::Decimal128(DECIMAL128_MAX_PRECISION, 0),
        DataType::Decimal32(_, s) | DataType::Decimal64(_, s) | DataType::Decimal128(_, s) => {
            DataType::Decimal128(DECIMAL128_MAX_PRECISION, *s)
        }
        _ => DataType::Float64,
    }
}

/// The accumulator for `avg` over `input`.
pub(crate) fn create(input: &DataType) -> Result<Box<dyn GroupsAccumulator>> {
    if !(input.is_numeric() || *input == DataType::Null) {
        return Err(Error::not_supported(format!("avg({input})")));
    }
    Ok(match sum_type(input) {
        DataType::Decimal128(p, s) => Box::new(AvgGroupsAccumulator::<Decimal128Type>::new(
            DataType::Decimal128(p, s),
            10f64.powi(i32::from(s)),
            |v| v as f64,
        )),
        other => Box::new(AvgGroupsAccumulator::<Float64Type>::new(other, 1.0, |v| v)),
    })
}

/// Grouped `avg` with `T::Native` sums.
#[derive(Debug)]
pub struct AvgGroupsAccumulator<T: ArrowPrimitiveType> {
    sum_type: DataType,
    /// `10^scale` for decimal sums, 1 otherwise.
    divisor: f64,
    to_f64: fn(T::Native) -> f64,
    sums: Vec<T::Native>,
    counts: Vec<i64>,
}

impl<T: ArrowPrimitiveType> AvgGroupsAccumulator<T>
where
    T::Native: Summable + SumOfNarrowIntegers,
{
    /// Sums of type `sum_type` (stored as `T`), scaled down by `divisor`, converted by `to_f64`.
    pub fn new(sum_type: DataType, divisor: f64, to_f64: fn(T::Native) -> f64) -> Self {
        Self {
            sum_type,
            divisor,
            to_f64,
            sums: Vec::new(),
            counts: Vec::new(),
        }
    }

    fn add_sums(
        &mut self,
        array: &ArrayRef,
        counts: Option<&Int64Array>,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        check_inputs(array.len(), group_indices, opt_filter, total_num_groups)?;
        self.sums.resize(total_num_groups, T::Native::ZERO);
        self.counts.resize(total_num_groups, 0);
        if counts.is_some_and(|c| c.len() != group_indices.len()) {
            return Err(Error::internal("avg merge: state columns differ in length"));
        }
        let (sums, group_counts) = (&mut self.sums, &mut self.counts);
        let mut overflow = false;
        if total_num_groups == 1 {
            let array = to_sum_input(array, &self.sum_type)?;
            let values = as_primitive::<T>(&array, "avg")?;
            overflow = add_to_single_average(values, opt_filter, counts, &mut sums[0], &mut group_counts[0]);
        } else {
            match counts {
                // Partial counts are merged from the state; NULL sums come with zero counts.
                Some(counts) => {
                    accumulate_sum_input::<T>(array, &self.sum_type, group_indices, opt_filter, |g, v| {
                        let (sum, o) = sums[g].add_overflowing(v);
                        sums[g] = sum;
                        overflow |= o;
                    })?;
                    accumulate(group_indices, counts, None, |g, c| group_counts[g] += c);
                }
                None => accumulate_sum_input::<T>(array, &self.sum_type, group_indices, opt_filter, |g, v| {
                    let (sum, o) = sums[g].add_overflowing(v);
                    sums[g] = sum;
                    overflow |= o;
                    group_counts[g] += 1;
                })?,
            }
        }
        if overflow {
            return Err(overflow_error());
        }
        Ok(())
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for AvgGroupsAccumulator<T>
where
    T::Native: Summable + SumOfNarrowIntegers,
{
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let array = single(values, "avg")?;
        self.add_sums(array, None, group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let [sums, counts] = states else {
            return Err(Error::internal("avg merge expects two state columns"));
        };
        let counts = as_primitive::<Int64Type>(counts, "avg merge")?;
        self.add_sums(sums, Some(counts), group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        let sums = std::mem::take(&mut self.sums);
        let counts = std::mem::take(&mut self.counts);
        let to_f64 = self.to_f64;
        let divisor = self.divisor;
        let values: Vec<f64> = sums
            .iter()
            .zip(&counts)
            .map(|(&s, &c)| if c == 0 { 0.0 } else { to_f64(s) / divisor / c as f64 })
            .collect();
        let nulls = nulls_from(counts.iter().map(|&c| c > 0).collect());
        Ok(Arc::new(Float64Array::try_new(values.into(), nulls)?))
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        let sums = std::mem::take(&mut self.sums);
        let counts = std::mem::take(&mut self.counts);
        let nulls = nulls_from(counts.iter().map(|&c| c > 0).collect());
        let sums: ArrayRef =
            Arc::new(PrimitiveArray::<T>::try_new(sums.into(), nulls)?.with_data_type(self.sum_type.clone()));
        check_decimal_range(&sums)?;
        Ok(vec![sums, Arc::new(Int64Array::from(counts))])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<T::Native>() + self.counts.capacity() * std::mem::size_of::<i64>()
    }
}
