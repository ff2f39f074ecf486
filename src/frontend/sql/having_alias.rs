//! Select-list aliases in HAVING (`SELECT b, sum(a) AS total ... HAVING total > 1`), as
//! DuckDB allows: a bare name that is a select alias is replaced by the aliased expression
//! when it is not a FROM column, or when it is a FROM column that is not a GROUP BY key (it
//! could not be used there anyway). Names inside function calls are left alone, so
//! `HAVING sum(a) > 0` still sums the column. WHERE takes aliases that are not FROM columns.

use sqlparser::ast::{self, GroupByExpr, SelectItem};

use super::expr::ident_name;
use crate::logical::schema::{ColumnRef, PlanSchema};

/// `having` with select aliases substituted (see the module docs).
pub(super) fn substitute_aliases(having: &ast::Expr, select: &ast::Select, from: &PlanSchema) -> ast::Expr {
    substitute(having, select, from, false)
}

/// `predicate` (a WHERE clause) with the select aliases that are not FROM columns replaced
/// by their expressions (`SELECT i % 2 AS k FROM t WHERE k <> 0`).
pub(super) fn substitute_where_aliases(predicate: &ast::Expr, select: &ast::Select, from: &PlanSchema) -> ast::Expr {
    substitute(predicate, select, from, true)
}

fn substitute(having: &ast::Expr, select: &ast::Select, from: &PlanSchema, only_non_columns: bool) -> ast::Expr {
    let aliases: Vec<(&ast::Ident, &ast::Expr)> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { expr, alias } => Some((alias, expr)),
            _ => None,
        })
        .collect();
    if aliases.is_empty() {
        return having.clone();
    }
    let group_keys: Vec<&ast::Ident> = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => exprs
            .iter()
            .filter_map(|e| match e {
                ast::Expr::Identifier(id) => Some(id),
                _ => None,
            })
            .collect(),
        GroupByExpr::All(_) => vec![],
    };
    let replacement = |id: &ast::Ident| -> Option<ast::Expr> {
        let (_, expr) = aliases.iter().find(|(a, _)| a.value.eq_ignore_ascii_case(&id.value))?;
        let is_column = from.find(&ColumnRef::new(ident_name(id))).ok().flatten().is_some();
        let is_key = group_keys.iter().any(|k| k.value.eq_ignore_ascii_case(&id.value));
        let replace = if only_non_columns {
            !is_column
        } else {
            !is_column || !is_key
        };
        replace.then(|| ast::Expr::Nested(Box::new((*expr).clone())))
    };
    rewrite(having, &replacement)
}

fn rewrite(e: &ast::Expr, replace: &dyn Fn(&ast::Ident) -> Option<ast::Expr>) -> ast::Expr {
    let r = |x: &ast::Expr| Box::new(rewrite(x, replace));
    match e {
        ast::Expr::Identifier(id) => replace(id).unwrap_or_else(|| e.clone()),
        ast::Expr::BinaryOp { left, op, right } => ast::Expr::BinaryOp {
            left: r(left),
            op: op.clone(),
            right: r(right),
        },
        ast::Expr::UnaryOp { op, expr } => ast::Expr::UnaryOp { op: *op, expr: r(expr) },
        ast::Expr::Nested(inner) => ast::Expr::Nested(r(inner)),
        ast::Expr::IsNull(inner) => ast::Expr::IsNull(r(inner)),
        ast::Expr::IsNotNull(inner) => ast::Expr::IsNotNull(r(inner)),
        ast::Expr::Between {
            expr,
            negated,
            low,
            high,
        } => ast::Expr::Between {
            expr: r(expr),
            negated: *negated,
            low: r(low),
            high: r(high),
        },
        other => other.clone(),
    }
}
