//! Rule `semi_join_pushdown`: a semi or anti join whose condition only reads columns of one
//! input of the join (or projection) below it moves down to that input, so it filters the
//! rows before they are joined instead of after.
//!
//! `IN`/`EXISTS` subqueries become semi joins at the top of the query's join tree. In TPC-H
//! q18, `o_orderkey IN (SELECT l_orderkey … HAVING sum(l_quantity) > 300)` kept 57 of the
//! 1.5M orders only after orders had been joined with customer and all 6M lineitem rows;
//! pushed down, the 57 orders are joined instead.
//!
//! `(A ⋈ B) ⋉ S` is `(A ⋉ S) ⋈ B` when the semi join's left keys and residual filter read
//! only `A`'s columns: an inner join, or a left join where `A` is the preserved side (the
//! semi join only removes `A` rows, which take their joined rows with them). The same holds
//! for anti joins. The move is made when the subquery side is estimated at most half the
//! size of `A`: then the semi join is selective there; a semi join against a side as big as
//! `A` is left where it runs on the already joined (often smaller) rows. A semi join without
//! equi-join keys (TPC-H q16's NULL-aware `NOT IN`) is a nested loop and is never moved.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::builder;
use crate::logical::cardinality::estimate_rows;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::{Join, LogicalPlan};
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct SemiJoinPushdown;

impl OptimizerRule for SemiJoinPushdown {
    fn name(&self) -> &'static str {
        "semi_join_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan, _opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let out = plan.transform_up(|node| match &node {
            LogicalPlan::Join(j) if matches!(j.join_type, JoinType::LeftSemi | JoinType::LeftAnti) => {
                match push_down(j) {
                    Some(pushed) => Ok(Transformed::yes(Arc::unwrap_or_clone(pushed))),
                    None => Ok(Transformed::no(node)),
                }
            }
            _ => Ok(Transformed::no(node)),
        })?;
        Ok((out.data, out.transformed))
    }
}

/// The columns of the semi join's left side that its condition reads.
fn left_columns(semi: &Join) -> Vec<ColumnRef> {
    let left = semi.left.schema();
    let mut out: Vec<ColumnRef> = Vec::new();
    let exprs = semi.on.iter().map(|(l, _)| l).chain(semi.filter.as_ref());
    for e in exprs {
        for c in e.columns() {
            if matches!(left.find(&c), Ok(Some(_))) && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// True when every column resolves, unambiguously, among the first `width` fields of `schema`.
fn all_within(columns: &[ColumnRef], schema: &PlanSchema, width: usize) -> bool {
    columns
        .iter()
        .all(|c| matches!(schema.find(c), Ok(Some(i)) if i < width))
}

/// `semi` moved below its left input, when that is allowed and worth it.
fn push_down(semi: &Join) -> Option<Arc<LogicalPlan>> {
    if semi.on.is_empty() {
        // Without equi-join keys (e.g. a NULL-aware NOT IN) it is a nested loop whose cost
        // grows with its input: it stays above the joins that shrink that input.
        return None;
    }
    let needed = left_columns(semi);
    let rebuild = |input: Arc<LogicalPlan>| -> Arc<LogicalPlan> {
        let moved = builder::join(
            input,
            Arc::clone(&semi.right),
            semi.on.clone(),
            semi.filter.clone(),
            semi.join_type,
        );
        let LogicalPlan::Join(moved) = &moved else {
            return Arc::new(moved);
        };
        push_down(moved).unwrap_or_else(|| Arc::new(LogicalPlan::Join(moved.clone())))
    };
    match semi.left.as_ref() {
        LogicalPlan::Projection(p) if p.exprs.iter().all(|e| matches!(e, Expr::Column(_))) => {
            let input_schema = p.input.schema();
            if !all_within(&needed, &input_schema, input_schema.len()) {
                return None;
            }
            let below = rebuild(Arc::clone(&p.input));
            if matches!(below.as_ref(), LogicalPlan::Join(j) if j.join_type == semi.join_type && Arc::ptr_eq(&j.left, &p.input))
            {
                // Nothing moved further down: keep the semi join above the projection.
                return None;
            }
            Some(Arc::new(LogicalPlan::Projection(crate::logical::plan::Projection {
                input: below,
                exprs: p.exprs.clone(),
                schema: Arc::clone(&p.schema),
            })))
        }
        LogicalPlan::Join(inner) if matches!(inner.join_type, JoinType::Inner | JoinType::Left) => {
            let schema = inner.schema.as_ref();
            let left_width = inner.left.schema().len();
            let target_left = all_within(&needed, schema, left_width);
            let target_right = inner.join_type == JoinType::Inner
                && !needed.is_empty()
                && needed
                    .iter()
                    .all(|c| matches!(schema.find(c), Ok(Some(i)) if i >= left_width));
            let target = if target_left {
                &inner.left
            } else if target_right {
                &inner.right
            } else {
                return None;
            };
            if estimate_rows(&semi.right) * 2.0 > estimate_rows(target) {
                return None;
            }
            let moved = rebuild(Arc::clone(target));
            let (left, right) = if target_left {
                (moved, Arc::clone(&inner.right))
            } else {
                (Arc::clone(&inner.left), moved)
            };
            Some(Arc::new(builder::join(
                left,
                right,
                inner.on.clone(),
                inner.filter.clone(),
                inner.join_type,
            )))
        }
        _ => None,
    }
}
