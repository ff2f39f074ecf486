//! The optimizer: named rules, one per file, each a rewrite of the logical plan. They run in
//! order, repeated until the plan stops changing (at most a few passes), and any rule can be
//! switched off by name (`--disable-rule predicate_pushdown`, or the session config) so tests
//! can compare plans with and without it.

mod aggregate_key_reduction;
mod constant_folding;
mod eager_aggregation;
mod join_cluster;
mod join_reorder;
mod limit_pushdown;
mod merge_projections;
mod or_factoring;
mod predicate_pushdown;
mod projection_pushdown;
mod semi_join_pushdown;
mod semi_join_sharing;
mod shared_subtree_widening;

use std::collections::BTreeSet;

use crate::error::Result;
use crate::logical::plan::LogicalPlan;
use crate::logical::typecheck::TypeOptions;

/// One rewrite rule.
pub trait OptimizerRule {
    /// The rule's name (used to disable it and in EXPLAIN).
    fn name(&self) -> &'static str;
    /// Rewrites `plan`; returns the new plan and whether anything changed.
    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)>;
}

/// Every rule, in the order they run.
pub fn all_rules() -> Vec<Box<dyn OptimizerRule>> {
    vec![
        Box::new(constant_folding::ConstantFolding),
        Box::new(predicate_pushdown::PredicatePushdown),
        Box::new(join_reorder::JoinReorder),
        Box::new(eager_aggregation::EagerAggregation),
        Box::new(semi_join_pushdown::SemiJoinPushdown),
        Box::new(aggregate_key_reduction::AggregateKeyReduction),
        Box::new(limit_pushdown::LimitPushdown),
        Box::new(projection_pushdown::ProjectionPushdown { narrow_joins: false }),
        Box::new(merge_projections::MergeProjections),
    ]
}

/// Rules that run once, after the fixpoint: their output would hide structure the
/// fixpoint's rules look for (a projection between two joins stops join reordering).
pub fn final_rules() -> Vec<Box<dyn OptimizerRule>> {
    vec![
        Box::new(projection_pushdown::ProjectionPushdown { narrow_joins: true }),
        Box::new(semi_join_sharing::SemiJoinSharing),
        Box::new(shared_subtree_widening::SharedSubtreeWidening),
    ]
}

/// Names of every rule (for validating `--disable-rule`).
pub fn rule_names() -> Vec<&'static str> {
    all_rules()
        .iter()
        .chain(final_rules().iter())
        .map(|r| r.name())
        .collect()
}

/// The result of optimizing: the plan and the rules that changed it, in order.
pub struct Optimized {
    /// The optimized plan.
    pub plan: LogicalPlan,
    /// Names of the rules that fired.
    pub fired: Vec<&'static str>,
}

/// Runs the enabled rules to a fixpoint (at most three passes), then the final rules once.
pub fn optimize(plan: LogicalPlan, disabled: &BTreeSet<String>, opts: TypeOptions) -> Result<Optimized> {
    let rules = all_rules();
    let mut plan = plan;
    let mut fired = Vec::new();
    for _ in 0..3 {
        let mut changed_any = false;
        for rule in rules.iter().filter(|r| !disabled.contains(r.name())) {
            let (next, changed) = apply(rule.as_ref(), plan, opts, &mut fired)?;
            plan = next;
            changed_any |= changed;
        }
        if !changed_any {
            break;
        }
    }
    for rule in final_rules().iter().filter(|r| !disabled.contains(r.name())) {
        plan = apply(rule.as_ref(), plan, opts, &mut fired)?.0;
    }
    Ok(Optimized { plan, fired })
}

/// Runs one rule, noting its name in `fired` the first time it changes the plan.
fn apply(
    rule: &dyn OptimizerRule,
    plan: LogicalPlan,
    opts: TypeOptions,
    fired: &mut Vec<&'static str>,
) -> Result<(LogicalPlan, bool)> {
    let (next, changed) = rule.rewrite(plan, opts)?;
    if changed && !fired.contains(&rule.name()) {
        fired.push(rule.name());
    }
    Ok((next, changed))
}
