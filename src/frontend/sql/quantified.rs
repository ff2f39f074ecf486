//! Quantified comparisons `x op ANY (q)` / `x op ALL (q)` for the comparisons that are not IN
//! / NOT IN, planned as one ungrouped aggregate over the subquery's column: `count(*)`,
//! `count(col)`, `min(col)` and `max(col)`, joined in like a scalar subquery (a one-row cross
//! join when `q` is uncorrelated; correlated ones go through the ordinary scalar-subquery
//! decorrelation). A CASE over those values gives SQL's three-valued result:
//!
//! - `x > ANY q` is TRUE when `x > min(col)`; `x > ALL q` is FALSE when `x <= max(col)`
//!   (likewise `<`, `<=`, `>=` with the other bound); `x <> ANY q` is TRUE and `x = ALL q`
//!   FALSE when some value differs from `x`, that is when `x <> min OR x <> max`.
//! - Otherwise an empty `q` makes ANY FALSE and ALL TRUE; a NULL `x` or a NULL among the
//!   values makes the result NULL; else ANY is FALSE and ALL TRUE.
//!
//! A row on the left (`(a, b) < ANY (SELECT x, y …)`) becomes a scalar subquery counting the
//! rows whose row comparison is decisive (TRUE for ANY, FALSE for ALL) or NULL.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::ScalarValue;

use super::subquery::{count_plan, count_star};
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::PlanSchema;
use crate::logical::subquery::{SubqueryExpr, SubqueryKind};
use crate::logical::typecheck::coerce;

fn aggregate(func: AggFunc, arg: Expr) -> Expr {
    Expr::Aggregate {
        func,
        args: vec![arg],
        distinct: false,
        filter: None,
        order_by: vec![],
    }
}

fn boolean(b: Option<bool>) -> Expr {
    Expr::Literal(ScalarValue::Boolean(b))
}

impl Binder<'_> {
    /// Joins the aggregate over `q` that decides `lhs op ANY|ALL (q)` to `plan`; returns the
    /// expression giving the comparison's value.
    pub(super) fn quantified_value(
        &self,
        plan: LogicalPlan,
        lhs: Expr,
        op: BinaryOp,
        all: bool,
        q: &Arc<LogicalPlan>,
    ) -> Result<(LogicalPlan, Expr)> {
        let qs = q.schema();
        if qs.len() != 1 {
            return Err(Error::plan(format!(
                "Subquery returns {} columns - expected 1",
                qs.len()
            )));
        }
        let col = Expr::Column(qs.column_ref(0));
        let aggs = vec![
            count_star(),
            aggregate(AggFunc::Count, col.clone()),
            aggregate(AggFunc::Min, col.clone()),
            aggregate(AggFunc::Max, col),
        ];
        let (plan, v) = self.attach_scalar(plan, count_plan(q.as_ref().clone(), aggs, self)?)?;
        let [rows, non_null, min, max] = <[Expr; 4]>::try_from(v)
            .map_err(|_| Error::internal("quantified comparison aggregate without four columns"))?;
        let differs = || {
            lhs.clone()
                .binary(BinaryOp::NotEq, min.clone())
                .binary(BinaryOp::Or, lhs.clone().binary(BinaryOp::NotEq, max.clone()))
        };
        // The test that decides the result when it holds, and the result it decides.
        let (decisive, decided) = match (op, all) {
            (BinaryOp::Gt | BinaryOp::GtEq, false) => (lhs.clone().binary(op, min.clone()), true),
            (BinaryOp::Lt | BinaryOp::LtEq, false) => (lhs.clone().binary(op, max.clone()), true),
            (BinaryOp::Gt | BinaryOp::GtEq, true) => (Expr::Not(Box::new(lhs.clone().binary(op, max.clone()))), false),
            (BinaryOp::Lt | BinaryOp::LtEq, true) => (Expr::Not(Box::new(lhs.clone().binary(op, min.clone()))), false),
            (BinaryOp::NotEq, false) => (differs(), true),
            (BinaryOp::Eq, true) => (differs(), false),
            (BinaryOp::Eq, false) | (BinaryOp::NotEq, true) => {
                return Err(Error::internal("= ANY and <> ALL are planned as IN"))
            }
            (other, _) => {
                return Err(Error::not_supported(format!(
                    "operator {} with ANY/ALL",
                    other.symbol()
                )))
            }
        };
        let zero = Expr::Literal(ScalarValue::Int64(Some(0)));
        let value = Expr::Case {
            operand: None,
            when_then: vec![
                (rows.clone().binary(BinaryOp::Eq, zero), boolean(Some(all))),
                (decisive, boolean(Some(decided))),
                (
                    Expr::IsNull(Box::new(lhs)).binary(BinaryOp::Or, non_null.binary(BinaryOp::Lt, rows)),
                    boolean(None),
                ),
            ],
            else_expr: Some(Box::new(boolean(Some(!decided)))),
        };
        Ok((plan, value))
    }
}

/// `(a, b, …) op (x, y, …)` with DuckDB's row semantics: `=` / `<>` compare every field
/// (AND / OR), the orderings compare lexicographically (`a < x OR (a = x AND (b, …) < (y, …))`).
fn row_comparison(lhs: &[Expr], rhs: &[Expr], op: BinaryOp) -> Result<Expr> {
    let pairs = lhs.iter().cloned().zip(rhs.iter().cloned());
    match op {
        BinaryOp::Eq => pairs
            .map(|(l, r)| l.binary(BinaryOp::Eq, r))
            .reduce(|a, b| a.binary(BinaryOp::And, b)),
        BinaryOp::NotEq => pairs
            .map(|(l, r)| l.binary(BinaryOp::NotEq, r))
            .reduce(|a, b| a.binary(BinaryOp::Or, b)),
        BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
            let strict = match op {
                BinaryOp::LtEq => BinaryOp::Lt,
                BinaryOp::GtEq => BinaryOp::Gt,
                other => other,
            };
            let pairs: Vec<(Expr, Expr)> = pairs.collect();
            pairs
                .iter()
                .rev()
                .enumerate()
                .fold(None, |acc: Option<Expr>, (i, (l, r))| {
                    Some(match acc {
                        // The last field decides with the operator itself.
                        None if i == 0 => l.clone().binary(op, r.clone()),
                        None => l.clone().binary(strict, r.clone()),
                        Some(rest) => l.clone().binary(strict, r.clone()).binary(
                            BinaryOp::Or,
                            l.clone().binary(BinaryOp::Eq, r.clone()).binary(BinaryOp::And, rest),
                        ),
                    })
                })
        }
        other => {
            return Err(Error::not_supported(format!(
                "operator {} in a row comparison",
                other.symbol()
            )))
        }
    }
    .ok_or_else(|| Error::plan("row comparison without fields"))
}

impl Binder<'_> {
    /// `(a, b, …) op ANY|ALL (q)` as a scalar subquery over `q` counting the rows where the
    /// row comparison is TRUE, FALSE and NULL (the left row is read inside `q` as outer
    /// columns, so a left row of constants leaves it uncorrelated).
    pub(super) fn row_quantified(
        &self,
        lhs: Vec<Expr>,
        op: BinaryOp,
        all: bool,
        q: LogicalPlan,
        sql: Arc<str>,
        scope: &PlanSchema,
    ) -> Result<Expr> {
        let qs = q.schema();
        if qs.len() != lhs.len() {
            return Err(Error::plan(format!(
                "Subquery returns {} columns - expected {}",
                qs.len(),
                lhs.len()
            )));
        }
        if lhs.iter().any(|e| e.contains_aggregate() || e.contains_window()) {
            return Err(Error::not_supported("an aggregate in a row compared with ANY/ALL"));
        }
        let lhs = lhs
            .into_iter()
            .map(|e| as_outer(e, scope))
            .collect::<Result<Vec<_>>>()?;
        let rhs: Vec<Expr> = (0..qs.len()).map(|i| Expr::Column(qs.column_ref(i))).collect();
        let cmp = row_comparison(&lhs, &rhs, op)?;
        let count_where = |predicate: Expr| Expr::Aggregate {
            func: AggFunc::Count,
            args: vec![],
            distinct: false,
            filter: Some(Box::new(predicate)),
            order_by: vec![],
        };
        // ANY is decided by a TRUE row, ALL by a FALSE one; else a NULL row makes it NULL.
        let decisive = if all {
            Expr::Not(Box::new(cmp.clone()))
        } else {
            cmp.clone()
        };
        let aggs = vec![
            coerce(count_where(decisive), &qs, self.opts)?,
            coerce(count_where(Expr::IsNull(Box::new(cmp))), &qs, self.opts)?,
        ];
        let agg = builder::aggregate(Arc::new(q), vec![], aggs, self.opts)?;
        let s = agg.schema();
        let zero = || Expr::Literal(ScalarValue::Int64(Some(0)));
        let value = Expr::Case {
            operand: None,
            when_then: vec![
                (
                    Expr::Column(s.column_ref(0)).binary(BinaryOp::Gt, zero()),
                    boolean(Some(!all)),
                ),
                (
                    Expr::Column(s.column_ref(1)).binary(BinaryOp::Gt, zero()),
                    boolean(None),
                ),
            ],
            else_expr: Some(Box::new(boolean(Some(all)))),
        };
        let plan = builder::project(Arc::new(agg), vec![value.alias("quantified")], self.opts)?;
        Ok(Expr::Subquery(SubqueryExpr {
            kind: SubqueryKind::Scalar,
            plan: Arc::new(plan),
            sql,
        }))
    }
}

/// `e` (over the enclosing query's `scope`) as seen from inside a subquery: its columns
/// become outer columns one level further out.
fn as_outer(e: Expr, scope: &PlanSchema) -> Result<Expr> {
    Ok(e.shift_outer_depth(1, 1)?
        .transform_up(|n| match n {
            Expr::Column(c) => {
                let i = scope.resolve(&c)?;
                Ok(Transformed::yes(Expr::OuterColumn {
                    column: scope.column_ref(i),
                    data_type: scope.field(i).data_type().clone(),
                    depth: 1,
                }))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data)
}
