//! `ExchangeExec`: marks where data is repartitioned. It never runs: the stage splitter cuts
//! the plan here, making the input a stage whose sink partitions its output, and putting a
//! `ShuffleReadExec` in its place.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// How an exchange distributes rows.
#[derive(Debug, Clone)]
pub enum Partitioning {
    /// Row goes to bucket `hash(keys) % n`.
    Hash(Vec<PhysExprRef>, usize),
    /// Every reader sees every row (a small join side).
    Broadcast,
    /// Everything to one partition (kept as one run per writer, for merging).
    Gather,
    /// Each of the `n` writer tasks' output to its own bucket, read by the reader of the
    /// same partition: the partitions stay exactly as they were written. Materializes a
    /// subplan several parents read (see [`crate::physical::materialize_shared`]).
    Forward(usize),
}

impl Partitioning {
    /// Partitions on the reading side (`None` = any: broadcast).
    pub fn partitions(&self) -> Option<usize> {
        match self {
            Partitioning::Hash(_, n) => Some(*n),
            Partitioning::Broadcast => None,
            Partitioning::Gather => Some(1),
            Partitioning::Forward(n) => Some(*n),
        }
    }
}

impl fmt::Display for Partitioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Partitioning::Hash(keys, n) => {
                let k: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                write!(f, "hash([{}], {n})", k.join(", "))
            }
            Partitioning::Broadcast => f.write_str("broadcast"),
            Partitioning::Gather => f.write_str("gather"),
            Partitioning::Forward(n) => write!(f, "forward({n})"),
        }
    }
}

/// A repartitioning point.
#[derive(Debug)]
pub struct ExchangeExec {
    /// The input (the future map stage).
    pub input: PlanRef,
    /// How rows are distributed.
    pub partitioning: Partitioning,
}

impl ExchangeExec {
    /// An exchange over `input`.
    pub fn new(input: PlanRef, partitioning: Partitioning) -> Self {
        Self { input, partitioning }
    }
}

impl ExecutionPlan for ExchangeExec {
    fn name(&self) -> &'static str {
        "Exchange"
    }
    fn details(&self) -> String {
        self.partitioning.to_string()
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(ExchangeExec::new(
            children.remove(0),
            self.partitioning.clone(),
        )))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.partitioning.partitions()
    }
    fn execute(&self, _partition: usize, _ctx: &TaskContext) -> Result<BatchStream> {
        Err(Error::internal("an Exchange must be cut into stages before execution"))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
