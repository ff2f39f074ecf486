//! Rule `predicate_pushdown`: moves filter conjuncts as close to the data as they can go —
//! through projections (substituting expressions), aliases, sorts and DISTINCT, into the
//! sides of joins (and turning `a.x = b.y` over a cross join into hash-join keys), below
//! aggregates when they only test grouping columns, below windows when they only test
//! partition keys, and finally into scans, where they skip
//! Parquet row groups and are applied as the data is read.

use super::or_factoring::{implied_on, split_conjunction_factored};
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::error::Result;
use crate::frontend::sql::{refers_only_to, split_join_condition};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct PredicatePushdown;

impl OptimizerRule for PredicatePushdown {
    fn name(&self) -> &'static str {
        "predicate_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let before = plan.to_string();
        let out = push(plan, vec![], opts)?;
        let changed = out.to_string() != before;
        Ok((out, changed))
    }
}

fn wrap(plan: LogicalPlan, predicates: Vec<Expr>, opts: TypeOptions) -> Result<LogicalPlan> {
    match Expr::conjunction(predicates) {
        Some(p) => builder::filter(Arc::new(plan), p, opts),
        None => Ok(plan),
    }
}

/// Replaces each column reference (resolved in `schema`) by `map(index)`.
fn substitute(e: &Expr, schema: &PlanSchema, map: &dyn Fn(usize) -> Expr) -> Result<Expr> {
    let out = e.clone().transform_up(|node| match &node {
        Expr::Column(c) => {
            let i = schema.resolve(c)?;
            Ok(Transformed::yes(map(i)))
        }
        _ => Ok(Transformed::no(node)),
    })?;
    Ok(out.data)
}

fn push(plan: LogicalPlan, mut preds: Vec<Expr>, opts: TypeOptions) -> Result<LogicalPlan> {
    match plan {
        LogicalPlan::Filter(f) => {
            // This filter's conjuncts first, then those from above: stacked filters keep the
            // order they were written in (`.filter(a).filter(b)` is `a AND b`).
            let mut here = split_conjunction_factored(f.predicate);
            here.append(&mut preds);
            push(Arc::unwrap_or_clone(f.input), here, opts)
        }
        LogicalPlan::Projection(p) => {
            let schema = Arc::clone(&p.schema);
            let (mut down, mut keep) = (Vec::new(), Vec::new());
            for pred in preds {
                let pushable = pred.columns().iter().all(|c| {
                    schema
                        .find(c)
                        .ok()
                        .flatten()
                        .is_some_and(|i| !p.exprs[i].contains_aggregate())
                });
                if pushable {
                    down.push(substitute(&pred, &schema, &|i| p.exprs[i].clone().unalias())?);
                } else {
                    keep.push(pred);
                }
            }
            let input = push(Arc::unwrap_or_clone(p.input), down, opts)?;
            let node = LogicalPlan::Projection(Projection {
                input: Arc::new(input),
                exprs: p.exprs,
                schema: p.schema,
            });
            wrap(node, keep, opts)
        }
        LogicalPlan::SubqueryAlias(a) => {
            let inner = a.input.schema();
            let down = preds
                .iter()
                .map(|pred| substitute(pred, &a.schema, &|i| Expr::Column(inner.column_ref(i))))
                .collect::<Result<Vec<_>>>()?;
            let input = push(Arc::unwrap_or_clone(a.input), down, opts)?;
            Ok(LogicalPlan::SubqueryAlias(SubqueryAlias {
                input: Arc::new(input),
                ..a
            }))
        }
        LogicalPlan::Sort(s) => {
            let input = push(Arc::unwrap_or_clone(s.input), preds, opts)?;
            Ok(LogicalPlan::Sort(Sort {
                input: Arc::new(input),
                ..s
            }))
        }
        LogicalPlan::Replicate(r) => {
            // Copies of a row pass a filter exactly when the row does.
            let input = push(Arc::unwrap_or_clone(r.input), preds, opts)?;
            Ok(LogicalPlan::Replicate(Replicate {
                input: Arc::new(input),
                count: r.count,
            }))
        }
        LogicalPlan::Distinct(d) => {
            let input = push(Arc::unwrap_or_clone(d.input), preds, opts)?;
            Ok(LogicalPlan::Distinct(Distinct { input: Arc::new(input) }))
        }
        LogicalPlan::Aggregate(a) => {
            let schema = Arc::clone(&a.schema);
            let (mut down, mut keep) = (Vec::new(), Vec::new());
            for pred in preds {
                let on_keys = !pred.columns().is_empty()
                    && pred
                        .columns()
                        .iter()
                        .all(|c| schema.find(c).ok().flatten().is_some_and(|i| i < a.group_exprs.len()));
                if on_keys {
                    down.push(substitute(&pred, &schema, &|i| a.group_exprs[i].clone())?);
                } else {
                    keep.push(pred);
                }
            }
            let input = push(Arc::unwrap_or_clone(a.input), down, opts)?;
            let node = LogicalPlan::Aggregate(Aggregate {
                input: Arc::new(input),
                ..a
            });
            wrap(node, keep, opts)
        }
        LogicalPlan::Window(w) => {
            // Only filters on partition keys (plain input columns) commute with a window:
            // they remove whole partitions.
            let in_schema = w.input.schema();
            let keys: Vec<usize> = match w.window_exprs.first() {
                Some(Expr::Window(call)) => call
                    .partition_by
                    .iter()
                    .filter_map(|k| match k {
                        Expr::Column(c) => in_schema.find(c).ok().flatten(),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            };
            let schema = Arc::clone(&w.schema);
            let (mut down, mut keep) = (Vec::new(), Vec::new());
            for pred in preds {
                let on_keys = !pred.columns().is_empty()
                    && pred
                        .columns()
                        .iter()
                        .all(|c| schema.find(c).ok().flatten().is_some_and(|i| keys.contains(&i)));
                if on_keys {
                    down.push(substitute(&pred, &schema, &|i| Expr::Column(in_schema.column_ref(i)))?);
                } else {
                    keep.push(pred);
                }
            }
            let input = push(Arc::unwrap_or_clone(w.input), down, opts)?;
            let node = LogicalPlan::Window(Window {
                input: Arc::new(input),
                ..w
            });
            wrap(node, keep, opts)
        }
        LogicalPlan::Join(j) => push_join(j, preds, opts),
        LogicalPlan::Union(u) => {
            let mut inputs = Vec::with_capacity(u.inputs.len());
            for input in u.inputs {
                let inner = input.schema();
                let down = preds
                    .iter()
                    .map(|pred| substitute(pred, &u.schema, &|i| Expr::Column(inner.column_ref(i))))
                    .collect::<Result<Vec<_>>>()?;
                inputs.push(Arc::new(push(Arc::unwrap_or_clone(input), down, opts)?));
            }
            Ok(LogicalPlan::Union(Union {
                inputs,
                schema: u.schema,
            }))
        }
        LogicalPlan::Scan(mut s) => {
            for pred in preds {
                if !s.filters.contains(&pred) {
                    s.filters.push(pred);
                }
            }
            Ok(LogicalPlan::Scan(s))
        }
        LogicalPlan::Limit(l) => {
            let input = push(Arc::unwrap_or_clone(l.input), vec![], opts)?;
            wrap(
                LogicalPlan::Limit(Limit {
                    input: Arc::new(input),
                    ..l
                }),
                preds,
                opts,
            )
        }
        LogicalPlan::RecursiveQuery(r) => {
            // Rows of later rounds come from earlier ones: nothing moves into either term.
            let inputs = vec![
                Arc::new(push(r.static_term.as_ref().clone(), vec![], opts)?),
                Arc::new(push(r.recursive_term.as_ref().clone(), vec![], opts)?),
            ];
            wrap(LogicalPlan::RecursiveQuery(r).with_new_inputs(inputs), preds, opts)
        }
        other @ (LogicalPlan::Values(_)
        | LogicalPlan::EmptyRelation(_)
        | LogicalPlan::Range(_)
        | LogicalPlan::WorkTable(_)) => wrap(other, preds, opts),
    }
}

fn push_join(j: Join, preds: Vec<Expr>, opts: TypeOptions) -> Result<LogicalPlan> {
    let (ls, rs) = (j.left.schema(), j.right.schema());
    let mut left_preds = Vec::new();
    let mut right_preds = Vec::new();
    let mut keep = Vec::new();
    let mut on = j.on.clone();
    let mut filter_terms: Vec<Expr> = j.filter.clone().map(split_conjunction_factored).unwrap_or_default();
    let inner = j.join_type == JoinType::Inner;
    // For inner joins the join's own residual conditions can move too.
    let from_above = preds.len();
    let mut candidates = preds;
    if inner {
        candidates.append(&mut filter_terms);
    } else {
        // An outer, semi or anti join's own condition on its other side alone only decides
        // which of those rows can match: they can be dropped before the join.
        let (onto_left, onto_right) = match j.join_type {
            JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => (false, true),
            JoinType::Right | JoinType::RightSemi | JoinType::RightAnti => (true, false),
            _ => (false, false),
        };
        let mut kept = Vec::with_capacity(filter_terms.len());
        for term in filter_terms {
            if onto_right && refers_only_to(&term, &rs)? {
                right_preds.push(term);
            } else if onto_left && refers_only_to(&term, &ls)? {
                left_preds.push(term);
            } else {
                kept.push(term);
            }
        }
        filter_terms = kept;
    }
    for (position, pred) in candidates.into_iter().enumerate() {
        let only_left = refers_only_to(&pred, &ls)?;
        let only_right = refers_only_to(&pred, &rs)?;
        let left_ok = matches!(
            j.join_type,
            JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti
        );
        let right_ok = matches!(
            j.join_type,
            JoinType::Inner | JoinType::Right | JoinType::RightSemi | JoinType::RightAnti
        );
        if only_left && left_ok {
            left_preds.push(pred);
        } else if only_right && right_ok {
            right_preds.push(pred);
        } else if inner {
            // A condition arriving from above (once: afterwards it is the join's own) may
            // imply a filter on one side, which goes down while the join keeps the condition.
            if position < from_above {
                left_preds.extend(implied_on(&pred, &ls)?);
                right_preds.extend(implied_on(&pred, &rs)?);
            }
            let (keys, rest) = split_join_condition(Some(pred), &ls, &rs)?;
            on.extend(keys);
            filter_terms.extend(rest);
        } else {
            keep.push(pred);
        }
    }
    let left = push(Arc::unwrap_or_clone(j.left), left_preds, opts)?;
    let right = push(Arc::unwrap_or_clone(j.right), right_preds, opts)?;
    let node = builder::join(
        Arc::new(left),
        Arc::new(right),
        on,
        Expr::conjunction(filter_terms),
        j.join_type,
    );
    wrap(node, keep, opts)
}
