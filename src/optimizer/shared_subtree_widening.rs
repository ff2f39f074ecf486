//! Rule `shared_subtree_widening`: joins that differ only in which columns they carry read
//! the same columns, so they are planned once. TPC-H q11 joins partsupp, supplier and nation
//! twice, once for the total and once per part; projection pushdown leaves the total's copy
//! without `ps_partkey`, and the two copies no longer match. Widened to the union of their
//! columns, each copy under a projection back to its own columns, they are equal, the
//! physical planner shares them ([`crate::physical::shared_subplans`]) and the join runs
//! once ([`crate::physical::materialize_shared`]).
//!
//! Only subtrees of joins, filters, column-only projections, aliases and scans are widened,
//! and only when they match node for node apart from the columns scans read and
//! projections pass on: same sources (by identity), same filters and join conditions,
//! nothing volatile and no subquery. A widening that would put two columns of one name in
//! a node's output (where an unqualified reference could then mean either) is not made.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::{Filter, LogicalPlan, Projection, Scan};
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct SharedSubtreeWidening;

/// How many groups of matching joins one statement widens at most.
const MAX_WIDENINGS: usize = 8;

impl OptimizerRule for SharedSubtreeWidening {
    fn name(&self) -> &'static str {
        "shared_subtree_widening"
    }

    fn rewrite(&self, plan: LogicalPlan, _opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let mut plan = plan;
        let mut changed = false;
        for _ in 0..MAX_WIDENINGS {
            let Some((members, widened)) = next_widening(&plan)? else {
                break;
            };
            plan = replace_members(plan, &members, &widened)?;
            changed = true;
        }
        Ok((plan, changed))
    }
}

/// The largest group of joins of one shape that are not all equal yet: the texts of its
/// members and the join they all become.
fn next_widening(plan: &LogicalPlan) -> Result<Option<(HashSet<String>, LogicalPlan)>> {
    // Shape -> the distinct members (by text) and one plan of each.
    let mut groups: BTreeMap<String, Vec<(String, LogicalPlan)>> = BTreeMap::new();
    plan.apply(|node| {
        if let LogicalPlan::Join(_) = node {
            if let Some(key) = shape(node) {
                let text = format!("{node:?}");
                let group = groups.entry(key).or_default();
                if !group.iter().any(|(t, _)| t == &text) {
                    group.push((text, node.clone()));
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    let mut candidates: Vec<Vec<(String, LogicalPlan)>> = groups.into_values().filter(|g| g.len() > 1).collect();
    // Outer joins first: widening one widens the joins inside it alike.
    candidates.sort_by_key(|g| std::cmp::Reverse(g[0].0.len()));
    for group in candidates {
        let mut widened = Some(group[0].1.clone());
        for (_, member) in &group[1..] {
            widened = match widened {
                Some(w) => widen(&w, member)?,
                None => None,
            };
        }
        if let Some(widened) = widened {
            let members = group.into_iter().map(|(text, _)| text).collect();
            return Ok(Some((members, widened)));
        }
    }
    Ok(None)
}

/// `plan` with every join whose text is one of `members` replaced by `widened` under a
/// projection to that join's own columns.
fn replace_members(plan: LogicalPlan, members: &HashSet<String>, widened: &LogicalPlan) -> Result<LogicalPlan> {
    let widened = Arc::new(widened.clone());
    let out = plan.transform_down(|node| {
        if !matches!(node, LogicalPlan::Join(_)) || !members.contains(&format!("{node:?}")) {
            return Ok(Transformed::no(node));
        }
        let narrowed = builder::project_to(Arc::clone(&widened), node.schema());
        Ok(Transformed::new(narrowed, true, TreeNodeRecursion::Jump))
    })?;
    Ok(out.data)
}

/// A text equal for two subtrees exactly when [`widen`] can make one plan of them; `None`
/// when the subtree holds anything else.
pub(super) fn shape(plan: &LogicalPlan) -> Option<String> {
    match plan {
        LogicalPlan::Scan(s) => Some(format!(
            "Scan({:?}, {:?}, {:?}, {:?})",
            s.table_name,
            s.source,
            s.filters,
            s.schema.iter().next().map(|(q, _)| q)
        ))
        .filter(|_| s.filters.iter().all(Expr::is_repeatable)),
        LogicalPlan::Projection(p) if p.exprs.iter().all(|e| matches!(e, Expr::Column(_))) => {
            Some(format!("Projection({})", shape(&p.input)?))
        }
        LogicalPlan::SubqueryAlias(a) if keeps_names(&a.input.schema(), &a.schema) => {
            Some(format!("Alias({:?}, {})", a.alias, shape(&a.input)?))
        }
        LogicalPlan::Filter(f) if f.predicate.is_repeatable() => Some(format!(
            "Filter({:?}, {})",
            qualified(&f.predicate, &f.input.schema()),
            shape(&f.input)?
        )),
        LogicalPlan::Join(j)
            if j.on.iter().all(|(l, r)| l.is_repeatable() && r.is_repeatable())
                && j.filter.iter().all(Expr::is_repeatable) =>
        {
            let (left, right) = (j.left.schema(), j.right.schema());
            let on: Vec<_> =
                j.on.iter()
                    .map(|(l, r)| (qualified(l, &left), qualified(r, &right)))
                    .collect();
            Some(format!(
                "Join({:?}, {:?}, {:?}, {}, {})",
                j.join_type,
                on,
                j.filter.as_ref().map(|f| qualified(f, &j.schema)),
                shape(&j.left)?,
                shape(&j.right)?
            ))
        }
        _ => None,
    }
}

/// `expr` with each column named as `schema` names it, qualifier included, so that
/// `p_partkey = ps_partkey` and `part.p_partkey = partsupp.ps_partkey` read alike.
fn qualified(expr: &Expr, schema: &PlanSchema) -> Expr {
    expr.clone()
        .transform_up(|e| match &e {
            Expr::Column(c) => match schema.find(c) {
                Ok(Some(i)) => Ok(Transformed::yes(Expr::Column(schema.column_ref(i)))),
                _ => Ok(Transformed::no(e)),
            },
            _ => Ok(Transformed::no(e)),
        })
        .map_or_else(|_| expr.clone(), |t| t.data)
}

/// Whether an alias keeps its input's column names (it only requalifies them).
fn keeps_names(input: &PlanSchema, aliased: &PlanSchema) -> bool {
    input.len() == aliased.len() && (0..input.len()).all(|i| input.field(i).name() == aliased.field(i).name())
}

/// One plan with the columns of both `a` and `b` (of equal [`shape`]); `None` when that
/// would put two columns of one name in some node's output.
fn widen(a: &LogicalPlan, b: &LogicalPlan) -> Result<Option<LogicalPlan>> {
    let widened = match (a, b) {
        (LogicalPlan::Scan(x), LogicalPlan::Scan(y)) => widen_scan(x, y),
        (LogicalPlan::Projection(x), LogicalPlan::Projection(y)) => {
            let Some(input) = widen(&x.input, &y.input)? else {
                return Ok(None);
            };
            let mut exprs = x.exprs.clone();
            let mut fields: Vec<_> = (0..x.schema.len())
                .map(|i| (x.schema.qualifier(i).map(str::to_string), Arc::clone(x.schema.field(i))))
                .collect();
            for (i, e) in y.exprs.iter().enumerate() {
                if !exprs.contains(e) {
                    exprs.push(e.clone());
                    fields.push((y.schema.qualifier(i).map(str::to_string), Arc::clone(y.schema.field(i))));
                }
            }
            LogicalPlan::Projection(Projection {
                input: Arc::new(input),
                exprs,
                schema: Arc::new(PlanSchema::new(fields)),
            })
        }
        (LogicalPlan::SubqueryAlias(x), LogicalPlan::SubqueryAlias(y)) => {
            let Some(input) = widen(&x.input, &y.input)? else {
                return Ok(None);
            };
            builder::alias(Arc::new(input), &x.alias, &[])?
        }
        (LogicalPlan::Filter(x), LogicalPlan::Filter(y)) => {
            let Some(input) = widen(&x.input, &y.input)? else {
                return Ok(None);
            };
            LogicalPlan::Filter(Filter {
                input: Arc::new(input),
                predicate: x.predicate.clone(),
            })
        }
        (LogicalPlan::Join(x), LogicalPlan::Join(y)) => {
            let (Some(left), Some(right)) = (widen(&x.left, &y.left)?, widen(&x.right, &y.right)?) else {
                return Ok(None);
            };
            builder::join(
                Arc::new(left),
                Arc::new(right),
                x.on.clone(),
                x.filter.clone(),
                x.join_type,
            )
        }
        _ => return Ok(None),
    };
    Ok(unique_names(&widened.schema()).then_some(widened))
}

/// A scan of the columns either scan reads, in the source's order.
fn widen_scan(x: &Scan, y: &Scan) -> LogicalPlan {
    let mut columns: BTreeMap<usize, (Option<String>, Arc<arrow::datatypes::Field>)> = BTreeMap::new();
    for s in [x, y] {
        for i in 0..s.schema.len() {
            let base = s.projection.as_ref().map_or(i, |p| p[i]);
            columns
                .entry(base)
                .or_insert_with(|| (s.schema.qualifier(i).map(str::to_string), Arc::clone(s.schema.field(i))));
        }
    }
    let projection = columns.keys().copied().collect();
    LogicalPlan::Scan(Scan {
        table_name: x.table_name.clone(),
        source: x.source.clone(),
        projection: Some(projection),
        filters: x.filters.clone(),
        schema: Arc::new(PlanSchema::new(columns.into_values().collect())),
    })
}

/// Whether no two columns of `schema` share a name.
pub(super) fn unique_names(schema: &PlanSchema) -> bool {
    let mut seen = HashSet::new();
    (0..schema.len()).all(|i| seen.insert(schema.field(i).name().as_str()))
}
