//! Aggregate functions at run time: vectorized, grouped accumulators.
//!
//! A [`GroupsAccumulator`] keeps one state per group in typed vectors and is updated with a
//! whole batch at once plus the group index of every row (computed by the hash aggregate's
//! table). In partial/final aggregation the partial side emits its [`GroupsAccumulator::state`]
//! as Arrow arrays, the final side merges them with [`GroupsAccumulator::merge_batch`].

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

use crate::error::Result;
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
    /// Output column name.
    pub name: String,
    /// The result type.
    pub return_type: DataType,
}

pub mod avg;
pub mod count;
pub mod distinct;
pub mod min_max;
pub mod sum;
