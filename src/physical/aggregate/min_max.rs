//! `min(x)` and `max(x)`: typed per-group states for every primitive type (integers, floats,
//! dates, times, timestamps, durations, decimals), booleans and strings (`Utf8`, `LargeUtf8`,
//! `Utf8View`). The partial state is the running extreme itself, so merging is the same as
//! updating. String updates first find the best row of each group within the batch (no
//! allocation per row), then compare once per touched group with the kept value.

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayAccessor, ArrayRef, ArrowPrimitiveType, BooleanArray, LargeStringArray, PrimitiveArray,
    StringArray, StringViewArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::*;

use super::{
    accumulate, as_primitive, check_inputs, fold_values, for_each_valid_row, nulls_from, single, GroupsAccumulator,
};
use crate::error::{Error, Result};

/// Which extreme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

/// The accumulator for `min`/`max` over `input`.
pub(crate) fn create(input: &DataType, kind: Kind) -> Result<Box<dyn GroupsAccumulator>> {
    macro_rules! prim {
        ($t:ty) => {
            Box::new(PrimitiveMinMax::<$t>::new(input.clone(), kind))
        };
    }
    Ok(match input {
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float16 => prim!(Float16Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Date32 => prim!(Date32Type),
        DataType::Date64 => prim!(Date64Type),
        DataType::Time32(TimeUnit::Second) => prim!(Time32SecondType),
        DataType::Time32(TimeUnit::Millisecond) => prim!(Time32MillisecondType),
        DataType::Time64(TimeUnit::Microsecond) => prim!(Time64MicrosecondType),
        DataType::Time64(TimeUnit::Nanosecond) => prim!(Time64NanosecondType),
        DataType::Timestamp(TimeUnit::Second, _) => prim!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim!(TimestampNanosecondType),
        DataType::Duration(TimeUnit::Second) => prim!(DurationSecondType),
        DataType::Duration(TimeUnit::Millisecond) => prim!(DurationMillisecondType),
        DataType::Duration(TimeUnit::Microsecond) => prim!(DurationMicrosecondType),
        DataType::Duration(TimeUnit::Nanosecond) => prim!(DurationNanosecondType),
        DataType::Decimal128(_, _) => prim!(Decimal128Type),
        DataType::Decimal256(_, _) => prim!(Decimal256Type),
        DataType::Boolean => Box::new(BooleanMinMax::new(kind)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Box::new(StringMinMax::new(input.clone(), kind)),
        DataType::Null => Box::new(NullMinMax::default()),
        other => {
            let name = if kind == Kind::Min { "min" } else { "max" };
            return Err(Error::not_supported(format!("{name}({other})")));
        }
    })
}

/// Grouped min/max over a primitive type.
#[derive(Debug)]
pub struct PrimitiveMinMax<T: ArrowPrimitiveType> {
    data_type: DataType,
    kind: Kind,
    values: Vec<T::Native>,
    seen: Vec<bool>,
}

impl<T: ArrowPrimitiveType> PrimitiveMinMax<T> {
    /// Min or max over `data_type` (stored as `T`).
    pub fn new(data_type: DataType, kind: Kind) -> Self {
        Self {
            data_type,
            kind,
            values: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn take(&mut self) -> Result<ArrayRef> {
        let mut values = std::mem::take(&mut self.values);
        // A group without a value still holds the type's extreme it started at: under
        // its NULL it becomes zero, so that no kernel applied to every slot (a rescaling
        // cast, checked arithmetic) trips over it.
        for (value, &seen) in values.iter_mut().zip(&self.seen) {
            if !seen {
                *value = T::Native::default();
            }
        }
        let nulls = nulls_from(std::mem::take(&mut self.seen));
        Ok(Arc::new(
            PrimitiveArray::<T>::try_new(values.into(), nulls)?.with_data_type(self.data_type.clone()),
        ))
    }
}

/// The better of a group's `current` extreme and `value` for min (`LOWER`) or max, chosen
/// without a branch.
fn pick<T: ArrowPrimitiveType, const LOWER: bool>(current: T::Native, value: T::Native) -> T::Native {
    let replace = if LOWER {
        value.is_lt(current)
    } else {
        value.is_gt(current)
    };
    if replace {
        value
    } else {
        current
    }
}

/// The per-row update of grouped min (`LOWER`) or max: the group keeps [`pick`]'s choice
/// and has a value from now on.
fn keep_extreme<'a, T: ArrowPrimitiveType, const LOWER: bool>(
    extremes: &'a mut [T::Native],
    seen: &'a mut [bool],
) -> impl FnMut(usize, T::Native) + 'a {
    move |g, v| {
        extremes[g] = pick::<T, LOWER>(extremes[g], v);
        seen[g] = true;
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for PrimitiveMinMax<T> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let array = as_primitive::<T>(single(values, "min/max")?, "min/max")?;
        check_inputs(array.len(), group_indices, opt_filter, total_num_groups)?;
        let is_min = self.kind == Kind::Min;
        // A group starts at the extreme every value beats or equals, so a row's update is
        // a select and a store rather than a branch on whether the group has a value yet.
        let identity = if is_min {
            T::Native::MAX_TOTAL_ORDER
        } else {
            T::Native::MIN_TOTAL_ORDER
        };
        self.values.resize(total_num_groups, identity);
        self.seen.resize(total_num_groups, false);
        let (extremes, seen) = (&mut self.values, &mut self.seen);
        if total_num_groups == 1 {
            let (extreme, folded) = if is_min {
                fold_values(array, opt_filter, extremes[0], pick::<T, true>)
            } else {
                fold_values(array, opt_filter, extremes[0], pick::<T, false>)
            };
            extremes[0] = extreme;
            seen[0] |= folded > 0;
        } else if is_min {
            accumulate(
                group_indices,
                array,
                opt_filter,
                keep_extreme::<T, true>(extremes, seen),
            );
        } else {
            accumulate(
                group_indices,
                array,
                opt_filter,
                keep_extreme::<T, false>(extremes, seen),
            );
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.update_batch(states, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        self.take()
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.take()?])
    }

    fn size(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<T::Native>() + self.seen.capacity()
    }
}

/// Grouped min/max over booleans (`false < true`): min is AND, max is OR.
#[derive(Debug)]
pub struct BooleanMinMax {
    kind: Kind,
    values: Vec<bool>,
    seen: Vec<bool>,
}

impl BooleanMinMax {
    /// Min or max of booleans.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            values: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn take(&mut self) -> ArrayRef {
        let values = std::mem::take(&mut self.values);
        let nulls = nulls_from(std::mem::take(&mut self.seen));
        Arc::new(BooleanArray::new(values.into(), nulls))
    }
}

impl GroupsAccumulator for BooleanMinMax {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let input = single(values, "min/max")?;
        let array = input
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| Error::internal(format!("min/max: unexpected input type {}", input.data_type())))?;
        check_inputs(array.len(), group_indices, opt_filter, total_num_groups)?;
        self.values.resize(total_num_groups, false);
        self.seen.resize(total_num_groups, false);
        let (extremes, seen) = (&mut self.values, &mut self.seen);
        let bits = array.values();
        let is_min = self.kind == Kind::Min;
        for_each_valid_row(group_indices, array.nulls(), opt_filter, |g, row| {
            let v = bits.value(row);
            extremes[g] = if !seen[g] {
                v
            } else if is_min {
                extremes[g] && v
            } else {
                extremes[g] || v
            };
            seen[g] = true;
        });
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.update_batch(states, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        Ok(self.take())
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.take()])
    }

    fn size(&self) -> usize {
        self.values.capacity() + self.seen.capacity()
    }
}

const NO_ROW: usize = usize::MAX;

/// Grouped min/max over strings, compared bytewise (as DuckDB does by default).
#[derive(Debug)]
pub struct StringMinMax {
    data_type: DataType,
    kind: Kind,
    values: Vec<Option<String>>,
    /// Bytes allocated by the strings in `values`.
    string_bytes: usize,
    /// Per group, the best row of the current batch (`NO_ROW` when none); reset after each batch.
    best_row: Vec<usize>,
    /// Groups with a best row in the current batch.
    touched: Vec<usize>,
}

impl StringMinMax {
    /// Min or max over `data_type` (`Utf8`, `LargeUtf8` or `Utf8View`).
    pub fn new(data_type: DataType, kind: Kind) -> Self {
        Self {
            data_type,
            kind,
            values: Vec::new(),
            string_bytes: 0,
            best_row: Vec::new(),
            touched: Vec::new(),
        }
    }

    fn better(&self, candidate: &str, current: &str) -> bool {
        match self.kind {
            Kind::Min => candidate < current,
            Kind::Max => candidate > current,
        }
    }

    fn update_with<'a, A: ArrayAccessor<Item = &'a str>>(
        &mut self,
        array: A,
        nulls: Option<&NullBuffer>,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
    ) {
        let is_min = self.kind == Kind::Min;
        let (best_row, touched) = (&mut self.best_row, &mut self.touched);
        for_each_valid_row(group_indices, nulls, opt_filter, |g, row| {
            let best = best_row[g];
            if best == NO_ROW {
                best_row[g] = row;
                touched.push(g);
            } else {
                let (v, b) = (array.value(row), array.value(best));
                if (is_min && v < b) || (!is_min && v > b) {
                    best_row[g] = row;
                }
            }
        });
        let touched = std::mem::take(&mut self.touched);
        for &g in &touched {
            let candidate = array.value(self.best_row[g]);
            self.best_row[g] = NO_ROW;
            let replace = match &self.values[g] {
                None => true,
                Some(current) => self.better(candidate, current),
            };
            if replace {
                let slot = self.values[g].get_or_insert_with(String::new);
                let before = slot.capacity();
                slot.clear();
                slot.push_str(candidate);
                // Counted by capacity: a shorter value keeps the longer allocation.
                self.string_bytes = self.string_bytes + slot.capacity() - before;
            }
        }
        self.touched = touched;
        self.touched.clear();
    }

    fn take(&mut self) -> ArrayRef {
        let values = std::mem::take(&mut self.values);
        self.string_bytes = 0;
        let iter = values.iter().map(Option::as_deref);
        match self.data_type {
            DataType::LargeUtf8 => Arc::new(LargeStringArray::from_iter(iter)),
            DataType::Utf8View => Arc::new(StringViewArray::from_iter(iter)),
            _ => Arc::new(StringArray::from_iter(iter)),
        }
    }
}

impl GroupsAccumulator for StringMinMax {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let input = single(values, "min/max")?;
        check_inputs(input.len(), group_indices, opt_filter, total_num_groups)?;
        self.values.resize(total_num_groups, None);
        self.best_row.resize(total_num_groups, NO_ROW);
        let nulls = input.nulls();
        let any = input.as_any();
        if let Some(a) = any.downcast_ref::<StringArray>() {
            self.update_with(a, nulls, group_indices, opt_filter);
        } else if let Some(a) = any.downcast_ref::<LargeStringArray>() {
            self.update_with(a, nulls, group_indices, opt_filter);
        } else if let Some(a) = any.downcast_ref::<StringViewArray>() {
            self.update_with(a, nulls, group_indices, opt_filter);
        } else {
            return Err(Error::internal(format!(
                "min/max: unexpected input type {}",
                input.data_type()
            )));
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.update_batch(states, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        Ok(self.take())
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.take()])
    }

    fn size(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Option<String>>()
            + self.string_bytes
            + (self.best_row.capacity() + self.touched.capacity()) * std::mem::size_of::<usize>()
    }
}

/// min/max of a NULL-typed argument: NULL for every group.
#[derive(Debug, Default)]
pub struct NullMinMax {
    groups: usize,
}

impl GroupsAccumulator for NullMinMax {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        check_inputs(
            single(values, "min/max")?.len(),
            group_indices,
            opt_filter,
            total_num_groups,
        )?;
        self.groups = self.groups.max(total_num_groups);
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.update_batch(states, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        Ok(new_null_array(&DataType::Null, std::mem::take(&mut self.groups)))
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate()?])
    }

    fn size(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Date32Array, Float64Array, Int64Array, TimestampMillisecondArray};

    use super::*;

    fn run(input: ArrayRef, groups: &[usize], kind: Kind) -> ArrayRef {
        let mut acc = create(input.data_type(), kind).unwrap();
        let n = groups.iter().max().map_or(0, |g| g + 1);
        // Two halves, the second merged from a partial state, to exercise both paths.
        let half = input.len() / 2;
        acc.update_batch(&[input.slice(0, half)], &groups[..half], None, n)
            .unwrap();
        let mut other = create(input.data_type(), kind).unwrap();
        let rest = input.len() - half;
        other
            .update_batch(&[input.slice(half, rest)], &groups[half..], None, n)
            .unwrap();
        let state = other.state().unwrap();
        acc.merge_batch(&state, &(0..n).collect::<Vec<_>>(), n).unwrap();
        acc.evaluate().unwrap()
    }

    #[test]
    fn min_max_of_many_types() {
        let groups = [0, 1, 0, 1, 0, 1];
        let ts: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![Some(5), None, Some(1), None, Some(9), None]).with_timezone("UTC"),
        );
        let out = run(Arc::clone(&ts), &groups, Kind::Max);
        assert_eq!(out.data_type(), ts.data_type());
        let out = out.as_any().downcast_ref::<TimestampMillisecondArray>().unwrap();
        assert_eq!((out.value(0), out.is_null(1)), (9, true));

        let f: ArrayRef = Arc::new(Float64Array::from(vec![1.5, -2.0, -0.5, 7.0, 3.0, 2.0]));
        let out = run(f, &groups, Kind::Min);
        let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(out.values().to_vec(), vec![-0.5, -2.0]);

        let d: ArrayRef = Arc::new(Date32Array::from(vec![10, 20, 30, 5, 1, 6]));
        let out = run(d, &groups, Kind::Max);
        assert_eq!(
            out.as_any().downcast_ref::<Date32Array>().unwrap().values().to_vec(),
            vec![30, 20]
        );

        let b: ArrayRef = Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            Some(true),
            None,
            Some(false),
            Some(true),
        ]));
        let min = run(Arc::clone(&b), &groups, Kind::Min);
        let max = run(b, &groups, Kind::Max);
        let (min, max) = (
            min.as_any().downcast_ref::<BooleanArray>().unwrap(),
            max.as_any().downcast_ref::<BooleanArray>().unwrap(),
        );
        assert_eq!(
            (min.value(0), min.value(1), max.value(0), max.value(1)),
            (false, false, true, true)
        );

        let s: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("pear"),
            None,
            Some("apple"),
            None,
            Some("zoo"),
            None,
        ]));
        let out = run(Arc::clone(&s), &groups, Kind::Min);
        let out = out.as_any().downcast_ref::<StringViewArray>().unwrap();
        assert_eq!((out.value(0), out.is_null(1)), ("apple", true));
        let out = run(s, &groups, Kind::Max);
        assert_eq!(out.as_any().downcast_ref::<StringViewArray>().unwrap().value(0), "zoo");
    }

    #[test]
    fn string_filter_skips_rows() {
        let mut acc = create(&DataType::Utf8, Kind::Max).unwrap();
        let s: ArrayRef = Arc::new(StringArray::from(vec!["b", "z", "c"]));
        let filter = BooleanArray::from(vec![Some(true), None, Some(true)]);
        acc.update_batch(&[s], &[0, 0, 0], Some(&filter), 1).unwrap();
        let out = acc.evaluate().unwrap();
        assert_eq!(out.as_any().downcast_ref::<StringArray>().unwrap().value(0), "c");
    }

    fn grouped<T: ArrowPrimitiveType>(
        kind: Kind,
        data_type: DataType,
        batches: &[(ArrayRef, Vec<usize>, Option<BooleanArray>, usize)],
    ) -> ArrayRef {
        let mut acc = PrimitiveMinMax::<T>::new(data_type, kind);
        for (values, groups, filter, total) in batches {
            acc.update_batch(std::slice::from_ref(values), groups, filter.as_ref(), *total)
                .unwrap();
        }
        acc.evaluate().unwrap()
    }

    #[test]
    fn groups_without_a_value_are_null_and_the_type_extremes_count_as_values() {
        // Group 0 sees i64::MIN and i64::MAX themselves, group 1 only nulls, group 2 a
        // value filtered out, group 3 (new in the second batch) a value after its null.
        let first: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(5), Some(i64::MAX)]));
        let filter = BooleanArray::from(vec![true, true, false, true]);
        let second: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(-3), None, Some(7)]));
        let batches = [
            (first, vec![0, 1, 2, 0], Some(filter), 3),
            (second, vec![3, 3, 1, 2], None, 4),
        ];
        let max = grouped::<Int64Type>(Kind::Max, DataType::Int64, &batches);
        let expected: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MAX), None, Some(7), Some(-3)]));
        assert_eq!(&max, &expected);
        let min = grouped::<Int64Type>(Kind::Min, DataType::Int64, &batches);
        let expected: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(7), Some(-3)]));
        assert_eq!(&min, &expected);
        // Under the NULL lies zero, not the extreme the group started at.
        assert_eq!(min.as_primitive::<Int64Type>().values()[1], 0);
        assert_eq!(max.as_primitive::<Int64Type>().values()[1], 0);
    }

    #[test]
    fn a_single_group_folds_across_batches_and_stays_null_without_values() {
        let nulls: ArrayRef = Arc::new(Int64Array::from(vec![None, None]));
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(-1)]));
        let empty = [(Arc::clone(&nulls), vec![0, 0], None, 1)];
        let max = grouped::<Int64Type>(Kind::Max, DataType::Int64, &empty);
        assert_eq!(max.null_count(), 1);
        let batches = [(nulls, vec![0, 0], None, 1), (values, vec![0, 0, 0], None, 1)];
        let min = grouped::<Int64Type>(Kind::Min, DataType::Int64, &batches);
        let expected: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MIN)]));
        assert_eq!(&min, &expected);
        let max = grouped::<Int64Type>(Kind::Max, DataType::Int64, &batches);
        let expected: ArrayRef = Arc::new(Int64Array::from(vec![Some(-1)]));
        assert_eq!(&max, &expected);
    }

    #[test]
    fn float_extremes_follow_the_total_order_nan_above_infinity() {
        let values: ArrayRef = Arc::new(Float64Array::from(vec![
            f64::NEG_INFINITY,
            f64::NAN,
            1.0,
            f64::INFINITY,
            -0.0,
            0.0,
        ]));
        let batches = [(values, vec![0, 0, 1, 1, 2, 2], None, 3)];
        let max = grouped::<Float64Type>(Kind::Max, DataType::Float64, &batches);
        let max = max.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(max.value(0).is_nan());
        assert_eq!(max.value(1), f64::INFINITY);
        assert!(max.value(2) == 0.0 && max.value(2).is_sign_positive());
        let min = grouped::<Float64Type>(Kind::Min, DataType::Float64, &batches);
        let min = min.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(min.value(0), f64::NEG_INFINITY);
        assert_eq!(min.value(1), 1.0);
        assert!(min.value(2) == 0.0 && min.value(2).is_sign_negative());
    }
}
