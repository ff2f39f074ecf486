//! Cutting a physical plan into stages at its `Exchange` nodes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::physical::ops::exchange::ExchangeExec;
use crate::physical::ops::shuffle_read::ShuffleReadExec;
use crate::physical::plan::{stage_partitions, PlanRef};
use crate::stage::graph::{Stage, StageGraph, StageSink};

/// Cuts `plan` into stages; the last stage produces the result. An exchange reached twice,
/// or two exchanges partitioning one input alike (a subplan the planner shared, see
/// [`crate::physical::shared_subplans`]), become one stage with a reader in each place.
pub fn split_into_stages(plan: PlanRef) -> Result<StageGraph> {
    let mut stages = Vec::new();
    let mut cut_exchanges = HashMap::new();
    let (root, inputs) = cut(plan, &mut stages, &mut cut_exchanges)?;
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

/// An exchange's identity for sharing: the address of its input and its partitioning.
type ExchangeKey = (usize, String);

/// Replaces every exchange under `plan` by a read of a new stage (or of the stage an equal
/// exchange became before, found in `cut_exchanges`); returns the rewritten plan and the
/// ids of the stages it reads, each once.
fn cut(
    plan: PlanRef,
    stages: &mut Vec<Stage>,
    cut_exchanges: &mut HashMap<ExchangeKey, usize>,
) -> Result<(PlanRef, Vec<usize>)> {
    if let Some(exchange) = plan.as_any().downcast_ref::<ExchangeExec>() {
        let address = (
            crate::exec::op_metrics::node_key(&exchange.input),
            exchange.partitioning.to_string(),
        );
        let id = match cut_exchanges.get(&address) {
            Some(&id) => id,
            None => {
                let (root, inputs) = cut(Arc::clone(&exchange.input), stages, cut_exchanges)?;
                let id = stages.len();
                cut_exchanges.insert(address, id);
                stages.push(Stage {
                    id,
                    partitions: stage_partitions(&root),
                    root,
                    sink: StageSink::Exchange(exchange.partitioning.clone()),
                    inputs,
                });
                id
            }
        };
        let schema = stages[id].root.schema();
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
        let (c, ids) = cut(child, stages, cut_exchanges)?;
        new_children.push(c);
        for id in ids {
            if !inputs.contains(&id) {
                inputs.push(id);
            }
        }
    }
    Ok((plan.with_new_children(new_children)?, inputs))
}
