//! Decorrelation: pulls the predicates that tie a subquery to its enclosing query (those with
//! [`Expr::OuterColumn`]s) up to the subquery's top, so the subquery becomes an ordinary plan
//! joined to the outer query on those predicates.
//!
//! Through a Filter, Projection, Sort or Distinct the predicates pass unchanged (the inner
//! columns they read are added to projections). Through an Aggregate each predicate must be an
//! equality `inner = outer`: the inner side joins the grouping keys, so the aggregate computes
//! one group per correlation value (the magic-set rewrite of TPC-H q2/q17/q20). Other shapes
//! are reported as not supported, naming what blocked them, and the caller flattens them
//! instead (`flatten.rs`); [`finish_flattened`] renames such a flattened plan for joining.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use super::flatten::{null_safe_eq, Flattened};
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::typecheck::TypeOptions;

/// A subquery plan with its correlation pulled to the top.
pub(super) struct Pulled {
    /// The plan, free of outer references; its output is the subquery's columns followed by
    /// any inner columns the conditions read.
    pub plan: LogicalPlan,
    /// Conditions over the plan's output columns and [`Expr::OuterColumn`]s (depth 1).
    pub conds: Vec<Expr>,
}

/// True when `e` reads a column of an enclosing query.
pub(super) fn expr_has_outer(e: &Expr) -> bool {
    e.exists(|n| Ok(matches!(n, Expr::OuterColumn { .. }))).unwrap_or(false)
}

/// True when any expression in `plan` reads a column of an enclosing query.
pub(super) fn has_outer(plan: &LogicalPlan) -> bool {
    plan.expressions().into_iter().any(expr_has_outer) || plan.inputs().into_iter().any(|i| has_outer(i))
}

fn blocked(what: &str) -> Error {
    Error::not_supported(format!("correlated subquery with {what}"))
}

/// Pulls the correlated predicates of `plan` to its top.
pub(super) fn pull_up(plan: &LogicalPlan, opts: TypeOptions) -> Result<Pulled> {
    if !has_outer(plan) {
        return Ok(Pulled {
            plan: plan.clone(),
            conds: vec![],
        });
    }
    match plan {
        LogicalPlan::Filter(f) => {
            let inner = pull_up(&f.input, opts)?;
            let schema = inner.plan.schema();
            let mut conds = inner.conds;
            let mut keep = Vec::new();
            for term in f.predicate.clone().split_conjunction() {
                if expr_has_outer(&term) {
                    conds.push(qualify_inner(term, &schema)?);
                } else {
                    keep.push(term);
                }
            }
            let plan = match Expr::conjunction(keep) {
                Some(p) => builder::filter(Arc::new(inner.plan), p, opts)?,
                None => inner.plan,
            };
            Ok(Pulled { plan, conds })
        }
        LogicalPlan::Projection(p) => {
            if p.exprs.iter().any(expr_has_outer) {
                return Err(blocked("an outer column in the subquery's select list"));
            }
            let inner = pull_up(&p.input, opts)?;
            let mut exprs = p.exprs.clone();
            for c in inner_columns(&inner.conds) {
                let col = Expr::Column(c);
                if !exprs.contains(&col) {
                    exprs.push(col);
                }
            }
            Ok(Pulled {
                plan: builder::project(Arc::new(inner.plan), exprs, opts)?,
                conds: inner.conds,
            })
        }
        LogicalPlan::Aggregate(a) => {
            if a.group_exprs.iter().chain(a.aggr_exprs.iter()).any(expr_has_outer) {
                return Err(blocked("an outer column inside an aggregate or GROUP BY"));
            }
            let inner = pull_up(&a.input, opts)?;
            let mut groups = a.group_exprs.clone();
            let mut keyed = Vec::new();
            for cond in inner.conds {
                let (inner_side, outer_side) =
                    split_equality(cond).ok_or_else(|| blocked("an aggregate over a non-equality correlation"))?;
                let index = match groups.iter().position(|g| *g == inner_side) {
                    Some(i) => i,
                    None => {
                        groups.push(inner_side);
                        groups.len() - 1
                    }
                };
                keyed.push((index, outer_side));
            }
            let plan = builder::aggregate(Arc::new(inner.plan), groups, a.aggr_exprs.clone(), opts)?;
            let schema = plan.schema();
            let conds = keyed
                .into_iter()
                .map(|(i, o)| Expr::Column(schema.column_ref(i)).binary(BinaryOp::Eq, o))
                .collect();
            Ok(Pulled { plan, conds })
        }
        LogicalPlan::Sort(s) => {
            let inner = pull_up(&s.input, opts)?;
            Ok(Pulled {
                plan: builder::sort(Arc::new(inner.plan), s.exprs.clone(), s.fetch),
                conds: inner.conds,
            })
        }
        LogicalPlan::Distinct(d) => {
            let inner = pull_up(&d.input, opts)?;
            Ok(Pulled {
                plan: builder::distinct(Arc::new(inner.plan)),
                conds: inner.conds,
            })
        }
        LogicalPlan::Join(j)
            if j.on.iter().all(|(l, r)| !expr_has_outer(l) && !expr_has_outer(r))
                && !j.filter.as_ref().is_some_and(expr_has_outer)
                && (j.join_type == JoinType::Inner || (j.join_type == JoinType::Left && !has_outer(&j.right))) =>
        {
            let left = pull_up(&j.left, opts)?;
            let right = pull_up(&j.right, opts)?;
            let mut conds = left.conds;
            conds.extend(right.conds);
            Ok(Pulled {
                plan: builder::join(
                    Arc::new(left.plan),
                    Arc::new(right.plan),
                    j.on.clone(),
                    j.filter.clone(),
                    j.join_type,
                ),
                conds,
            })
        }
        LogicalPlan::Join(_) => Err(blocked("an outer column in a join condition or an outer join")),
        LogicalPlan::Limit(_) => Err(blocked("LIMIT")),
        LogicalPlan::SubqueryAlias(_) => Err(blocked("an outer column inside a derived table")),
        LogicalPlan::Union(_) => Err(blocked("a set operation")),
        other => Err(blocked(&other.describe())),
    }
}

/// Every inner (non-outer) column the conditions read.
fn inner_columns(conds: &[Expr]) -> Vec<ColumnRef> {
    let mut out = Vec::new();
    for c in conds.iter().flat_map(|e| e.columns()) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Fully qualifies the inner columns of `term` against `schema` (so they stay unambiguous
/// when projected); outer references must point one level up.
fn qualify_inner(term: Expr, schema: &PlanSchema) -> Result<Expr> {
    let out = term.transform_up(|e| match e {
        Expr::Column(c) => {
            let i = schema.resolve(&c)?;
            Ok(Transformed::yes(Expr::Column(schema.column_ref(i))))
        }
        Expr::OuterColumn { depth, .. } if depth > 1 => {
            Err(blocked("a reference to a query more than one level up").into())
        }
        other => Ok(Transformed::no(other)),
    })?;
    Ok(out.data)
}

/// `inner = outer` (either order) → (inner, outer), when one side reads only inner columns
/// and the other only outer ones.
fn split_equality(cond: Expr) -> Option<(Expr, Expr)> {
    let Expr::Binary {
        left,
        op: BinaryOp::Eq,
        right,
    } = cond
    else {
        return None;
    };
    let inner_only = |e: &Expr| !expr_has_outer(e) && !e.columns().is_empty();
    let outer_only = |e: &Expr| expr_has_outer(e) && e.columns().is_empty();
    if inner_only(&left) && outer_only(&right) {
        Some((*left, *right))
    } else if inner_only(&right) && outer_only(&left) {
        Some((*right, *left))
    } else {
        None
    }
}

/// The pulled-up subquery renamed for joining: its columns become `__sq{id}_{i}` (plus an
/// optional `true` marker column), and the conditions read those names and the outer
/// query's own columns.
pub(super) struct Finished {
    /// The renamed plan.
    pub plan: LogicalPlan,
    /// Join conditions over (outer columns, renamed subquery columns).
    pub conds: Vec<Expr>,
    /// The renamed subquery's output columns (the original ones first).
    pub names: Vec<String>,
    /// The marker column, when asked for.
    pub mark: Option<String>,
    /// Flattened against the outer query's distinct values: every outer row has a match.
    pub flattened: bool,
}

/// Renames the pulled-up plan's columns uniquely and rewrites the conditions onto them.
pub(super) fn finish(pulled: Pulled, id: usize, with_mark: bool, opts: TypeOptions) -> Result<Finished> {
    let schema = pulled.plan.schema();
    let names: Vec<String> = (0..schema.len()).map(|i| format!("__sq{id}_{i}")).collect();
    let mut exprs: Vec<Expr> = (0..schema.len())
        .map(|i| Expr::Column(schema.column_ref(i)).alias(names[i].clone()))
        .collect();
    let mark = with_mark.then(|| format!("__sq{id}_mark"));
    if let Some(m) = &mark {
        exprs.push(Expr::Literal(datafusion_common::ScalarValue::Boolean(Some(true))).alias(m.clone()));
    }
    let plan = builder::project(Arc::new(pulled.plan), exprs, opts)?;
    let conds = pulled
        .conds
        .into_iter()
        .map(|c| {
            c.transform_up(|e| match e {
                Expr::Column(c) => {
                    let i = schema.resolve(&c)?;
                    Ok(Transformed::yes(Expr::Column(ColumnRef::new(names[i].clone()))))
                }
                Expr::OuterColumn { column, .. } => Ok(Transformed::yes(Expr::Column(column))),
                other => Ok(Transformed::no(other)),
            })
            .map(|t| t.data)
            .map_err(Error::from)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Finished {
        plan,
        conds,
        names,
        mark,
        flattened: false,
    })
}

/// Renames a flattened subquery like [`finish`]: its own columns become `__sq{id}_{i}`,
/// `D`'s columns `__sq{id}_d{j}`, and the conditions join `D`'s columns to the outer
/// columns they stand for, NULLs matching.
pub(super) fn finish_flattened(flat: Flattened, id: usize, with_mark: bool, opts: TypeOptions) -> Result<Finished> {
    let schema = flat.plan.schema();
    let k = flat.outer.len();
    let width = schema.len() - k;
    let names: Vec<String> = (0..width)
        .map(|i| format!("__sq{id}_{i}"))
        .chain((0..k).map(|j| format!("__sq{id}_d{j}")))
        .collect();
    let mut exprs: Vec<Expr> = (0..schema.len())
        .map(|i| Expr::Column(schema.column_ref(i)).alias(names[i].clone()))
        .collect();
    let mark = with_mark.then(|| format!("__sq{id}_mark"));
    if let Some(m) = &mark {
        exprs.push(Expr::Literal(datafusion_common::ScalarValue::Boolean(Some(true))).alias(m.clone()));
    }
    let plan = builder::project(Arc::new(flat.plan), exprs, opts)?;
    let mut conds = Vec::new();
    for (j, (column, data_type)) in flat.outer.into_iter().enumerate() {
        conds.extend(null_safe_eq(
            Expr::Column(column),
            Expr::Column(ColumnRef::new(names[width + j].clone())),
            &data_type,
        ));
    }
    Ok(Finished {
        plan,
        conds,
        names,
        mark,
        flattened: true,
    })
}
