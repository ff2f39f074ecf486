//! Rule `projection_pushdown`: scans read only the columns something above them uses, so a
//! Parquet scan decodes only those column chunks and a CSV scan parses only those fields.
//! Expressions refer to columns by name, so only scans (and the nodes whose schema is the
//! concatenation of their inputs' schemas) change shape.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::*;
use crate::logical::schema::{PlanSchema, PlanSchemaRef};
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct ProjectionPushdown;

impl OptimizerRule for ProjectionPushdown {
    fn name(&self) -> &'static str {
        "projection_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let all: BTreeSet<usize> = (0..plan.schema().len()).collect();
        let before = plan.to_string();
        let (out, _) = prune(plan, &all, opts)?;
        let changed = out.to_string() != before;
        Ok((out, changed))
    }
}

/// Indices (in `schema`) of the columns `exprs` reference.
fn referenced<'a>(exprs: impl IntoIterator<Item = &'a Expr>, schema: &PlanSchema) -> Result<BTreeSet<usize>> {
    let mut out = BTreeSet::new();
    for e in exprs {
        for c in e.columns() {
            if let Some(i) = schema.find(&c)? {
                out.insert(i);
            }
        }
    }
    Ok(out)
}

fn all_of(plan: &LogicalPlan) -> BTreeSet<usize> {
    (0..plan.schema().len()).collect()
}

/// Prunes columns below `plan` given the output columns `required` of it; returns the new
/// plan and which of the old output columns it still produces, in order.
fn prune(plan: LogicalPlan, required: &BTreeSet<usize>, opts: TypeOptions) -> Result<(LogicalPlan, Vec<usize>)> {
    match plan {
        LogicalPlan::Scan(mut s) => {
            let width = s.schema.len();
            let mut keep: Vec<usize> = required.iter().copied().filter(|&i| i < width).collect();
            // Filters applied by the scan need their columns too.
            let filter_cols = referenced(s.filters.iter(), &s.schema)?;
            keep.extend(filter_cols);
            keep.sort_unstable();
            keep.dedup();
            if keep.is_empty() && width > 0 {
                keep.push(0);
            }
            if keep.len() == width {
                return Ok((LogicalPlan::Scan(s), (0..width).collect()));
            }
            let base: Vec<usize> = match &s.projection {
                Some(p) => keep.iter().map(|&i| p[i]).collect(),
                None => keep.clone(),
            };
            let fields = keep
                .iter()
                .map(|&i| (s.schema.qualifier(i).map(str::to_string), Arc::clone(s.schema.field(i))))
                .collect();
            s.schema = Arc::new(PlanSchema::new(fields));
            s.projection = Some(base);
            Ok((LogicalPlan::Scan(s), keep))
        }
        LogicalPlan::Projection(p) => {
            // Keep only the expressions something above uses (at least one, so rows survive).
            let width = p.exprs.len();
            let mut keep: Vec<usize> = required.iter().copied().filter(|&i| i < width).collect();
            if keep.is_empty() && width > 0 {
                keep.push(0);
            }
            let exprs: Vec<Expr> = keep.iter().map(|&i| p.exprs[i].clone()).collect();
            let needed = referenced(exprs.iter(), &p.input.schema())?;
            let (input, _) = prune(Arc::unwrap_or_clone(p.input), &needed, opts)?;
            let fields = keep
                .iter()
                .map(|&i| (p.schema.qualifier(i).map(str::to_string), Arc::clone(p.schema.field(i))))
                .collect();
            Ok((
                LogicalPlan::Projection(Projection {
                    input: Arc::new(input),
                    exprs,
                    schema: Arc::new(PlanSchema::new(fields)),
                }),
                keep,
            ))
        }
        LogicalPlan::Filter(f) => {
            let mut needed = required.clone();
            needed.extend(referenced([&f.predicate], &f.input.schema())?);
            let (input, kept) = prune(Arc::unwrap_or_clone(f.input), &needed, opts)?;
            Ok((
                LogicalPlan::Filter(Filter {
                    input: Arc::new(input),
                    predicate: f.predicate,
                }),
                kept,
            ))
        }
        LogicalPlan::Sort(s) => {
            let mut needed = required.clone();
            needed.extend(referenced(s.exprs.iter().map(|e| &e.expr), &s.input.schema())?);
            let (input, kept) = prune(Arc::unwrap_or_clone(s.input), &needed, opts)?;
            Ok((
                LogicalPlan::Sort(Sort {
                    input: Arc::new(input),
                    ..s
                }),
                kept,
            ))
        }
        LogicalPlan::Replicate(r) => {
            let mut needed = required.clone();
            needed.extend(referenced([&r.count], &r.input.schema())?);
            let (input, kept) = prune(Arc::unwrap_or_clone(r.input), &needed, opts)?;
            Ok((
                LogicalPlan::Replicate(Replicate {
                    input: Arc::new(input),
                    count: r.count,
                }),
                kept,
            ))
        }
        LogicalPlan::Limit(l) => {
            let (input, kept) = prune(Arc::unwrap_or_clone(l.input), required, opts)?;
            Ok((
                LogicalPlan::Limit(Limit {
                    input: Arc::new(input),
                    ..l
                }),
                kept,
            ))
        }
        LogicalPlan::Aggregate(a) => {
            let needed = referenced(a.group_exprs.iter().chain(a.aggr_exprs.iter()), &a.input.schema())?;
            let (input, _) = prune(Arc::unwrap_or_clone(a.input), &needed, opts)?;
            let width = a.schema.len();
            Ok((
                LogicalPlan::Aggregate(Aggregate {
                    input: Arc::new(input),
                    ..a
                }),
                (0..width).collect(),
            ))
        }
        LogicalPlan::Window(w) => {
            // Keep every call; the input keeps what is required above plus what calls read.
            let width = w.input.schema().len();
            let mut needed: BTreeSet<usize> = required.iter().copied().filter(|&i| i < width).collect();
            needed.extend(referenced(w.window_exprs.iter(), &w.input.schema())?);
            let (input, kept) = prune(Arc::unwrap_or_clone(w.input), &needed, opts)?;
            let calls = w.window_exprs.len();
            let node = builder::window(Arc::new(input), w.window_exprs, opts)?;
            let kept = kept.into_iter().chain((0..calls).map(|i| width + i)).collect();
            Ok((node, kept))
        }
        LogicalPlan::SubqueryAlias(a) => {
            let (input, kept) = prune(Arc::unwrap_or_clone(a.input), required, opts)?;
            let fields = kept
                .iter()
                .map(|&i| (a.schema.qualifier(i).map(str::to_string), Arc::clone(a.schema.field(i))))
                .collect();
            let schema: PlanSchemaRef = Arc::new(PlanSchema::new(fields));
            Ok((
                LogicalPlan::SubqueryAlias(SubqueryAlias {
                    input: Arc::new(input),
                    alias: a.alias,
                    schema,
                }),
                kept,
            ))
        }
        LogicalPlan::Join(j) => {
            let (ls, rs) = (j.left.schema(), j.right.schema());
            let left_width = ls.len();
            let out_is_left_only = matches!(
                j.join_type,
                crate::logical::join_type::JoinType::LeftSemi | crate::logical::join_type::JoinType::LeftAnti
            );
            let out_is_right_only = matches!(
                j.join_type,
                crate::logical::join_type::JoinType::RightSemi | crate::logical::join_type::JoinType::RightAnti
            );
            let mut left_need = BTreeSet::new();
            let mut right_need = BTreeSet::new();
            for &i in required {
                if out_is_left_only {
                    left_need.insert(i);
                } else if out_is_right_only {
                    right_need.insert(i);
                } else if i < left_width {
                    left_need.insert(i);
                } else {
                    right_need.insert(i - left_width);
                }
            }
            left_need.extend(referenced(j.on.iter().map(|(l, _)| l), &ls)?);
            right_need.extend(referenced(j.on.iter().map(|(_, r)| r), &rs)?);
            if let Some(f) = &j.filter {
                left_need.extend(referenced([f], &ls)?);
                right_need.extend(referenced([f], &rs)?);
            }
            let (left, lkept) = prune(Arc::unwrap_or_clone(j.left), &left_need, opts)?;
            let (right, rkept) = prune(Arc::unwrap_or_clone(j.right), &right_need, opts)?;
            let kept: Vec<usize> = if out_is_left_only {
                lkept
            } else if out_is_right_only {
                rkept
            } else {
                lkept
                    .iter()
                    .copied()
                    .chain(rkept.iter().map(|i| i + left_width))
                    .collect()
            };
            Ok((
                builder::join(Arc::new(left), Arc::new(right), j.on, j.filter, j.join_type),
                kept,
            ))
        }
        other @ (LogicalPlan::Distinct(_) | LogicalPlan::Union(_) | LogicalPlan::RecursiveQuery(_)) => {
            // Every column matters to DISTINCT and to positional UNION (and to the rounds of
            // a recursive CTE, whose work table has the static term's columns).
            let inputs: Vec<Arc<LogicalPlan>> = other
                .inputs()
                .into_iter()
                .map(|i| {
                    let all = all_of(i);
                    prune(i.as_ref().clone(), &all, opts).map(|(p, _)| Arc::new(p))
                })
                .collect::<Result<_>>()?;
            let width = other.schema().len();
            Ok((other.with_new_inputs(inputs), (0..width).collect()))
        }
        other @ (LogicalPlan::Values(_)
        | LogicalPlan::EmptyRelation(_)
        | LogicalPlan::Range(_)
        | LogicalPlan::WorkTable(_)) => {
            let width = other.schema().len();
            Ok((other, (0..width).collect()))
        }
    }
}
