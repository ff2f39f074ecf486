//! Planning subquery expressions as joins, never as per-row evaluation.
//!
//! - A WHERE/HAVING conjunct `EXISTS (q)` / `x IN (q)` becomes a left semi join with `q` on
//!   its correlation predicates (and `x = q.col`); `NOT EXISTS` a left anti join; `x NOT IN
//!   (q)` a null-aware anti join (`x = col OR x IS NULL OR col IS NULL` as the residual, so a
//!   NULL on either side removes the row as SQL's three-valued logic requires).
//! - A scalar subquery anywhere becomes a left join with the subquery's one row (uncorrelated)
//!   or with the subquery grouped by its correlation keys (correlated). When the subquery is
//!   an ungrouped aggregate, outer rows with no group get the aggregate's value over no rows
//!   (`count(*)` gives 0, not NULL: the "count bug"), read through a marker column.
//! - EXISTS and IN in other positions (select list, under OR) become scalar counts:
//!   `EXISTS q` is `(SELECT count(*) FROM q) > 0`; `x IN q` compares a count of matches with
//!   counts of all and non-NULL values to get TRUE / FALSE / NULL.
//!
//! Correlation is removed in one of two ways ([`Binder::decorrelate`]): equality correlations
//! (TPC-H q2/q4/q17/q20/q21/q22) are pulled up and become join keys (`decorrelate.rs`); every
//! other shape is flattened against the distinct values of the outer columns it reads
//! (`flatten.rs`) and joined back on them, NULLs matching.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::ScalarValue;

use super::decorrelate::{finish, finish_flattened, has_outer, pull_up, Finished};
use super::flatten::{flatten, has_deep_outer};
use super::from::split_join_condition;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::ColumnRef;
use crate::logical::subquery::{SubqueryExpr, SubqueryKind};
use crate::logical::typecheck::{coerce, expr_type};

/// True when `e` contains a subquery expression.
pub(super) fn contains_subquery(e: &Expr) -> bool {
    e.exists(|n| Ok(matches!(n, Expr::Subquery(_)))).unwrap_or(false)
}

pub(super) fn count_star() -> Expr {
    Expr::Aggregate {
        func: AggFunc::Count,
        args: vec![],
        distinct: false,
        filter: None,
        order_by: vec![],
    }
}

fn lit_bool(b: bool) -> Expr {
    Expr::Literal(ScalarValue::Boolean(Some(b)))
}

impl Binder<'_> {
    /// `plan WHERE predicate` where the predicate may contain subqueries.
    pub(super) fn filter_with_subqueries(&self, plan: LogicalPlan, predicate: Expr) -> Result<LogicalPlan> {
        let mut plain = Vec::new();
        let mut joins = Vec::new();
        let mut valued = Vec::new();
        for term in predicate.split_conjunction() {
            match term {
                Expr::Subquery(sq) if sq.kind.is_semi_join() => joins.push((sq, false)),
                Expr::Not(inner) if matches!(inner.as_ref(), Expr::Subquery(sq) if sq.kind.is_semi_join()) => {
                    if let Expr::Subquery(sq) = *inner {
                        joins.push((sq, true));
                    }
                }
                t if contains_subquery(&t) => valued.push(t),
                t => plain.push(t),
            }
        }
        let mut plan = plan;
        if let Some(p) = Expr::conjunction(plain) {
            let p = coerce(p, &plan.schema(), self.opts)?;
            plan = builder::filter(Arc::new(plan), p, self.opts)?;
        }
        for (sq, negated) in joins {
            plan = self.semi_join(plan, sq, negated)?;
        }
        if let Some(v) = Expr::conjunction(valued) {
            let (p, v) = self.attach_subqueries(plan, v)?;
            let v = coerce(v, &p.schema(), self.opts)?;
            plan = builder::filter(Arc::new(p), v, self.opts)?;
        }
        Ok(plan)
    }

    /// Joins every subquery in `e` to `plan` and returns `e` reading their columns instead.
    pub(super) fn attach_subqueries(&self, plan: LogicalPlan, e: Expr) -> Result<(LogicalPlan, Expr)> {
        let mut plan = plan;
        let out = e.transform_up(|node| match node {
            Expr::Subquery(sq) => {
                let (p, value) = self.subquery_value(std::mem::replace(&mut plan, builder::one_row()), sq)?;
                plan = p;
                Ok(Transformed::yes(value))
            }
            other => Ok(Transformed::no(other)),
        })?;
        Ok((plan, out.data))
    }

    /// A semi (or, `negated`, anti) join of `plan` with an EXISTS or IN subquery.
    fn semi_join(&self, plan: LogicalPlan, sq: SubqueryExpr, negated: bool) -> Result<LogicalPlan> {
        let sub = match sq.kind {
            SubqueryKind::Exists => strip_for_exists(&sq.plan),
            _ => sq.plan.as_ref().clone(),
        };
        let finished = self.decorrelate(&plan, &sub, false)?;
        let mut terms = finished.conds;
        if let SubqueryKind::In(lhs) = sq.kind {
            let col = Expr::Column(ColumnRef::new(finished.names[0].clone()));
            if negated && terms.is_empty() && !finished.flattened {
                return self.not_in_anti_join(plan, finished.plan, *lhs, col);
            }
            let eq = lhs.as_ref().clone().binary(BinaryOp::Eq, col.clone());
            terms.push(if negated {
                eq.binary(BinaryOp::Or, Expr::IsNull(lhs))
                    .binary(BinaryOp::Or, Expr::IsNull(Box::new(col)))
            } else {
                eq
            });
        }
        if finished.flattened {
            // Probe with the outer rows (building on the subquery) so they keep their order.
            let join_type = if negated {
                JoinType::RightAnti
            } else {
                JoinType::RightSemi
            };
            return self.join_on(finished.plan, plan, terms, join_type);
        }
        let join_type = if negated {
            JoinType::LeftAnti
        } else {
            JoinType::LeftSemi
        };
        self.join_on(plan, finished.plan, terms, join_type)
    }

    /// `plan WHERE lhs NOT IN (sub)` for an uncorrelated `sub` of one column `col`, as a hash
    /// anti join on `lhs = col` plus what NULLs decide, from two counts over `sub`: with no
    /// rows every outer row is kept (a NULL `lhs` too); with a NULL among them none is (the
    /// comparison is never false); otherwise the rows with a non-NULL `lhs` and no match are.
    /// (As one join condition, `lhs = col OR lhs IS NULL OR col IS NULL`, it would compare
    /// every pair.)
    fn not_in_anti_join(&self, plan: LogicalPlan, sub: LogicalPlan, lhs: Expr, col: Expr) -> Result<LogicalPlan> {
        let outer = plan.schema();
        let count_col = Expr::Aggregate {
            func: AggFunc::Count,
            args: vec![col.clone()],
            distinct: false,
            filter: None,
            order_by: vec![],
        };
        let counts = count_plan(sub.clone(), vec![count_star(), count_col], self)?;
        let (with_counts, values) = self.attach_scalar(plan, counts)?;
        let [rows, non_null]: [Expr; 2] = values
            .try_into()
            .map_err(|_| Error::internal("NOT IN counts are not two values"))?;
        let anti = self.join_on(
            sub,
            with_counts,
            vec![lhs.clone().binary(BinaryOp::Eq, col)],
            JoinType::RightAnti,
        )?;
        let zero = Expr::Literal(ScalarValue::Int64(Some(0)));
        let keep = rows.clone().binary(BinaryOp::Eq, zero).binary(
            BinaryOp::Or,
            non_null
                .binary(BinaryOp::Eq, rows)
                .binary(BinaryOp::And, Expr::IsNotNull(Box::new(lhs))),
        );
        let keep = coerce(keep, &anti.schema(), self.opts)?;
        let filtered = builder::filter(Arc::new(anti), keep, self.opts)?;
        let columns = (0..outer.len()).map(|i| Expr::Column(outer.column_ref(i))).collect();
        builder::project(Arc::new(filtered), columns, self.opts)
    }

    /// `sub` (which may read columns of `outer`) as a plan to join to `outer` on the
    /// returned conditions. Equality correlations are pulled up (cheap: the subquery is
    /// grouped by its correlation keys); other shapes are flattened against the distinct
    /// outer values they read ([`flatten`]).
    fn decorrelate(&self, outer: &LogicalPlan, sub: &LogicalPlan, with_mark: bool) -> Result<Finished> {
        let id = self.next_subquery_id();
        if !has_deep_outer(sub) {
            match pull_up(sub, self.opts) {
                Ok(pulled) => return finish(pulled, id, with_mark, self.opts),
                Err(Error::NotSupported(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let flat = flatten(outer, sub, id, self.opts)?;
        finish_flattened(flat, id, with_mark, self.opts)
    }

    /// Joins `left` and `right` on `terms` (over both schemas), typed and split into keys
    /// and a residual filter.
    fn join_on(
        &self,
        left: LogicalPlan,
        right: LogicalPlan,
        terms: Vec<Expr>,
        join_type: JoinType,
    ) -> Result<LogicalPlan> {
        let (ls, rs) = (left.schema(), right.schema());
        let joined = ls.join(&rs);
        let condition = Expr::conjunction(terms)
            .map(|c| coerce(c, &joined, self.opts))
            .transpose()?;
        let (on, filter) = split_join_condition(condition, &ls, &rs)?;
        Ok(builder::join(Arc::new(left), Arc::new(right), on, filter, join_type))
    }

    /// Joins a subquery used as a value to `plan`; returns the expression giving its value.
    fn subquery_value(&self, plan: LogicalPlan, sq: SubqueryExpr) -> Result<(LogicalPlan, Expr)> {
        match sq.kind {
            SubqueryKind::Scalar => {
                let (plan, mut values) = self.attach_scalar(plan, sq.plan.as_ref().clone())?;
                Ok((plan, values.remove(0)))
            }
            SubqueryKind::Exists => {
                // (SELECT count(*) FROM q) > 0
                let counted = count_plan(strip_for_exists(&sq.plan), vec![count_star()], self)?;
                let (plan, mut values) = self.attach_scalar(plan, counted)?;
                let n = values.remove(0);
                Ok((plan, n.binary(BinaryOp::Gt, Expr::Literal(ScalarValue::Int64(Some(0))))))
            }
            SubqueryKind::In(lhs) => self.in_value(plan, *lhs, &sq.plan),
            SubqueryKind::Quantified { lhs, op, all } => self.quantified_value(plan, *lhs, op, all, &sq.plan),
        }
    }

    /// `lhs IN (q)` as a value: TRUE when some row equals `lhs`, else NULL when `lhs` or some
    /// row is NULL (and `q` is not empty), else FALSE.
    fn in_value(&self, plan: LogicalPlan, lhs: Expr, q: &Arc<LogicalPlan>) -> Result<(LogicalPlan, Expr)> {
        let id = self.next_subquery_id();
        // Make lhs a column of the outer plan so the subquery can refer to it.
        let schema = plan.schema();
        // Projected as it is, so its own operands need their casts now.
        let lhs = coerce(lhs, &schema, self.opts)?;
        let lhs_type = expr_type(&lhs, &schema, self.opts)?;
        let lhs_name = format!("__sq{id}_lhs");
        let mut exprs: Vec<Expr> = (0..schema.len()).map(|i| Expr::Column(schema.column_ref(i))).collect();
        exprs.push(lhs.alias(lhs_name.clone()));
        let plan = builder::project(Arc::new(plan), exprs, self.opts)?;
        let lhs_col = Expr::Column(ColumnRef::new(lhs_name.clone()));
        let outer_lhs = Expr::OuterColumn {
            column: ColumnRef::new(lhs_name),
            data_type: lhs_type,
            depth: 1,
        };
        let qs = q.schema();
        let col = Expr::Column(qs.column_ref(0));
        let matching = builder::filter(
            Arc::clone(q),
            coerce(col.clone().binary(BinaryOp::Eq, outer_lhs), &qs, self.opts)?,
            self.opts,
        )?;
        let matches = count_plan(matching, vec![count_star()], self)?;
        let counts = count_plan(
            q.as_ref().clone(),
            vec![
                count_star(),
                Expr::Aggregate {
                    func: AggFunc::Count,
                    args: vec![col],
                    distinct: false,
                    filter: None,
                    order_by: vec![],
                },
            ],
            self,
        )?;
        let (plan, m) = self.attach_scalar(plan, matches)?;
        let (plan, c) = self.attach_scalar(plan, counts)?;
        let zero = || Expr::Literal(ScalarValue::Int64(Some(0)));
        let value = Expr::Case {
            operand: None,
            when_then: vec![
                (m[0].clone().binary(BinaryOp::Gt, zero()), lit_bool(true)),
                (c[0].clone().binary(BinaryOp::Eq, zero()), lit_bool(false)),
                (
                    Expr::IsNull(Box::new(lhs_col))
                        .binary(BinaryOp::Or, c[1].clone().binary(BinaryOp::Lt, c[0].clone())),
                    Expr::Literal(ScalarValue::Boolean(None)),
                ),
            ],
            else_expr: Some(Box::new(lit_bool(false))),
        };
        Ok((plan, value))
    }

    /// Left-joins a scalar subquery (one value per outer row) to `plan`; returns one
    /// expression per subquery column.
    pub(super) fn attach_scalar(&self, plan: LogicalPlan, sub: LogicalPlan) -> Result<(LogicalPlan, Vec<Expr>)> {
        let correlated = has_outer(&sub);
        // At most one row per correlation value: an ungrouped aggregate, or else the
        // subquery reduced to one row by `single_value`, which errors on several rows.
        let sub = if let Some(defaults) = ungrouped_defaults(&sub) {
            return self.attach_rows(plan, sub, correlated.then_some(defaults));
        } else if !correlated && at_most_one_row(&sub) {
            sub
        } else {
            let s = sub.schema();
            let values = (0..s.len())
                .map(|i| Expr::Aggregate {
                    func: if self.opts.scalar_subquery_any_row {
                        AggFunc::First
                    } else {
                        AggFunc::SingleValue
                    },
                    args: vec![Expr::Column(s.column_ref(i))],
                    distinct: false,
                    filter: None,
                    order_by: vec![],
                })
                .collect();
            count_plan(sub, values, self)?
        };
        self.attach_rows(plan, sub, None)
    }

    /// Left-joins `sub` (at most one row per correlation value) to `plan`. `defaults` are
    /// the values for outer rows with no matching group (count bug), read through a marker.
    fn attach_rows(
        &self,
        plan: LogicalPlan,
        sub: LogicalPlan,
        defaults: Option<Vec<Expr>>,
    ) -> Result<(LogicalPlan, Vec<Expr>)> {
        let width = sub.schema().len();
        let defaults = defaults.map(|d| {
            d.into_iter()
                .map(|e| {
                    if is_null_when_null(&e) {
                        Expr::Literal(ScalarValue::Null)
                    } else {
                        to_outer_scope(e)
                    }
                })
                .collect::<Vec<_>>()
        });
        let needs_mark = defaults
            .as_ref()
            .is_some_and(|d| d.iter().any(|e| !matches!(e, Expr::Literal(v) if v.is_null())));
        let finished = self.decorrelate(&plan, &sub, needs_mark)?;
        let distinct_names = {
            let s = plan.schema();
            let refs: Vec<ColumnRef> = (0..s.len()).map(|i| s.column_ref(i)).collect();
            refs.iter().enumerate().all(|(i, r)| !refs[..i].contains(r))
        };
        let joined = if finished.flattened && distinct_names {
            // Every outer row has its one match: probe with the outer rows (a right join
            // building on the subquery) so they keep their order.
            let width = plan.schema().len();
            let sub_width = finished.plan.schema().len();
            let j = self.join_on(finished.plan, plan, finished.conds, JoinType::Right)?;
            let s = j.schema();
            let exprs = (sub_width..sub_width + width)
                .chain(0..sub_width)
                .map(|i| Expr::Column(s.column_ref(i)))
                .collect();
            builder::project(Arc::new(j), exprs, self.opts)?
        } else {
            self.join_on(plan, finished.plan, finished.conds, JoinType::Left)?
        };
        let values = (0..width)
            .map(|i| {
                let col = Expr::Column(ColumnRef::new(finished.names[i].clone()));
                match (&finished.mark, &defaults) {
                    (Some(mark), Some(d)) if !matches!(&d[i], Expr::Literal(v) if v.is_null()) => Expr::Case {
                        operand: None,
                        when_then: vec![(
                            Expr::IsNull(Box::new(Expr::Column(ColumnRef::new(mark.clone())))),
                            d[i].clone(),
                        )],
                        else_expr: Some(Box::new(col)),
                    },
                    _ => col,
                }
            })
            .collect();
        Ok((joined, values))
    }
}

/// `SELECT aggs FROM sub` (no grouping).
pub(super) fn count_plan(sub: LogicalPlan, aggs: Vec<Expr>, b: &Binder) -> Result<LogicalPlan> {
    let sub = Arc::new(sub);
    let aggs = aggs
        .into_iter()
        .map(|a| coerce(a, &sub.schema(), b.opts))
        .collect::<Result<Vec<_>>>()?;
    let n = aggs.len();
    let agg = builder::aggregate(sub, vec![], aggs, b.opts)?;
    let s = agg.schema();
    let exprs = (0..n).map(|i| Expr::Column(s.column_ref(i))).collect();
    builder::project(Arc::new(agg), exprs, b.opts)
}

/// EXISTS only asks whether rows exist: the select list, ordering and a LIMIT of at least one
/// row do not matter.
fn strip_for_exists(plan: &LogicalPlan) -> LogicalPlan {
    match plan {
        LogicalPlan::Projection(p) if !matches!(p.input.as_ref(), LogicalPlan::Aggregate(_)) => {
            strip_for_exists(&p.input)
        }
        LogicalPlan::Sort(s) => strip_for_exists(&s.input),
        LogicalPlan::Distinct(d) => strip_for_exists(&d.input),
        LogicalPlan::Limit(l) if l.skip == 0 && l.fetch.is_none_or(|f| f > 0) => strip_for_exists(&l.input),
        other => other.clone(),
    }
}

/// True when `plan` yields at most one row whatever its input.
fn at_most_one_row(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => a.group_exprs.is_empty(),
        LogicalPlan::Limit(l) => l.fetch.is_some_and(|f| f <= 1),
        LogicalPlan::EmptyRelation(_) => true,
        LogicalPlan::Values(v) => v.rows.len() <= 1,
        LogicalPlan::Projection(_) | LogicalPlan::Filter(_) | LogicalPlan::Sort(_) | LogicalPlan::SubqueryAlias(_) => {
            plan.inputs().first().is_some_and(|i| at_most_one_row(i))
        }
        _ => false,
    }
}

/// For `Projection(Aggregate without GROUP BY)`: each output's value over no input rows
/// (aggregate columns replaced by what the aggregate gives for no rows: 0 for count, else
/// NULL). `None` for other shapes.
fn ungrouped_defaults(plan: &LogicalPlan) -> Option<Vec<Expr>> {
    let LogicalPlan::Projection(p) = plan else { return None };
    let LogicalPlan::Aggregate(a) = p.input.as_ref() else {
        return None;
    };
    if !a.group_exprs.is_empty() {
        return None;
    }
    let agg_schema = a.schema.clone();
    p.exprs
        .iter()
        .map(|e| {
            let out = e.clone().unalias().transform_down(|n| {
                if let Expr::Column(c) = &n {
                    let i = agg_schema.resolve(c)?;
                    let value = match &a.aggr_exprs[i] {
                        Expr::Aggregate {
                            func: AggFunc::Count, ..
                        } => ScalarValue::Int64(Some(0)),
                        _ => ScalarValue::try_from(agg_schema.field(i).data_type()).unwrap_or(ScalarValue::Null),
                    };
                    return Ok(Transformed::new(Expr::Literal(value), true, TreeNodeRecursion::Jump));
                }
                Ok(Transformed::no(n))
            });
            out.ok().map(|t| t.data)
        })
        .collect()
}

/// True when `e` is NULL because a NULL literal in it propagates (arithmetic, comparisons,
/// casts and negation of NULL are NULL).
fn is_null_when_null(e: &Expr) -> bool {
    match e {
        Expr::Literal(v) => v.is_null(),
        Expr::Binary { left, op, right }
            if op.is_arithmetic()
                || op.is_comparison() && !matches!(op, BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom) =>
        {
            is_null_when_null(left) || is_null_when_null(right)
        }
        Expr::Cast { expr, .. } | Expr::Negative(expr) | Expr::Alias { expr, .. } => is_null_when_null(expr),
        _ => false,
    }
}

/// `e` (over a subquery) as seen from the query it sits in: its outer references one level up
/// become that query's columns, deeper ones move one level closer.
fn to_outer_scope(e: Expr) -> Expr {
    e.transform_up(|n| match n {
        Expr::OuterColumn { column, depth: 1, .. } => Ok(Transformed::yes(Expr::Column(column))),
        other => Ok(Transformed::no(other)),
    })
    .ok()
    .and_then(|t| t.data.shift_outer_depth(-1, 2).ok())
    .unwrap_or(Expr::Literal(ScalarValue::Null))
}
