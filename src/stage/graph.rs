//! [`StageGraph`]: stages, their sinks and their dependencies, printable for EXPLAIN and as
//! Graphviz DOT.

use std::fmt;

use crate::physical::ops::exchange::Partitioning;
use crate::physical::ops::shuffle_read::ShuffleReadExec;
use crate::physical::plan::{display_tree, PlanRef};

/// Where a stage's output goes.
#[derive(Debug, Clone)]
pub enum StageSink {
    /// Repartitioned (hash, broadcast or gather) for a later stage.
    Exchange(Partitioning),
    /// The query's result.
    Result,
}

/// One stage: a pipeline of operators run once per partition.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Stage id (its index in the graph).
    pub id: usize,
    /// The operators, reading earlier stages through `ShuffleRead` leaves.
    pub root: PlanRef,
    /// Number of tasks.
    pub partitions: usize,
    /// Where the output goes.
    pub sink: StageSink,
    /// Stages this one reads.
    pub inputs: Vec<usize>,
}

impl Stage {
    /// The kind shown in EXPLAIN: `map` (reads files, writes an exchange), `reduce` (reads an
    /// exchange, writes one), `merge`/`result` (produces the result).
    pub fn kind(&self) -> &'static str {
        match (&self.sink, self.inputs.is_empty()) {
            (StageSink::Exchange(_), true) => "map",
            (StageSink::Exchange(_), false) => "reduce",
            (StageSink::Result, _) if self.partitions == 1 && !self.inputs.is_empty() => "merge",
            (StageSink::Result, _) => "result",
        }
    }
}

/// Stages in dependency order: every stage's inputs come before it; the last is the result.
#[derive(Debug, Clone)]
pub struct StageGraph {
    /// The stages.
    pub stages: Vec<Stage>,
}

impl StageGraph {
    /// The ids of the stages that read stage `id`.
    pub fn consumers(&self, id: usize) -> Vec<usize> {
        self.stages
            .iter()
            .filter(|s| s.inputs.contains(&id))
            .map(|s| s.id)
            .collect()
    }

    /// How many `ShuffleRead` operators in the graph read stage `id` (a stage read once,
    /// not by broadcast, hands each bucket over to its one reader).
    pub fn shuffle_reads(&self, id: usize) -> usize {
        fn count(plan: &PlanRef, id: usize) -> usize {
            let own = plan
                .as_any()
                .downcast_ref::<ShuffleReadExec>()
                .is_some_and(|r| r.stage == id) as usize;
            own + plan.children().into_iter().map(|c| count(c, id)).sum::<usize>()
        }
        self.stages.iter().map(|s| count(&s.root, id)).sum()
    }

    /// Total number of tasks.
    pub fn task_count(&self) -> usize {
        self.stages.iter().map(|s| s.partitions).sum()
    }

    /// Graphviz DOT: stages as clusters, tasks as nodes, exchanges as edges (see
    /// [`crate::stage::dot`]).
    pub fn to_dot(&self) -> String {
        crate::stage::dot::to_dot(&crate::exec::profile::QueryProfile::shape(self))
    }
}

impl fmt::Display for StageGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stages {
            let sink = match &s.sink {
                StageSink::Exchange(p) => format!("exchange {p}"),
                StageSink::Result => "result".to_string(),
            };
            let inputs = if s.inputs.is_empty() {
                String::new()
            } else {
                format!(
                    " <- stages [{}]",
                    s.inputs.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
                )
            };
            writeln!(
                f,
                "Stage {} ({}, {} tasks) -> {sink}{inputs}",
                s.id,
                s.kind(),
                s.partitions
            )?;
            let mut tree = String::new();
            display_tree(&s.root, 1, &mut tree);
            f.write_str(&tree)?;
        }
        Ok(())
    }
}
