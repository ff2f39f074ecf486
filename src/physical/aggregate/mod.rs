//! Aggregate functions at run time: vectorized, grouped accumulators.
//!
//! A [`GroupsAccumulator`] keeps one state per group in typed vectors and is updated with a
//! whole batch at once plus the group index of every row (computed by the hash aggregate's
//! table). In partial/final aggregation the partial side emits its [`GroupsAccumulator::state`]
//! as Arrow arrays, the final side merges them with [`GroupsAccumulator::merge_batch`].

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::physical::expr::PhysExprRef;

/// Per-group state of one aggregate, updated a batch at a time.
pub trait GroupsAccumulator: Send {
    /// Adds the rows of `values` (the evaluated arguments) into the groups named by
    /// `group_indices` (one per row). `opt_filter`, when given, keeps only rows where it is true.
    /// `total_num_groups` is the number of groups so far (states are grown to it).
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&arrow::array::BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()>;

    /// Merges partial states (as produced by [`Self::state`]) into the groups named by
    /// `group_indices`.
    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()>;

    /// The final value of every group, in group order; resets the accumulator.
    fn evaluate(&mut self) -> Result<ArrayRef>;

    /// The partial state of every group, in group order, one array per state field; resets.
    fn state(&mut self) -> Result<Vec<ArrayRef>>;

    /// Bytes held (for the memory pool).
    fn size(&self) -> usize;
}

/// One aggregate call in a physical plan.
#[derive(Debug, Clone)]
pub struct AggregateExpr {
    /// Which function.
    pub func: AggFunc,
    /// Argument expressions, evaluated on the aggregate's input.
    pub args: Vec<PhysExprRef>,
    /// The argument types.
    pub input_types: Vec<DataType>,
    /// `DISTINCT` inside the call.
    pub distinct: bool,
    /// `FILTER (WHERE ...)`, evaluated on the aggregate's input.
    pub filter: Option<PhysExprRef>,
    /// `ORDER BY` inside the call: the last `order.len()` arguments are the sort keys.
    pub order: Vec<arrow::compute::SortOptions>,
    /// Output column name.
    pub name: String,
    /// The result type.
    pub return_type: DataType,
}

impl AggregateExpr {
    /// `func(args)` over `input`, named `name`, without DISTINCT or FILTER; the argument and
    /// result types are derived from `input`.
    pub fn try_new(func: AggFunc, args: Vec<PhysExprRef>, input: &Schema, name: impl Into<String>) -> Result<Self> {
        let input_types = args.iter().map(|a| a.data_type(input)).collect::<Result<Vec<_>>>()?;
        let return_type = func.return_type(&input_types)?;
        Ok(Self {
            func,
            args,
            input_types,
            distinct: false,
            filter: None,
            order: Vec::new(),
            name: name.into(),
            return_type,
        })
    }

    /// The same call with `DISTINCT`.
    pub fn with_distinct(mut self, distinct: bool) -> Self {
        self.distinct = distinct;
        self
    }

    /// The same call with `FILTER (WHERE filter)`.
    pub fn with_filter(mut self, filter: Option<PhysExprRef>) -> Self {
        self.filter = filter;
        self
    }

    /// A fresh accumulator for this call (wrapped for `DISTINCT` when asked).
    pub fn create_accumulator(&self) -> Result<Box<dyn GroupsAccumulator>> {
        let inner = self.create_plain_accumulator()?;
        if self.distinct {
            Ok(Box::new(distinct::DistinctGroupsAccumulator::try_new(
                &self.input_types,
                inner,
            )?))
        } else {
            Ok(inner)
        }
    }

    fn create_plain_accumulator(&self) -> Result<Box<dyn GroupsAccumulator>> {
        use AggFunc::*;
        if self.func.is_holistic() {
            return Ok(Box::new(collect::CollectAccumulator::try_new(
                self.func,
                &self.input_types,
                self.order.clone(),
                self.return_type.clone(),
            )?));
        }
        match self.func {
            StddevSamp | StddevPop | VarSamp | VarPop | Corr | CovarSamp | CovarPop | RegrSlope | RegrIntercept
            | RegrR2 | RegrCount | RegrAvgx | RegrAvgy | RegrSxx | RegrSyy | RegrSxy => {
                Ok(Box::new(moments::MomentsAccumulator::new(self.func)))
            }
            BoolAnd => Ok(Box::new(fold::FoldAccumulator::new(fold::Fold::And))),
            BoolOr => Ok(Box::new(fold::FoldAccumulator::new(fold::Fold::Or))),
            CountIf => Ok(Box::new(fold::FoldAccumulator::new(fold::Fold::CountIf))),
            Product => Ok(Box::new(fold::FoldAccumulator::new(fold::Fold::Product))),
            WeightedAvg => Ok(Box::new(weighted_avg::WeightedAvgAccumulator::default())),
            AggFunc::Count => Ok(Box::new(count::CountGroupsAccumulator::new(self.args.is_empty()))),
            AggFunc::Sum => sum::create(self.first_input_type()?),
            AggFunc::Avg => avg::create(self.first_input_type()?),
            DecimalAverage => Ok(Box::new(decimal_avg::DecimalAverageAccumulator::try_new(
                self.first_input_type()?,
            )?)),
            AggFunc::Min => min_max::create(self.first_input_type()?, min_max::Kind::Min),
            AggFunc::Max => min_max::create(self.first_input_type()?, min_max::Kind::Max),
            other => Err(Error::internal(format!("{} has no accumulator", other.name()))),
        }
    }

    fn first_input_type(&self) -> Result<&DataType> {
        self.input_types
            .first()
            .ok_or_else(|| Error::internal(format!("{} needs an argument", self.func.name())))
    }

    /// The fields of the partial state, in the order of [`GroupsAccumulator::state`]:
    /// `{name}[count]` for count, `{name}[sum]` for sum, `{name}[sum]` and `{name}[count]` for
    /// avg, `{name}[min]` / `{name}[max]` for min and max; for `DISTINCT` and the holistic
    /// aggregates (whose states only a spilling hash aggregate uses), lists of kept values.
    pub fn state_fields(&self) -> Vec<Field> {
        let input = self.input_types.first().cloned().unwrap_or(DataType::Null);
        let field =
            |suffix: &str, dt: DataType, nullable: bool| Field::new(format!("{}[{suffix}]", self.name), dt, nullable);
        if self.distinct {
            return self
                .input_types
                .iter()
                .enumerate()
                .map(|(i, t)| field(&format!("distinct{i}"), list_state::list_type(t), true))
                .collect();
        }
        match self.func {
            AggFunc::Count => vec![field("count", DataType::Int64, false)],
            AggFunc::Sum => vec![field("sum", self.return_type.clone(), true)],
            AggFunc::Avg | AggFunc::DecimalAverage => vec![
                field("sum", avg::sum_type(&input), true),
                field("count", DataType::Int64, false),
            ],
            AggFunc::Min => vec![field("min", input, true)],
            AggFunc::Max => vec![field("max", input, true)],
            AggFunc::BoolAnd | AggFunc::BoolOr | AggFunc::CountIf | AggFunc::Product => {
                vec![field("acc", self.return_type.clone(), true)]
            }
            f if f.is_holistic() => collect::state_fields(f, &self.input_types, self.order.len(), &self.name),
            AggFunc::WeightedAvg => vec![
                field("sum_xw", DataType::Float64, false),
                field("sum_w", DataType::Float64, false),
                field("count", DataType::Int64, false),
            ],
            _ => moments::STATE_NAMES
                .iter()
                .enumerate()
                .map(|(i, n)| field(n, if i == 0 { DataType::Int64 } else { DataType::Float64 }, i > 0))
                .collect(),
        }
    }

    /// The output field of the final value.
    pub fn field(&self) -> Field {
        Field::new(
            self.name.clone(),
            self.return_type.clone(),
            !matches!(self.func, AggFunc::Count | AggFunc::RegrCount),
        )
    }

    /// Evaluates the arguments on `batch`.
    pub fn evaluate_args(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.args.iter().map(|a| a.evaluate(batch)).collect()
    }

    /// Like [`Self::evaluate_args`], sharing common sub-expressions with the other
    /// aggregates of the same batch through `cache`.
    pub fn evaluate_args_shared(
        &self,
        batch: &RecordBatch,
        cache: &mut crate::physical::expr::ExprCache,
    ) -> Result<Vec<ArrayRef>> {
        self.args.iter().map(|a| a.evaluate_shared(batch, cache)).collect()
    }

    /// Evaluates the `FILTER` on `batch`, `None` when there is none.
    pub fn evaluate_filter(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>> {
        let Some(filter) = &self.filter else {
            return Ok(None);
        };
        let array = filter.evaluate(batch)?;
        array
            .as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                Error::execution(format!(
                    "FILTER of {} must be BOOLEAN, got {}",
                    self.name,
                    array.data_type()
                ))
            })
    }
}

/// Checks that `group_indices`, the values and the filter agree in length and that every
/// group index is below `total_num_groups`.
pub(crate) fn check_inputs(
    num_values: usize,
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
    total_num_groups: usize,
) -> Result<()> {
    if num_values != group_indices.len() {
        return Err(Error::internal(format!(
            "aggregate got {num_values} values but {} group indices",
            group_indices.len()
        )));
    }
    if let Some(f) = opt_filter {
        if f.len() != num_values {
            return Err(Error::internal(format!(
                "aggregate filter has {} rows, values {num_values}",
                f.len()
            )));
        }
    }
    if group_indices.iter().any(|&g| g >= total_num_groups) {
        return Err(Error::internal(format!(
            "group index out of range (total {total_num_groups})"
        )));
    }
    Ok(())
}

/// The rows that are valid in `nulls` and selected by `opt_filter` (false and NULL filter
/// values drop the row); `None` when every row counts.
pub(crate) fn valid_mask(nulls: Option<&NullBuffer>, opt_filter: Option<&BooleanArray>) -> Option<BooleanBuffer> {
    let filter = opt_filter.map(|f| match f.nulls() {
        Some(n) => f.values() & n.inner(),
        None => f.values().clone(),
    });
    match (nulls, filter) {
        (None, None) => None,
        (Some(n), None) => Some(n.inner().clone()),
        (None, Some(f)) => Some(f),
        (Some(n), Some(f)) => Some(n.inner() & &f),
    }
}

/// Calls `f(group, row)` for every row that is non-null in `nulls` and passes `opt_filter`.
pub(crate) fn for_each_valid_row(
    group_indices: &[usize],
    nulls: Option<&NullBuffer>,
    opt_filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, usize),
) {
    match valid_mask(nulls, opt_filter) {
        None => group_indices.iter().enumerate().for_each(|(row, &g)| f(g, row)),
        Some(mask) => {
            for row in mask.set_indices() {
                f(group_indices[row], row);
            }
        }
    }
}

/// Calls `f(group, value)` for every non-null value of `values` that passes `opt_filter`.
pub(crate) fn accumulate<T: ArrowPrimitiveType>(
    group_indices: &[usize],
    values: &PrimitiveArray<T>,
    opt_filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, T::Native),
) {
    accumulate_fold(group_indices, values, opt_filter, (), |(), g, v| f(g, v));
}

/// [`accumulate`] threading a value through the calls (`f` takes it and returns the next),
/// which the loop can keep in a register.
pub(crate) fn accumulate_fold<T: ArrowPrimitiveType, A>(
    group_indices: &[usize],
    values: &PrimitiveArray<T>,
    opt_filter: Option<&BooleanArray>,
    init: A,
    mut f: impl FnMut(A, usize, T::Native) -> A,
) -> A {
    let data = values.values();
    match valid_mask(values.nulls(), opt_filter) {
        None => group_indices
            .iter()
            .zip(data.iter())
            .fold(init, |acc, (&g, &v)| f(acc, g, v)),
        Some(mask) => mask
            .set_indices()
            .fold(init, |acc, row| f(acc, group_indices[row], data[row])),
    }
}

/// Grouped sums of this many groups or fewer go round [`LANES`] copies of the sums, a row
/// to each in turn ([`add_in_lanes`]).
pub(crate) const LANE_GROUPS: usize = 8;

/// Copies of the sums of a few groups (see [`add_in_lanes`]).
const LANES: usize = 4;

/// Adds every non-null value of `values` that passes `opt_filter` to its group's entry of
/// `sums` (at most [`LANE_GROUPS`] groups) and calls `on_value` with the group; returns
/// whether a sum overflowed. The rows go round [`LANES`] copies of the sums, added up at
/// the end: with one copy, each row's addition waits for the previous one to the same group
/// to be stored, and a few groups can take every row (TPC-H q01's four: 1.58 -> 1.52 s at
/// SF10, medians of 7 alternating runs). Only for exact sums ([`Summable::EXACT`]): a float
/// sum would depend on the lanes.
pub(crate) fn add_in_lanes<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
    sums: &mut [T::Native],
    mut on_value: impl FnMut(usize),
) -> bool
where
    T::Native: Summable,
{
    let mut lanes = [[T::Native::default(); LANE_GROUPS]; LANES];
    let (mut overflow, _) = accumulate_fold(
        group_indices,
        values,
        opt_filter,
        (false, 0),
        |(overflow, lane), g, v| {
            let slot = &mut lanes[lane][g];
            let (sum, o) = slot.add_overflowing(v);
            *slot = sum;
            on_value(g);
            (overflow | o, (lane + 1) % LANES)
        },
    );
    for lane in &lanes {
        for (sum, &part) in sums.iter_mut().zip(lane) {
            let (total, o) = sum.add_overflowing(part);
            *sum = total;
            overflow |= o;
        }
    }
    overflow
}

/// The single-group case of [`accumulate`] (an aggregate without GROUP BY): folds every
/// non-null value of `values` that passes `opt_filter` into `init`, so the running state stays
/// in registers instead of going through a state vector every row. Returns the folded state
/// and the number of values folded.
pub(crate) fn fold_values<T: ArrowPrimitiveType, A>(
    values: &PrimitiveArray<T>,
    opt_filter: Option<&BooleanArray>,
    init: A,
    mut f: impl FnMut(A, T::Native) -> A,
) -> (A, usize) {
    let data = values.values();
    match valid_mask(values.nulls(), opt_filter) {
        None => (data.iter().fold(init, |acc, &v| f(acc, v)), data.len()),
        Some(mask) => (
            mask.set_indices().fold(init, |acc, row| f(acc, data[row])),
            mask.count_set_bits(),
        ),
    }
}

/// [`fold_values`] summing into `init`: the sum, whether it overflowed, and how many values
/// were added.
pub(crate) fn fold_sum<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    opt_filter: Option<&BooleanArray>,
    init: T::Native,
) -> (T::Native, bool, usize)
where
    T::Native: Summable,
{
    let ((sum, overflow), n) = fold_values(values, opt_filter, (init, false), |(sum, overflow), v| {
        let (sum, o) = sum.add_overflowing(v);
        (sum, overflow | o)
    });
    (sum, overflow, n)
}

/// The single-group case of an average's update: adds the values of `values` that pass
/// `opt_filter` to `sum`, and to `count` how many there were, or the partial `counts` when
/// merging states. Returns whether the sum overflowed.
pub(crate) fn add_to_single_average<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    opt_filter: Option<&BooleanArray>,
    counts: Option<&arrow::array::Int64Array>,
    sum: &mut T::Native,
    count: &mut i64,
) -> bool
where
    T::Native: Summable,
{
    let (total, overflow, added) = fold_sum(values, opt_filter, *sum);
    *sum = total;
    *count += match counts {
        Some(counts) => fold_values(counts, None, 0, |total, c| total + c).0,
        None => added as i64,
    };
    overflow
}

/// Which groups have had a value (a group without one aggregates to NULL).
///
/// It also counts the groups that have not: once every group known before a batch has had a
/// value, the per-row bookkeeping is one comparison with that number of groups (only groups
/// new in the batch are looked up and marked), instead of a store per row.
#[derive(Debug, Default)]
pub(crate) struct SeenGroups {
    flags: Vec<bool>,
    unseen: usize,
}

impl SeenGroups {
    /// Grows to `total_num_groups` groups (the new ones unseen). Returns the first group
    /// index that rows must [`Self::mark`]: every group below it has been seen.
    pub fn grow(&mut self, total_num_groups: usize) -> usize {
        let before = self.flags.len();
        if total_num_groups > before {
            self.flags.resize(total_num_groups, false);
            self.unseen += total_num_groups - before;
        }
        if self.unseen == self.flags.len() - before {
            before
        } else {
            0
        }
    }

    /// Notes that `group` has had a value.
    #[inline]
    pub fn mark(&mut self, group: usize) {
        if !self.flags[group] {
            self.flags[group] = true;
            self.unseen -= 1;
        }
    }

    /// The flags as a validity buffer (`None` when every group has been seen); resets.
    pub fn take_nulls(&mut self) -> Option<NullBuffer> {
        self.unseen = 0;
        nulls_from(std::mem::take(&mut self.flags))
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.flags.capacity()
    }
}

/// A running-sum type: adding reports overflow as a flag instead of stopping, so the hot loop
/// has no branch and the caller checks once per batch.
pub trait Summable: Copy {
    /// Whether sums come out the same whatever order the values are added in (integers;
    /// not floats).
    const EXACT: bool = true;

    /// `self + other`, and whether it overflowed.
    fn add_overflowing(self, other: Self) -> (Self, bool);
}

impl Summable for i64 {
    fn add_overflowing(self, other: Self) -> (Self, bool) {
        self.overflowing_add(other)
    }
}

impl Summable for i128 {
    fn add_overflowing(self, other: Self) -> (Self, bool) {
        self.overflowing_add(other)
    }
}

impl Summable for f64 {
    const EXACT: bool = false;

    fn add_overflowing(self, other: Self) -> (Self, bool) {
        (self + other, false)
    }
}

/// Downcasts `array` to a primitive array of `T`, or an internal error naming `what`.
pub(crate) fn as_primitive<'a, T: ArrowPrimitiveType>(
    array: &'a ArrayRef,
    what: &str,
) -> Result<&'a PrimitiveArray<T>> {
    array
        .as_any()
        .downcast_ref::<PrimitiveArray<T>>()
        .ok_or_else(|| Error::internal(format!("{what}: unexpected input type {}", array.data_type())))
}

/// The one argument (or state) array of a single-input aggregate.
pub(crate) fn single<'a>(values: &'a [ArrayRef], what: &str) -> Result<&'a ArrayRef> {
    values
        .first()
        .ok_or_else(|| Error::internal(format!("{what} got no input array")))
}

/// A validity buffer from per-group "has a value" flags (`None` when all are set).
pub(crate) fn nulls_from(seen: Vec<bool>) -> Option<NullBuffer> {
    let nulls = NullBuffer::from(seen);
    (nulls.null_count() > 0).then_some(nulls)
}

pub mod avg;
pub mod collect;
pub mod count;
pub mod decimal_avg;
pub mod distinct;
mod distinct_primitive;
pub mod fold;
pub mod group_table;
pub mod list_state;
#[cfg(test)]
mod merge_tests;
pub mod min_max;
pub mod moments;
mod quantile;
pub mod sum;
pub mod weighted_avg;
