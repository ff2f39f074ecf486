//! The physical plan: a tree of operators (one per file in `ops/`), each implementing
//! [`ExecutionPlan`]. `Exchange` nodes mark where data is repartitioned; the stage splitter
//! (`crate::stage::split`) cuts the tree there into stages of the task graph.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::exec::task::TaskContext;

/// A stream of batches produced by an operator for one partition. Pull-based: the consumer
/// calls `next` and the operator does just enough work to produce one batch.
pub type BatchStream = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// A physical operator.
pub trait ExecutionPlan: Debug + Send + Sync {
    /// Operator name as shown in EXPLAIN (`HashAggregate`, `HashJoin`, ...).
    fn name(&self) -> &'static str;

    /// One-line description of the operator's parameters for EXPLAIN (without the name).
    fn details(&self) -> String {
        String::new()
    }

    /// The schema of every batch this operator produces.
    fn schema(&self) -> SchemaRef;

    /// Inputs, in order.
    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>>;

    /// The same operator over new inputs (used when cutting the plan into stages).
    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>>;

    /// How many partitions this operator produces. `None` means "as many as asked": the
    /// operator can run in any partition of the stage (a broadcast read, a constant source).
    fn output_partitions(&self) -> Option<usize>;

    /// Produces the batches of `partition`.
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream>;

    /// Produces the batches of `partition` as separate runs, each in its own order: a shuffle
    /// read gives one run per map task (a sorted run after a per-partition sort). The
    /// sort-preserving merge reads its input this way. Default: one run.
    fn execute_runs(&self, partition: usize, ctx: &TaskContext) -> Result<Vec<BatchStream>> {
        Ok(vec![self.execute(partition, ctx)?])
    }

    /// Work shared by every partition of the stage, done once before its tasks start and
    /// free to use the whole worker pool (a broadcast hash join builds its table here).
    /// Default: prepares the inputs.
    fn prepare(&self, ctx: &TaskContext) -> Result<()> {
        self.children()
            .into_iter()
            .try_for_each(|child| prepare_measured(child, ctx))
    }

    /// For downcasting (stage splitting, tests).
    fn as_any(&self) -> &dyn Any;
}

/// Prepares `plan` (see [`ExecutionPlan::prepare`]) with its reservations counted as its
/// memory.
pub fn prepare_measured(plan: &PlanRef, ctx: &TaskContext) -> Result<()> {
    plan.prepare(&ctx.for_operator(crate::exec::op_metrics::node_key(plan)))
}

/// Shared reference to an operator.
pub type PlanRef = Arc<dyn ExecutionPlan>;

/// Runs `plan` for `partition` with its output measured for EXPLAIN ANALYZE (rows, batches,
/// time) and its reservations counted as its memory. Operators run their inputs through this.
pub fn execute_measured(plan: &PlanRef, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
    let key = crate::exec::op_metrics::node_key(plan);
    let stream = plan.execute(partition, &ctx.for_operator(key))?;
    Ok(crate::exec::op_metrics::measure(
        stream,
        key,
        Arc::clone(&ctx.query.operators),
    ))
}

/// [`ExecutionPlan::execute_runs`] with every run measured as [`execute_measured`] does.
pub fn execute_runs_measured(plan: &PlanRef, partition: usize, ctx: &TaskContext) -> Result<Vec<BatchStream>> {
    let key = crate::exec::op_metrics::node_key(plan);
    let runs = plan.execute_runs(partition, &ctx.for_operator(key))?;
    Ok(runs
        .into_iter()
        .map(|run| crate::exec::op_metrics::measure(run, key, Arc::clone(&ctx.query.operators)))
        .collect())
}

/// The partition count of a stage rooted at `plan`: the first definite count among the
/// operator and its descendants (1 when all are "any").
pub fn stage_partitions(plan: &PlanRef) -> usize {
    fn find(plan: &PlanRef) -> Option<usize> {
        plan.output_partitions()
            .or_else(|| plan.children().into_iter().find_map(find))
    }
    find(plan).unwrap_or(1)
}

/// Writes `plan` as an indented tree, one operator per line.
pub fn display_tree(plan: &PlanRef, indent: usize, out: &mut String) {
    let details = plan.details();
    out.push_str(&"  ".repeat(indent));
    out.push_str(plan.name());
    if !details.is_empty() {
        out.push_str(": ");
        out.push_str(&details);
    }
    out.push('\n');
    for child in plan.children() {
        display_tree(child, indent + 1, out);
    }
}

/// `schema` with each field's type set to its column's, for batches whose columns may be
/// dictionary-encoded where the plan says plain strings (see
/// `ScanExec::with_dictionary_output`); `schema` itself when the types agree.
pub fn with_column_types(schema: &SchemaRef, columns: &[arrow::array::ArrayRef]) -> SchemaRef {
    let agrees = schema
        .fields()
        .iter()
        .zip(columns)
        .all(|(f, c)| f.data_type() == c.data_type());
    if agrees {
        return Arc::clone(schema);
    }
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .zip(columns)
        .map(|(f, c)| {
            if f.data_type() == c.data_type() {
                Arc::clone(f)
            } else {
                Arc::new(f.as_ref().clone().with_data_type(c.data_type().clone()))
            }
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}
