//! Grouped aggregation with a hash table, in three modes: `Partial` (raw rows in, partial
//! states out, before a shuffle), `Final` (partial states in, merged and finished) and
//! `Single` (raw rows in, final values out).
//!
//! The group table ([`GroupTable`]) turns the group-key columns of a batch into one group
//! index per row; then every accumulator is updated with the whole batch and those indices.
//! The table and the accumulators reserve their memory from the pool as they grow. When the
//! pool refuses, `Partial` hands its groups' states out early (the `Final` stage merges them
//! anyway), and `Final` / `Single` spill them, partitioned by key hash, and aggregate the
//! partitions one at a time afterwards ([`stream`]). A `Final` or `Single` table that outgrows
//! the caches while its keys hardly repeat partitions its groups the same way, in memory.
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::aggregate::group_table::GroupTable;
use crate::physical::aggregate::{AggregateExpr, GroupsAccumulator};
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

mod spill;
mod stream;

use stream::AggregateStream;

/// What a hash aggregate consumes and produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateMode {
    /// Raw rows in; group columns and the aggregates' partial states out.
    Partial,
    /// The output of `Partial` in (group columns first, then states); final values out.
    Final,
    /// Raw rows in; final values out.
    Single,
}

/// Grouped aggregation with a hash table.
#[derive(Debug)]
pub struct HashAggregateExec {
    core: Arc<AggregateCore>,
    input: PlanRef,
}

/// Everything the running aggregation needs, shared with its output stream.
#[derive(Debug)]
struct AggregateCore {
    mode: AggregateMode,
    group_exprs: Vec<(PhysExprRef, String)>,
    aggr_exprs: Vec<AggregateExpr>,
    input_schema: SchemaRef,
    schema: SchemaRef,
    /// The group columns and the aggregates' partial states: `Partial`'s output, `Final`'s
    /// input, and what spill files hold.
    state_schema: SchemaRef,
    /// The first column of each aggregate's state in `state_schema`, and its width.
    state_columns: Vec<(usize, usize)>,
    /// Group states handed to partitions because a table outgrew the caches (and the
    /// input rows that followed, which went there directly), over every run of the plan
    /// (EXPLAIN ANALYZE shows it).
    partitioned_states: AtomicU64,
    /// A `Partial` aggregate's input rows and the groups they made, summed over its tasks
    /// (of every run of the plan) as each finishes judging (see [`stream`]): whether
    /// grouping pays in tasks too small to tell on their own.
    partial_rows: AtomicU64,
    partial_groups: AtomicU64,
}

impl HashAggregateExec {
    /// An aggregation of `input` grouped by `group_exprs` (expression, output name).
    /// In `Final` mode the group expressions are column references to the first columns of
    /// the input and the aggregates' states follow them in order.
    pub fn try_new(
        mode: AggregateMode,
        group_exprs: Vec<(PhysExprRef, String)>,
        aggr_exprs: Vec<AggregateExpr>,
        input: PlanRef,
    ) -> Result<Self> {
        let input_schema = input.schema();
        if mode != AggregateMode::Single {
            if let Some(a) = aggr_exprs.iter().find(|a| a.distinct) {
                return Err(Error::internal(format!(
                    "{}: DISTINCT aggregates run in single mode only, not {mode:?}",
                    a.name
                )));
            }
        }
        let mut fields = group_exprs
            .iter()
            .map(|(e, name)| Ok(Field::new(name.clone(), e.data_type(&input_schema)?, true)))
            .collect::<Result<Vec<_>>>()?;
        let mut state_fields = fields.clone();
        let mut state_columns = Vec::with_capacity(aggr_exprs.len());
        let mut next = group_exprs.len();
        for a in &aggr_exprs {
            let states = a.state_fields();
            state_columns.push((next, states.len()));
            next += states.len();
            state_fields.extend(states);
            fields.push(a.field());
        }
        let state_schema = Arc::new(Schema::new(state_fields));
        let schema = match mode {
            AggregateMode::Partial => Arc::clone(&state_schema),
            AggregateMode::Final | AggregateMode::Single => Arc::new(Schema::new(fields)),
        };
        if mode == AggregateMode::Final && next != input_schema.fields().len() {
            return Err(Error::internal(format!(
                "final aggregate expects {next} input columns (groups and states), got {}",
                input_schema.fields().len()
            )));
        }
        let core = AggregateCore {
            mode,
            group_exprs,
            aggr_exprs,
            input_schema,
            schema,
            state_schema,
            state_columns,
            partitioned_states: AtomicU64::new(0),
            partial_rows: AtomicU64::new(0),
            partial_groups: AtomicU64::new(0),
        };
        Ok(Self {
            core: Arc::new(core),
            input,
        })
    }

    /// The mode.
    pub fn mode(&self) -> AggregateMode {
        self.core.mode
    }

    /// The group expressions and their output names.
    pub fn group_exprs(&self) -> &[(PhysExprRef, String)] {
        &self.core.group_exprs
    }

    /// The aggregate calls.
    pub fn aggr_exprs(&self) -> &[AggregateExpr] {
        &self.core.aggr_exprs
    }
}

impl ExecutionPlan for HashAggregateExec {
    fn name(&self) -> &'static str {
        "HashAggregate"
    }

    fn details(&self) -> String {
        let gby: Vec<&str> = self.core.group_exprs.iter().map(|(_, n)| n.as_str()).collect();
        let aggr: Vec<&str> = self.core.aggr_exprs.iter().map(|a| a.name.as_str()).collect();
        let mut s = format!(
            "mode={:?}, gby=[{}], aggr=[{}]",
            self.core.mode,
            gby.join(", "),
            aggr.join(", ")
        );
        // After a run (EXPLAIN ANALYZE): states that went to in-memory partitions.
        let partitioned = self.core.partitioned_states.load(Ordering::Relaxed);
        if partitioned > 0 {
            s.push_str(&format!(", partitioned_states={partitioned}"));
        }
        s
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.core.schema)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<PlanRef> {
        let [input]: [PlanRef; 1] = children
            .try_into()
            .map_err(|_| Error::internal("HashAggregate takes one input"))?;
        Ok(Arc::new(HashAggregateExec::try_new(
            self.core.mode,
            self.core.group_exprs.clone(),
            self.core.aggr_exprs.clone(),
            input,
        )?))
    }

    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        Ok(Box::new(AggregateStream::try_new(Arc::clone(&self.core), input, ctx)?))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The in-memory part of an aggregation: the group table and the accumulators.
struct Groups {
    /// `None` without group keys (one group).
    table: Option<GroupTable>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    group_indices: Vec<usize>,
}

/// Where a batch comes from: the operator's input, or a partition of partial states (in
/// memory or spilled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Input,
    States,
}

impl Groups {
    fn try_new(core: &AggregateCore) -> Result<Self> {
        let key_types = core
            .state_schema
            .fields()
            .iter()
            .take(core.group_exprs.len())
            .map(|f| f.data_type().clone())
            .collect::<Vec<_>>();
        let table = if key_types.is_empty() {
            None
        } else {
            Some(GroupTable::try_new(&key_types)?)
        };
        let accumulators = core
            .aggr_exprs
            .iter()
            .map(|a| a.create_accumulator())
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            table,
            accumulators,
            group_indices: Vec::new(),
        })
    }

    /// Number of groups.
    fn len(&self) -> usize {
        self.table.as_ref().map_or(1, GroupTable::len)
    }

    /// Makes room in the table for `groups` more groups.
    fn reserve(&mut self, groups: usize) {
        if let Some(table) = &mut self.table {
            table.reserve(groups);
        }
    }

    /// Adds `batch` (from `source`) into the groups.
    fn feed(&mut self, core: &AggregateCore, batch: &RecordBatch, source: Source) -> Result<()> {
        let num_groups = match &mut self.table {
            Some(table) => {
                let keys = match source {
                    Source::Input => core
                        .group_exprs
                        .iter()
                        .map(|(e, _)| e.evaluate(batch))
                        .collect::<Result<Vec<_>>>()?,
                    Source::States => batch
                        .columns()
                        .get(..core.group_exprs.len())
                        .ok_or_else(|| Error::internal("spilled aggregate state without its keys"))?
                        .to_vec(),
                };
                table.intern(&keys, &mut self.group_indices)?;
                table.len()
            }
            None => {
                self.group_indices.clear();
                self.group_indices.resize(batch.num_rows(), 0);
                1
            }
        };
        let merge = source == Source::States || core.mode == AggregateMode::Final;
        core.update(&mut self.accumulators, batch, &self.group_indices, num_groups, merge)
    }

    /// Bytes held.
    fn size(&self) -> usize {
        let table = self.table.as_ref().map_or(0, GroupTable::size);
        let accumulators: usize = self.accumulators.iter().map(|a| a.size()).sum();
        table + accumulators + self.group_indices.capacity() * std::mem::size_of::<usize>()
    }

    /// The memory to reserve for the groups: twice their size, as the table and the state
    /// vectors double their allocations when they grow, and handing the groups out or
    /// spilling them builds their states next to them.
    fn footprint(&self) -> usize {
        2 * self.size()
    }

    /// Every group as one batch: keys and partial states (`core.state_schema`) when `states`,
    /// else keys and final values (`core.schema`).
    fn finish(mut self, core: &AggregateCore, states: bool) -> Result<RecordBatch> {
        let (mut columns, num_groups) = match &mut self.table {
            Some(table) => {
                let n = table.len();
                (table.emit()?, n)
            }
            None => {
                // Without group keys there is exactly one group, even over no rows.
                let empty = RecordBatch::new_empty(Arc::clone(&core.input_schema));
                let merge = core.mode == AggregateMode::Final;
                core.update(&mut self.accumulators, &empty, &[], 1, merge)?;
                (Vec::new(), 1)
            }
        };
        drop(self.table);
        for acc in &mut self.accumulators {
            if states {
                columns.extend(acc.state()?);
            } else {
                columns.push(acc.evaluate()?);
            }
        }
        let schema = if states { &core.state_schema } else { &core.schema };
        let options = RecordBatchOptions::new().with_row_count(Some(num_groups));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(schema),
            columns,
            &options,
        )?)
    }
}

impl AggregateCore {
    /// `batch`'s rows as partial states, each row a group of its own: what a `Partial`
    /// aggregate hands on once it has seen that its input hardly repeats a key
    /// ([`stream`]). The `Final` aggregate merges them like any other states.
    fn rows_as_states(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let mut columns = self.state_keys(batch)?;
        let mut accumulators = self
            .aggr_exprs
            .iter()
            .map(|a| a.create_accumulator())
            .collect::<Result<Vec<_>>>()?;
        let own_group: Vec<usize> = (0..rows).collect();
        self.update(&mut accumulators, batch, &own_group, rows, false)?;
        for acc in &mut accumulators {
            columns.extend(acc.state()?);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.state_schema),
            columns,
            &options,
        )?)
    }

    /// The group keys of `batch` (input rows), in the state schema's types.
    fn state_keys(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.group_exprs
            .iter()
            .zip(self.state_schema.fields())
            .map(|((e, _), field)| {
                let keys = e.evaluate(batch)?;
                if keys.data_type() == field.data_type() {
                    Ok(keys)
                } else {
                    Ok(arrow::compute::cast(&keys, field.data_type())?)
                }
            })
            .collect()
    }

    /// An input batch as states in the state schema, each row a group of its own (a
    /// `Final` aggregate's input rows are states already; a `Single` one's become states
    /// of one row each): for partitions that the rows go to without being grouped first.
    fn input_as_states(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        if self.mode != AggregateMode::Final {
            return self.rows_as_states(batch);
        }
        let mut columns = self.state_keys(batch)?;
        for (expr, &(first, width)) in self.aggr_exprs.iter().zip(&self.state_columns) {
            let states = batch
                .columns()
                .get(first..first + width)
                .ok_or_else(|| Error::internal(format!("no state columns for {}", expr.name)))?;
            columns.extend(states.iter().cloned());
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.state_schema),
            columns,
            &options,
        )?)
    }

    /// Updates every accumulator with `batch`, or, when `merge`, merges the partial states
    /// in it (laid out as `state_schema`).
    fn update(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        batch: &RecordBatch,
        group_indices: &[usize],
        num_groups: usize,
        merge: bool,
    ) -> Result<()> {
        let mut shared = crate::physical::expr::ExprCache::new();
        for ((acc, expr), &(first, width)) in accumulators.iter_mut().zip(&self.aggr_exprs).zip(&self.state_columns) {
            if merge {
                let states = batch
                    .columns()
                    .get(first..first + width)
                    .ok_or_else(|| Error::internal(format!("no state columns for {}", expr.name)))?;
                acc.merge_batch(states, group_indices, num_groups)?;
            } else {
                let args = expr.evaluate_args_shared(batch, &mut shared)?;
                let filter = expr.evaluate_filter(batch)?;
                acc.update_batch(&args, group_indices, filter.as_ref(), num_groups)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
