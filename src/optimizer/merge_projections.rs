//! Rule `merge_projections`: a projection directly over another becomes one, the outer
//! expressions reading the inner ones in place of their columns. Select lists stacked by
//! subqueries in FROM, and by DSL chains (`.agg(…).select(…)`, `.assign(…).rename(…)`), cost
//! one pass over the rows instead of several, and equal queries written either way get the
//! same plan.
//!
//! It does not merge when that would compute an inner expression more than once (one that is
//! not a column or a constant, read twice), when an inner expression is volatile
//! (`random()`), or when the merged projection would not have exactly the outer one's schema.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::{LogicalPlan, Projection};
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct MergeProjections;

impl OptimizerRule for MergeProjections {
    fn name(&self) -> &'static str {
        "merge_projections"
    }

    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let out = plan.transform_up(|node| {
            let LogicalPlan::Projection(outer) = &node else {
                return Ok(Transformed::no(node));
            };
            let LogicalPlan::Projection(inner) = outer.input.as_ref() else {
                return Ok(Transformed::no(node));
            };
            match merge(outer, inner, opts)? {
                Some(merged) => Ok(Transformed::yes(merged)),
                None => Ok(Transformed::no(node)),
            }
        })?;
        Ok((out.data, out.transformed))
    }
}

/// `outer` over `inner` as one projection, when that is safe.
fn merge(outer: &Projection, inner: &Projection, opts: TypeOptions) -> Result<Option<LogicalPlan>> {
    let between = outer.input.schema();
    let mut uses = vec![0usize; inner.exprs.len()];
    for e in &outer.exprs {
        let mut resolved = true;
        e.apply(|n| {
            if let Expr::Column(c) = n {
                match between.find(c) {
                    Ok(Some(i)) => uses[i] += 1,
                    _ => resolved = false,
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if !resolved {
            return Ok(None);
        }
    }
    for (i, e) in inner.exprs.iter().enumerate() {
        let inner_expr = e.clone().unalias();
        let trivial = matches!(inner_expr, Expr::Column(_) | Expr::Literal(_));
        if (uses[i] > 1 && !trivial) || inner_expr.is_volatile() {
            return Ok(None);
        }
    }
    let mut exprs = Vec::with_capacity(outer.exprs.len());
    for e in &outer.exprs {
        exprs.push(substitute(e, inner, &between)?);
    }
    let merged = builder::project(Arc::clone(&inner.input), exprs, opts)?;
    if !merged.schema().same_columns(&outer.schema) {
        return Ok(None);
    }
    Ok(Some(merged))
}

/// `e` (over `inner`'s output) rewritten over `inner`'s input, keeping its output name.
fn substitute(e: &Expr, inner: &Projection, between: &PlanSchema) -> Result<Expr> {
    if let Expr::Column(c) = e {
        // A bare column: the inner expression itself, named as it was.
        if let Ok(Some(i)) = between.find(c) {
            return Ok(inner.exprs[i].clone());
        }
    }
    let name = e.output_name();
    let rewritten = e
        .clone()
        .transform_up(|n| match &n {
            Expr::Column(c) => match between.find(c) {
                Ok(Some(i)) => Ok(Transformed::yes(inner.exprs[i].clone().unalias())),
                _ => Ok(Transformed::no(n)),
            },
            _ => Ok(Transformed::no(n)),
        })?
        .data;
    Ok(match rewritten {
        Expr::Alias { .. } => rewritten,
        other if other.output_name() == name => other,
        other => other.alias(name),
    })
}
