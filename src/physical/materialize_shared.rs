//! Subplans with several parents computed once. The planner hands out one plan for equal
//! subtrees ([`crate::physical::shared_subplans`]), but only an exchange is cut into a
//! stage of its own; any other node with several parents would run once per parent (in
//! each stage that reaches it). This pass puts a forward exchange above such a node: it
//! runs once, in a stage of its own, and every parent reads its partitions exactly as they
//! were written, so whatever the parents relied on (hash partitioning, order within a
//! partition) still holds.
//!
//! A node whose parents are all exchanges of one kind needs nothing: the stage splitter
//! cuts those into one stage ([`crate::stage::split_into_stages`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::exec::op_metrics::node_key;
use crate::physical::ops::exchange::{ExchangeExec, Partitioning};
use crate::physical::plan::PlanRef;

/// How a parent reads a node: through an exchange (its partitioning, as text) or directly.
type ParentEdge = Option<String>;

/// `plan` with a forward exchange above every non-exchange node that has several parents.
pub fn materialize_shared(plan: PlanRef) -> Result<PlanRef> {
    let mut parents = HashMap::new();
    record_parents(&plan, &mut parents);
    rebuild(plan, &parents, &mut HashMap::new())
}

/// Records, for every node under `plan`, how each of its parents reads it.
fn record_parents(plan: &PlanRef, parents: &mut HashMap<usize, Vec<ParentEdge>>) {
    let edge: ParentEdge = plan
        .as_any()
        .downcast_ref::<ExchangeExec>()
        .map(|e| e.partitioning.to_string());
    for child in plan.children() {
        let first_visit = !parents.contains_key(&node_key(child));
        parents.entry(node_key(child)).or_default().push(edge.clone());
        if first_visit {
            record_parents(child, parents);
        }
    }
}

/// Whether a node read through `edges` runs more than once unless it is materialized.
fn needs_materializing(plan: &PlanRef, edges: &[ParentEdge]) -> bool {
    if edges.len() < 2 || plan.as_any().downcast_ref::<ExchangeExec>().is_some() {
        return false;
    }
    let one_kind_of_exchange = edges[0].is_some() && edges.iter().all(|e| e == &edges[0]);
    !one_kind_of_exchange
}

fn rebuild(
    plan: PlanRef,
    parents: &HashMap<usize, Vec<ParentEdge>>,
    done: &mut HashMap<usize, PlanRef>,
) -> Result<PlanRef> {
    let key = node_key(&plan);
    if let Some(rebuilt) = done.get(&key) {
        return Ok(Arc::clone(rebuilt));
    }
    let children: Vec<PlanRef> = plan.children().into_iter().cloned().collect();
    let mut changed = false;
    let mut new_children = Vec::with_capacity(children.len());
    for child in children {
        let new = rebuild(Arc::clone(&child), parents, done)?;
        changed |= !Arc::ptr_eq(&new, &child);
        new_children.push(new);
    }
    let mut rebuilt = if changed {
        Arc::clone(&plan).with_new_children(new_children)?
    } else {
        Arc::clone(&plan)
    };
    if parents.get(&key).is_some_and(|edges| needs_materializing(&plan, edges)) {
        let partitions = partitions_in_stage(&rebuilt);
        rebuilt = Arc::new(ExchangeExec::new(rebuilt, Partitioning::Forward(partitions)));
    }
    done.insert(key, Arc::clone(&rebuilt));
    Ok(rebuilt)
}

/// The number of tasks of the stage `plan` runs in: the partitions of its first leaf that
/// fixes them, not looking past exchanges (they become reads of other stages).
fn partitions_in_stage(plan: &PlanRef) -> usize {
    fn find(plan: &PlanRef) -> Option<usize> {
        plan.output_partitions().or_else(|| {
            if plan.as_any().downcast_ref::<ExchangeExec>().is_some() {
                return None;
            }
            plan.children().into_iter().find_map(find)
        })
    }
    find(plan).unwrap_or(1)
}
