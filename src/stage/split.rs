//! Cutting a physical plan into stages at its `Exchange` nodes.

use std::sync::Arc;

use crate::error::Result;
use crate::physical::ops::exchange::ExchangeExec;
use crate::physical::ops::shuffle_read::ShuffleReadExec;
use crate::physical::plan::{stage_partitions, PlanRef};
use crate::stage::graph::{Stage, StageGraph, StageSink};

/// Cuts `plan` into stages; the last stage produces the result.
pub fn split_into_stages(plan: PlanRef) -> Result<StageGraph> {
    let mut stages = Vec::new();
    let (root, inputs) = cut(plan, &mut stages)?;
    let id = stages.len();
    let partitions = stage_partitions(&root);
    stages.push(Stage {
        id,
        root,
        partitions,
        sink: StageSink::Result,
        inputs,
    });
    Ok(StageGraph { stages })
}

/// Replaces every exchange under `plan` by a read of a new stage; returns the rewritten
/// plan and the ids of the stages it reads.
fn cut(plan: PlanRef, stages: &mut Vec<Stage>) -> Result<(PlanRef, Vec<usize>)> {
    if let Some(exchange) = plan.as_any().downcast_ref::<ExchangeExec>() {
        let (root, inputs) = cut(Arc::clone(&exchange.input), stages)?;
        let id = stages.len();
        let partitions = stage_partitions(&root);
        let schema = root.schema();
        stages.push(Stage {
            id,
            root,
            partitions,
            sink: StageSink::Exchange(exchange.partitioning.clone()),
            inputs,
        });
        let read: PlanRef = Arc::new(ShuffleReadExec::new(id, exchange.partitioning.clone(), schema));
        return Ok((read, vec![id]));
    }
    let children: Vec<PlanRef> = plan.children().into_iter().cloned().collect();
    if children.is_empty() {
        return Ok((plan, vec![]));
    }
    let mut new_children = Vec::with_capacity(children.len());
    let mut inputs = Vec::new();
    for child in children {
        let (c, ids) = cut(child, stages)?;
        new_children.push(c);
        inputs.extend(ids);
    }
    Ok((plan.with_new_children(new_children)?, inputs))
}
