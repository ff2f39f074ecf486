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

use super::{accumulate, as_primitive, check_inputs, for_each_valid_row, nulls_from, single, GroupsAccumulator};
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
        let values = std::mem::take(&mut self.values);
        let nulls = nulls_from(std::mem::take(&mut self.seen));
        Ok(Arc::new(
            PrimitiveArray::<T>::try_new(values.into(), nulls)?.with_data_type(self.data_type.clone()),
        ))
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
        self.values.resize(total_num_groups, T::Native::default());
        self.seen.resize(total_num_groups, false);
        let (extremes, seen) = (&mut self.values, &mut self.seen);
        let is_min = self.kind == Kind::Min;
        accumulate(group_indices, array, opt_filter, |g, v| {
            let cur = extremes[g];
            if !seen[g] || (is_min && v.is_lt(cur)) || (!is_min && v.is_gt(cur)) {
                extremes[g] = v;
                seen[g] = true;
            }
        });
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
    /// Bytes held by the strings in `values`.
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
                self.string_bytes = self.string_bytes + candidate.len() - slot.len();
                slot.clear();
                slot.push_str(candidate);
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
