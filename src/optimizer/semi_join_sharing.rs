//! Rule `semi_join_sharing`: a semi join feeding an aggregate that repeated rows do not
//! change becomes the inner join it filters like, when that inner join is also planned
//! elsewhere in the statement, so `shared_subtree_widening` can make the two one.
//!
//! TPC-H q02's subquery (`min(ps_supplycost)` per part over partsupp, supplier, nation and
//! region) is narrowed by `aggregate_key_reduction` to the parts of the outer query: a semi
//! join of partsupp with the filtered part. The outer query joins the same partsupp with
//! the same part. `A ⋉ B` and the `A` columns of `A ⋈ B` hold the same rows, the second
//! repeating a row once per match in `B`. Repeats change no minimum, so under such an
//! aggregate the semi join may be the inner join; the subquery's joins are then the outer
//! query's joins with other columns, and partsupp is read and joined once for both.
//!
//! The aggregate's calls must all ignore repeats: `min`, `max`, `bool_and`, `bool_or`, or
//! any `DISTINCT` call (an aggregate without calls is a plain grouping, which also
//! qualifies). Between the semi join and the aggregate only nodes that turn a repeated row
//! into repeated rows and add no other are allowed: filters and projections without
//! volatile expressions, aliases, either input of an inner join, the left input of a left,
//! semi or anti join. A semi join is rewritten only when its inner-join form (either way round) has the
//! shape of an inner join elsewhere in the plan: without such a partner, the semi join (which
//! never repeats a row) is the cheaper of the two.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use super::shared_subtree_widening::{shape, unique_names};
use super::OptimizerRule;
use crate::error::Result;
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::{Aggregate, LogicalPlan};
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct SemiJoinSharing;

impl OptimizerRule for SemiJoinSharing {
    fn name(&self) -> &'static str {
        "semi_join_sharing"
    }

    fn rewrite(&self, plan: LogicalPlan, _opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let mut inner_join_shapes = HashSet::new();
        plan.apply(|node| {
            if matches!(node, LogicalPlan::Join(j) if j.join_type == JoinType::Inner) {
                inner_join_shapes.extend(shape(node));
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if inner_join_shapes.is_empty() {
            return Ok((plan, false));
        }
        let out = plan.transform_down(|node| {
            let LogicalPlan::Aggregate(a) = &node else {
                return Ok(Transformed::no(node));
            };
            if !a.aggr_exprs.iter().all(ignores_repeats) {
                return Ok(Transformed::no(node));
            }
            match semi_joins_as_inner(&a.input, &inner_join_shapes) {
                Some(input) => Ok(Transformed::yes(LogicalPlan::Aggregate(Aggregate {
                    input,
                    ..a.clone()
                }))),
                None => Ok(Transformed::no(node)),
            }
        })?;
        Ok((out.data, out.transformed))
    }
}

/// Whether an aggregate call gives the same result when some of its input rows repeat.
fn ignores_repeats(call: &Expr) -> bool {
    match call.clone().unalias() {
        Expr::Aggregate { func, distinct, .. } => {
            matches!(func, AggFunc::Min | AggFunc::Max | AggFunc::BoolAnd | AggFunc::BoolOr)
                || (distinct && func != AggFunc::SingleValue)
        }
        _ => false,
    }
}

/// `plan` with the semi joins that have an inner-join partner in `inner_join_shapes`
/// rewritten as that inner join (under a projection to the semi join's columns), looking
/// only through nodes that keep repeated rows repeated; `None` when nothing changed.
fn semi_joins_as_inner(plan: &Arc<LogicalPlan>, inner_join_shapes: &HashSet<String>) -> Option<Arc<LogicalPlan>> {
    let rewrite = |input: &Arc<LogicalPlan>| semi_joins_as_inner(input, inner_join_shapes);
    match plan.as_ref() {
        LogicalPlan::Filter(f) if f.predicate.is_repeatable() => {
            let input = rewrite(&f.input)?;
            Some(Arc::new(plan.with_new_inputs(vec![input])))
        }
        LogicalPlan::Projection(p) if p.exprs.iter().all(Expr::is_repeatable) => {
            let input = rewrite(&p.input)?;
            Some(Arc::new(plan.with_new_inputs(vec![input])))
        }
        LogicalPlan::SubqueryAlias(s) => {
            let input = rewrite(&s.input)?;
            Some(Arc::new(plan.with_new_inputs(vec![input])))
        }
        LogicalPlan::Join(j) if j.join_type == JoinType::Inner => {
            let (left, right) = (rewrite(&j.left), rewrite(&j.right));
            if left.is_none() && right.is_none() {
                return None;
            }
            let left = left.unwrap_or_else(|| Arc::clone(&j.left));
            let right = right.unwrap_or_else(|| Arc::clone(&j.right));
            Some(Arc::new(plan.with_new_inputs(vec![left, right])))
        }
        LogicalPlan::Join(j) if j.join_type == JoinType::LeftSemi && !j.on.is_empty() => {
            let left = rewrite(&j.left);
            let left_changed = left.is_some();
            let left = left.unwrap_or_else(|| Arc::clone(&j.left));
            // The partner may join the two inputs either way round.
            let swapped_on = j.on.iter().map(|(l, r)| (r.clone(), l.clone())).collect();
            let candidates = [
                (Arc::clone(&left), Arc::clone(&j.right), j.on.clone()),
                (Arc::clone(&j.right), Arc::clone(&left), swapped_on),
            ];
            for (build_left, build_right, on) in candidates {
                let inner = builder::join(build_left, build_right, on, j.filter.clone(), JoinType::Inner);
                let partnered = shape(&inner).is_some_and(|s| inner_join_shapes.contains(&s));
                if partnered && unique_names(&inner.schema()) {
                    return Some(Arc::new(builder::project_to(Arc::new(inner), left.schema())));
                }
            }
            left_changed.then(|| Arc::new(plan.with_new_inputs(vec![left, Arc::clone(&j.right)])))
        }
        LogicalPlan::Join(j) if matches!(j.join_type, JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti) => {
            let left = rewrite(&j.left)?;
            Some(Arc::new(plan.with_new_inputs(vec![left, Arc::clone(&j.right)])))
        }
        _ => None,
    }
}
