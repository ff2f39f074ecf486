//! DuckDB's checks on ORDER BY / DISTINCT ON terms that are constants, and ORDER BY after a
//! set operation: a literal other than an integer position is an error ("has no effect"), a
//! negative position is out of range, and a set operation orders by output columns or by
//! an expression that every SELECT of it has at the same position.

use sqlparser::ast::{self, SetExpr};

use crate::error::{Error, Result};

/// True for a literal that is not an integer position (`'x'`, `true`, `NULL`, `1.5`).
pub(super) fn is_non_integer_literal(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(v) => !matches!(&v.value, ast::Value::Number(n, _) if n.to_string().parse::<u64>().is_ok()),
        _ => false,
    }
}

/// Rejects a literal term that is not an integer position and a negative position. `clause`
/// is "ORDER BY" or "DISTINCT ON"; `outputs` the number of output columns.
pub(super) fn check_constant_term(e: &ast::Expr, clause: &str, outputs: usize) -> Result<()> {
    match e {
        e if is_non_integer_literal(e) => Err(Error::plan(format!("{clause} non-integer literal has no effect."))),
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } if matches!(expr.as_ref(), ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(_, _))) => Err(
            Error::plan(format!("ORDER term out of range - should be between 1 and {outputs}")),
        ),
        _ => Ok(()),
    }
}

/// Where `e` (or an alias of that name) sits in a select list: `Err` when ambiguous.
fn position_in(list: &[ast::SelectItem], e: &ast::Expr) -> std::result::Result<Option<usize>, ()> {
    let mut position = None;
    for (i, item) in list.iter().enumerate() {
        let (expr, alias) = match item {
            ast::SelectItem::UnnamedExpr(x) => (x, None),
            ast::SelectItem::ExprWithAlias { expr: x, alias } => (x, Some(alias)),
            _ => continue,
        };
        let alias_matches =
            matches!((e, alias), (ast::Expr::Identifier(id), Some(a)) if id.value.eq_ignore_ascii_case(&a.value));
        if expr == e || alias_matches {
            match position {
                None => position = Some(i),
                Some(p) if p == i => {}
                Some(_) => return Err(()),
            }
        }
    }
    Ok(position)
}

fn position(body: &SetExpr, e: &ast::Expr) -> std::result::Result<Option<usize>, ()> {
    match body {
        SetExpr::Select(s) => position_in(&s.projection, e),
        SetExpr::Query(q) => position(&q.body, e),
        SetExpr::SetOperation {
            left,
            right,
            set_quantifier,
            ..
        } => {
            let (l, r) = (position(left, e)?, position(right, e)?);
            let by_name = matches!(
                set_quantifier,
                ast::SetQuantifier::ByName | ast::SetQuantifier::AllByName | ast::SetQuantifier::DistinctByName
            );
            match (l, r) {
                // BY NAME places the right side's columns by name, not by position.
                (_, Some(_)) if by_name => Err(()),
                (Some(a), Some(b)) if a != b => Err(()),
                (l, r) => Ok(l.or(r)),
            }
        }
        _ => Ok(None),
    }
}

/// The output position of an ORDER BY expression after a set operation: the position where
/// the SELECTs that have the expression (or an alias of that name) in their select list have
/// it, when they agree.
pub(super) fn set_operation_position(body: &SetExpr, e: &ast::Expr) -> Option<usize> {
    position(body, e).ok().flatten()
}

/// The error for an ORDER BY expression after a set operation that is not an output column.
pub(super) fn not_an_output(e: &ast::Expr) -> Error {
    Error::plan(format!(
        "Could not ORDER BY column \"{e}\": add the expression/function to every SELECT, or move the UNION into a FROM clause."
    ))
}
