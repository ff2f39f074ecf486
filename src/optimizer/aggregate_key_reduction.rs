//! Rule `aggregate_key_reduction`: an aggregate whose groups are joined to another input on
//! their keys only needs the groups that input can match, so its rows are first semi-joined
//! with the part of that input the keys come from.
//!
//! A correlated subquery such as TPC-H q17's `l_quantity < (SELECT 0.2 * avg(l_quantity) FROM
//! lineitem WHERE l_partkey = p_partkey)` is decorrelated into an aggregate grouped by
//! `l_partkey` over all of lineitem, joined to the 204 parts of the outer query: 6M rows were
//! aggregated into 200,000 groups of which 204 were used. DuckDB restricts the subquery to the
//! outer keys with a "delim join"; here the aggregate's input is semi-joined with the smallest
//! subtree of the outer side that provides the join keys (found through projections, inner
//! joins and the preserved side of left joins, whose key values are a superset of the outer
//! side's), so only the 6,088 lineitem rows of those parts are aggregated.
//!
//! The pattern is `L ⋈ (Projection | Filter)* (Aggregate)` for an inner join (the aggregate on
//! either side) or a left join (the aggregate on the right), every join key on the aggregate's
//! side being one of its plain group columns, and the outer key plain columns of one subtree
//! `S` of `L`. It applies when `S` is estimated at most half the aggregate's input and at most
//! half its own unfiltered rows (an unfiltered `S` would match every key a foreign key
//! references: TPC-H q13's orders counted per customer, all 1.5M of them), and not
//! again once the input has a semi join with `S` (at its top, or pushed down below its
//! projections, filters and inner joins).

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::builder;
use crate::logical::cardinality::{estimate_rows, unfiltered_rows};
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::{Aggregate, Filter, Join, LogicalPlan, Projection};
use crate::logical::schema::ColumnRef;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct AggregateKeyReduction;

impl OptimizerRule for AggregateKeyReduction {
    fn name(&self) -> &'static str {
        "aggregate_key_reduction"
    }

    fn rewrite(&self, plan: LogicalPlan, _opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let out = plan.transform_up(|node| {
            let LogicalPlan::Join(j) = &node else {
                return Ok(Transformed::no(node));
            };
            match reduce(j) {
                Some(reduced) => Ok(Transformed::yes(reduced)),
                None => Ok(Transformed::no(node)),
            }
        })?;
        Ok((out.data, out.transformed))
    }
}

/// The join with its aggregate side reduced, when the pattern applies.
fn reduce(j: &Join) -> Option<LogicalPlan> {
    if j.on.is_empty() {
        return None;
    }
    let plain = |e: &Expr| match e {
        Expr::Column(c) => Some(c.clone()),
        _ => None,
    };
    let left_keys: Option<Vec<ColumnRef>> = j.on.iter().map(|(l, _)| plain(l)).collect();
    let right_keys: Option<Vec<ColumnRef>> = j.on.iter().map(|(_, r)| plain(r)).collect();
    let (left_keys, right_keys) = (left_keys?, right_keys?);
    let rebuilt = |left: Arc<LogicalPlan>, right: Arc<LogicalPlan>| {
        builder::join(left, right, j.on.clone(), j.filter.clone(), j.join_type)
    };
    if matches!(j.join_type, JoinType::Inner | JoinType::Left) {
        if let Some(right) = reduced_side(&j.right, &right_keys, &j.left, &left_keys) {
            return Some(rebuilt(Arc::clone(&j.left), right));
        }
    }
    if j.join_type == JoinType::Inner {
        if let Some(left) = reduced_side(&j.left, &left_keys, &j.right, &right_keys) {
            return Some(rebuilt(left, Arc::clone(&j.right)));
        }
    }
    None
}

/// `side` (a chain of projections and filters over an aggregate, joined on `keys`) with the
/// aggregate's input semi-joined with the subtree of `other` that provides `other_keys`.
fn reduced_side(
    side: &Arc<LogicalPlan>,
    keys: &[ColumnRef],
    other: &Arc<LogicalPlan>,
    other_keys: &[ColumnRef],
) -> Option<Arc<LogicalPlan>> {
    match side.as_ref() {
        LogicalPlan::Projection(p) => {
            let mapped = through_projection(p, keys)?;
            let input = reduced_side(&p.input, &mapped, other, other_keys)?;
            Some(Arc::new(LogicalPlan::Projection(Projection { input, ..p.clone() })))
        }
        LogicalPlan::Filter(f) => {
            let input = reduced_side(&f.input, keys, other, other_keys)?;
            Some(Arc::new(LogicalPlan::Filter(Filter {
                input,
                predicate: f.predicate.clone(),
            })))
        }
        LogicalPlan::Aggregate(a) => reduced_aggregate(a, keys, other, other_keys),
        _ => None,
    }
}

fn reduced_aggregate(
    a: &Aggregate,
    keys: &[ColumnRef],
    other: &Arc<LogicalPlan>,
    other_keys: &[ColumnRef],
) -> Option<Arc<LogicalPlan>> {
    // Every key is a plain group column of the aggregate: the matching input column.
    let input_keys = keys
        .iter()
        .map(|k| {
            let i = a.schema.find(k).ok().flatten()?;
            match a.group_exprs.get(i)?.clone().unalias() {
                Expr::Column(c) => Some(c),
                _ => None,
            }
        })
        .collect::<Option<Vec<_>>>()?;
    let (source, source_keys) = key_source(other, other_keys.to_vec());
    // Keys the aggregate's rows reference (a foreign key) all find a match in an unfiltered
    // source: the semi join only pays when the source is filtered.
    let source_rows = estimate_rows(&source);
    if source_rows * 2.0 > estimate_rows(&a.input)
        || source_rows * 2.0 > unfiltered_rows(&source)
        || semi_joined_on(&a.input, &source_keys)
    {
        return None;
    }
    let input_schema = a.input.schema();
    let source_schema = source.schema();
    let same_types = input_keys.iter().zip(&source_keys).all(|(k, s)| {
        match (
            input_schema.find(k).ok().flatten(),
            source_schema.find(s).ok().flatten(),
        ) {
            (Some(i), Some(j)) => input_schema.field(i).data_type() == source_schema.field(j).data_type(),
            _ => false,
        }
    });
    if !same_types {
        return None;
    }
    let on = input_keys
        .into_iter()
        .map(Expr::Column)
        .zip(source_keys.into_iter().map(Expr::Column))
        .collect();
    let input = builder::join(Arc::clone(&a.input), source, on, None, JoinType::LeftSemi);
    Some(Arc::new(LogicalPlan::Aggregate(Aggregate {
        input: Arc::new(input),
        ..a.clone()
    })))
}

/// Whether `plan` already has a semi join with the subtree providing `source_keys`: at its
/// top, or below projections, filters and inner joins, where `semi_join_pushdown` moves the
/// one this rule adds (and projection pushdown narrows its right side, so the keys are
/// compared, not the subtree).
fn semi_joined_on(plan: &LogicalPlan, source_keys: &[ColumnRef]) -> bool {
    match plan {
        LogicalPlan::Join(j) if j.join_type == JoinType::LeftSemi => {
            let same_keys = j.on.len() == source_keys.len()
                && j.on
                    .iter()
                    .zip(source_keys)
                    .all(|((_, r), k)| matches!(r, Expr::Column(c) if c == k));
            same_keys || semi_joined_on(&j.left, source_keys)
        }
        LogicalPlan::Join(j) if j.join_type == JoinType::Inner => {
            semi_joined_on(&j.left, source_keys) || semi_joined_on(&j.right, source_keys)
        }
        LogicalPlan::Projection(p) => semi_joined_on(&p.input, source_keys),
        LogicalPlan::Filter(f) => semi_joined_on(&f.input, source_keys),
        _ => false,
    }
}

/// The smallest subtree of `plan` whose `keys` values include all of `plan`'s, and the keys
/// as that subtree names them: through projections of plain columns, either input of an
/// inner join, and the preserved input of a left join.
fn key_source(plan: &Arc<LogicalPlan>, keys: Vec<ColumnRef>) -> (Arc<LogicalPlan>, Vec<ColumnRef>) {
    match plan.as_ref() {
        LogicalPlan::Projection(p) => match through_projection(p, &keys) {
            Some(mapped) => key_source(&p.input, mapped),
            None => (Arc::clone(plan), keys),
        },
        LogicalPlan::Join(j) if matches!(j.join_type, JoinType::Inner | JoinType::Left) => {
            let left_width = j.left.schema().len();
            let positions: Option<Vec<usize>> = keys.iter().map(|k| j.schema.find(k).ok().flatten()).collect();
            match positions {
                Some(p) if p.iter().all(|&i| i < left_width) => key_source(&j.left, keys),
                Some(p) if j.join_type == JoinType::Inner && p.iter().all(|&i| i >= left_width) => {
                    key_source(&j.right, keys)
                }
                _ => (Arc::clone(plan), keys),
            }
        }
        _ => (Arc::clone(plan), keys),
    }
}

/// The input columns a projection's `keys` are plain copies of (`None` when one is computed).
fn through_projection(p: &Projection, keys: &[ColumnRef]) -> Option<Vec<ColumnRef>> {
    keys.iter()
        .map(|k| {
            let i = p.schema.find(k).ok().flatten()?;
            match p.exprs.get(i)?.clone().unalias() {
                Expr::Column(c) => Some(c),
                _ => None,
            }
        })
        .collect()
}
