//! `sum(x)`: integers summed as `i64` with an overflow check, floats as `f64`, `DECIMAL(p,s)`
//! as `i128` giving `DECIMAL(38,s)`. A group without a non-null input sums to NULL. The
//! partial state is the sum itself (NULL when nothing was seen), so merging is summing again.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, Decimal128Array, PrimitiveArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    ArrowNativeTypeOp, DataType, Decimal128Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type, DECIMAL128_MAX_PRECISION,
};

use super::{
    accumulate, add_in_lanes, as_primitive, check_inputs, fold_sum, single, GroupsAccumulator, SeenGroups, Summable,
    LANE_GROUPS,
};
use crate::error::{Error, Result};

/// The error of an integer or decimal sum that leaves its type's range.
pub(crate) fn overflow_error() -> Error {
    Error::execution("Out of Range Error: Overflow in SUM")
}

/// The accumulator for `sum` over `input`.
pub(crate) fn create(input: &DataType) -> Result<Box<dyn GroupsAccumulator>> {
    Ok(match input {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Boolean
        | DataType::Null => Box::new(SumGroupsAccumulator::<Int64Type>::new(DataType::Int64)),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            Box::new(SumGroupsAccumulator::<Float64Type>::new(DataType::Float64))
        }
        DataType::Decimal128(_, s) => Box::new(SumGroupsAccumulator::<Decimal128Type>::new(DataType::Decimal128(
            DECIMAL128_MAX_PRECISION,
            *s,
        ))),
        other => return Err(Error::not_supported(format!("sum({other})"))),
    })
}

/// Casts `array` to the summing type `target` (exact: an out-of-range value is an overflow).
/// Decimals of any precision are kept as they are (same scale, same `i128` values).
pub(crate) fn to_sum_input(array: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    let same = match (array.data_type(), target) {
        (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) => s1 == s2,
        (a, b) => a == b,
    };
    if same {
        return Ok(Arc::clone(array));
    }
    if let Some(widened) = integers_as_decimal(array, target) {
        return widened;
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, target, &options).map_err(|_| overflow_error())
}

/// A sum's native type, which every integer narrower than 64 bits widens into exactly.
pub trait SumOfNarrowIntegers: From<i8> + From<i16> + From<i32> + From<u8> + From<u16> + From<u32> {}

impl<N: From<i8> + From<i16> + From<i32> + From<u8> + From<u16> + From<u32>> SumOfNarrowIntegers for N {}

/// Calls `f(group, value)` for every non-null value of `array` that passes `opt_filter`, as
/// a value of the summing type `T` (`sum_type`). Integers narrower than 64 bits are widened
/// one at a time as they are added (H2O's `sum(v1)` over `INTEGER`); anything else is cast
/// first by [`to_sum_input`], which copies the column.
pub(crate) fn accumulate_sum_input<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    sum_type: &DataType,
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, T::Native),
) -> Result<()>
where
    T::Native: SumOfNarrowIntegers,
{
    let (indices, filter) = (group_indices, opt_filter);
    match array.data_type() {
        DataType::Int8 => accumulate(indices, array.as_primitive::<Int8Type>(), filter, |g, v| f(g, v.into())),
        DataType::Int16 => accumulate(indices, array.as_primitive::<Int16Type>(), filter, |g, v| {
            f(g, v.into())
        }),
        DataType::Int32 => accumulate(indices, array.as_primitive::<Int32Type>(), filter, |g, v| {
            f(g, v.into())
        }),
        DataType::UInt8 => accumulate(indices, array.as_primitive::<UInt8Type>(), filter, |g, v| {
            f(g, v.into())
        }),
        DataType::UInt16 => accumulate(indices, array.as_primitive::<UInt16Type>(), filter, |g, v| {
            f(g, v.into())
        }),
        DataType::UInt32 => accumulate(indices, array.as_primitive::<UInt32Type>(), filter, |g, v| {
            f(g, v.into())
        }),
        _ => {
            let array = to_sum_input(array, sum_type)?;
            accumulate(indices, as_primitive::<T>(&array, "sum")?, filter, f);
        }
    }
    Ok(())
}

/// Integers as `DECIMAL(p, 0)` with `p` >= 20 (every 64-bit integer fits): each value widened
/// to `i128` as it is. Arrow's cast would check every value's precision, which was a third of
/// `avg(INTEGER)`'s time. `None` for other inputs and targets.
fn integers_as_decimal(array: &ArrayRef, target: &DataType) -> Option<Result<ArrayRef>> {
    let DataType::Decimal128(precision, 0) = target else {
        return None;
    };
    if *precision < 20 || !array.data_type().is_integer() {
        return None;
    }
    fn widen<T: ArrowPrimitiveType>(array: &ArrayRef, target: &DataType) -> Option<ArrayRef>
    where
        T::Native: Into<i128>,
    {
        let values = array.as_any().downcast_ref::<PrimitiveArray<T>>()?;
        Some(Arc::new(
            values
                .unary::<_, Decimal128Type>(|v| v.into())
                .with_data_type(target.clone()),
        ))
    }
    let widened = match array.data_type() {
        DataType::Int8 => widen::<Int8Type>(array, target),
        DataType::Int16 => widen::<Int16Type>(array, target),
        DataType::Int32 => widen::<Int32Type>(array, target),
        DataType::Int64 => widen::<Int64Type>(array, target),
        DataType::UInt8 => widen::<UInt8Type>(array, target),
        DataType::UInt16 => widen::<UInt16Type>(array, target),
        DataType::UInt32 => widen::<UInt32Type>(array, target),
        DataType::UInt64 => widen::<UInt64Type>(array, target),
        _ => None,
    };
    widened.map(Ok)
}

/// Checks that decimal results fit `DECIMAL(38, s)`. Every slot in range, the usual case,
/// is one pass over the values; only otherwise are NULL slots (whose values do not count)
/// told apart, by Arrow's check of one slot at a time (2.4% of TPC-H SF10 q18, whose sums
/// of 15 million orders are checked twice).
pub(crate) fn check_decimal_range(array: &ArrayRef) -> Result<()> {
    if let Some(dec) = array.as_any().downcast_ref::<Decimal128Array>() {
        let max = 10i128.pow(u32::from(DECIMAL128_MAX_PRECISION)) - 1;
        if dec.values().iter().all(|v| (-max..=max).contains(v)) {
            return Ok(());
        }
        dec.validate_decimal_precision(DECIMAL128_MAX_PRECISION)
            .map_err(|_| overflow_error())?;
    }
    Ok(())
}

/// Grouped `sum` with `T::Native` sums.
#[derive(Debug)]
pub struct SumGroupsAccumulator<T: ArrowPrimitiveType> {
    data_type: DataType,
    sums: Vec<T::Native>,
    seen: SeenGroups,
}

impl<T: ArrowPrimitiveType> SumGroupsAccumulator<T>
where
    T::Native: Summable + SumOfNarrowIntegers,
{
    /// Sums giving `data_type` (which `T` stores).
    pub fn new(data_type: DataType) -> Self {
        Self {
            data_type,
            sums: Vec::new(),
            seen: SeenGroups::default(),
        }
    }

    fn add(
        &mut self,
        array: &ArrayRef,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        check_inputs(array.len(), group_indices, opt_filter, total_num_groups)?;
        self.sums.resize(total_num_groups, T::Native::ZERO);
        let check_from = self.seen.grow(total_num_groups);
        let (sums, seen) = (&mut self.sums, &mut self.seen);
        let mut overflow = false;
        if total_num_groups == 1 {
            let array = to_sum_input(array, &self.data_type)?;
            let (sum, o, n) = fold_sum(as_primitive::<T>(&array, "sum")?, opt_filter, sums[0]);
            sums[0] = sum;
            overflow = o;
            if n > 0 {
                seen.mark(0);
            }
        } else if total_num_groups <= LANE_GROUPS && T::Native::EXACT {
            let array = to_sum_input(array, &self.data_type)?;
            let values = as_primitive::<T>(&array, "sum")?;
            overflow = add_in_lanes(values, group_indices, opt_filter, sums, |g| {
                if g >= check_from {
                    seen.mark(g);
                }
            });
        } else {
            accumulate_sum_input::<T>(array, &self.data_type, group_indices, opt_filter, |g, v| {
                let (sum, o) = sums[g].add_overflowing(v);
                sums[g] = sum;
                overflow |= o;
                if g >= check_from {
                    seen.mark(g);
                }
            })?;
        }
        if overflow {
            return Err(overflow_error());
        }
        Ok(())
    }

    fn take(&mut self) -> Result<ArrayRef> {
        let sums = std::mem::take(&mut self.sums);
        let nulls = self.seen.take_nulls();
        let array: ArrayRef =
            Arc::new(PrimitiveArray::<T>::try_new(sums.into(), nulls)?.with_data_type(self.data_type.clone()));
        check_decimal_range(&array)?;
        Ok(array)
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for SumGroupsAccumulator<T>
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
        self.add(single(values, "sum")?, group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.add(single(states, "sum merge")?, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        self.take()
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.take()?])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<T::Native>() + self.seen.size()
    }
}
