//! The physical planner: picks an algorithm for every logical node and inserts exchanges.
//!
//! * Aggregates run as a partial aggregate in the input's stage, a hash exchange on the
//!   grouping keys (a gather when there are none) and a final aggregate per bucket. DISTINCT
//!   aggregates skip the partial step: raw rows are shuffled and aggregated once.
//! * Joins build a hash table on the cheaper side (by estimate: bytes plus a cost per row).
//!   A build side under the broadcast threshold, or within an eighth of the memory pool and
//!   not larger than the probe side, is broadcast: one table shared by the probe side's
//!   tasks. Otherwise, and for Left and Full joins, both sides are hash-shuffled on the keys.
//!   Equal aggregates and joins (a CTE read twice) share one plan ([`crate::physical::shared_subplans`]).
//! * ORDER BY sorts (or keeps a top-k of) each partition, gathers the sorted runs and merges
//!   them; LIMIT keeps a local limit per partition, gathers, and applies the global one.

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::exec::task::ExecConfig;
use crate::io::FileSource;
use crate::logical::cardinality::{estimate_bytes_of, estimate_rows};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::{expr_type, TypeOptions};
use crate::physical::aggregate::AggregateExpr;
use crate::physical::dictionary_keys;
use crate::physical::expr::{PhysExprRef, PhysicalExpr};
use crate::physical::in_set::{worth_a_set, InSet};
use crate::physical::ops::exchange::{ExchangeExec, Partitioning};
use crate::physical::ops::filter::FilterExec;
use crate::physical::ops::group_top_k::GroupTopKExec;
use crate::physical::ops::hash_aggregate::{AggregateMode, HashAggregateExec};
use crate::physical::ops::hash_join::{HashJoinExec, JoinMode};
use crate::physical::ops::limit::LimitExec;
use crate::physical::ops::memory_scan::MemoryScanExec;
use crate::physical::ops::projection::ProjectionExec;
use crate::physical::ops::range::RangeExec;
use crate::physical::ops::replicate::ReplicateExec;
use crate::physical::ops::scan::{ScanExec, ScanSource};
use crate::physical::ops::sort::{PhysSortExpr, SortExec};
use crate::physical::ops::sort_merge::SortPreservingMergeExec;
use crate::physical::ops::union::UnionExec;
use crate::physical::ops::values::ValuesExec;
use crate::physical::ops::window::{PhysWindowExpr, WindowExec};
use crate::physical::partitioned_on::groups_stay_in_partitions;
use crate::physical::plan::{stage_partitions, PlanRef};
use crate::physical::shared_subplans::SharedSubplans;
use crate::physical::window_top_k;

/// Lowers a logical expression over `schema` to a physical one (columns by index).
pub fn lower_expr(e: &Expr, schema: &PlanSchema, opts: TypeOptions) -> Result<PhysExprRef> {
    let lower = |x: &Expr| lower_expr(x, schema, opts);
    Ok(Arc::new(match e {
        Expr::Column(c) => {
            let index = schema.resolve(c)?;
            PhysicalExpr::Column {
                index,
                name: c.name.clone(),
            }
        }
        Expr::Literal(v) => PhysicalExpr::Literal(v.clone()),
        Expr::Alias { expr, .. } => return lower(expr),
        Expr::Binary { left, op, right } => PhysicalExpr::Binary {
            left: lower(left)?,
            op: *op,
            right: lower(right)?,
        },
        Expr::Not(x) => PhysicalExpr::Not(lower(x)?),
        Expr::Negative(x) => PhysicalExpr::Negative(lower(x)?),
        Expr::IsNull(x) => PhysicalExpr::IsNull(lower(x)?),
        Expr::IsNotNull(x) => PhysicalExpr::IsNotNull(lower(x)?),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let x = lower(expr)?;
            let both = PhysicalExpr::Binary {
                left: Arc::new(PhysicalExpr::Binary {
                    left: Arc::clone(&x),
                    op: BinaryOp::GtEq,
                    right: lower(low)?,
                }),
                op: BinaryOp::And,
                right: Arc::new(PhysicalExpr::Binary {
                    left: x,
                    op: BinaryOp::LtEq,
                    right: lower(high)?,
                }),
            };
            if *negated {
                PhysicalExpr::Not(Arc::new(both))
            } else {
                both
            }
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => PhysicalExpr::Like {
            expr: lower(expr)?,
            pattern: lower(pattern)?,
            negated: *negated,
            case_insensitive: *case_insensitive,
        },
        Expr::InList { expr, list, negated } => {
            let tested = lower(expr)?;
            let list: Vec<PhysExprRef> = list.iter().map(lower).collect::<Result<_>>()?;
            match constant_set(&list, &expr_type(expr, schema, opts)?)? {
                Some(set) => PhysicalExpr::InSet {
                    expr: tested,
                    set: Arc::new(set),
                    negated: *negated,
                },
                None => PhysicalExpr::InList {
                    expr: tested,
                    list,
                    negated: *negated,
                },
            }
        }
        Expr::Case {
            operand,
            when_then,
            else_expr,
        } => {
            let result_type = expr_type(e, schema, opts)?;
            let op = operand.as_ref().map(|o| lower(o)).transpose()?;
            let when_then = when_then
                .iter()
                .map(|(w, t)| {
                    let cond = match &op {
                        Some(o) => Arc::new(PhysicalExpr::Binary {
                            left: Arc::clone(o),
                            op: BinaryOp::Eq,
                            right: lower(w)?,
                        }),
                        None => lower(w)?,
                    };
                    Ok((cond, lower(t)?))
                })
                .collect::<Result<Vec<_>>>()?;
            let else_expr = match else_expr {
                Some(x) => lower(x)?,
                None => Arc::new(PhysicalExpr::Literal(ScalarValue::try_from(&result_type)?)),
            };
            PhysicalExpr::Case { when_then, else_expr }
        }
        Expr::Cast {
            expr,
            data_type,
            try_cast,
        } => PhysicalExpr::Cast {
            expr: lower(expr)?,
            to: data_type.clone(),
            try_cast: *try_cast,
        },
        Expr::Function { func, args } => PhysicalExpr::Function {
            func: *func,
            args: args.iter().map(lower).collect::<Result<_>>()?,
            return_type: expr_type(e, schema, opts)?,
        },
        Expr::Aggregate { .. } => return Err(Error::internal(format!("aggregate {e} outside an aggregation"))),
        Expr::Subquery(_) | Expr::OuterColumn { .. } => {
            return Err(Error::not_supported(format!("subquery in this position ({e})")))
        }
        Expr::Window(_) => return Err(Error::internal(format!("window function {e} outside a Window node"))),
    }))
}

/// Lowers a join condition as a BOOLEAN: one that is not (an untyped NULL the optimizer
/// folded, a column whose type a set operation widened) is cast, as the binder casts ON.
fn lower_condition(condition: &Expr, schema: &PlanSchema, opts: TypeOptions) -> Result<PhysExprRef> {
    let t = expr_type(condition, schema, opts)?;
    if t != DataType::Boolean {
        let typed = crate::logical::typecheck::cast_if_needed(condition.clone(), &t, &DataType::Boolean);
        return lower_expr(&typed, schema, opts);
    }
    lower_expr(condition, schema, opts)
}

/// Below this many bytes a source is not cut finer than the configured partition size.
const MIN_PARTITION_BYTES: u64 = 1 << 20;

/// Bytes per partition of file source `f`: `configured`, or less for a small source, so that
/// it still spreads over `threads` tasks (row groups or byte ranges allowing). A small table
/// read in one task is on the critical path when a join waits for it as its build side
/// (TPC-H's `part`, 2 row groups and 6 MB, was read by one thread while the other idled).
fn partition_target(f: &FileSource, configured: u64, threads: usize) -> u64 {
    let total: u64 = f.files.iter().map(|file| file.size).sum();
    let share = total.div_ceil(threads.max(1) as u64);
    configured.min(share.max(MIN_PARTITION_BYTES)).max(1)
}

/// The hash set of an IN list of constants of type `tested`, when the list is long enough
/// to be worth one ([`worth_a_set`]).
fn constant_set(list: &[PhysExprRef], tested: &DataType) -> Result<Option<InSet>> {
    if !worth_a_set(list.len(), tested) {
        return Ok(None);
    }
    let values: Option<Vec<ScalarValue>> = list
        .iter()
        .map(|item| match item.as_ref() {
            PhysicalExpr::Literal(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    match values {
        Some(values) => InSet::try_new(&values, tested),
        None => Ok(None),
    }
}

/// Lowers an expression without columns (for constant folding).
pub fn lower_constant(e: &Expr) -> Result<PhysExprRef> {
    lower_expr(e, &PlanSchema::empty(), TypeOptions::default())
}

/// Turns logical plans into physical ones.
pub struct PhysicalPlanner {
    config: ExecConfig,
    opts: TypeOptions,
    /// The memory pool's limit: bounds the build sides broadcast for their probe side's sake.
    memory_limit: usize,
    /// The plans of the aggregates and joins planned so far, for equal ones to reuse.
    shared: SharedSubplans,
}

/// A build side may take up to this fraction of the memory pool and still be broadcast when
/// its probe side is larger (see [`PhysicalPlanner::broadcasts`]).
const BROADCAST_MEMORY_FRACTION: usize = 8;

/// How many times larger than the build side the probe side must be estimated for a build
/// side above the broadcast threshold to be broadcast anyway. At 1 a build side is shared
/// whenever it is the smaller one: on one machine that saves shuffling both sides (TPC-H
/// q7 at SF10: 1.46M joined lineitem rows against 15M orders, 3.9 s shuffled, 1.6 s shared).
const BROADCAST_PROBE_RATIO: u64 = 1;

impl PhysicalPlanner {
    /// A planner with these settings and no memory to spare for large broadcasts.
    pub fn new(config: ExecConfig, opts: TypeOptions) -> Self {
        Self {
            config,
            opts,
            memory_limit: 0,
            shared: SharedSubplans::default(),
        }
    }

    /// The same planner, knowing the memory pool's limit.
    pub fn with_memory_limit(mut self, memory_limit: usize) -> Self {
        self.memory_limit = memory_limit;
        self
    }

    /// Whether a join broadcasts its build side rather than shuffling both sides. Below the
    /// broadcast threshold it always does. Above it, it does while the build side stays
    /// within a fraction of the memory pool and the probe side is larger: on one machine a
    /// broadcast is a table shared by every task, and the probe side then streams through
    /// the join in the stage that produces it, where a shuffle would first write all of it
    /// (both sides) into the exchange.
    fn broadcasts(&self, build_bytes: u64, probe_bytes: u64) -> bool {
        build_bytes <= self.config.broadcast_threshold_bytes
            || (self.config.broadcast_within_memory
                && build_bytes <= self.broadcast_budget()
                && probe_bytes >= build_bytes.saturating_mul(BROADCAST_PROBE_RATIO))
    }

    /// The most bytes a build side broadcast for its probe side's sake may take.
    fn broadcast_budget(&self) -> u64 {
        (self.memory_limit / BROADCAST_MEMORY_FRACTION) as u64
    }

    /// Plans `plan`; equal subtrees (a CTE read twice) share one plan (see
    /// [`crate::physical::shared_subplans`]).
    pub fn plan(&self, plan: &LogicalPlan) -> Result<PlanRef> {
        let planned = self.plan_node(plan);
        // The next statement's sources may reuse freed addresses.
        self.shared.clear();
        let filtered = crate::physical::join_filter::push_join_filters(planned?)?;
        crate::physical::materialize_shared::materialize_shared(filtered)
    }

    fn plan_filter(&self, f: &Filter) -> Result<PlanRef> {
        let input = match f.input.as_ref() {
            LogicalPlan::Window(w) => self.plan_window(w, window_top_k::rank_limit(&f.predicate, w))?,
            _ => self.plan_node(&f.input)?,
        };
        let predicate = lower_expr(&f.predicate, &f.input.schema(), self.opts)?;
        Ok(Arc::new(FilterExec::new(input, predicate)))
    }

    fn plan_projection(&self, p: &Projection) -> Result<PlanRef> {
        let input = self.plan_node(&p.input)?;
        let in_schema = p.input.schema();
        let exprs = p
            .exprs
            .iter()
            .map(|e| lower_expr(e, &in_schema, self.opts))
            .collect::<Result<_>>()?;
        Ok(Arc::new(ProjectionExec::new(
            input,
            exprs,
            Arc::clone(p.schema.arrow()),
        )))
    }

    fn plan_node(&self, plan: &LogicalPlan) -> Result<PlanRef> {
        match plan {
            LogicalPlan::Scan(s) => self.plan_scan(s),
            // Over a join or an aggregate, equal filters and projections share one plan
            // too, so that the exchanges above them are cut into one stage.
            LogicalPlan::Filter(f) if over_join_or_aggregate(&f.input) => {
                self.shared.get_or_plan(plan, || self.plan_filter(f))
            }
            LogicalPlan::Filter(f) => self.plan_filter(f),
            LogicalPlan::Projection(p) if over_join_or_aggregate(&p.input) => {
                self.shared.get_or_plan(plan, || self.plan_projection(p))
            }
            LogicalPlan::Projection(p) => self.plan_projection(p),
            LogicalPlan::SubqueryAlias(a) => self.plan_node(&a.input),
            LogicalPlan::Aggregate(a) => self.shared.get_or_plan(plan, || self.plan_aggregate(a)),
            LogicalPlan::Distinct(d) => self.plan_distinct(d),
            LogicalPlan::Join(j) => self.shared.get_or_plan(plan, || self.plan_join(j)),
            LogicalPlan::Window(w) => self.plan_window(w, None),
            LogicalPlan::Sort(s) => {
                let input = self.plan_node(&s.input)?;
                let schema = s.input.schema();
                let exprs = s
                    .exprs
                    .iter()
                    .map(|e| {
                        Ok(PhysSortExpr {
                            expr: lower_expr(&e.expr, &schema, self.opts)?,
                            descending: !e.asc,
                            nulls_first: e.nulls_first,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let sorted: PlanRef = Arc::new(SortExec::try_new(input, exprs.clone(), s.fetch)?);
                if stage_partitions(&sorted) <= 1 {
                    return Ok(sorted);
                }
                let gathered: PlanRef = Arc::new(ExchangeExec::new(sorted, Partitioning::Gather));
                Ok(Arc::new(SortPreservingMergeExec::try_new(gathered, exprs, s.fetch)?))
            }
            LogicalPlan::Limit(l) => {
                let input = self.plan_node(&l.input)?;
                if stage_partitions(&input) <= 1 {
                    return Ok(Arc::new(LimitExec::new(input, l.skip, l.fetch)));
                }
                let local: PlanRef = Arc::new(LimitExec::new(input, 0, l.fetch.map(|f| f.saturating_add(l.skip))));
                let gathered: PlanRef = Arc::new(ExchangeExec::new(local, Partitioning::Gather));
                Ok(Arc::new(LimitExec::new(gathered, l.skip, l.fetch)))
            }
            LogicalPlan::RecursiveQuery(_) | LogicalPlan::WorkTable(_) => Err(Error::not_supported(
                "planning WITH RECURSIVE without running it (the session materializes it first)",
            )),
            LogicalPlan::Range(r) => Ok(Arc::new(RangeExec::new(
                r.start,
                r.step,
                r.count,
                self.config.target_partitions,
                self.config.batch_size,
                Arc::clone(r.schema.arrow()),
            ))),
            LogicalPlan::Replicate(r) => {
                let input = self.plan_node(&r.input)?;
                let count = lower_expr(&r.count, &r.input.schema(), self.opts)?;
                Ok(Arc::new(ReplicateExec::new(input, count)))
            }
            LogicalPlan::Union(u) => {
                let inputs = u.inputs.iter().map(|i| self.plan_node(i)).collect::<Result<_>>()?;
                Ok(Arc::new(UnionExec::new(inputs, Arc::clone(u.schema.arrow()))))
            }
            LogicalPlan::Values(v) => {
                let empty = PlanSchema::empty();
                let schema = Arc::clone(v.schema.arrow());
                let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
                for (i, field) in schema.fields().iter().enumerate() {
                    let values = v
                        .rows
                        .iter()
                        .map(|row| {
                            let value = lower_expr(&row[i], &empty, self.opts)?.evaluate_constant()?;
                            if value.is_null() {
                                Ok(ScalarValue::try_from(field.data_type())?)
                            } else {
                                Ok(value.cast_to(field.data_type())?)
                            }
                        })
                        .collect::<Result<Vec<_>>>()?;
                    columns.push(if values.is_empty() {
                        new_null_array(field.data_type(), 0)
                    } else {
                        ScalarValue::iter_to_array(values)?
                    });
                }
                let batch = RecordBatch::try_new_with_options(
                    schema,
                    columns,
                    &RecordBatchOptions::new().with_row_count(Some(v.rows.len())),
                )?;
                Ok(Arc::new(ValuesExec::new(batch)))
            }
            LogicalPlan::EmptyRelation(e) => {
                let batch = RecordBatch::try_new_with_options(
                    Arc::new(Schema::empty()),
                    vec![],
                    &RecordBatchOptions::new().with_row_count(Some(usize::from(e.produce_one_row))),
                )?;
                Ok(Arc::new(ValuesExec::new(batch)))
            }
        }
    }

    fn plan_scan(&self, s: &Scan) -> Result<PlanRef> {
        let schema: SchemaRef = Arc::clone(s.schema.arrow());
        let predicate = Expr::conjunction(s.filters.iter().cloned())
            .map(|p| lower_expr(&p, &s.schema, self.opts))
            .transpose()?;
        let files_pruned;
        let (source, pruned) = match &s.source {
            TableSource::Memory(m) => {
                let scan: PlanRef = Arc::new(MemoryScanExec::try_new_table(
                    m.partitions.clone(),
                    Arc::clone(&m.schema),
                    s.projection.clone(),
                )?);
                return Ok(match predicate {
                    Some(p) => Arc::new(FilterExec::new(scan, p)),
                    None => scan,
                });
            }
            TableSource::File(f) => {
                let column_predicates = s.column_predicates();
                let files = crate::physical::hive_prune::files_to_read(
                    f,
                    &s.filters,
                    &s.schema,
                    s.projection.as_deref(),
                    self.opts,
                )?;
                files_pruned = files.as_ref().map_or(0, |k| k.iter().filter(|keep| !**keep).count());
                let target = partition_target(f, self.config.file_partition_bytes, self.config.threads);
                let all = f.partitions_of_files(target, &[], files.as_deref())?;
                let kept = if column_predicates.is_empty() {
                    all.clone()
                } else {
                    f.partitions_of_files(target, &column_predicates, files.as_deref())?
                };
                let pruned = all.len().saturating_sub(kept.len());
                (ScanSource::File(Arc::clone(f), kept), pruned)
            }
        };
        Ok(Arc::new(
            ScanExec::new(
                s.table_name.clone(),
                source,
                s.projection.clone(),
                predicate,
                pruned,
                schema,
            )
            .with_files_pruned(files_pruned),
        ))
    }

    /// Window calls: the input is hash-shuffled on the PARTITION BY keys (gathered without
    /// any; kept when the window below has the same keys), sorted by (partition keys, order keys) per partition, then computed.
    /// With `top_k` (a filter above passes only ranks up to it), rows that cannot rank that
    /// high are dropped before the sort.
    fn plan_window(&self, w: &Window, top_k: Option<usize>) -> Result<PlanRef> {
        let input = self.plan_node(&w.input)?;
        let schema = w.input.schema();
        let Some(Expr::Window(spec)) = w.window_exprs.first() else {
            return Err(Error::internal("Window node without window calls"));
        };
        let partition_keys = spec
            .partition_by
            .iter()
            .map(|k| lower_expr(k, &schema, self.opts))
            .collect::<Result<Vec<_>>>()?;
        let order_keys = spec
            .order_by
            .iter()
            .map(|o| {
                Ok(PhysSortExpr {
                    expr: lower_expr(&o.expr, &schema, self.opts)?,
                    descending: !o.asc,
                    nulls_first: o.nulls_first,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let exprs = w
            .window_exprs
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Expr::Window(call) => Ok(PhysWindowExpr {
                    func: call.func,
                    args: call
                        .args
                        .iter()
                        .map(|a| lower_expr(a, &schema, self.opts))
                        .collect::<Result<_>>()?,
                    frame: call.frame.clone(),
                    distinct: call.distinct,
                    ignore_nulls: call.ignore_nulls,
                    return_type: w.schema.field(schema.len() + i).data_type().clone(),
                    name: e.output_name(),
                }),
                other => Err(Error::internal(format!("{other} is not a window call"))),
            })
            .collect::<Result<Vec<_>>>()?;
        let n = self.config.target_partitions.max(1);
        // A window right below with the same PARTITION BY already shuffled on these keys.
        let same_partitioning = !spec.partition_by.is_empty()
            && matches!(w.input.as_ref(), LogicalPlan::Window(below)
                if matches!(below.window_exprs.first(), Some(Expr::Window(b)) if b.partition_by == spec.partition_by));
        let exchanged: PlanRef = if stage_partitions(&input) <= 1 || same_partitioning {
            input
        } else if partition_keys.is_empty() {
            Arc::new(ExchangeExec::new(input, Partitioning::Gather))
        } else {
            Arc::new(ExchangeExec::new(input, Partitioning::Hash(partition_keys.clone(), n)))
        };
        let exchanged: PlanRef = match top_k {
            Some(k) => Arc::new(GroupTopKExec::try_new(
                exchanged,
                partition_keys.clone(),
                order_keys.clone(),
                k,
            )?),
            None => exchanged,
        };
        let sort_keys: Vec<PhysSortExpr> = partition_keys
            .iter()
            .map(|k| PhysSortExpr::new(Arc::clone(k), false, true))
            .chain(order_keys.iter().cloned())
            .collect();
        let sorted: PlanRef = if sort_keys.is_empty() {
            exchanged
        } else {
            Arc::new(SortExec::try_new(exchanged, sort_keys, None)?)
        };
        Ok(Arc::new(WindowExec::try_new(
            sorted,
            partition_keys,
            order_keys,
            exprs,
            Arc::clone(w.schema.arrow()),
        )?))
    }

    fn aggregate_exprs(&self, a: &Aggregate) -> Result<Vec<AggregateExpr>> {
        let in_schema = a.input.schema();
        a.aggr_exprs
            .iter()
            .map(|e| match e {
                Expr::Aggregate {
                    func,
                    args,
                    distinct,
                    filter,
                    order_by,
                } => {
                    let input_types = args
                        .iter()
                        .map(|x| expr_type(x, &in_schema, self.opts))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(AggregateExpr {
                        func: *func,
                        args: args
                            .iter()
                            .map(|x| lower_expr(x, &in_schema, self.opts))
                            .collect::<Result<_>>()?,
                        input_types: input_types.clone(),
                        distinct: *distinct,
                        filter: filter
                            .as_ref()
                            .map(|f| lower_expr(f, &in_schema, self.opts))
                            .transpose()?,
                        name: e.output_name(),
                        return_type: func
                            .return_type(crate::logical::aggregate::value_arg_types(&input_types, order_by))?,
                        order: order_by
                            .iter()
                            .map(|o| arrow::compute::SortOptions {
                                descending: !o.asc,
                                nulls_first: o.nulls_first,
                            })
                            .collect(),
                    })
                }
                other => Err(Error::internal(format!("{other} is not an aggregate call"))),
            })
            .collect()
    }

    fn plan_aggregate(&self, a: &Aggregate) -> Result<PlanRef> {
        let in_schema = a.input.schema();
        let out_schema = &a.schema;
        let groups: Vec<(PhysExprRef, String)> = a
            .group_exprs
            .iter()
            .enumerate()
            .map(|(i, g)| {
                Ok((
                    lower_expr(g, &in_schema, self.opts)?,
                    out_schema.field(i).name().clone(),
                ))
            })
            .collect::<Result<_>>()?;
        self.plan_aggregate_on(a, groups)
    }

    /// `DISTINCT`: every input column is a key, taken by position (two output columns may
    /// share a name, e.g. `SELECT 1 AS a, 2 AS a UNION …`).
    fn plan_distinct(&self, d: &Distinct) -> Result<PlanRef> {
        let schema = d.input.schema();
        let agg = Aggregate {
            input: Arc::clone(&d.input),
            group_exprs: (0..schema.len()).map(|i| Expr::Column(schema.column_ref(i))).collect(),
            aggr_exprs: vec![],
            schema: Arc::clone(&schema),
        };
        let groups = (0..schema.len())
            .map(|i| {
                (
                    PhysicalExpr::column(i, schema.field(i).name().clone()),
                    schema.field(i).name().clone(),
                )
            })
            .collect();
        self.plan_aggregate_on(&agg, groups)
    }

    /// Plans aggregate `a` with its keys already lowered.
    fn plan_aggregate_on(&self, a: &Aggregate, groups: Vec<(PhysExprRef, String)>) -> Result<PlanRef> {
        let input = self.plan_node(&a.input)?;
        let out_schema = &a.schema;
        let aggs = self.aggregate_exprs(a)?;
        let n = self.config.target_partitions.max(1);
        let single_input = stage_partitions(&input) <= 1;
        let key_exprs: Vec<PhysExprRef> = groups.iter().map(|(g, _)| Arc::clone(g)).collect();
        if !single_input && !groups.is_empty() && groups_stay_in_partitions(&input, &key_exprs) {
            // Each group's rows are in one partition already: aggregate them where they are.
            return self.rename(
                Arc::new(HashAggregateExec::try_new(AggregateMode::Single, groups, aggs, input)?),
                out_schema.arrow(),
            );
        }
        if aggs.iter().any(|x| x.distinct || x.func.is_holistic()) || single_input {
            // Raw rows, shuffled by the keys (or gathered), aggregated once.
            let exchanged: PlanRef = if single_input {
                dictionary_keys::with_dictionary_keys(input, &groups, &aggs)
            } else if groups.is_empty() {
                Arc::new(ExchangeExec::new(input, Partitioning::Gather))
            } else {
                let keys = groups.iter().map(|(g, _)| Arc::clone(g)).collect();
                Arc::new(ExchangeExec::new(input, Partitioning::Hash(keys, n)))
            };
            return self.rename(
                Arc::new(HashAggregateExec::try_new(
                    AggregateMode::Single,
                    groups,
                    aggs,
                    exchanged,
                )?),
                out_schema.arrow(),
            );
        }
        let input = dictionary_keys::with_dictionary_keys(input, &groups, &aggs);
        let partial: PlanRef = Arc::new(HashAggregateExec::try_new(
            AggregateMode::Partial,
            groups.clone(),
            aggs.clone(),
            input,
        )?);
        let partial_schema = partial.schema();
        let final_groups: Vec<(PhysExprRef, String)> = groups
            .iter()
            .enumerate()
            .map(|(i, (_, name))| {
                (
                    PhysicalExpr::column(i, partial_schema.field(i).name().clone()),
                    name.clone(),
                )
            })
            .collect();
        let exchanged: PlanRef = if groups.is_empty() {
            Arc::new(ExchangeExec::new(partial, Partitioning::Gather))
        } else {
            let keys = final_groups.iter().map(|(g, _)| Arc::clone(g)).collect();
            Arc::new(ExchangeExec::new(partial, Partitioning::Hash(keys, n)))
        };
        self.rename(
            Arc::new(HashAggregateExec::try_new(
                AggregateMode::Final,
                final_groups,
                aggs,
                exchanged,
            )?),
            out_schema.arrow(),
        )
    }

    /// Gives `plan`'s output the logical schema's names and types (a no-op projection when
    /// they already agree).
    fn rename(&self, plan: PlanRef, schema: &SchemaRef) -> Result<PlanRef> {
        let actual = plan.schema();
        if actual.fields().len() != schema.fields().len() {
            return Err(Error::internal(format!(
                "{} produces {} columns, the plan expects {}",
                plan.name(),
                actual.fields().len(),
                schema.fields().len()
            )));
        }
        let same = actual
            .fields()
            .iter()
            .zip(schema.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if same {
            return Ok(plan);
        }
        let exprs = actual
            .fields()
            .iter()
            .zip(schema.fields())
            .enumerate()
            .map(|(i, (a, b))| {
                let col = PhysicalExpr::column(i, a.name().clone());
                if a.data_type() == b.data_type() {
                    col
                } else {
                    Arc::new(PhysicalExpr::Cast {
                        expr: col,
                        to: b.data_type().clone(),
                        try_cast: false,
                    })
                }
            })
            .collect();
        Ok(Arc::new(ProjectionExec::new(plan, exprs, Arc::clone(schema))))
    }

    fn plan_join(&self, j: &Join) -> Result<PlanRef> {
        let (ls, rs) = (j.left.schema(), j.right.schema());
        let (left_rows, right_rows) = (estimate_rows(&j.left), estimate_rows(&j.right));
        let left_bytes = estimate_bytes_of(&j.left, left_rows);
        let right_bytes = estimate_bytes_of(&j.right, right_rows);
        // Build on the smaller side: the left input is the build side, so swap the inputs
        // of an inner, semi or anti join (a left semi join becomes a right one) when the
        // right is smaller. A semi or anti join then streams its large side past a table of
        // the small one instead of buffering the large side. Outer joins keep their sides,
        // which keeps the order their rows come out in, except a left join with no keys to
        // a single row (`NOT IN` decorrelated: every row is paired with the subquery's
        // counts): as a right join that row is broadcast and the left side stays in its
        // partitions, instead of both sides being gathered into one task (TPC-H q16).
        let swappable = j.join_type == JoinType::Inner || j.join_type.is_one_sided();
        let pairs_with_one_row = j.join_type == JoinType::Left && j.on.is_empty() && one_row(&j.right);
        let swap = pairs_with_one_row
            || (swappable && build_cost(right_rows, right_bytes) < build_cost(left_rows, left_bytes));
        let join_type = if swap { j.join_type.swapped() } else { j.join_type };
        let (build, probe, build_schema, probe_schema, build_bytes, probe_bytes) = if swap {
            (&j.right, &j.left, &rs, &ls, right_bytes, left_bytes)
        } else {
            (&j.left, &j.right, &ls, &rs, left_bytes, right_bytes)
        };
        let mut build_keys = Vec::with_capacity(j.on.len());
        let mut probe_keys = Vec::with_capacity(j.on.len());
        for (l, r) in &j.on {
            let (b, p) = if swap { (r, l) } else { (l, r) };
            build_keys.push(lower_expr(b, build_schema, self.opts)?);
            probe_keys.push(lower_expr(p, probe_schema, self.opts)?);
        }
        let joined = build_schema.join(probe_schema);
        let filter = j
            .filter
            .as_ref()
            .map(|f| lower_condition(f, &joined, self.opts))
            .transpose()?;
        let build_plan = self.plan_node(build)?;
        let probe_plan = self.plan_node(probe)?;
        // A semi or anti join emitting build rows shares one bitmap of their matches between
        // its partitions; it broadcasts only a build side estimated to fit in memory (one
        // too large makes every task grace-join all of it) and needs known probe partitions.
        // Left and Full joins stay partitioned: their output is mostly pairs, and keeping
        // it partitioned by the build keys serves what usually follows, an aggregate by
        // those keys (TPC-H q13 at SF1: 0.17 s partitioned, 0.24 s broadcast, where every
        // partition's partial aggregate saw most customers).
        let can_broadcast = match join_type {
            JoinType::Left | JoinType::Full => false,
            JoinType::LeftSemi | JoinType::LeftAnti => {
                build_bytes <= self.broadcast_budget() && probe_plan.output_partitions().is_some()
            }
            _ => true,
        };
        let n = self.config.target_partitions.max(1);
        let (left_in, right_in, mode): (PlanRef, PlanRef, JoinMode) =
            if can_broadcast && (j.on.is_empty() || self.broadcasts(build_bytes, probe_bytes)) {
                (
                    Arc::new(ExchangeExec::new(build_plan, Partitioning::Broadcast)),
                    probe_plan,
                    JoinMode::CollectLeft,
                )
            } else if j.on.is_empty() {
                (
                    Arc::new(ExchangeExec::new(build_plan, Partitioning::Gather)),
                    Arc::new(ExchangeExec::new(probe_plan, Partitioning::Gather)),
                    JoinMode::Partitioned,
                )
            } else {
                (
                    Arc::new(ExchangeExec::new(build_plan, Partitioning::Hash(build_keys.clone(), n))),
                    Arc::new(ExchangeExec::new(probe_plan, Partitioning::Hash(probe_keys.clone(), n))),
                    JoinMode::Partitioned,
                )
            };
        let on = build_keys.into_iter().zip(probe_keys).collect();
        let join: PlanRef = Arc::new(HashJoinExec::try_new(left_in, right_in, on, filter, join_type, mode)?);
        if !swap || join_type.is_one_sided() {
            return self.rename(join, j.schema.arrow());
        }
        // Restore the written column order: left columns first.
        let (bw, pw) = (build_schema.len(), probe_schema.len());
        let out = join.schema();
        let exprs = (0..pw)
            .map(|i| PhysicalExpr::column(bw + i, out.field(bw + i).name().clone()))
            .chain((0..bw).map(|i| PhysicalExpr::column(i, out.field(i).name().clone())))
            .collect();
        Ok(Arc::new(ProjectionExec::new(join, exprs, Arc::clone(j.schema.arrow()))))
    }
}

/// Bytes-equivalent a hash table spends per build row beyond the row's data: its index
/// entry (16 bytes) and the hashing and linking, which cost about as much again.
const BUILD_COST_PER_ROW: f64 = 32.0;

/// What building a hash table on an input of `rows` rows and `bytes` bytes (estimated)
/// costs, to build on the cheaper side: a narrow input of many rows (TPC-H's orders keys)
/// can cost more than a wider one of few rows (the lineitem rows a filtered supplier join
/// left).
/// Whether `plan` always yields exactly one row: an aggregate without groups, under
/// projections and aliases.
fn one_row(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => a.group_exprs.is_empty(),
        LogicalPlan::Projection(p) => one_row(&p.input),
        LogicalPlan::SubqueryAlias(a) => one_row(&a.input),
        _ => false,
    }
}

fn build_cost(rows: f64, bytes: u64) -> f64 {
    bytes as f64 + BUILD_COST_PER_ROW * rows
}

/// Whether `plan` is a join or an aggregate, under any filters, projections and aliases.
fn over_join_or_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Join(_) | LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Filter(f) => over_join_or_aggregate(&f.input),
        LogicalPlan::Projection(p) => over_join_or_aggregate(&p.input),
        LogicalPlan::SubqueryAlias(a) => over_join_or_aggregate(&a.input),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    #[test]
    fn a_build_side_within_an_eighth_of_memory_is_broadcast_for_a_larger_probe_side() {
        let planner = PhysicalPlanner::new(ExecConfig::default(), TypeOptions::default());
        // Without a memory limit only the threshold counts.
        assert!(planner.broadcasts(32 * MB, 10_000 * MB));
        assert!(!planner.broadcasts(33 * MB, 10_000 * MB));
        let planner = planner.with_memory_limit(16 << 30);
        assert!(planner.broadcasts(1_000 * MB, 1_000 * MB));
        assert!(
            !planner.broadcasts(1_000 * MB, 999 * MB),
            "the probe side is the smaller one"
        );
        assert!(
            !planner.broadcasts(2_100 * MB, 100_000 * MB),
            "more than an eighth of the pool"
        );
        let config = ExecConfig {
            broadcast_within_memory: false,
            ..ExecConfig::default()
        };
        let planner = PhysicalPlanner::new(config, TypeOptions::default()).with_memory_limit(16 << 30);
        assert!(!planner.broadcasts(100 * MB, 100_000 * MB));
    }
}
