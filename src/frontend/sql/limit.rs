//! LIMIT and OFFSET given by expressions (`LIMIT 2-1`, `LIMIT (SELECT max(i) FROM t)`,
//! `LIMIT '2'`, `LIMIT 1.5`): as in DuckDB they are constant for the query, so they are
//! computed before the statement is bound and put in the AST as integer literals (or NULL,
//! meaning no limit). A constant expression is cast to BIGINT (rounding, and a negative
//! value is a binder error); an expression with a subquery is cast to UBIGINT at run time,
//! with DuckDB's Invalid Input errors.
//!
//! `LIMIT p %` (which sqlparser does not parse) is rewritten in the text to
//! `LIMIT __rask_limit_percent(p)`; its row count is `p` percent of the query's rows, counted
//! by running the query without LIMIT/OFFSET first.

use std::ops::ControlFlow;

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, LimitClause, VisitMut, VisitorMut};

use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::types::sql_type_name;

/// Computes every LIMIT/OFFSET of `statement` that is not an integer literal with `eval`
/// (which runs a one-column, one-row query and returns its value). `None` when there was
/// nothing to compute.
pub fn resolve_limits(
    statement: &ast::Statement,
    eval: &mut dyn FnMut(&ast::Query) -> Result<ScalarValue>,
) -> Result<Option<ast::Statement>> {
    let text = statement.to_string().to_ascii_uppercase();
    if !text.contains("LIMIT") && !text.contains("OFFSET") {
        return Ok(None);
    }
    let mut statement = statement.clone();
    let mut resolver = Resolver { eval, changed: false };
    if let ControlFlow::Break(e) = statement.visit(&mut resolver) {
        return Err(e);
    }
    Ok(resolver.changed.then_some(statement))
}

/// The marker function standing for `LIMIT p %`.
const PERCENT_MARKER: &str = "__rask_limit_percent";

/// `sql` with `LIMIT p %` spelled `LIMIT __rask_limit_percent(p)`, or `None` when there is
/// none.
pub fn rewrite_percent(sql: &str) -> Option<String> {
    let percent = regex::Regex::new(r"(?is)\bLIMIT(\s+)(.+?)\s*%\s*(OFFSET\b|\)|;|$)").ok()?;
    if !percent.is_match(sql) {
        return None;
    }
    Some(
        percent
            .replace_all(sql, format!("LIMIT${{1}}{PERCENT_MARKER}(${{2}}) ${{3}}").as_str())
            .into_owned(),
    )
}

/// The argument of a `LIMIT p %` marker.
fn percent_argument(e: &ast::Expr) -> Option<&ast::Expr> {
    let ast::Expr::Function(f) = e else { return None };
    if !f.name.to_string().eq_ignore_ascii_case(PERCENT_MARKER) {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(p))] => Some(p),
        _ => None,
    }
}

/// `LIMIT p %` of `unlimited` (the query without LIMIT/OFFSET): the whole number of rows that
/// is `p` percent of its rows.
fn resolve_percent(
    p: &ast::Expr,
    unlimited: &ast::Query,
    eval: &mut dyn FnMut(&ast::Query) -> Result<ScalarValue>,
) -> Result<ast::Expr> {
    let percent = match eval(&one_value_query(p)?)?.cast_to(&arrow::datatypes::DataType::Float64)? {
        ScalarValue::Float64(Some(x)) => x,
        _ => return Ok(ast::Expr::value(ast::Value::Null)),
    };
    if !(0.0..=100.0).contains(&percent) {
        return Err(Error::execution(
            "Out of Range Error: Limit percent out of range, should be between 0% and 100%",
        ));
    }
    let mut count = one_value_query(&ast::Expr::value(ast::Value::Number(
        "1".parse().map_err(|_| Error::internal("LIMIT value"))?,
        false,
    )))?;
    let counted = match count.body.as_mut() {
        ast::SetExpr::Select(select) => {
            let rows = super::parse("SELECT count(*) FROM (SELECT 1) AS __rask_percent_rows")?;
            match rows.into_iter().next() {
                Some(ast::Statement::Query(mut q)) => {
                    if let ast::SetExpr::Select(s) = q.body.as_mut() {
                        if let Some(ast::TableWithJoins {
                            relation: ast::TableFactor::Derived { subquery, .. },
                            ..
                        }) = s.from.first_mut()
                        {
                            **subquery = unlimited.clone();
                        }
                        *select = s.clone();
                    }
                    true
                }
                _ => false,
            }
        }
        _ => false,
    };
    if !counted {
        return Err(Error::internal("LIMIT percent count query"));
    }
    let rows = match eval(&count)? {
        ScalarValue::Int64(Some(n)) => n.max(0) as f64,
        _ => 0.0,
    };
    let n = (rows * percent / 100.0).floor() as u64;
    Ok(ast::Expr::value(ast::Value::Number(
        n.to_string().parse().map_err(|_| Error::internal("LIMIT value"))?,
        false,
    )))
}

struct Resolver<'a> {
    eval: &'a mut dyn FnMut(&ast::Query) -> Result<ScalarValue>,
    changed: bool,
}

impl VisitorMut for Resolver<'_> {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<Error> {
        let unlimited = {
            let mut q = query.clone();
            q.limit_clause = None;
            q
        };
        let exprs: Vec<&mut ast::Expr> = match &mut query.limit_clause {
            Some(LimitClause::LimitOffset { limit, offset, .. }) => limit
                .iter_mut()
                .chain(offset.iter_mut().map(|o| &mut o.value))
                .collect(),
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => vec![offset, limit],
            None => vec![],
        };
        for e in exprs {
            if is_plain(e) {
                continue;
            }
            let resolved = match percent_argument(e) {
                Some(p) => resolve_percent(p, &unlimited, self.eval),
                None => resolve(e, self.eval),
            };
            match resolved {
                Ok(value) => {
                    *e = value;
                    self.changed = true;
                }
                Err(err) => return ControlFlow::Break(err),
            }
        }
        ControlFlow::Continue(())
    }
}

/// True for a LIMIT/OFFSET that must be computed before binding: a percentage or an
/// expression with a subquery.
pub(super) fn is_unresolved(e: &ast::Expr) -> bool {
    percent_argument(e).is_some() || contains_subquery(e)
}

/// An unsigned integer literal or NULL: the binder takes it as it is.
fn is_plain(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Nested(inner) => is_plain(inner),
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.to_string().parse::<u64>().is_ok(),
            ast::Value::Null => true,
            _ => false,
        },
        _ => false,
    }
}

fn contains_subquery(e: &ast::Expr) -> bool {
    let mut found = false;
    let mut e = e.clone();
    let _ = ast::visit_expressions_mut(&mut e, |n| {
        if matches!(
            n,
            ast::Expr::Subquery(_) | ast::Expr::Exists { .. } | ast::Expr::InSubquery { .. }
        ) {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

fn resolve(e: &ast::Expr, eval: &mut dyn FnMut(&ast::Query) -> Result<ScalarValue>) -> Result<ast::Expr> {
    let mut top = e;
    while let ast::Expr::Nested(inner) = top {
        top = inner;
    }
    if let ast::Expr::Function(f) = top {
        if f.over.is_some() {
            return Err(Error::plan("Window functions are not supported here"));
        }
        if AggFunc::all_names().contains(&f.name.to_string().to_lowercase().as_str()) {
            return Err(Error::plan("Aggregate functions are not supported here"));
        }
    }
    let query = one_value_query(e)?;
    let value = eval(&query)?;
    let n = if contains_subquery(e) {
        to_unsigned(&value)?
    } else {
        to_bigint(&value)?
    };
    Ok(match n {
        Some(n) => ast::Expr::value(ast::Value::Number(
            n.to_string().parse().map_err(|_| Error::internal("LIMIT value"))?,
            false,
        )),
        None => ast::Expr::value(ast::Value::Null),
    })
}

/// `SELECT (e)`.
fn one_value_query(e: &ast::Expr) -> Result<ast::Query> {
    let sql = format!("SELECT ({e})");
    match super::parse(&sql)?.into_iter().next() {
        Some(ast::Statement::Query(q)) => Ok(*q),
        _ => Err(Error::internal("LIMIT expression did not parse as a query")),
    }
}

/// The value as a whole number: integers as they are, fractions rounded, strings parsed.
/// `Err(type name)` when the value's type has no cast to an integer.
fn whole(value: &ScalarValue) -> std::result::Result<Option<f64>, String> {
    Ok(Some(match value {
        v if v.is_null() => return Ok(None),
        ScalarValue::Int8(Some(x)) => *x as f64,
        ScalarValue::Int16(Some(x)) => *x as f64,
        ScalarValue::Int32(Some(x)) => *x as f64,
        ScalarValue::Int64(Some(x)) => *x as f64,
        ScalarValue::UInt8(Some(x)) => *x as f64,
        ScalarValue::UInt16(Some(x)) => *x as f64,
        ScalarValue::UInt32(Some(x)) => *x as f64,
        ScalarValue::UInt64(Some(x)) => *x as f64,
        ScalarValue::Float32(Some(x)) => x.round() as f64,
        ScalarValue::Float64(Some(x)) => x.round(),
        ScalarValue::Decimal128(Some(x), _, s) => (*x as f64 / 10f64.powi(*s as i32)).round(),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => x.round(),
                _ => return Err(format!("Could not convert string '{s}'")),
            }
        }
        other => return Err(sql_type_name(&other.data_type())),
    }))
}

/// A constant LIMIT/OFFSET: cast to BIGINT; negative values are a binder error.
fn to_bigint(value: &ScalarValue) -> Result<Option<u64>> {
    match whole(value) {
        Ok(None) => Ok(None),
        Ok(Some(x)) if x < 0.0 => Err(Error::plan("LIMIT/OFFSET cannot be negative")),
        Ok(Some(x)) if x >= i64::MAX as f64 => Err(Error::execution(format!(
            "Conversion Error: Type {} with value {value} can't be cast because the value is out of range for the destination type INT64",
            sql_type_name(&value.data_type())
        ))),
        Ok(Some(x)) => Ok(Some(x as u64)),
        Err(message) if message.starts_with("Could not") => {
            Err(Error::execution(format!("Conversion Error: {message} to INT64")))
        }
        Err(type_name) => Err(Error::execution(format!(
            "Conversion Error: Unimplemented type for cast ({type_name} -> BIGINT)"
        ))),
    }
}

/// A LIMIT/OFFSET computed by a subquery: cast to UBIGINT at run time.
fn to_unsigned(value: &ScalarValue) -> Result<Option<u64>> {
    match whole(value) {
        Ok(None) => Ok(None),
        Ok(Some(x)) if x < 0.0 => Err(Error::InvalidInput(format!(
            "Type {} with value {value} can't be cast because the value is out of range for the destination type UINT64",
            physical_type_name(&value.data_type())
        ))),
        Ok(Some(x)) => Ok(Some(x as u64)),
        Err(message) if message.starts_with("Could not") => Err(Error::InvalidInput(format!("{message} to UINT64"))),
        Err(type_name) => Err(Error::execution(format!(
            "Conversion Error: Unimplemented type for cast ({type_name} -> UBIGINT)"
        ))),
    }
}

/// DuckDB's name of the physical type of `t`, as its run-time cast errors give it.
fn physical_type_name(t: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType as T;
    match t {
        T::Int8 => "INT8".into(),
        T::Int16 => "INT16".into(),
        T::Int32 => "INT32".into(),
        T::Int64 => "INT64".into(),
        T::Float32 => "FLOAT".into(),
        T::Float64 => "DOUBLE".into(),
        other => sql_type_name(other),
    }
}
