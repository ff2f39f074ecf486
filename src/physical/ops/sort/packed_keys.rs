//! Multi-column sorts on fixed-width keys as one integer sort. Each key column is mapped
//! to unsigned integers in the same order (signed integers with the sign bit flipped,
//! floats by their total order, as Arrow sorts them), shifted to its smallest value and
//! packed with a NULL bit into one `u128` per row above the row's number, when all the
//! columns' value ranges fit in 96 bits together. Sorting those integers replaces walking
//! typed comparators column by column (`lexsort_to_indices`), and ties come out in row
//! order. Anything else (strings, wide ranges, a single column) goes to Arrow's sort.

use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::compute::{lexsort_to_indices, SortColumn};
use arrow::datatypes::*;

use crate::error::Result;

/// The row order of `columns` (the first `limit` rows of it when given), as
/// `lexsort_to_indices` would give it, ties in row order.
pub(crate) fn sort_to_indices(columns: &[SortColumn], limit: Option<usize>) -> Result<UInt32Array> {
    if columns.len() >= 2 {
        if let Some(mut keys) = packed_keys(columns) {
            let take = limit.unwrap_or(keys.len()).min(keys.len());
            if take < keys.len() {
                if take == 0 {
                    return Ok(UInt32Array::from(Vec::<u32>::new()));
                }
                keys.select_nth_unstable(take - 1);
                keys.truncate(take);
            }
            keys.sort_unstable();
            return Ok(UInt32Array::from_iter_values(keys.into_iter().map(|k| k as u32)));
        }
    }
    Ok(lexsort_to_indices(columns, limit)?)
}

/// One `u128` per row: the row's sort key packed above its row number (in the low 32
/// bits), so that the keys sort as `columns` order the rows, ties by row; `None` when a
/// column's type is not fixed-width or the columns' ranges do not fit in 96 bits together.
fn packed_keys(columns: &[SortColumn]) -> Option<Vec<u128>> {
    let rows = columns.first()?.values.len();
    if rows > u32::MAX as usize {
        return None;
    }
    let mut keys = vec![0u128; rows];
    let mut bits = 0u32;
    for column in columns {
        let options = column.options.unwrap_or_default();
        let nulls = column.values.logical_nulls().filter(|n| n.null_count() > 0);
        let (mut min, mut max) = (u128::MAX, 0u128);
        let supported = for_each_ordered(&column.values, |i, v| {
            if nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
                min = min.min(v);
                max = max.max(v);
            }
        });
        if !supported {
            return None;
        }
        if min > max {
            (min, max) = (0, 0);
        }
        let range = max - min;
        let width = 128 - range.leading_zeros();
        let null_bit = u32::from(nulls.is_some());
        bits += width + null_bit;
        if bits > 96 {
            return None;
        }
        let shift = width + null_bit;
        for_each_ordered(&column.values, |i, v| {
            let is_valid = nulls.as_ref().is_none_or(|n| n.is_valid(i));
            let value = match (is_valid, options.descending) {
                (false, _) => 0,
                (true, true) => range - (v - min),
                (true, false) => v - min,
            };
            // NULLs first: a NULL gets bit 0 and values bit 1; NULLs last the other way.
            let null_flag = u128::from(is_valid == options.nulls_first) * u128::from(null_bit);
            let key = &mut keys[i];
            *key = key.checked_shl(shift).unwrap_or(0) | null_flag << width | value;
        });
    }
    for (row, key) in keys.iter_mut().enumerate() {
        *key = *key << 32 | row as u128;
    }
    Some(keys)
}

/// Calls `f(row, value)` with the column's values mapped to unsigned integers in the same
/// order (NULL rows' values arbitrary); false for types that are not fixed-width numbers.
fn for_each_ordered(array: &ArrayRef, mut f: impl FnMut(usize, u128)) -> bool {
    fn signed<T: ArrowPrimitiveType>(
        array: &ArrayRef,
        to_i128: impl Fn(T::Native) -> i128,
        f: &mut impl FnMut(usize, u128),
    ) {
        let flip = 1u128 << 127;
        for (i, &v) in array.as_primitive::<T>().values().iter().enumerate() {
            f(i, (to_i128(v) as u128) ^ flip);
        }
    }
    fn unsigned<T: ArrowPrimitiveType>(
        array: &ArrayRef,
        to_u128: impl Fn(T::Native) -> u128,
        f: &mut impl FnMut(usize, u128),
    ) {
        for (i, &v) in array.as_primitive::<T>().values().iter().enumerate() {
            f(i, to_u128(v));
        }
    }
    // A float's bits in total order (as `total_cmp`): negative numbers reversed below
    // the positive ones.
    let total_order = |bits: u64| -> u128 { u128::from(if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }) };
    let f = &mut f;
    match array.data_type() {
        DataType::Int8 => signed::<Int8Type>(array, i128::from, f),
        DataType::Int16 => signed::<Int16Type>(array, i128::from, f),
        DataType::Int32 => signed::<Int32Type>(array, i128::from, f),
        DataType::Int64 => signed::<Int64Type>(array, i128::from, f),
        DataType::UInt8 => unsigned::<UInt8Type>(array, u128::from, f),
        DataType::UInt16 => unsigned::<UInt16Type>(array, u128::from, f),
        DataType::UInt32 => unsigned::<UInt32Type>(array, u128::from, f),
        DataType::UInt64 => unsigned::<UInt64Type>(array, u128::from, f),
        DataType::Date32 => signed::<Date32Type>(array, i128::from, f),
        DataType::Date64 => signed::<Date64Type>(array, i128::from, f),
        DataType::Timestamp(TimeUnit::Second, _) => signed::<TimestampSecondType>(array, i128::from, f),
        DataType::Timestamp(TimeUnit::Millisecond, _) => signed::<TimestampMillisecondType>(array, i128::from, f),
        DataType::Timestamp(TimeUnit::Microsecond, _) => signed::<TimestampMicrosecondType>(array, i128::from, f),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => signed::<TimestampNanosecondType>(array, i128::from, f),
        DataType::Decimal128(_, _) => signed::<Decimal128Type>(array, |v| v, f),
        // Widening keeps the order; -0.0 and NaNs keep their places.
        DataType::Float32 => unsigned::<Float32Type>(array, |v| total_order(f64::from(v).to_bits()), f),
        DataType::Float64 => unsigned::<Float64Type>(array, |v| total_order(v.to_bits()), f),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array};
    use arrow::compute::SortOptions;

    use super::*;

    fn column(values: ArrayRef, descending: bool, nulls_first: bool) -> SortColumn {
        SortColumn {
            values,
            options: Some(SortOptions {
                descending,
                nulls_first,
            }),
        }
    }

    /// The packed order is Arrow's order, ties broken by row.
    fn check(columns: &[SortColumn]) {
        assert!(packed_keys(columns).is_some(), "the packed path was not taken");
        let got = sort_to_indices(columns, None).unwrap();
        let expected = lexsort_to_indices(columns, None).unwrap();
        let key = |i: u32| -> Vec<String> {
            columns
                .iter()
                .map(|c| arrow::util::display::array_value_to_string(&c.values, i as usize).unwrap())
                .collect()
        };
        let got_keys: Vec<_> = got.values().iter().map(|&i| key(i)).collect();
        let expected_keys: Vec<_> = expected.values().iter().map(|&i| key(i)).collect();
        assert_eq!(got_keys, expected_keys);
        // Equal keys keep their row order.
        for w in got.values().windows(2) {
            if key(w[0]) == key(w[1]) {
                assert!(w[0] < w[1]);
            }
        }
        for limit in [0, 1, 5, 17] {
            let top = sort_to_indices(columns, Some(limit)).unwrap();
            assert_eq!(top.values(), &got.values()[..limit.min(got.len())]);
        }
    }

    #[test]
    fn packed_sorts_order_like_arrow_in_every_direction() {
        let n = 200;
        let ints: ArrayRef = Arc::new(Int64Array::from_iter(
            (0..n).map(|i: i64| (i % 7 != 3).then_some((i * 37) % 11 - 5)),
        ));
        let floats: ArrayRef = Arc::new(Float64Array::from_iter((0..n).map(|i| {
            (i % 9 != 0).then_some(match i % 6 {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                3 => -1.5e300,
                _ => (i as f64 * 1.37) % 5.0 - 2.0,
            })
        })));
        let dates: ArrayRef = Arc::new(Date32Array::from_iter_values((0..n).map(|i| (i as i32 * 13) % 40 - 20)));
        let small: ArrayRef = Arc::new(Int32Array::from_iter_values((0..n).map(|i| (i % 3) as i32)));
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from_iter((0..n).map(|i| (i % 5 != 1).then_some(i as i128 * 977 % 1000 - 500)))
                .with_precision_and_scale(15, 2)
                .unwrap(),
        );
        for descending in [false, true] {
            for nulls_first in [false, true] {
                check(&[
                    column(Arc::clone(&ints), descending, nulls_first),
                    column(Arc::clone(&floats), !descending, nulls_first),
                ]);
                check(&[
                    column(Arc::clone(&small), descending, !nulls_first),
                    column(Arc::clone(&decimals), descending, nulls_first),
                    column(Arc::clone(&dates), !descending, nulls_first),
                ]);
            }
        }
    }

    #[test]
    fn wide_or_unsupported_keys_fall_back_to_arrow() {
        let wide: ArrayRef = Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX, 0]));
        let strings: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["b", "a", "c"]));
        let two_wide = [
            column(Arc::clone(&wide), false, false),
            column(Arc::clone(&wide), true, false),
        ];
        assert!(
            packed_keys(&two_wide).is_none(),
            "two 64-bit ranges and the row do not fit in 128 bits"
        );
        assert_eq!(sort_to_indices(&two_wide, None).unwrap().values(), &[0, 2, 1]);
        let with_strings = [column(Arc::clone(&wide), false, false), column(strings, false, false)];
        assert!(packed_keys(&with_strings).is_none());
        assert_eq!(sort_to_indices(&with_strings, None).unwrap().values(), &[0, 2, 1]);
    }
}
