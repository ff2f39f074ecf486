//! Holistic aggregates that need every value of a group: `list`, `string_agg`, `median`,
//! `quantile_cont`, `quantile_disc`, `mode`, and the order-sensitive pickers `first`,
//! `last`, `any_value`, `arg_min`, `arg_max`. Updates append the (filtered) argument arrays
//! and the group of each kept row; evaluation concatenates them, sorts the row ids once by
//! (group, the function's key, input position) with Arrow's lexsort, and computes every group
//! from its contiguous run. `ORDER BY` inside the call adds its keys after the group.
//!
//! These run in single mode only (the planner shuffles raw rows by the group keys first).
//! Their partial state, used when the hash aggregate spills, is the kept rows: one list per
//! stored column and group, in input order (see [`super::list_state`]), then the separator
//! or quantile when the function has one ([`state_fields`]).

use std::sync::Arc;

use arrow::array::{
    make_comparator, new_null_array, Array, ArrayRef, BooleanArray, Float64Array, ListArray, StringArray,
    StringBuilder, UInt32Array, UInt64Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::kernels::sort::{lexsort_to_indices, SortColumn, SortOptions};
use arrow::compute::{cast, concat, filter, take};
use arrow::datatypes::{DataType, Field, Float64Type};

use super::list_state::{expand_lists, group_into_lists, list_type};
use super::{as_primitive, check_inputs, valid_mask, GroupsAccumulator};
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;

/// Keeps the argument rows of every group until evaluation.
pub struct CollectAccumulator {
    func: AggFunc,
    /// Number of stored value columns (2 for arg_min/arg_max, else 1).
    num_values: usize,
    /// Number of constant parameters after the values (string_agg's separator, the quantile).
    num_params: usize,
    /// The types of the stored columns: the values, then the order keys.
    stored_types: Vec<DataType>,
    /// Options of the trailing `ORDER BY` keys.
    order: Vec<SortOptions>,
    return_type: DataType,
    /// Stored columns per batch: the values, then the order keys.
    batches: Vec<Vec<ArrayRef>>,
    groups: Vec<u32>,
    bytes: usize,
    total_num_groups: usize,
    /// `string_agg`'s separator.
    separator: Option<String>,
    /// The quantile fraction (0.5 for median).
    quantile: f64,
}

impl std::fmt::Debug for CollectAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectAccumulator")
            .field("func", &self.func)
            .field("rows", &self.groups.len())
            .finish()
    }
}

/// (number of value columns, number of constant parameters) of `func` with `num_args`
/// arguments, the last `num_order` of them ORDER BY keys.
fn layout(func: AggFunc, num_args: usize, num_order: usize) -> (usize, usize) {
    use AggFunc::*;
    let num_values = if matches!(func, ArgMin | ArgMax | ArgMinNull | ArgMaxNull) {
        2
    } else {
        1
    };
    let num_params = match func {
        StringAgg | QuantileCont | QuantileDisc => num_args.saturating_sub(num_order + num_values).min(1),
        _ => 0,
    };
    (num_values, num_params)
}

/// The types of the stored columns: the values, then the order keys (parameters skipped).
fn stored_types(input_types: &[DataType], num_values: usize, num_params: usize) -> Vec<DataType> {
    let values = input_types.iter().take(num_values);
    values
        .chain(input_types.iter().skip(num_values + num_params))
        .cloned()
        .collect()
}

/// The partial-state fields of `func` over `input_types` (the last `num_order` are ORDER BY
/// keys), named after the call `name`: a list per stored column, then the parameter.
pub fn state_fields(func: AggFunc, input_types: &[DataType], num_order: usize, name: &str) -> Vec<Field> {
    let (num_values, num_params) = layout(func, input_types.len(), num_order);
    let mut fields: Vec<Field> = stored_types(input_types, num_values, num_params)
        .iter()
        .enumerate()
        .map(|(i, t)| Field::new(format!("{name}[rows{i}]"), list_type(t), true))
        .collect();
    if num_params == 1 {
        let t = if func == AggFunc::StringAgg {
            DataType::Utf8
        } else {
            DataType::Float64
        };
        fields.push(Field::new(format!("{name}[param]"), t, true));
    }
    fields
}

impl CollectAccumulator {
    /// An accumulator for `func`, whose last `order.len()` arguments are ORDER BY keys.
    pub fn try_new(
        func: AggFunc,
        input_types: &[DataType],
        order: Vec<SortOptions>,
        return_type: DataType,
    ) -> Result<Self> {
        use AggFunc::*;
        let (num_values, num_params) = layout(func, input_types.len(), order.len());
        let stored_types = stored_types(input_types, num_values, num_params);
        if matches!(func, Median | QuantileCont) {
            match input_types.first() {
                Some(t) if t.is_numeric() || *t == DataType::Null => {}
                Some(t) => return Err(Error::not_supported(format!("{}({t})", func.name()))),
                None => return Err(Error::internal("median needs an argument")),
            }
        }
        Ok(Self {
            func,
            num_values,
            num_params,
            stored_types,
            order,
            return_type,
            batches: Vec::new(),
            groups: Vec::new(),
            bytes: 0,
            total_num_groups: 0,
            separator: None,
            quantile: 0.5,
        })
    }

    /// The arguments whose NULL drops the row.
    fn null_skipping(&self) -> &'static [usize] {
        use AggFunc::*;
        match self.func {
            List | First | Last | SingleValue => &[],
            ArgMin | ArgMax => &[0, 1],
            ArgMinNull | ArgMaxNull => &[1],
            _ => &[0],
        }
    }

    /// The constant second argument (separator or quantile), read from the first row.
    fn read_parameter(&mut self, array: &ArrayRef) -> Result<()> {
        if array.is_empty() {
            return Ok(());
        }
        match self.func {
            AggFunc::StringAgg => {
                let s = cast(array, &DataType::Utf8)?;
                let s = s
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::internal("string_agg separator"))?;
                self.separator = Some(if s.is_null(0) {
                    String::new()
                } else {
                    s.value(0).to_string()
                });
            }
            AggFunc::QuantileCont | AggFunc::QuantileDisc => {
                let q = cast(array, &DataType::Float64)?;
                let q = as_primitive::<Float64Type>(&q, "quantile")?;
                if q.is_null(0) || !(0.0..=1.0).contains(&q.value(0)) {
                    return Err(Error::execution(
                        "QUANTILE can only take parameters in the range [0, 1]",
                    ));
                }
                self.quantile = q.value(0);
            }
            _ => {}
        }
        Ok(())
    }

    /// The sorted row ids (by group, key, input position) and each group's row range.
    fn sorted(&self, columns: &[ArrayRef], groups: &UInt32Array) -> Result<(UInt32Array, Vec<usize>)> {
        use AggFunc::*;
        let n = groups.len();
        let asc = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let mut keys = vec![SortColumn {
            values: Arc::new(groups.clone()),
            options: Some(asc),
        }];
        let key = |values: &ArrayRef, descending: bool| SortColumn {
            values: Arc::clone(values),
            options: Some(SortOptions {
                descending,
                nulls_first: false,
            }),
        };
        match self.func {
            QuantileDisc | Mode => keys.push(key(&columns[0], false)),
            ArgMin | ArgMinNull => keys.push(key(&columns[1], false)),
            ArgMax | ArgMaxNull => keys.push(key(&columns[1], true)),
            _ => {}
        }
        for (column, options) in columns[self.num_values..].iter().zip(&self.order) {
            keys.push(SortColumn {
                values: Arc::clone(column),
                options: Some(*options),
            });
        }
        keys.push(SortColumn {
            values: Arc::new(UInt32Array::from_iter_values(0..n as u32)),
            options: Some(asc),
        });
        let indices = lexsort_to_indices(&keys, None)?;
        let mut offsets = vec![0usize; self.total_num_groups + 1];
        for &g in groups.values().iter() {
            offsets[g as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        Ok((indices, offsets))
    }

    /// One row per group picked by `pick(start, end)` from the sorted `values`.
    fn pick(
        &self,
        values: &ArrayRef,
        offsets: &[usize],
        pick: impl Fn(usize, usize) -> Option<usize>,
    ) -> Result<ArrayRef> {
        let idx: UInt64Array = offsets.windows(2).map(|w| pick(w[0], w[1]).map(|i| i as u64)).collect();
        Ok(take(values.as_ref(), &idx, None)?)
    }

    fn mode(&self, values: &ArrayRef, offsets: &[usize], first_pos: &UInt32Array) -> Result<ArrayRef> {
        let cmp = make_comparator(values.as_ref(), values.as_ref(), SortOptions::default())?;
        self.pick(values, offsets, |s, e| {
            // (count, first input position, index) of the best run.
            let mut best: Option<(usize, u32, usize)> = None;
            let mut run = s;
            while run < e {
                let mut end = run + 1;
                while end < e && cmp(run, end).is_eq() {
                    end += 1;
                }
                let count = end - run;
                let pos = first_pos.value(run);
                if best.is_none_or(|(c, p, _)| count > c || (count == c && pos < p)) {
                    best = Some((count, pos, run));
                }
                run = end;
            }
            best.map(|(_, _, i)| i)
        })
    }

    fn string_agg(&self, values: &ArrayRef, offsets: &[usize]) -> Result<ArrayRef> {
        let s = cast(values, &DataType::Utf8)?;
        let s = s
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::internal("string_agg expects strings"))?;
        let sep = self.separator.as_deref().unwrap_or(",");
        let mut out = StringBuilder::new();
        let mut buf = String::new();
        for w in offsets.windows(2) {
            if w[1] == w[0] {
                out.append_null();
                continue;
            }
            buf.clear();
            for i in w[0]..w[1] {
                if i > w[0] {
                    buf.push_str(sep);
                }
                buf.push_str(s.value(i));
            }
            out.append_value(&buf);
        }
        Ok(Arc::new(out.finish()))
    }
}

impl GroupsAccumulator for CollectAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(first) = values.first() else {
            return Err(Error::internal(format!("{} got no arguments", self.func.name())));
        };
        check_inputs(first.len(), group_indices, opt_filter, total_num_groups)?;
        self.total_num_groups = self.total_num_groups.max(total_num_groups);
        let num_params = self.num_params;
        if num_params == 1 {
            self.read_parameter(&values[self.num_values])?;
        }
        let stored: Vec<ArrayRef> = values[..self.num_values]
            .iter()
            .chain(&values[self.num_values + num_params..])
            .cloned()
            .collect();
        let nulls = self
            .null_skipping()
            .iter()
            .map(|&i| &values[i])
            .fold(None::<NullBuffer>, |acc, v| {
                NullBuffer::union(acc.as_ref(), v.logical_nulls().as_ref())
            });
        let (stored, groups): (Vec<ArrayRef>, Vec<u32>) = match valid_mask(nulls.as_ref(), opt_filter) {
            None => (stored, group_indices.iter().map(|&g| g as u32).collect()),
            Some(mask) => {
                let groups = mask.set_indices().map(|row| group_indices[row] as u32).collect();
                let predicate = BooleanArray::new(mask, None);
                let stored = stored
                    .iter()
                    .map(|a| filter(a.as_ref(), &predicate))
                    .collect::<std::result::Result<_, _>>()?;
                (stored, groups)
            }
        };
        if groups.is_empty() {
            return Ok(());
        }
        self.bytes += stored_bytes(&stored);
        self.groups.extend_from_slice(&groups);
        self.batches.push(stored);
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let num_lists = self.num_values + self.order.len();
        if states.len() < num_lists {
            return Err(Error::internal(format!(
                "{} state has too few columns",
                self.func.name()
            )));
        }
        if let Some(parameter) = states.get(num_lists) {
            if let Some(row) = (0..parameter.len()).find(|&r| parameter.is_valid(r)) {
                self.read_parameter(&parameter.slice(row, 1))?;
            }
        }
        check_inputs(group_indices.len(), group_indices, None, total_num_groups)?;
        self.total_num_groups = self.total_num_groups.max(total_num_groups);
        let (stored, groups) = expand_lists(&states[..num_lists], group_indices)?;
        if groups.is_empty() {
            return Ok(());
        }
        self.bytes += stored_bytes(&stored);
        self.groups.extend(groups.iter().map(|&g| g as u32));
        self.batches.push(stored);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        use AggFunc::*;
        let batches = std::mem::take(&mut self.batches);
        let groups = UInt32Array::from(std::mem::take(&mut self.groups));
        self.bytes = 0;
        let total = self.total_num_groups;
        if batches.is_empty() {
            return Ok(new_null_array(&self.return_type, total));
        }
        let columns = (0..batches[0].len())
            .map(|c| {
                let parts: Vec<&dyn Array> = batches.iter().map(|b| b[c].as_ref()).collect();
                concat(&parts)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if matches!(self.func, Median | QuantileCont) {
            // An ORDER BY inside the call cannot change a quantile: only the values count.
            let out = super::quantile::quantile_cont_by_group(&columns[0], &groups, total, self.quantile)?;
            self.total_num_groups = 0;
            return Ok(cast(&out, &self.return_type)?);
        }
        let (indices, offsets) = self.sorted(&columns, &groups)?;
        let values = take(columns[0].as_ref(), &indices, None)?;
        let out = match self.func {
            List => {
                let nulls = NullBuffer::from(offsets.windows(2).map(|w| w[1] > w[0]).collect::<Vec<_>>());
                let field = match &self.return_type {
                    DataType::List(f) => Arc::clone(f),
                    _ => Arc::new(Field::new("item", values.data_type().clone(), true)),
                };
                let offsets = OffsetBuffer::new(offsets.iter().map(|&o| o as i32).collect::<Vec<_>>().into());
                Arc::new(ListArray::try_new(field, offsets, values, Some(nulls))?)
            }
            StringAgg => self.string_agg(&values, &offsets)?,
            First | AnyValue | ArgMin | ArgMax | ArgMinNull | ArgMaxNull => {
                self.pick(&values, &offsets, |s, e| (e > s).then_some(s))?
            }
            Last => self.pick(&values, &offsets, |s, e| (e > s).then(|| e - 1))?,
            SingleValue => {
                if offsets.windows(2).any(|w| w[1] - w[0] > 1) {
                    return Err(Error::InvalidInput(
                        "More than one row returned by a subquery used as an expression - \
                         scalar subqueries can only return a single row."
                            .into(),
                    ));
                }
                self.pick(&values, &offsets, |s, e| (e > s).then_some(s))?
            }
            QuantileDisc => {
                let q = self.quantile;
                self.pick(&values, &offsets, |s, e| {
                    (e > s).then(|| s + ((q * (e - s) as f64).ceil() as usize).saturating_sub(1))
                })?
            }
            Mode => self.mode(&values, &offsets, &indices)?,
            other => {
                return Err(Error::internal(format!(
                    "{} is not a collecting aggregate",
                    other.name()
                )))
            }
        };
        self.total_num_groups = 0;
        if out.data_type() != &self.return_type {
            return Ok(cast(&out, &self.return_type)?);
        }
        Ok(out)
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        let batches = std::mem::take(&mut self.batches);
        let groups: Vec<usize> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(|g| g as usize)
            .collect();
        self.bytes = 0;
        let total = std::mem::take(&mut self.total_num_groups);
        let columns = (0..self.num_values + self.order.len())
            .map(|c| {
                let parts = batches
                    .iter()
                    .map(|b| b.get(c).map(|a| a.as_ref()))
                    .collect::<Option<Vec<&dyn Array>>>()
                    .ok_or_else(|| Error::internal("collect state: missing column"))?;
                if parts.is_empty() {
                    let data_type = self.stored_types.get(c).cloned().unwrap_or(DataType::Null);
                    return Ok(new_null_array(&data_type, 0));
                }
                Ok(concat(&parts)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut state = group_into_lists(&columns, &groups, total)?;
        if self.num_params == 1 {
            state.push(match self.func {
                AggFunc::StringAgg => Arc::new(StringArray::from(vec![self.separator.as_deref(); total])),
                _ => Arc::new(Float64Array::from(vec![self.quantile; total])),
            });
        }
        Ok(state)
    }

    fn size(&self) -> usize {
        self.bytes + self.groups.capacity() * std::mem::size_of::<u32>()
    }
}

/// The bytes of the kept rows. Kept arrays are often slices (of a filtered batch, of the
/// list values of a spilled state batch handed out in slices); each is counted by its
/// slice, not by the whole buffers it shares with the others, which counted a spilled
/// partition's values once per slice.
fn stored_bytes(stored: &[ArrayRef]) -> usize {
    stored
        .iter()
        .map(|a| {
            a.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| a.get_array_memory_size())
        })
        .sum()
}
