//! Rule `projection_pushdown`: scans read only the columns something above them uses, so a
//! Parquet scan decodes only those column chunks and a CSV scan parses only those fields.
//! Expressions refer to columns by name, so only scans (and the nodes whose schema is the
//! concatenation of their inputs' schemas) change shape.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::OptimizerRule;
use crate::error::Result;
use crate::io::source::FileFormat;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::*;
use crate::logical::schema::{PlanSchema, PlanSchemaRef};
use crate::logical::typecheck::TypeOptions;

/// See the module documentation. With `narrow_joins`, a join whose input is another join
/// also gets a projection between them dropping what the outer join does not need (see
/// [`narrow_join_input`]); that variant runs once after the fixpoint, as rule
/// `join_input_narrowing`, because join reordering treats projections as leaves.
pub struct ProjectionPushdown {
    /// Whether to project join inputs that are joins onto the columns used above them.
    pub narrow_joins: bool,
}

impl OptimizerRule for ProjectionPushdown {
    fn name(&self) -> &'static str {
        if self.narrow_joins {
            "join_input_narrowing"
        } else {
            "projection_pushdown"
        }
    }

    fn rewrite(&self, plan: LogicalPlan, opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let all: BTreeSet<usize> = (0..plan.schema().len()).collect();
        let before = plan.to_string();
        let pruning = Pruning {
            opts,
            narrow_joins: self.narrow_joins,
        };
        let (out, _) = pruning.prune(plan, &all)?;
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

/// A join's input that is itself a join outputs the keys it joined on, which nothing above
/// may read: put a projection onto the columns the outer join `need`s over it, so the wider
/// rows are not carried into the outer join's build side, shuffle or output. `kept` are
/// the old output indices `input` produces; returns the new input and its new `kept`.
fn narrow_join_input(
    input: LogicalPlan,
    kept: Vec<usize>,
    need: &BTreeSet<usize>,
    opts: TypeOptions,
) -> Result<(LogicalPlan, Vec<usize>)> {
    if !matches!(input, LogicalPlan::Join(_)) || kept.iter().all(|i| need.contains(i)) {
        return Ok((input, kept));
    }
    let schema = input.schema();
    let positions: Vec<usize> = (0..kept.len()).filter(|&p| need.contains(&kept[p])).collect();
    // A name that resolves ambiguously cannot be projected by reference: leave it wide.
    for &p in &positions {
        if schema.find(&schema.column_ref(p)).ok().flatten() != Some(p) {
            return Ok((input, kept));
        }
    }
    let exprs = positions.iter().map(|&p| Expr::Column(schema.column_ref(p))).collect();
    let narrowed = builder::project(Arc::new(input), exprs, opts)?;
    Ok((narrowed, positions.iter().map(|&p| kept[p]).collect()))
}

/// Whether a scan of `source` projected onto no columns still produces its rows: a Parquet
/// reader then counts them from the file's metadata and decodes nothing.
fn counts_rows_without_columns(source: &TableSource) -> bool {
    matches!(source, TableSource::File(f) if f.format == FileFormat::Parquet)
}

/// One pass of pruning.
struct Pruning {
    opts: TypeOptions,
    narrow_joins: bool,
}

impl Pruning {
    /// Which expressions of `p` to keep given the ones something above uses
    /// (`required`), and its input pruned for them.
    fn prune_projection(&self, p: &Projection, required: &BTreeSet<usize>) -> Result<(LogicalPlan, Vec<usize>)> {
        let width = p.exprs.len();
        let schema = p.input.schema();
        let keep: Vec<usize> = required.iter().copied().filter(|&i| i < width).collect();
        if !keep.is_empty() || width == 0 {
            let needed = referenced(keep.iter().map(|&i| &p.exprs[i]), &schema)?;
            let (input, _) = self.prune((*p.input).clone(), &needed)?;
            return Ok((input, keep));
        }
        // Nothing above reads any, yet the rows must survive (`count(*)`): keep none when
        // the input, pruned to no columns, still produces its rows without any; else one
        // expression over columns the input produces anyway (a scan's filter columns, or
        // none); else the first. The input is pruned once on this path, so nested
        // projections stay linear.
        let (input, kept) = self.prune((*p.input).clone(), &BTreeSet::new())?;
        if kept.is_empty() {
            return Ok((input, Vec::new()));
        }
        for (i, e) in p.exprs.iter().enumerate() {
            if referenced([e], &schema)?.iter().all(|c| kept.contains(c)) {
                return Ok((input, vec![i]));
            }
        }
        let needed = referenced([&p.exprs[0]], &schema)?;
        let (input, _) = self.prune((*p.input).clone(), &needed)?;
        Ok((input, vec![0]))
    }

    /// [`narrow_join_input`] when this pass narrows joins.
    fn narrow(
        &self,
        input: LogicalPlan,
        kept: Vec<usize>,
        need: &BTreeSet<usize>,
    ) -> Result<(LogicalPlan, Vec<usize>)> {
        if self.narrow_joins {
            narrow_join_input(input, kept, need, self.opts)
        } else {
            Ok((input, kept))
        }
    }

    /// Prunes columns below `plan` given the output columns `required` of it; returns the new
    /// plan and which of the old output columns it still produces, in order.
    fn prune(&self, plan: LogicalPlan, required: &BTreeSet<usize>) -> Result<(LogicalPlan, Vec<usize>)> {
        let opts = self.opts;
        match plan {
            LogicalPlan::Scan(mut s) => {
                let width = s.schema.len();
                let mut keep: Vec<usize> = required.iter().copied().filter(|&i| i < width).collect();
                // Filters applied by the scan need their columns too.
                let filter_cols = referenced(s.filters.iter(), &s.schema)?;
                keep.extend(filter_cols);
                keep.sort_unstable();
                keep.dedup();
                if keep.is_empty() && width > 0 && !counts_rows_without_columns(&s.source) {
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
                let (input, keep) = self.prune_projection(&p, required)?;
                let exprs: Vec<Expr> = keep.iter().map(|&i| p.exprs[i].clone()).collect();
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
                let (input, kept) = self.prune(Arc::unwrap_or_clone(f.input), &needed)?;
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
                let (input, kept) = self.prune(Arc::unwrap_or_clone(s.input), &needed)?;
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
                let (input, kept) = self.prune(Arc::unwrap_or_clone(r.input), &needed)?;
                Ok((
                    LogicalPlan::Replicate(Replicate {
                        input: Arc::new(input),
                        count: r.count,
                    }),
                    kept,
                ))
            }
            LogicalPlan::Limit(l) => {
                let (input, kept) = self.prune(Arc::unwrap_or_clone(l.input), required)?;
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
                let (input, _) = self.prune(Arc::unwrap_or_clone(a.input), &needed)?;
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
                let (input, kept) = self.prune(Arc::unwrap_or_clone(w.input), &needed)?;
                let calls = w.window_exprs.len();
                let node = builder::window(Arc::new(input), w.window_exprs, opts)?;
                let kept = kept.into_iter().chain((0..calls).map(|i| width + i)).collect();
                Ok((node, kept))
            }
            LogicalPlan::SubqueryAlias(a) => {
                let (input, kept) = self.prune(Arc::unwrap_or_clone(a.input), required)?;
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
                let (left, lkept) = self.prune(Arc::unwrap_or_clone(j.left), &left_need)?;
                let (left, lkept) = self.narrow(left, lkept, &left_need)?;
                let (right, rkept) = self.prune(Arc::unwrap_or_clone(j.right), &right_need)?;
                let (right, rkept) = self.narrow(right, rkept, &right_need)?;
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
                        self.prune(i.as_ref().clone(), &all).map(|(p, _)| Arc::new(p))
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
}
