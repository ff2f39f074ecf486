//! Eager aggregation past a left join: when every aggregate argument comes from the
//! null-supplying (right) side, that side is aggregated first, grouped by its columns the
//! join and the written groups read, and the preserved side is left-joined with the groups.
//!
//! TPC-H q13 counts each customer's orders: `customer LEFT JOIN orders` made 15M joined rows,
//! then grouped by `c_custkey`. Eagerly, the orders are counted per `o_custkey` (1M groups)
//! and the 1.5M customers are joined with those counts. A customer without orders meets NULL
//! partials: its `count(x)` becomes 0 and `count(*)` counts it as one row, as the written plan
//! counts its one NULL-extended row; sums, minimums and maximums stay NULL.

use std::sync::Arc;

use super::{
    distinct_among, eager_share, finish, group_width, is_aggregate, key_width, partial_aggregate, partial_names_clash,
    SideEstimate, SplitAggregate, MIN_GAIN,
};
use crate::error::Result;
use crate::logical::builder;
use crate::logical::cardinality::{estimate_rows, unfiltered_rows};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::{Aggregate, Join, LogicalPlan};
use crate::logical::schema::ColumnRef;
use crate::logical::typecheck::TypeOptions;

/// `a` over the left join `j` with `j`'s right side pre-aggregated, when every aggregate
/// argument comes from that side and the estimate favours it.
pub(super) fn aggregate_null_supplying_side(
    a: &Aggregate,
    j: &Join,
    aggregates: &[SplitAggregate],
    opts: TypeOptions,
) -> Result<Option<LogicalPlan>> {
    if j.filter.as_ref().is_some_and(Expr::is_volatile) || is_aggregate(&j.right) {
        return Ok(None);
    }
    let left_width = j.left.schema().len();
    let right_schema = j.right.schema();
    // `Some(Some(c))` for a column of the right side (as it names it), `Some(None)` for one
    // of the left side, `None` when it cannot be found.
    let side_of = |c: &ColumnRef| -> Option<Option<ColumnRef>> {
        let i = j.schema.find(c).ok().flatten()?;
        Some(i.checked_sub(left_width).map(|r| right_schema.column_ref(r)))
    };
    if !aggregates.iter().all(ignores_unmatched_rows) {
        return Ok(None);
    }
    for c in aggregates.iter().flat_map(|s| s.partial.columns()) {
        if !matches!(side_of(&c), Some(Some(_))) {
            return Ok(None);
        }
    }
    let read_by_rest =
        j.on.iter()
            .flat_map(|(_, r)| r.columns())
            .chain(j.filter.iter().flat_map(Expr::columns))
            .chain(a.group_exprs.iter().flat_map(Expr::columns));
    let mut keys: Vec<ColumnRef> = Vec::new();
    for c in read_by_rest {
        let Some(side) = side_of(&c) else {
            return Ok(None);
        };
        if let Some(right) = side.filter(|r| !keys.contains(r)) {
            keys.push(right);
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    let side = estimate(j, &keys);
    let joined = estimate_rows(&LogicalPlan::Join(j.clone()));
    let reduced = (joined * side.groups / side.rows).max(estimate_rows(&j.left));
    if eager_share(&side, joined, reduced, group_width(a)) > MIN_GAIN {
        return Ok(None);
    }
    let partial = partial_aggregate(Arc::clone(&j.right), keys.clone(), aggregates, opts)?;
    if partial_names_clash(&partial, keys.len(), std::slice::from_ref(&j.left)) {
        return Ok(None);
    }
    let joined = builder::join(
        Arc::clone(&j.left),
        partial,
        j.on.clone(),
        j.filter.clone(),
        JoinType::Left,
    );
    finish(a, Arc::new(joined), aggregates, true, opts)
}

/// Whether the written aggregate treats a row of the preserved side that matched nothing
/// (the right side's columns all NULL) the way its NULL partials restore it: `count(*)`
/// without FILTER counts it (restored as one row), and every other call has an argument
/// that is NULL there (so the call ignores the row) and no FILTER. `sum(1)` or
/// `count(coalesce(o_orderkey, 0))` would count the row; they keep the written plan.
fn ignores_unmatched_rows(s: &SplitAggregate) -> bool {
    let Expr::Aggregate { args, filter, .. } = &s.partial else {
        return false;
    };
    filter.is_none() && (args.is_empty() && s.counts_rows() || args.first().is_some_and(null_when_columns_are))
}

/// Whether `e` is NULL whenever the columns it reads are NULL (and it reads one): columns,
/// and casts, negations, arithmetic, concatenations and comparisons (not `IS [NOT]
/// DISTINCT FROM`, `AND`, `OR`) of such expressions and constants.
fn null_when_columns_are(e: &Expr) -> bool {
    strictness(e) == Strictness::NullWithColumns
}

/// How an expression behaves when the columns it reads are NULL.
#[derive(PartialEq)]
enum Strictness {
    /// It reads no column.
    Constant,
    /// It is NULL when they are.
    NullWithColumns,
    /// It may not be.
    Other,
}

fn strictness(e: &Expr) -> Strictness {
    match e {
        Expr::Column(_) => Strictness::NullWithColumns,
        Expr::Literal(_) => Strictness::Constant,
        Expr::Cast { expr, .. } | Expr::Negative(expr) => strictness(expr),
        Expr::Binary { left, op, right }
            if !matches!(
                op,
                BinaryOp::And | BinaryOp::Or | BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom
            ) =>
        {
            match (strictness(left), strictness(right)) {
                (Strictness::Other, _) | (_, Strictness::Other) => Strictness::Other,
                (Strictness::Constant, Strictness::Constant) => Strictness::Constant,
                _ => Strictness::NullWithColumns,
            }
        }
        _ => Strictness::Other,
    }
}

/// The estimates of aggregating `j`'s right side on `keys`: a key equal to a plain column of
/// the left side has at most as many values as the smaller unfiltered side, any other key as
/// many as the right side's unfiltered rows.
fn estimate(j: &Join, keys: &[ColumnRef]) -> SideEstimate {
    let rows = estimate_rows(&j.right).max(1.0);
    let right_schema = j.right.schema();
    let joined_ndv = unfiltered_rows(&j.left).min(unfiltered_rows(&j.right));
    let mut groups = 1.0;
    let mut width = 0.0;
    for key in keys {
        let equi_key = j
            .on
            .iter()
            .any(|(l, r)| matches!((l, r), (Expr::Column(_), Expr::Column(c)) if right_schema.find(c).ok().flatten() == right_schema.find(key).ok().flatten()));
        let ndv = if equi_key {
            joined_ndv
        } else {
            unfiltered_rows(&j.right)
        };
        groups *= distinct_among(ndv, rows);
        if let Ok(Some(i)) = right_schema.find(key) {
            width += key_width(right_schema.field(i).data_type());
        }
    }
    SideEstimate {
        rows,
        groups: groups.clamp(1.0, rows),
        key_width: width,
    }
}
