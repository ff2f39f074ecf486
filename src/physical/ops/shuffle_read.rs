//! `ShuffleReadExec`: reads the buffered output of an earlier stage — one hash bucket per
//! partition, the whole broadcast output in every partition, or the gathered runs.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::exec::task::TaskContext;
use crate::physical::ops::exchange::Partitioning;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Reads stage `stage`'s output.
#[derive(Debug)]
pub struct ShuffleReadExec {
    /// The stage whose output is read.
    pub stage: usize,
    /// How that stage partitioned its output.
    pub partitioning: Partitioning,
    schema: SchemaRef,
}

impl ShuffleReadExec {
    /// A reader of `stage`'s output.
    pub fn new(stage: usize, partitioning: Partitioning, schema: SchemaRef) -> Self {
        Self {
            stage,
            partitioning,
            schema,
        }
    }

    fn bucket(&self, partition: usize) -> usize {
        match self.partitioning {
            Partitioning::Hash(_, _) | Partitioning::Forward(_) => partition,
            Partitioning::Broadcast | Partitioning::Gather => 0,
        }
    }
}

impl ExecutionPlan for ShuffleReadExec {
    fn name(&self) -> &'static str {
        "ShuffleRead"
    }
    fn details(&self) -> String {
        format!("stage={}, {}", self.stage, self.partitioning)
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![]
    }
    fn with_new_children(self: Arc<Self>, _children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(self)
    }
    fn output_partitions(&self) -> Option<usize> {
        self.partitioning.partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        ctx.query.shuffles.get(self.stage)?.bucket(self.bucket(partition))
    }
    fn execute_runs(&self, partition: usize, ctx: &TaskContext) -> Result<Vec<BatchStream>> {
        ctx.query.shuffles.get(self.stage)?.runs(self.bucket(partition))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
