//! The optimizer: named rules, one per file, each a rewrite of the logical plan. They run in
//! order, repeated until the plan stops changing (at most a few passes), and any rule can be
//! switched off by name (`--disable-rule predicate_pushdown`, or the session config) so tests
//! can compare plans with and without it.

mod aggregate_key_reduction;
mod constant_folding;
mod join_reorder;
mod limit_pushdown;
mod merge_projections;
mod or_factoring;
mod predicate_pushdown;
mod projection_pushdown;
mod semi_join_pushdown;

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
        Box::new(semi_join_pushdown::SemiJoinPushdown),
        Box::new(aggregate_key_reduction::AggregateKeyReduction),
        Box::new(limit_pushdown::LimitPushdown),
        Box::new(projection_pushdown::ProjectionPushdown),
        Box::new(merge_projections::MergeProjections),
    ]
}

/// Names of every rule (for validating `--disable-rule`).
pub fn rule_names() -> Vec<&'static str> {
    all_rules().iter().map(|r| r.name()).collect()
}

/// The result of optimizing: the plan and the rules that changed it, in order.
pub struct Optimized {
    /// The optimized plan.
    pub plan: LogicalPlan,
    /// Names of the rules that fired.
    pub fired: Vec<&'static str>,
}

/// Runs the enabled rules to a fixpoint (at most three passes).
pub fn optimize(plan: LogicalPlan, disabled: &BTreeSet<String>, opts: TypeOptions) -> Result<Optimized> {
    let rules = all_rules();
    let mut plan = plan;
    let mut fired = Vec::new();
    for _ in 0..3 {
        let mut changed_any = false;
        for rule in rules.iter().filter(|r| !disabled.contains(r.name())) {
            let (next, changed) = rule.rewrite(plan, opts)?;
            plan = next;
            if changed {
                changed_any = true;
                if !fired.contains(&rule.name()) {
                    fired.push(rule.name());
                }
            }
        }
        if !changed_any {
            break;
        }
    }
    Ok(Optimized { plan, fired })
}
