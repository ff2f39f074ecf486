//! General decorrelation of a subquery: the dependent join of the outer query with the
//! subquery is flattened by pushing it down through the subquery's operators (Neumann &
//! Kemper, "Unnesting Arbitrary Queries", as DuckDB does).
//!
//! `D` is the set of distinct values of the outer columns the subquery reads
//! (`SELECT DISTINCT c1 AS __d{id}_0, … FROM outer`). [`Flattener::dep`] rewrites every
//! operator that reads an outer column (directly or below it) so that it computes its rows
//! for every row of `D` at once, carrying `D`'s columns after its own:
//!
//! - an operator with no outer reference below it is cross-joined with `D`;
//! - filters and projections read `D`'s columns instead of the outer ones (projections pass
//!   them through);
//! - a grouped aggregate adds them to its GROUP BY; an ungrouped one groups by them and is
//!   left-joined from `D`, so a `D` row with no input still gets its one row (count 0, other
//!   aggregates NULL: the "count bug");
//! - window functions add them to PARTITION BY; LIMIT/OFFSET becomes a `row_number()` per
//!   `D` row; set operations get them on every input; joins get them on the side(s) that
//!   read outer columns (both sides: joined on equal `D` columns too);
//! - references to queries further out (depth > 1) move one level closer, to be flattened
//!   when the enclosing subquery is.
//!
//! The caller joins the result back to the outer query on the `D` columns with IS NOT
//! DISTINCT FROM semantics ([`null_safe_eq`]).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::ScalarValue;

use super::from::split_join_condition;
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::functions::ScalarFunc;
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::typecheck::TypeOptions;
use crate::logical::window::{WindowExpr, WindowFrame, WindowFunc};

fn blocked(what: &str) -> Error {
    Error::not_supported(format!("correlated subquery with {what}"))
}

/// True when `e` reads a column of the query directly enclosing the subquery.
pub(super) fn expr_has_local(e: &Expr) -> bool {
    e.exists(|n| Ok(matches!(n, Expr::OuterColumn { depth: 1, .. })))
        .unwrap_or(false)
}

/// True when some expression of `plan` reads a column of the directly enclosing query.
pub(super) fn has_local(plan: &LogicalPlan) -> bool {
    plan.expressions().into_iter().any(expr_has_local) || plan.inputs().into_iter().any(|i| has_local(i))
}

/// True when some expression of `plan` reads a column of a query more than one level up.
pub(super) fn has_deep_outer(plan: &LogicalPlan) -> bool {
    let deep = |e: &Expr| {
        e.exists(|n| Ok(matches!(n, Expr::OuterColumn { depth, .. } if *depth > 1)))
            .unwrap_or(false)
    };
    plan.expressions().into_iter().any(deep) || plan.inputs().into_iter().any(|i| has_deep_outer(i))
}

/// The distinct outer columns (depth 1) `plan` reads, in first-seen order.
fn local_columns(plan: &LogicalPlan, out: &mut Vec<(ColumnRef, DataType)>) {
    for e in plan.expressions() {
        let _ = e.apply(|n| {
            if let Expr::OuterColumn {
                column,
                data_type,
                depth: 1,
            } = n
            {
                if !out.iter().any(|(c, _)| c == column) {
                    out.push((column.clone(), data_type.clone()));
                }
            }
            Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
        });
    }
    for i in plan.inputs() {
        local_columns(i, out);
    }
}

/// A value of type `t` that is never NULL, to stand for NULL in a null-safe join key.
fn non_null_value(t: &DataType) -> Option<ScalarValue> {
    match t {
        DataType::Utf8 => Some(ScalarValue::Utf8(Some(String::new()))),
        DataType::LargeUtf8 => Some(ScalarValue::LargeUtf8(Some(String::new()))),
        DataType::Utf8View => Some(ScalarValue::Utf8View(Some(String::new()))),
        DataType::Boolean => Some(ScalarValue::Boolean(Some(false))),
        t => ScalarValue::new_zero(t).ok().filter(|v| !v.is_null()),
    }
}

/// `a IS NOT DISTINCT FROM b` as terms a hash join can use as keys: `(a IS NULL) = (b IS
/// NULL)` and `coalesce(a, z) = coalesce(b, z)` for a non-NULL `z` of their type `t`.
pub(super) fn null_safe_eq(a: Expr, b: Expr, t: &DataType) -> Vec<Expr> {
    match non_null_value(t) {
        Some(z) => {
            let fill = |e: Expr| Expr::Function {
                func: ScalarFunc::Coalesce,
                args: vec![e, Expr::Literal(z.clone())],
            };
            vec![
                Expr::IsNull(Box::new(a.clone())).binary(BinaryOp::Eq, Expr::IsNull(Box::new(b.clone()))),
                fill(a).binary(BinaryOp::Eq, fill(b)),
            ]
        }
        None => vec![a.binary(BinaryOp::IsNotDistinctFrom, b)],
    }
}

/// Rewrites the expressions of every node of `plan` with `f`, keeping the nodes' schemas
/// (for rewrites that do not change output names).
fn map_plan_exprs(plan: &LogicalPlan, f: &dyn Fn(Expr) -> Result<Expr>) -> Result<LogicalPlan> {
    let inputs = plan
        .inputs()
        .into_iter()
        .map(|i| map_plan_exprs(i, f).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    let node = plan.with_new_inputs(inputs);
    let all = |v: &[Expr]| v.iter().cloned().map(f).collect::<Result<Vec<_>>>();
    Ok(match node {
        LogicalPlan::Scan(mut s) => {
            s.filters = all(&s.filters)?;
            LogicalPlan::Scan(s)
        }
        LogicalPlan::Filter(mut x) => {
            x.predicate = f(x.predicate)?;
            LogicalPlan::Filter(x)
        }
        LogicalPlan::Projection(mut p) => {
            p.exprs = all(&p.exprs)?;
            LogicalPlan::Projection(p)
        }
        LogicalPlan::Aggregate(mut a) => {
            a.group_exprs = all(&a.group_exprs)?;
            a.aggr_exprs = all(&a.aggr_exprs)?;
            LogicalPlan::Aggregate(a)
        }
        LogicalPlan::Join(mut j) => {
            j.on =
                j.on.into_iter()
                    .map(|(l, r)| Ok((f(l)?, f(r)?)))
                    .collect::<Result<Vec<_>>>()?;
            j.filter = j.filter.map(f).transpose()?;
            LogicalPlan::Join(j)
        }
        LogicalPlan::Sort(mut s) => {
            for e in &mut s.exprs {
                e.expr = f(e.expr.clone())?;
            }
            LogicalPlan::Sort(s)
        }
        LogicalPlan::Values(mut v) => {
            v.rows = v.rows.iter().map(|r| all(r)).collect::<Result<Vec<_>>>()?;
            LogicalPlan::Values(v)
        }
        LogicalPlan::Replicate(mut r) => {
            r.count = f(r.count)?;
            LogicalPlan::Replicate(r)
        }
        LogicalPlan::Window(mut w) => {
            w.window_exprs = all(&w.window_exprs)?;
            LogicalPlan::Window(w)
        }
        other => other,
    })
}

/// Moves references to queries more than one level up one level closer (the subquery they
/// sit in is being merged into its enclosing query).
fn shift_deep(e: Expr) -> Result<Expr> {
    e.shift_outer_depth(-1, 2)
}

/// `plan` (bound one scope further in, but reading nothing of that scope) with its
/// references to queries further out moved one level closer.
pub(super) fn shift_out(plan: &LogicalPlan) -> Result<LogicalPlan> {
    map_plan_exprs(plan, &shift_deep)
}

/// `plan` as seen from one query level further in: its outer references point one level
/// further (a CTE with correlated references used inside a nested subquery).
pub(super) fn deepen(plan: &Arc<LogicalPlan>) -> Arc<LogicalPlan> {
    let has_outer = |p: &LogicalPlan| super::decorrelate::has_outer(p);
    if !has_outer(plan) {
        return Arc::clone(plan);
    }
    let deeper = |e: Expr| e.shift_outer_depth(1, 1);
    map_plan_exprs(plan, &deeper).map_or_else(|_| Arc::clone(plan), Arc::new)
}

/// A correlated subquery flattened against its outer query.
pub(super) struct Flattened {
    /// The subquery's columns followed by `D`'s columns.
    pub plan: LogicalPlan,
    /// The outer columns (as the outer query resolves them) and their types, in `D` order.
    pub outer: Vec<(ColumnRef, DataType)>,
}

/// Flattens `sub` (whose depth-1 outer references point into `outer`) into a plan computed
/// for every distinct value of the outer columns it reads. Outer references further out are
/// kept, one level closer.
pub(super) fn flatten(outer: &LogicalPlan, sub: &LogicalPlan, id: usize, opts: TypeOptions) -> Result<Flattened> {
    let mut cols = Vec::new();
    local_columns(sub, &mut cols);
    if cols.is_empty() {
        return Ok(Flattened {
            plan: map_plan_exprs(sub, &shift_deep)?,
            outer: cols,
        });
    }
    let names: Vec<String> = (0..cols.len()).map(|j| format!("__d{id}_{j}")).collect();
    let exprs = cols
        .iter()
        .zip(&names)
        .map(|((c, _), n)| Expr::Column(c.clone()).alias(n.clone()))
        .collect();
    let d = builder::distinct(Arc::new(builder::project(Arc::new(outer.clone()), exprs, opts)?));
    let f = Flattener {
        d: Arc::new(d),
        cols: cols.iter().map(|(c, _)| c.clone()).collect(),
        types: cols.iter().map(|(_, t)| t.clone()).collect(),
        names,
        opts,
    };
    Ok(Flattened {
        plan: f.dep(sub)?,
        outer: cols,
    })
}

/// Pushes the dependent join with `D` down a subquery plan.
struct Flattener {
    /// `SELECT DISTINCT outer columns AS names FROM outer`.
    d: Arc<LogicalPlan>,
    /// The outer columns, by `D` column.
    cols: Vec<ColumnRef>,
    /// Their types.
    types: Vec<DataType>,
    /// `D`'s column names.
    names: Vec<String>,
    opts: TypeOptions,
}

impl Flattener {
    fn k(&self) -> usize {
        self.names.len()
    }

    /// References to `D`'s columns.
    fn d_cols(&self) -> Vec<Expr> {
        self.names
            .iter()
            .map(|n| Expr::Column(ColumnRef::new(n.clone())))
            .collect()
    }

    /// `D`'s column names on the right side of a join with another copy of them.
    fn right_names(&self) -> Vec<String> {
        self.names.iter().map(|n| format!("{n}_r")).collect()
    }

    /// `D`'s columns equal (NULLs matching) to their copies named by [`Self::right_names`].
    fn d_equal(&self) -> Vec<Expr> {
        self.names
            .iter()
            .zip(self.right_names())
            .zip(&self.types)
            .flat_map(|((l, r), t)| {
                null_safe_eq(
                    Expr::Column(ColumnRef::new(l.clone())),
                    Expr::Column(ColumnRef::new(r)),
                    t,
                )
            })
            .collect()
    }

    /// Outer references read `D`'s columns; deeper ones move one level closer.
    fn rewrite(&self, e: Expr) -> Result<Expr> {
        Ok(e.transform_up(|n| match n {
            Expr::OuterColumn { column, depth: 1, .. } => {
                let j =
                    self.cols.iter().position(|c| *c == column).ok_or_else(|| {
                        Error::internal(format!("outer column {column} missing from the dependent join"))
                    })?;
                Ok(Transformed::yes(Expr::Column(ColumnRef::new(self.names[j].clone()))))
            }
            Expr::OuterColumn {
                column,
                data_type,
                depth,
            } if depth > 1 => Ok(Transformed::yes(Expr::OuterColumn {
                column,
                data_type,
                depth: depth - 1,
            })),
            other => Ok(Transformed::no(other)),
        })?
        .data)
    }

    fn rewrite_all(&self, v: &[Expr]) -> Result<Vec<Expr>> {
        v.iter().map(|e| self.rewrite(e.clone())).collect()
    }

    /// `rewrite(e)` keeping `e`'s output name.
    fn rewrite_named(&self, e: &Expr) -> Result<Expr> {
        let out = self.rewrite(e.clone())?;
        Ok(if out.output_name() == e.output_name() {
            out
        } else {
            out.unalias().alias(e.output_name())
        })
    }

    /// A projection of `plan` giving the columns at `positions` named as in `orig`, then
    /// `D`'s columns (at `d_positions`).
    fn reorder(
        &self,
        plan: LogicalPlan,
        orig: &PlanSchema,
        positions: impl Iterator<Item = usize>,
        d_positions: impl Iterator<Item = usize>,
    ) -> Result<LogicalPlan> {
        let s = plan.schema();
        let mut exprs = Vec::new();
        for (i, p) in positions.enumerate() {
            let c = Expr::Column(s.column_ref(p));
            let same = s.field(p).name() == orig.field(i).name() && s.qualifier(p) == orig.qualifier(i);
            exprs.push(if same { c } else { c.alias(orig.field(i).name().clone()) });
        }
        for (j, p) in d_positions.enumerate() {
            let c = Expr::Column(s.column_ref(p));
            exprs.push(if *s.field(p).name() == self.names[j] {
                c
            } else {
                c.alias(self.names[j].clone())
            });
        }
        builder::project(Arc::new(plan), exprs, self.opts)
    }

    /// `plan` computed for every row of `D`: its columns followed by `D`'s.
    fn dep(&self, plan: &LogicalPlan) -> Result<LogicalPlan> {
        let k = self.k();
        if !has_local(plan) {
            let base = map_plan_exprs(plan, &shift_deep)?;
            return Ok(builder::join(
                Arc::new(base),
                Arc::clone(&self.d),
                vec![],
                None,
                JoinType::Inner,
            ));
        }
        match plan {
            LogicalPlan::Filter(f) => {
                let input = self.dep(&f.input)?;
                builder::filter(Arc::new(input), self.rewrite(f.predicate.clone())?, self.opts)
            }
            LogicalPlan::Projection(p) => {
                let input = self.dep(&p.input)?;
                let mut exprs = p
                    .exprs
                    .iter()
                    .map(|e| self.rewrite_named(e))
                    .collect::<Result<Vec<_>>>()?;
                exprs.extend(self.d_cols());
                builder::project(Arc::new(input), exprs, self.opts)
            }
            LogicalPlan::Aggregate(a) if a.group_exprs.is_empty() => self.ungrouped(a),
            LogicalPlan::Aggregate(a) => {
                let input = self.dep(&a.input)?;
                let mut groups = self.rewrite_all(&a.group_exprs)?;
                let g = groups.len();
                groups.extend(self.d_cols());
                let aggs = self.rewrite_all(&a.aggr_exprs)?;
                let m = aggs.len();
                let agg = builder::aggregate(Arc::new(input), groups, aggs, self.opts)?;
                self.reorder(agg, &a.schema, (0..g).chain(g + k..g + k + m), g..g + k)
            }
            LogicalPlan::Distinct(d) => Ok(builder::distinct(Arc::new(self.dep(&d.input)?))),
            LogicalPlan::Sort(s) if s.fetch.is_none() => {
                let input = self.dep(&s.input)?;
                let exprs = s
                    .exprs
                    .iter()
                    .map(|e| {
                        Ok(SortExpr {
                            expr: self.rewrite(e.expr.clone())?,
                            ..e.clone()
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(builder::sort(Arc::new(input), exprs, None))
            }
            LogicalPlan::Sort(s) => self.limited(&s.input, &s.exprs, 0, s.fetch),
            LogicalPlan::Limit(l) => match l.input.as_ref() {
                LogicalPlan::Sort(s) => {
                    let fetch = match (s.fetch, l.fetch) {
                        (Some(a), Some(b)) => Some(a.min(l.skip + b)),
                        (a, None) => a,
                        (None, Some(b)) => Some(l.skip + b),
                    };
                    self.limited(&s.input, &s.exprs, 0, fetch)
                        .and_then(|p| self.skip_fetch(p, l.skip, l.fetch, &s.exprs))
                }
                _ => self.limited(&l.input, &[], l.skip, l.fetch),
            },
            LogicalPlan::SubqueryAlias(s) => {
                let input = self.dep(&s.input)?;
                let mut names: Vec<String> = s.schema.iter().map(|(_, f)| f.name().clone()).collect();
                names.extend(self.names.iter().cloned());
                builder::alias(Arc::new(input), &s.alias, &names)
            }
            LogicalPlan::Union(u) => {
                let inputs = u
                    .inputs
                    .iter()
                    .map(|i| self.dep(i).map(Arc::new))
                    .collect::<Result<Vec<_>>>()?;
                if u.schema.iter().any(|(q, _)| q.is_some()) {
                    builder::union_all_qualified(inputs)
                } else {
                    builder::union_all(inputs)
                }
            }
            LogicalPlan::Replicate(r) => {
                let input = self.dep(&r.input)?;
                Ok(builder::replicate(Arc::new(input), self.rewrite(r.count.clone())?))
            }
            LogicalPlan::Window(w) => {
                let input = self.dep(&w.input)?;
                let n = w.input.schema().len();
                let exprs = w
                    .window_exprs
                    .iter()
                    .map(|e| match self.rewrite(e.clone())? {
                        Expr::Window(mut we) => {
                            we.partition_by.extend(self.d_cols());
                            Ok(Expr::Window(we))
                        }
                        other => Err(Error::internal(format!("{other} is not a window function call"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let m = exprs.len();
                let win = builder::window(Arc::new(input), exprs, self.opts)?;
                self.reorder(win, &w.schema, (0..n).chain(n + k..n + k + m), n..n + k)
            }
            LogicalPlan::Values(v) => {
                let names: Vec<String> = v.schema.iter().map(|(_, f)| f.name().clone()).collect();
                let rows = v
                    .rows
                    .iter()
                    .map(|row| {
                        let mut exprs = row
                            .iter()
                            .zip(&names)
                            .map(|(e, n)| Ok(self.rewrite(e.clone())?.alias(n.clone())))
                            .collect::<Result<Vec<_>>>()?;
                        exprs.extend(self.d_cols());
                        builder::project(Arc::clone(&self.d), exprs, self.opts).map(Arc::new)
                    })
                    .collect::<Result<Vec<_>>>()?;
                builder::union_all(rows)
            }
            LogicalPlan::Join(j) => self.join(j),
            LogicalPlan::RecursiveQuery(_) => Err(blocked("a recursive CTE")),
            other => Err(blocked(&other.describe())),
        }
    }

    /// An ungrouped aggregate per `D` row: grouped by `D`'s columns and left-joined from
    /// `D`, so `D` rows without input rows get the aggregates' values over no rows.
    fn ungrouped(&self, a: &Aggregate) -> Result<LogicalPlan> {
        let k = self.k();
        let input = self.dep(&a.input)?;
        let aggs = self.rewrite_all(&a.aggr_exprs)?;
        let m = aggs.len();
        let agg = builder::aggregate(Arc::new(input), self.d_cols(), aggs, self.opts)?;
        let s = agg.schema();
        let right_names = self.right_names();
        let agg_names: Vec<String> = (0..m).map(|i| format!("{}_a{i}", self.names[0])).collect();
        let mut exprs: Vec<Expr> = (0..m)
            .map(|i| Expr::Column(s.column_ref(k + i)).alias(agg_names[i].clone()))
            .collect();
        exprs.extend((0..k).map(|j| Expr::Column(s.column_ref(j)).alias(right_names[j].clone())));
        let right = builder::project(Arc::new(agg), exprs, self.opts)?;
        let terms = self.d_equal();
        let joined = self.join_on(Arc::clone(&self.d), Arc::new(right), terms, JoinType::Left)?;
        let mut exprs = Vec::new();
        for (i, e) in a.aggr_exprs.iter().enumerate() {
            let col = Expr::Column(ColumnRef::new(agg_names[i].clone()));
            let value = if empty_is_zero(e) {
                Expr::Function {
                    func: ScalarFunc::Coalesce,
                    args: vec![col, Expr::Literal(ScalarValue::Int64(Some(0)))],
                }
            } else {
                col
            };
            exprs.push(value.alias(a.schema.field(i).name().clone()));
        }
        exprs.extend(self.d_cols());
        builder::project(Arc::new(joined), exprs, self.opts)
    }

    /// `input ORDER BY order OFFSET skip LIMIT fetch` per `D` row, by `row_number()`.
    fn limited(
        &self,
        input: &LogicalPlan,
        order: &[SortExpr],
        skip: usize,
        fetch: Option<usize>,
    ) -> Result<LogicalPlan> {
        let x = self.dep(input)?;
        self.skip_fetch(x, skip, fetch, order)
    }

    /// Keeps rows `skip+1 ..= skip+fetch` of every `D` row's group of `x` (in `order`).
    fn skip_fetch(&self, x: LogicalPlan, skip: usize, fetch: Option<usize>, order: &[SortExpr]) -> Result<LogicalPlan> {
        if skip == 0 && fetch.is_none() {
            return Ok(x);
        }
        let width = x.schema().len();
        let order_by = order
            .iter()
            .map(|e| {
                Ok(SortExpr {
                    expr: self.rewrite(e.expr.clone())?,
                    ..e.clone()
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let w = WindowExpr {
            func: WindowFunc::RowNumber,
            args: vec![],
            partition_by: self.d_cols(),
            frame: WindowFrame::default_for(!order_by.is_empty()),
            order_by,
            ignore_nulls: false,
            distinct: false,
        };
        let win = builder::window(Arc::new(x), vec![Expr::Window(Box::new(w))], self.opts)?;
        let s = win.schema();
        let rn = Expr::Column(s.column_ref(width));
        let int = |v: usize| Expr::Literal(ScalarValue::Int64(Some(v as i64)));
        let mut terms = Vec::new();
        if skip > 0 {
            terms.push(rn.clone().binary(BinaryOp::Gt, int(skip)));
        }
        if let Some(f) = fetch {
            terms.push(rn.binary(BinaryOp::LtEq, int(skip + f)));
        }
        let filtered = match Expr::conjunction(terms) {
            Some(p) => builder::filter(Arc::new(win), p, self.opts)?,
            None => win,
        };
        let exprs = (0..width).map(|i| Expr::Column(s.column_ref(i))).collect();
        builder::project(Arc::new(filtered), exprs, self.opts)
    }

    /// A join whose inputs or condition read outer columns.
    fn join(&self, j: &Join) -> Result<LogicalPlan> {
        let k = self.k();
        let (lc, rc) = (has_local(&j.left), has_local(&j.right));
        let (left_d, right_d) = match j.join_type {
            JoinType::Inner => (lc || !rc, rc),
            JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => (true, rc),
            JoinType::Right | JoinType::RightSemi | JoinType::RightAnti => (lc, true),
            JoinType::Full => (true, true),
        };
        let (ol, or) = (j.left.schema().len(), j.right.schema().len());
        let full = j.join_type == JoinType::Full;
        let mark = format!("{}_m", self.names[0]);
        let left = if full {
            // A marker tells the left side's rows (whose D columns hold the D row) apart.
            let l = self.dep(&j.left)?;
            let s = l.schema();
            let exprs = (0..ol + k)
                .map(|i| Expr::Column(s.column_ref(i)))
                .chain([Expr::Literal(ScalarValue::Boolean(Some(true))).alias(mark.clone())])
                .collect();
            builder::project(Arc::new(l), exprs, self.opts)?
        } else if left_d {
            self.dep(&j.left)?
        } else {
            map_plan_exprs(&j.left, &shift_deep)?
        };
        let right_names = self.right_names();
        let right = if right_d {
            let r = self.dep(&j.right)?;
            if left_d {
                // Rename the right copy of D's columns.
                let s = r.schema();
                let exprs = (0..or)
                    .map(|i| Expr::Column(s.column_ref(i)))
                    .chain((0..k).map(|jx| Expr::Column(s.column_ref(or + jx)).alias(right_names[jx].clone())))
                    .collect();
                builder::project(Arc::new(r), exprs, self.opts)?
            } else {
                r
            }
        } else {
            map_plan_exprs(&j.right, &shift_deep)?
        };
        let mut terms: Vec<Expr> =
            j.on.iter()
                .map(|(l, r)| l.clone().binary(BinaryOp::Eq, r.clone()))
                .chain(j.filter.iter().cloned())
                .map(|e| self.rewrite(e))
                .collect::<Result<Vec<_>>>()?;
        if left_d && right_d {
            terms.extend(self.d_equal());
        }
        let wl = ol
            + if full {
                k + 1
            } else if left_d {
                k
            } else {
                0
            };
        let joined = self.join_on(Arc::new(left), Arc::new(right), terms, j.join_type)?;
        if full {
            let s = joined.schema();
            let mut exprs: Vec<Expr> = (0..ol)
                .chain(wl..wl + or)
                .map(|i| Expr::Column(s.column_ref(i)))
                .collect();
            for (jx, name) in self.names.iter().enumerate() {
                exprs.push(
                    Expr::Case {
                        operand: None,
                        when_then: vec![(
                            Expr::IsNotNull(Box::new(Expr::Column(ColumnRef::new(mark.clone())))),
                            Expr::Column(ColumnRef::new(name.clone())),
                        )],
                        else_expr: Some(Box::new(Expr::Column(ColumnRef::new(right_names[jx].clone())))),
                    }
                    .alias(name.clone()),
                );
            }
            let out = builder::project(Arc::new(joined), exprs, self.opts)?;
            return self.reorder(out, &j.schema, 0..ol + or, ol + or..ol + or + k);
        }
        match j.join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => Ok(joined),
            JoinType::RightSemi | JoinType::RightAnti => {
                if left_d {
                    // Right rows carry the renamed copy.
                    self.reorder(joined, &j.schema, 0..or, or..or + k)
                } else {
                    Ok(joined)
                }
            }
            _ => {
                // A RIGHT join's unmatched right rows have D only on the right.
                let d_at = if left_d && j.join_type != JoinType::Right {
                    ol
                } else {
                    wl + or
                };
                self.reorder(joined, &j.schema, (0..ol).chain(wl..wl + or), d_at..d_at + k)
            }
        }
    }

    /// Joins `left` and `right` on `terms`, split into equi-keys and a residual filter.
    fn join_on(
        &self,
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        terms: Vec<Expr>,
        join_type: JoinType,
    ) -> Result<LogicalPlan> {
        let (on, filter) = split_join_condition(Expr::conjunction(terms), &left.schema(), &right.schema())?;
        Ok(builder::join(left, right, on, filter, join_type))
    }
}

/// True for aggregates whose value over no rows is 0 rather than NULL.
fn empty_is_zero(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Aggregate {
            func: AggFunc::Count | AggFunc::CountIf | AggFunc::RegrCount,
            ..
        }
    )
}
