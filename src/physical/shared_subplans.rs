//! Repeated subplans planned once. A CTE referenced twice (TPC-H q15's `revenue`) is bound
//! once and appears twice in the logical plan; planned naively, both copies scan and
//! aggregate the same data. The physical planner keys every aggregate and join by a
//! fingerprint of its logical subtree and hands out the same physical plan for an equal
//! one; stage splitting then cuts each exchange of that plan into one stage, which every
//! reader reads (see [`crate::stage::split`]).
//!
//! Two subtrees share only when they are equal node for node (their `Debug` text), read
//! the very same sources (a scan's source is compared by identity, see
//! [`crate::logical::plan::TableSource`]) and evaluate nothing volatile (`random()`) and no
//! subquery expression.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::logical::plan::LogicalPlan;
use crate::physical::plan::PlanRef;

/// The physical plans of the subtrees planned so far, by fingerprint.
#[derive(Default)]
pub(crate) struct SharedSubplans {
    plans: RefCell<HashMap<String, PlanRef>>,
}

impl SharedSubplans {
    /// Forgets every plan (a new statement's sources may reuse freed addresses).
    pub(crate) fn clear(&self) {
        self.plans.borrow_mut().clear();
    }

    /// The plan of an equal subtree planned before, or `build`'s plan of `plan`.
    pub(crate) fn get_or_plan(&self, plan: &LogicalPlan, build: impl FnOnce() -> Result<PlanRef>) -> Result<PlanRef> {
        let Some(key) = fingerprint(plan) else {
            return build();
        };
        if let Some(planned) = self.plans.borrow().get(&key) {
            return Ok(Arc::clone(planned));
        }
        let planned = build()?;
        self.plans.borrow_mut().insert(key, Arc::clone(&planned));
        Ok(planned)
    }
}

/// A text equal for two subtrees exactly when one can stand for the other; `None` when
/// the subtree must be planned on its own.
fn fingerprint(plan: &LogicalPlan) -> Option<String> {
    shareable(plan).then(|| format!("{plan:?}"))
}

fn shareable(plan: &LogicalPlan) -> bool {
    !matches!(plan, LogicalPlan::RecursiveQuery(_) | LogicalPlan::WorkTable(_))
        && plan.expressions().into_iter().all(|e| e.is_repeatable())
        && plan.inputs().into_iter().all(|input| shareable(input))
}
