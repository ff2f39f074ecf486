//! Rule `join_reorder`: chooses the order of a tree of inner joins from cardinality
//! estimates instead of the order the query was written in.
//!
//! The tree is flattened into a [`Cluster`] of leaves and conditions and rebuilt by its
//! cheapest order (see [`super::join_cluster`] for the estimates and the search). A
//! projection on top restores the written column order.

use std::sync::Arc;

use super::join_cluster::{flatten, Cluster};
use super::OptimizerRule;
use crate::error::Result;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct JoinReorder;

/// Clusters with more leaves than this keep their written order (a bitmask holds the leaves).
const MAX_LEAVES: usize = 32;

impl OptimizerRule for JoinReorder {
    fn name(&self) -> &'static str {
        "join_reorder"
    }

    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let mut changed = false;
        let out = reorder(Arc::new(plan), opts, &mut changed)?;
        Ok((Arc::unwrap_or_clone(out), changed))
    }
}

fn is_inner_join(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Join(j) if j.join_type == JoinType::Inner)
}

fn reorder(plan: Arc<LogicalPlan>, opts: TypeOptions, changed: &mut bool) -> Result<Arc<LogicalPlan>> {
    if is_inner_join(&plan) {
        let mut leaves = Vec::new();
        let mut conditions = Vec::new();
        flatten(&plan, &mut leaves, &mut conditions);
        let leaves = leaves
            .into_iter()
            .map(|l| reorder(l, opts, changed))
            .collect::<Result<Vec<_>>>()?;
        let rebuilt_written = rebuild_written(&plan, &mut leaves.iter().cloned());
        if leaves.len() < 3 || leaves.len() > MAX_LEAVES {
            return Ok(rebuilt_written);
        }
        return match Cluster::new(leaves, conditions) {
            Some(cluster) => {
                let ordered = cluster.order(opts)?.plan;
                if ordered.to_string() == rebuilt_written.to_string() {
                    return Ok(rebuilt_written);
                }
                *changed = true;
                restore_columns(ordered, &rebuilt_written, opts)
            }
            None => Ok(rebuilt_written),
        };
    }
    let inputs = plan.inputs();
    if inputs.is_empty() {
        return Ok(plan);
    }
    let new_inputs = inputs
        .into_iter()
        .map(|i| reorder(Arc::clone(i), opts, changed))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(plan.with_new_inputs(new_inputs)))
}

/// The written join tree over (possibly rewritten) leaves, taken in order from `leaves`.
fn rebuild_written(plan: &Arc<LogicalPlan>, leaves: &mut dyn Iterator<Item = Arc<LogicalPlan>>) -> Arc<LogicalPlan> {
    match plan.as_ref() {
        LogicalPlan::Join(j) if j.join_type == JoinType::Inner => {
            let left = rebuild_written(&j.left, leaves);
            let right = rebuild_written(&j.right, leaves);
            Arc::new(plan.with_new_inputs(vec![left, right]))
        }
        _ => leaves.next().unwrap_or_else(|| Arc::clone(plan)),
    }
}

/// Puts the columns of `ordered` back into the order of the written tree.
fn restore_columns(ordered: Arc<LogicalPlan>, written: &LogicalPlan, opts: TypeOptions) -> Result<Arc<LogicalPlan>> {
    let want = written.schema();
    let have = ordered.schema();
    let same = (0..want.len()).all(|i| want.column_ref(i) == have.column_ref(i));
    if same {
        return Ok(ordered);
    }
    let exprs = (0..want.len()).map(|i| Expr::Column(want.column_ref(i))).collect();
    Ok(Arc::new(builder::project(ordered, exprs, opts)?))
}
