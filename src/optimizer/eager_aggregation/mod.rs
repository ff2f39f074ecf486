//! Rule `eager_aggregation`: an aggregate over a tree of inner joins is computed in two steps
//! when that is estimated cheaper: first partially, over the join of only the inputs its
//! arguments come from, grouped by the columns of those inputs that the rest of the query
//! still needs (the keys that join them to the other inputs, the group columns they provide,
//! the columns of conditions reaching the other inputs); then finally, over the join of those
//! partial groups with the other inputs, grouped as written.
//!
//! TPC-H q10 sums `lineitem` revenue per customer and groups by seven customer and nation
//! columns, five of them strings. Written lazily, 1.15M joined rows of `lineitem ⋈ orders`
//! carry the customer's strings through the last join and into an aggregate keyed by all
//! seven; eagerly, they are first summed per `o_custkey` (about 380k groups of two narrow
//! columns), and only those groups meet `customer` and `nation`.
//!
//! It is exact for decomposable aggregates: a sum is the sum of partial sums, a count the
//! sum of partial counts, a minimum (maximum) the minimum (maximum) of partial ones. Every
//! joined row the written plan aggregates pairs one row of the partial side with rows of
//! the rest that the join matched on columns the partial groups keep, so each partial group
//! stands for exactly the rows it replaces. Aggregates that are not decomposable (`avg`,
//! `DISTINCT`, ordered ones), global aggregates (no group: an empty join must still give
//! one row) and volatile expressions keep the written plan.
//!
//! Over a left join, the null-supplying side is pre-aggregated when the arguments all come
//! from it ([`left_join`]). Over inner joins, the side to pre-aggregate is every connected set
//! of leaves holding all the aggregates' arguments, short of all leaves; the cheapest by a
//! simple cost model wins, when it costs under [`MIN_GAIN`] of the written plan:
//! - written: the side's rows go through the other joins, and the aggregate hashes every
//!   joined row on the written group keys;
//! - eager: the side's rows are hashed on the partial keys, only the groups go through the
//!   other joins, and the final aggregate hashes the joined groups.
//!
//! Hashing a row costs one unit plus a quarter per fixed-width key column and one per string
//! key column. The partial groups are estimated per key column, as the distinct values its
//! leaf's rows can hold (its class's bound, see [`super::join_cluster`], else the leaf's
//! unfiltered rows), `ndv·(1 − e^(−rows/ndv))`, multiplied over the key columns and capped by
//! the side's rows.

mod left_join;

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::ScalarValue;

use super::join_cluster::{flatten, Cluster, LeafColumn};
use super::OptimizerRule;
use crate::error::Result;
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::functions::ScalarFunc;
use crate::logical::join_type::JoinType;
use crate::logical::plan::{Aggregate, LogicalPlan};
use crate::logical::schema::ColumnRef;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct EagerAggregation;

/// Joins of more leaves than this keep the written aggregate (every subset is weighed).
const MAX_LEAVES: usize = 10;

/// The eager plan must be estimated at most this share of the written plan's cost.
const MIN_GAIN: f64 = 0.8;

impl OptimizerRule for EagerAggregation {
    fn name(&self) -> &'static str {
        "eager_aggregation"
    }

    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let out = plan.transform_up(|node| {
            let LogicalPlan::Aggregate(a) = &node else {
                return Ok(Transformed::no(node));
            };
            match aggregate_eagerly(a, opts)? {
                Some(rewritten) => Ok(Transformed::yes(rewritten)),
                None => Ok(Transformed::no(node)),
            }
        })?;
        Ok((out.data, out.transformed))
    }
}

/// One written aggregate call, split into its partial and final steps.
struct SplitAggregate {
    /// The written function.
    func: AggFunc,
    /// The partial call over the pre-aggregated side.
    partial: Expr,
    /// The final function, applied to the partial call's output column.
    final_func: AggFunc,
    /// The written call's output name, which the rewritten plan keeps.
    name: String,
}

impl SplitAggregate {
    /// Whether this is `count(*)`.
    fn counts_rows(&self) -> bool {
        matches!(&self.partial, Expr::Aggregate { args, .. } if args.is_empty())
    }

    /// The final call over the partial column. Past a left join, a row of the preserved side
    /// that matched nothing carries NULL partials: it counts as one row for `count(*)`.
    fn final_call(&self, null_extended: bool) -> Expr {
        let partial = Expr::Column(ColumnRef::new(self.partial.output_name()));
        let arg = if null_extended && self.counts_rows() {
            Expr::Function {
                func: ScalarFunc::Coalesce,
                args: vec![partial, Expr::lit(ScalarValue::Int64(Some(1)))],
            }
        } else {
            partial
        };
        Expr::Aggregate {
            func: self.final_func,
            args: vec![arg],
            distinct: false,
            filter: None,
            order_by: vec![],
        }
    }

    /// The written call's value from the final call's column: a count of a group whose
    /// rows all matched nothing past a left join is 0, not the NULL sum of their partials.
    fn restored(&self, final_column: Expr, null_extended: bool) -> Expr {
        let value = if null_extended && self.func == AggFunc::Count && !self.counts_rows() {
            Expr::Function {
                func: ScalarFunc::Coalesce,
                args: vec![final_column, Expr::lit(ScalarValue::Int64(Some(0)))],
            }
        } else {
            final_column
        };
        value.alias(self.name.clone())
    }
}

/// The partial and final functions of a decomposable aggregate.
fn decompose(func: AggFunc) -> Option<(AggFunc, AggFunc)> {
    match func {
        AggFunc::Sum => Some((AggFunc::Sum, AggFunc::Sum)),
        AggFunc::Count => Some((AggFunc::Count, AggFunc::Sum)),
        AggFunc::Min => Some((AggFunc::Min, AggFunc::Min)),
        AggFunc::Max => Some((AggFunc::Max, AggFunc::Max)),
        _ => None,
    }
}

/// The written aggregate calls split in two, or `None` when one is not decomposable.
fn split_aggregates(aggr_exprs: &[Expr]) -> Option<Vec<SplitAggregate>> {
    aggr_exprs
        .iter()
        .map(|e| {
            let name = e.output_name();
            let Expr::Aggregate {
                func,
                args,
                distinct: false,
                filter,
                order_by,
            } = e.clone().unalias()
            else {
                return None;
            };
            if !order_by.is_empty() || e.is_volatile() {
                return None;
            }
            let (partial_func, final_func) = decompose(func)?;
            let partial = Expr::Aggregate {
                func: partial_func,
                args,
                distinct: false,
                filter,
                order_by: vec![],
            };
            Some(SplitAggregate {
                func,
                partial,
                final_func,
                name,
            })
        })
        .collect()
}

/// The rewritten aggregate, when the pattern applies and the estimate favours it.
fn aggregate_eagerly(a: &Aggregate, opts: TypeOptions) -> Result<Option<LogicalPlan>> {
    if a.group_exprs.is_empty() {
        return Ok(None);
    }
    let join = under_column_projections(&a.input);
    let LogicalPlan::Join(j) = join.as_ref() else {
        return Ok(None);
    };
    let Some(aggregates) = split_aggregates(&a.aggr_exprs) else {
        return Ok(None);
    };
    match j.join_type {
        JoinType::Inner => aggregate_inner_joins_eagerly(a, join, &aggregates, opts),
        JoinType::Left => left_join::aggregate_null_supplying_side(a, j, &aggregates, opts),
        _ => Ok(None),
    }
}

/// [`aggregate_eagerly`] over a tree of inner joins.
fn aggregate_inner_joins_eagerly(
    a: &Aggregate,
    join: &Arc<LogicalPlan>,
    aggregates: &[SplitAggregate],
    opts: TypeOptions,
) -> Result<Option<LogicalPlan>> {
    let mut leaves = Vec::new();
    let mut conditions = Vec::new();
    flatten(join, &mut leaves, &mut conditions);
    if leaves.len() > MAX_LEAVES || conditions.iter().any(Expr::is_volatile) {
        return Ok(None);
    }
    let Some(cluster) = Cluster::new(leaves, conditions) else {
        return Ok(None);
    };
    let Some(argument_leaves) = leaves_of(&cluster, aggregates.iter().flat_map(|s| s.partial.columns())) else {
        return Ok(None);
    };
    let mut group_columns = Vec::new();
    for c in a.group_exprs.iter().flat_map(Expr::columns) {
        let Some(column) = qualified(&cluster, &c) else {
            return Ok(None);
        };
        if !group_columns.contains(&column) {
            group_columns.push(column);
        }
    }
    if argument_leaves == 0 || a.group_exprs.iter().any(Expr::is_volatile) {
        return Ok(None);
    }
    let all = (1u64 << cluster.leaves.len()) - 1;
    let joined_rows = cluster.joined_rows(opts)?;
    let group_width = group_width(a);
    let mut best: Option<(f64, Side)> = None;
    for side in (1..all).filter(|s| s & argument_leaves == argument_leaves) {
        if !connected(&cluster, side) || is_partial_aggregate(&cluster, side) {
            continue;
        }
        let candidate = Side::weigh(&cluster, side, &group_columns, opts)?;
        // Without keys the partial aggregate would make one row of an empty side.
        if candidate.keys.is_empty() {
            continue;
        }
        let reduced = joined_rows * candidate.estimate.groups / candidate.estimate.rows;
        let share = eager_share(&candidate.estimate, joined_rows, reduced, group_width);
        if share <= MIN_GAIN && best.as_ref().is_none_or(|(b, _)| share < *b) {
            best = Some((share, candidate));
        }
    }
    let Some((_, side)) = best else {
        return Ok(None);
    };
    rewrite(a, &cluster, side, aggregates, opts)
}

/// The aggregate's input without projections that only pass columns through.
fn under_column_projections(plan: &Arc<LogicalPlan>) -> &Arc<LogicalPlan> {
    match plan.as_ref() {
        LogicalPlan::Projection(p) if p.exprs.iter().all(|e| matches!(e, Expr::Column(_))) => {
            under_column_projections(&p.input)
        }
        _ => plan,
    }
}

/// A bit per leaf providing one of `columns`; `None` when one cannot be placed.
fn leaves_of(cluster: &Cluster, columns: impl IntoIterator<Item = ColumnRef>) -> Option<u64> {
    columns
        .into_iter()
        .try_fold(0u64, |mask, c| Some(mask | 1 << cluster.leaf_of(&c)?))
}

/// `column` placed in its leaf and qualified as that leaf names it.
fn qualified(cluster: &Cluster, column: &ColumnRef) -> Option<LeafColumn> {
    let leaf = cluster.leaf_of(column)?;
    let schema = cluster.leaves[leaf].schema();
    let i = schema.find(column).ok().flatten()?;
    Some((leaf, schema.column_ref(i)))
}

/// The cost of hashing one key column, relative to the row it belongs to.
fn key_width(t: &DataType) -> f64 {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Binary | DataType::LargeBinary => 1.0,
        _ => 0.25,
    }
}

/// Summed [`key_width`] of the written aggregate's group keys.
fn group_width(a: &Aggregate) -> f64 {
    a.schema
        .iter()
        .take(a.group_exprs.len())
        .map(|(_, f)| key_width(f.data_type()))
        .sum()
}

/// The estimates of pre-aggregating one side.
struct SideEstimate {
    /// Rows of the side.
    rows: f64,
    /// Partial groups.
    groups: f64,
    /// Summed [`key_width`] of the partial keys.
    key_width: f64,
}

/// The eager plan's estimated cost as a share of the written plan's: the side's `rows` are
/// joined to the rest and `joined` rows aggregated on the written keys, or the side is
/// aggregated on its keys, its groups joined and the `reduced` joined groups aggregated.
fn eager_share(side: &SideEstimate, joined: f64, reduced: f64, group_width: f64) -> f64 {
    let written = side.rows + joined * (1.0 + group_width);
    let eager = side.rows * (1.0 + side.key_width) + side.groups + reduced * (1.0 + group_width);
    eager / written
}

/// The estimated distinct values among `rows` rows drawn from `ndv` equally likely ones.
fn distinct_among(ndv: f64, rows: f64) -> f64 {
    let ndv = ndv.max(1.0);
    ndv * (1.0 - (-rows / ndv).exp())
}

/// Whether the leaves in `side` are connected by the cluster's classes and conditions.
fn connected(cluster: &Cluster, side: u64) -> bool {
    let mut reached = 1u64 << side.trailing_zeros();
    loop {
        let mut next = reached;
        for class in &cluster.classes {
            let leaves = class.iter().fold(0u64, |m, (l, _)| m | 1 << l) & side;
            if leaves & reached != 0 {
                next |= leaves;
            }
        }
        for c in &cluster.conditions {
            if c.leaves & !side == 0 && c.leaves & reached != 0 {
                next |= c.leaves;
            }
        }
        if next == reached {
            return reached == side;
        }
        reached = next;
    }
}

/// Whether `side` is one leaf that is already an aggregate (as this rule leaves its partial
/// groups): aggregating it again would only repeat it.
fn is_partial_aggregate(cluster: &Cluster, side: u64) -> bool {
    side.count_ones() == 1 && is_aggregate(&cluster.leaves[side.trailing_zeros() as usize])
}

/// Whether `plan` is an aggregate below projections, filters and aliases.
fn is_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Projection(p) => is_aggregate(&p.input),
        LogicalPlan::Filter(f) => is_aggregate(&f.input),
        LogicalPlan::SubqueryAlias(s) => is_aggregate(&s.input),
        _ => false,
    }
}

/// A candidate side to pre-aggregate, with its estimates.
struct Side {
    /// A bit per leaf of the side.
    leaves: u64,
    /// The partial aggregate's keys.
    keys: Vec<LeafColumn>,
    /// The side's rows, partial groups and key width, for [`eager_share`].
    estimate: SideEstimate,
}

impl Side {
    /// The keys and estimates of pre-aggregating the leaves in `side`.
    fn weigh(cluster: &Cluster, side: u64, group_columns: &[LeafColumn], opts: TypeOptions) -> Result<Side> {
        let inside = |leaf: usize| side & (1 << leaf) != 0;
        let mut keys: Vec<LeafColumn> = group_columns.iter().filter(|(l, _)| inside(*l)).cloned().collect();
        let mut add = |column: LeafColumn| {
            if !keys.contains(&column) {
                keys.push(column);
            }
        };
        for class in &cluster.classes {
            if class.iter().any(|(l, _)| !inside(*l)) {
                if let Some(member) = class.iter().find(|(l, _)| inside(*l)) {
                    add(member.clone());
                }
            }
        }
        for c in cluster
            .conditions
            .iter()
            .filter(|c| c.leaves & side != 0 && c.leaves & !side != 0)
        {
            for column in c.expr.columns() {
                if let Some(placed) = qualified(cluster, &column).filter(|(l, _)| inside(*l)) {
                    add(placed);
                }
            }
        }
        let rows = cluster.reindex(&sub_index(cluster, side)).joined_rows(opts)?;
        let mut groups = 1.0f64;
        let mut key_width_sum = 0.0;
        for (leaf, column) in &keys {
            let class = cluster
                .classes
                .iter()
                .position(|class| class.contains(&(*leaf, column.clone())));
            let ndv = match class {
                Some(k) => cluster.class_ndv[k],
                None => cluster.leaf_ndv[*leaf],
            };
            groups *= distinct_among(ndv, cluster.rows[*leaf]);
            let schema = cluster.leaves[*leaf].schema();
            if let Ok(Some(i)) = schema.find(column) {
                key_width_sum += key_width(schema.field(i).data_type());
            }
        }
        Ok(Side {
            leaves: side,
            keys,
            estimate: SideEstimate {
                rows,
                groups: groups.clamp(1.0, rows),
                key_width: key_width_sum,
            },
        })
    }
}

/// The new index of each leaf of `cluster` in the cluster of the leaves in `side`.
fn sub_index(cluster: &Cluster, side: u64) -> Vec<Option<usize>> {
    let mut next = 0;
    (0..cluster.leaves.len())
        .map(|i| {
            (side & (1 << i) != 0).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// The two-step plan for `a` with `side` pre-aggregated.
fn rewrite(
    a: &Aggregate,
    cluster: &Cluster,
    side: Side,
    aggregates: &[SplitAggregate],
    opts: TypeOptions,
) -> Result<Option<LogicalPlan>> {
    let side_plan = cluster.reindex(&sub_index(cluster, side.leaves)).order(opts)?.plan;
    let keys = side.keys.iter().map(|(_, c)| c.clone()).collect();
    let partial = partial_aggregate(side_plan, keys, aggregates, opts)?;
    // The partial groups become leaf 0; the other leaves follow in their order.
    let mut next = 0;
    let index: Vec<Option<usize>> = (0..cluster.leaves.len())
        .map(|i| {
            Some(if side.leaves & (1 << i) != 0 {
                0
            } else {
                next += 1;
                next
            })
        })
        .collect();
    let mut rest = cluster.reindex(&index);
    rest.leaves[0] = Arc::clone(&partial);
    rest.rows[0] = side.estimate.groups;
    rest.leaf_ndv[0] = side.estimate.groups;
    if partial_names_clash(&partial, side.keys.len(), &rest.leaves[1..]) {
        return Ok(None);
    }
    let joined = rest.order(opts)?.plan;
    finish(a, joined, aggregates, false, opts)
}

/// The partial aggregate of `input` grouped by `keys`.
fn partial_aggregate(
    input: Arc<LogicalPlan>,
    keys: Vec<ColumnRef>,
    aggregates: &[SplitAggregate],
    opts: TypeOptions,
) -> Result<Arc<LogicalPlan>> {
    let mut partial_exprs: Vec<Expr> = Vec::new();
    for s in aggregates {
        if !partial_exprs.contains(&s.partial) {
            partial_exprs.push(s.partial.clone());
        }
    }
    let keys = keys.into_iter().map(Expr::Column).collect();
    Ok(Arc::new(builder::aggregate(input, keys, partial_exprs, opts)?))
}

/// Whether a partial column (past the first `keys` columns of `partial`) is named like a
/// column of one of `others`: it would be ambiguous above their join.
fn partial_names_clash(partial: &LogicalPlan, keys: usize, others: &[Arc<LogicalPlan>]) -> bool {
    let schema = partial.schema();
    (keys..schema.len()).any(|i| {
        let name = ColumnRef::new(schema.field(i).name().clone());
        others.iter().any(|l| l.schema().find(&name).ok().flatten().is_some())
    })
}

/// The final aggregate of `a` over `joined` (the partial groups joined with the rest), and
/// a projection giving its columns the written aggregate's names; `None` when the result
/// would not have the written schema. `null_extended`: the partial groups are the
/// null-supplying side of a left join.
fn finish(
    a: &Aggregate,
    joined: Arc<LogicalPlan>,
    aggregates: &[SplitAggregate],
    null_extended: bool,
    opts: TypeOptions,
) -> Result<Option<LogicalPlan>> {
    let final_exprs = aggregates.iter().map(|s| s.final_call(null_extended)).collect();
    let final_aggregate = Arc::new(builder::aggregate(joined, a.group_exprs.clone(), final_exprs, opts)?);
    let out_schema = final_aggregate.schema();
    let restored = (0..out_schema.len())
        .map(|i| {
            let column = Expr::Column(out_schema.column_ref(i));
            match i.checked_sub(a.group_exprs.len()) {
                Some(j) => aggregates[j].restored(column, null_extended),
                None => column,
            }
        })
        .collect();
    let projected = builder::project(final_aggregate, restored, opts)?;
    Ok(projected.schema().same_columns(&a.schema).then_some(projected))
}
