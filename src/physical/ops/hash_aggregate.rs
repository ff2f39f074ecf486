//! Grouped aggregation with a hash table, in three modes: `Partial` (raw rows in, partial
//! states out, before a shuffle), `Final` (partial states in, merged and finished) and
//! `Single` (raw rows in, final values out).
//!
//! The group table ([`GroupTable`]) turns the group-key columns of a batch into one group
//! index per row; then every accumulator is updated with the whole batch and those indices.
//! The table and the
//! accumulators reserve their memory from the pool as they grow; a refused reservation is a
//! `ResourcesExhausted` error for now (the table is its own type so a spill path can be
//! added around it).

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::task::TaskContext;
use crate::physical::aggregate::group_table::GroupTable;
use crate::physical::aggregate::{AggregateExpr, GroupsAccumulator};
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

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
    /// In `Final` mode: the first input column of each aggregate's state, and its width.
    state_columns: Vec<(usize, usize)>,
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
        let mut state_columns = Vec::with_capacity(aggr_exprs.len());
        let mut next = group_exprs.len();
        for a in &aggr_exprs {
            let states = a.state_fields();
            state_columns.push((next, states.len()));
            next += states.len();
            match mode {
                AggregateMode::Partial => fields.extend(states),
                AggregateMode::Final | AggregateMode::Single => fields.push(a.field()),
            }
        }
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
            schema: Arc::new(Schema::new(fields)),
            state_columns,
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
        format!(
            "mode={:?}, gby=[{}], aggr=[{}]",
            self.core.mode,
            gby.join(", "),
            aggr.join(", ")
        )
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
        let input = self.input.execute(partition, ctx)?;
        Ok(Box::new(AggregateStream {
            state: StreamState::Pending {
                core: Arc::clone(&self.core),
                input,
                ctx: ctx.clone(),
            },
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The output stream: aggregates everything on the first `next`, then hands out slices.
struct AggregateStream {
    state: StreamState,
}

enum StreamState {
    Pending {
        core: Arc<AggregateCore>,
        input: BatchStream,
        ctx: TaskContext,
    },
    Emitting {
        output: RecordBatch,
        offset: usize,
        batch_size: usize,
        /// Held until the output is handed out.
        _reservation: MemoryReservation,
    },
    Done,
}

impl Iterator for AggregateStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.state, StreamState::Pending { .. }) {
            let StreamState::Pending { core, input, ctx } = std::mem::replace(&mut self.state, StreamState::Done)
            else {
                return None;
            };
            match aggregate(&core, input, &ctx) {
                Ok((output, reservation)) => {
                    self.state = StreamState::Emitting {
                        output,
                        offset: 0,
                        batch_size: ctx.batch_size().max(1),
                        _reservation: reservation,
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
        let StreamState::Emitting {
            output,
            offset,
            batch_size,
            ..
        } = &mut self.state
        else {
            return None;
        };
        let remaining = output.num_rows().saturating_sub(*offset);
        if remaining == 0 {
            self.state = StreamState::Done;
            return None;
        }
        let len = remaining.min(*batch_size);
        let batch = output.slice(*offset, len);
        *offset += len;
        Some(Ok(batch))
    }
}

/// Consumes `input` and returns all groups as one batch (with the memory it holds).
fn aggregate(core: &AggregateCore, input: BatchStream, ctx: &TaskContext) -> Result<(RecordBatch, MemoryReservation)> {
    let mut reservation = ctx.memory().reservation("HashAggregate");
    let key_types = core
        .group_exprs
        .iter()
        .map(|(e, _)| e.data_type(&core.input_schema))
        .collect::<Result<Vec<_>>>()?;
    let mut table = if key_types.is_empty() {
        None
    } else {
        Some(GroupTable::try_new(&key_types)?)
    };
    let mut accumulators = core
        .aggr_exprs
        .iter()
        .map(|a| a.create_accumulator())
        .collect::<Result<Vec<_>>>()?;
    let mut group_indices = Vec::new();
    for batch in input {
        ctx.check_cancelled()?;
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        let num_groups = match &mut table {
            Some(table) => {
                let keys = core
                    .group_exprs
                    .iter()
                    .map(|(e, _)| e.evaluate(&batch))
                    .collect::<Result<Vec<_>>>()?;
                table.intern(&keys, &mut group_indices)?;
                table.len()
            }
            None => {
                group_indices.clear();
                group_indices.resize(batch.num_rows(), 0);
                1
            }
        };
        core.update(&mut accumulators, &batch, &group_indices, num_groups)?;
        let table_size = table.as_ref().map_or(0, GroupTable::size);
        let acc_size: usize = accumulators.iter().map(|a| a.size()).sum();
        reservation.try_resize(table_size + acc_size + group_indices.capacity() * std::mem::size_of::<usize>())?;
    }
    let (mut columns, num_groups) = match &mut table {
        Some(table) => {
            let n = table.len();
            (table.emit()?, n)
        }
        None => {
            // Without group keys there is exactly one group, even over no rows.
            let empty = RecordBatch::new_empty(Arc::clone(&core.input_schema));
            core.update(&mut accumulators, &empty, &[], 1)?;
            (Vec::new(), 1)
        }
    };
    drop(table);
    for acc in &mut accumulators {
        match core.mode {
            AggregateMode::Partial => columns.extend(acc.state()?),
            AggregateMode::Final | AggregateMode::Single => columns.push(acc.evaluate()?),
        }
    }
    drop(accumulators);
    let output_size: usize = columns.iter().map(|c| c.get_array_memory_size()).sum();
    reservation.try_resize(output_size)?;
    let options = RecordBatchOptions::new().with_row_count(Some(num_groups));
    let output = RecordBatch::try_new_with_options(Arc::clone(&core.schema), columns, &options)?;
    Ok((output, reservation))
}

impl AggregateCore {
    /// Updates (or, in `Final` mode, merges into) every accumulator with `batch`.
    fn update(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        batch: &RecordBatch,
        group_indices: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let mut shared = crate::physical::expr::ExprCache::new();
        for ((acc, expr), &(first, width)) in accumulators.iter_mut().zip(&self.aggr_exprs).zip(&self.state_columns) {
            match self.mode {
                AggregateMode::Partial | AggregateMode::Single => {
                    let args = expr.evaluate_args_shared(batch, &mut shared)?;
                    let filter = expr.evaluate_filter(batch)?;
                    acc.update_batch(&args, group_indices, filter.as_ref(), num_groups)?;
                }
                AggregateMode::Final => {
                    let states = batch
                        .columns()
                        .get(first..first + width)
                        .ok_or_else(|| Error::internal(format!("no state columns for {}", expr.name)))?;
                    acc.merge_batch(states, group_indices, num_groups)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use arrow::array::{Array, BooleanArray, Decimal128Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;
    use arrow::util::pretty::pretty_format_batches;
    use datafusion_common::ScalarValue;

    use super::*;
    use crate::exec::memory::MemoryPool;
    use crate::exec::task::{ExecConfig, QueryContext};
    use crate::logical::aggregate::AggFunc;
    use crate::physical::expr::PhysicalExpr;
    use crate::physical::ops::memory_scan::MemoryScanExec;

    fn ctx_with(batch_size: usize, memory: usize) -> TaskContext {
        let config = ExecConfig {
            batch_size,
            ..ExecConfig::default()
        };
        TaskContext {
            stage_id: 0,
            partition: 0,
            query: Arc::new(QueryContext::new(
                config,
                MemoryPool::new(memory),
                Arc::new(AtomicBool::new(false)),
            )),
        }
    }

    fn ctx() -> TaskContext {
        ctx_with(8192, 1 << 30)
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("x", DataType::Int64, true),
            Field::new("f", DataType::Boolean, true),
        ]))
    }

    /// Two batches; keys 1, 2, NULL, 3 in order of first appearance.
    fn batches() -> Vec<RecordBatch> {
        let b1 = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), Some(2), None, Some(1)])),
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("a"), None])),
                Arc::new(Int64Array::from(vec![Some(10), Some(20), Some(30), None])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None, Some(true)])),
            ],
        )
        .unwrap();
        let b2 = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int32Array::from(vec![Some(2), None, Some(3)])),
                Arc::new(StringArray::from(vec![Some("b"), Some("a"), Some("c")])),
                Arc::new(Int64Array::from(vec![Some(5), Some(7), None])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(true), Some(true)])),
            ],
        )
        .unwrap();
        vec![b1, b2]
    }

    fn scan(partitions: Vec<Vec<RecordBatch>>, schema: SchemaRef) -> PlanRef {
        Arc::new(MemoryScanExec::try_new(partitions, schema, None).unwrap())
    }

    fn col(i: usize, name: &str) -> PhysExprRef {
        PhysicalExpr::column(i, name)
    }

    fn agg(func: AggFunc, args: Vec<PhysExprRef>, name: &str) -> AggregateExpr {
        AggregateExpr::try_new(func, args, &schema(), name).unwrap()
    }

    fn all_aggs() -> Vec<AggregateExpr> {
        vec![
            agg(AggFunc::Count, vec![], "count(*)"),
            agg(AggFunc::Count, vec![col(2, "x")], "count(x)"),
            agg(AggFunc::Sum, vec![col(2, "x")], "sum(x)"),
            agg(AggFunc::Avg, vec![col(2, "x")], "avg(x)"),
            agg(AggFunc::Min, vec![col(1, "s")], "min(s)"),
            agg(AggFunc::Max, vec![col(2, "x")], "max(x)"),
        ]
    }

    fn run_on(plan: &PlanRef, partition: usize, ctx: &TaskContext) -> Result<Vec<RecordBatch>> {
        plan.execute(partition, ctx)?.collect()
    }

    fn run(plan: PlanRef) -> String {
        let batches = run_on(&plan, 0, &ctx()).unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    fn single(gby: Vec<(PhysExprRef, String)>, aggs: Vec<AggregateExpr>) -> PlanRef {
        let input = scan(vec![batches()], schema());
        Arc::new(HashAggregateExec::try_new(AggregateMode::Single, gby, aggs, input).unwrap())
    }

    fn lines(s: &str) -> Vec<&str> {
        s.lines().collect()
    }

    #[test]
    fn groups_by_integer_key_with_nulls_over_several_batches() {
        let out = run(single(vec![(col(0, "k"), "k".into())], all_aggs()));
        assert_eq!(
            lines(&out),
            vec![
                "+---+----------+----------+--------+--------+--------+--------+",
                "| k | count(*) | count(x) | sum(x) | avg(x) | min(s) | max(x) |",
                "+---+----------+----------+--------+--------+--------+--------+",
                "| 1 | 2        | 1        | 10     | 10.0   | a      | 10     |",
                "| 2 | 2        | 2        | 25     | 12.5   | b      | 20     |",
                "|   | 2        | 2        | 37     | 18.5   | a      | 30     |",
                "| 3 | 1        | 0        |        |        | c      |        |",
                "+---+----------+----------+--------+--------+--------+--------+",
            ]
        );
    }

    #[test]
    fn groups_by_string_and_multi_column_keys() {
        let out = run(single(
            vec![(col(1, "s"), "s".into())],
            vec![
                agg(AggFunc::Sum, vec![col(2, "x")], "sum(x)"),
                agg(AggFunc::Max, vec![col(0, "k")], "max(k)"),
            ],
        ));
        assert_eq!(
            lines(&out)[3..8],
            [
                "| a | 47     | 1      |",
                "| b | 25     | 2      |",
                "|   |        | 1      |",
                "| c |        | 3      |",
                "+---+--------+--------+"
            ]
        );
        let out = run(single(
            vec![(col(0, "k"), "k".into()), (col(1, "s"), "s".into())],
            vec![agg(AggFunc::Count, vec![], "n")],
        ));
        assert_eq!(
            lines(&out)[3..9],
            [
                "| 1 | a | 1 |",
                "| 2 | b | 2 |",
                "|   | a | 2 |",
                "| 1 |   | 1 |",
                "| 3 | c | 1 |",
                "+---+---+---+"
            ]
        );
    }

    #[test]
    fn partial_then_final_equals_single() {
        let parts: Vec<Vec<RecordBatch>> = batches().into_iter().map(|b| vec![b]).collect();
        for keys in [vec![], vec![0], vec![0, 1]] {
            let gby = |_: ()| -> Vec<(PhysExprRef, String)> {
                keys.iter()
                    .map(|&i| (col(i, schema().field(i).name()), schema().field(i).name().clone()))
                    .collect()
            };
            let partial: PlanRef = Arc::new(
                HashAggregateExec::try_new(
                    AggregateMode::Partial,
                    gby(()),
                    all_aggs(),
                    scan(parts.clone(), schema()),
                )
                .unwrap(),
            );
            let mut partial_out = run_on(&partial, 0, &ctx()).unwrap();
            partial_out.extend(run_on(&partial, 1, &ctx()).unwrap());
            let final_gby = keys
                .iter()
                .enumerate()
                .map(|(j, &i)| (col(j, schema().field(i).name()), schema().field(i).name().clone()))
                .collect();
            let final_agg: PlanRef = Arc::new(
                HashAggregateExec::try_new(
                    AggregateMode::Final,
                    final_gby,
                    all_aggs(),
                    scan(vec![partial_out], partial.schema()),
                )
                .unwrap(),
            );
            assert_eq!(run(final_agg), run(single(gby(()), all_aggs())), "keys {keys:?}");
        }
    }

    #[test]
    fn partial_schema_names_state_fields() {
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            vec![(col(0, "k"), "k".into())],
            all_aggs(),
            scan(vec![batches()], schema()),
        )
        .unwrap();
        let names: Vec<String> = partial.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(
            names,
            [
                "k",
                "count(*)[count]",
                "count(x)[count]",
                "sum(x)[sum]",
                "avg(x)[sum]",
                "avg(x)[count]",
                "min(s)[min]",
                "max(x)[max]"
            ]
        );
        assert_eq!(
            partial.details(),
            "mode=Partial, gby=[k], aggr=[count(*), count(x), sum(x), avg(x), min(s), max(x)]"
        );
    }

    #[test]
    fn empty_input_gives_one_row_without_keys_and_none_with_keys() {
        let empty = || scan(vec![], schema());
        let aggs = || {
            vec![
                agg(AggFunc::Count, vec![], "n"),
                agg(AggFunc::Sum, vec![col(2, "x")], "s"),
            ]
        };
        let plan: PlanRef =
            Arc::new(HashAggregateExec::try_new(AggregateMode::Single, vec![], aggs(), empty()).unwrap());
        let out = run_on(&plan, 0, &ctx()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].num_rows(), 1);
        assert_eq!(
            out[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0),
            0
        );
        assert!(out[0].column(1).is_null(0));

        let partial: PlanRef =
            Arc::new(HashAggregateExec::try_new(AggregateMode::Partial, vec![], aggs(), empty()).unwrap());
        let partial_out = run_on(&partial, 0, &ctx()).unwrap();
        assert_eq!(partial_out.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        // Final over zero input rows still gives one row.
        let final_agg: PlanRef = Arc::new(
            HashAggregateExec::try_new(AggregateMode::Final, vec![], aggs(), scan(vec![], partial.schema())).unwrap(),
        );
        let out = run_on(&final_agg, 0, &ctx()).unwrap();
        assert_eq!(out.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        assert_eq!(
            out[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0),
            0
        );

        let keyed: PlanRef = Arc::new(
            HashAggregateExec::try_new(AggregateMode::Single, vec![(col(0, "k"), "k".into())], aggs(), empty())
                .unwrap(),
        );
        assert_eq!(
            run_on(&keyed, 0, &ctx())
                .unwrap()
                .iter()
                .map(|b| b.num_rows())
                .sum::<usize>(),
            0
        );
    }

    #[test]
    fn sums_and_averages_decimals_exactly() {
        let schema = Arc::new(Schema::new(vec![Field::new("d", DataType::Decimal128(10, 2), true)]));
        let d = Decimal128Array::from(vec![Some(150), Some(225), None, Some(1)])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(d)]).unwrap();
        let sum = AggregateExpr::try_new(AggFunc::Sum, vec![col(0, "d")], &schema, "s").unwrap();
        let avg = AggregateExpr::try_new(AggFunc::Avg, vec![col(0, "d")], &schema, "a").unwrap();
        assert_eq!(sum.return_type, DataType::Decimal128(38, 2));
        let plan: PlanRef = Arc::new(
            HashAggregateExec::try_new(
                AggregateMode::Single,
                vec![],
                vec![sum, avg],
                scan(vec![vec![batch]], schema),
            )
            .unwrap(),
        );
        let out = run_on(&plan, 0, &ctx()).unwrap();
        let s = out[0].column(0).as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(s.value(0), 376);
        assert_eq!(s.data_type(), &DataType::Decimal128(38, 2));
        let a = out[0]
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        assert!((a.value(0) - 3.76 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn distinct_count_and_sum() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let batch = |g: Vec<&str>, v: Vec<Option<i64>>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(StringArray::from(g)), Arc::new(Int64Array::from(v))],
            )
            .unwrap()
        };
        let input = vec![
            batch(vec!["a", "a", "b", "a"], vec![Some(1), Some(1), Some(2), Some(3)]),
            batch(vec!["b", "a", "b", "b"], vec![Some(2), Some(3), None, Some(4)]),
        ];
        let aggs = vec![
            AggregateExpr::try_new(AggFunc::Count, vec![col(1, "v")], &schema, "cd")
                .unwrap()
                .with_distinct(true),
            AggregateExpr::try_new(AggFunc::Sum, vec![col(1, "v")], &schema, "sd")
                .unwrap()
                .with_distinct(true),
            AggregateExpr::try_new(AggFunc::Sum, vec![col(1, "v")], &schema, "s").unwrap(),
        ];
        let plan: PlanRef = Arc::new(
            HashAggregateExec::try_new(
                AggregateMode::Single,
                vec![(col(0, "g"), "g".into())],
                aggs.clone(),
                scan(vec![input], Arc::clone(&schema)),
            )
            .unwrap(),
        );
        let out = run(plan);
        assert_eq!(lines(&out)[3..5], ["| a | 2  | 4  | 8 |", "| b | 2  | 6  | 8 |"]);
        let partial = HashAggregateExec::try_new(AggregateMode::Partial, vec![], aggs, scan(vec![], schema));
        assert!(partial.is_err());
    }

    #[test]
    fn filter_skips_false_and_null_rows() {
        let filtered = |func, args, name: &str| agg(func, args, name).with_filter(Some(col(3, "f")));
        let out = run(single(
            vec![(col(0, "k"), "k".into())],
            vec![
                filtered(AggFunc::Count, vec![], "n"),
                filtered(AggFunc::Sum, vec![col(2, "x")], "s"),
                filtered(AggFunc::Min, vec![col(2, "x")], "m"),
            ],
        ));
        // f: k=1 rows true,true; k=2 false,true; k=NULL null,true; k=3 true.
        assert_eq!(
            lines(&out)[3..7],
            [
                "| 1 | 2 | 10 | 10 |",
                "| 2 | 1 | 5  | 5  |",
                "|   | 1 | 7  | 7  |",
                "| 3 | 1 |    |    |"
            ]
        );
    }

    #[test]
    fn integer_sum_overflow_is_an_error() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from(vec![i64::MAX, 1]))]).unwrap();
        let sum = AggregateExpr::try_new(AggFunc::Sum, vec![col(0, "x")], &schema, "s").unwrap();
        let plan: PlanRef = Arc::new(
            HashAggregateExec::try_new(
                AggregateMode::Single,
                vec![],
                vec![sum],
                scan(vec![vec![batch]], schema),
            )
            .unwrap(),
        );
        let err = run_on(&plan, 0, &ctx()).unwrap_err().to_string();
        assert!(err.contains("Out of Range Error: Overflow in SUM"), "{err}");
    }

    #[test]
    fn output_is_sliced_to_batch_size_and_literal_args_work() {
        let plan = single(
            vec![(col(0, "k"), "k".into())],
            vec![agg(
                AggFunc::Sum,
                vec![PhysicalExpr::literal(ScalarValue::Int64(Some(2)))],
                "s",
            )],
        );
        let out = run_on(&plan, 0, &ctx_with(3, 1 << 30)).unwrap();
        assert_eq!(out.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), vec![3, 1]);
        let sums = out[0].column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(sums.values().to_vec(), vec![4, 4, 4]);
    }

    #[test]
    fn memory_limit_is_enforced() {
        let plan = single(vec![(col(1, "s"), "s".into())], all_aggs());
        let err = run_on(&plan, 0, &ctx_with(8192, 64)).unwrap_err();
        assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
    }
}
