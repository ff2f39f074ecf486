//! Binding SQL expressions: sqlparser's `Expr` → rask's logical [`Expr`], with every column
//! reference checked against the scope (and a closest-name hint when it is unknown).

use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;
use sqlparser::ast::{
    self, BinaryOperator, CastKind, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
    Value,
};

use super::literal::{parse_interval, parse_number_literal, typed_string};
use super::Binder;
use crate::error::{closest_name, Error, Location, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::functions::ScalarFunc;
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::subquery::{SubqueryExpr, SubqueryKind};
use crate::logical::types::parse_sql_type;

/// Adds the position of `ident` to a binder error.
pub(super) fn at_ident(err: Error, ident: &ast::Ident) -> Error {
    let start = ident.span.start;
    match err {
        Error::Plan(message) if start.line > 0 => Error::Bind {
            message,
            location: Location {
                line: start.line,
                column: start.column,
            },
        },
        other => other,
    }
}

/// The name of an identifier as DuckDB treats it (quoted or not, case kept; matching is
/// case-insensitive).
pub(super) fn ident_name(ident: &ast::Ident) -> String {
    ident.value.clone()
}

impl Binder<'_> {
    /// Binds `e` over `scope`.
    pub(super) fn bind_expr(&self, e: &ast::Expr, scope: &PlanSchema) -> Result<Expr> {
        use ast::Expr as A;
        Ok(match e {
            A::Identifier(ident) => {
                let c = ColumnRef::new(ident_name(ident));
                self.bind_column(c, scope).map_err(|err| at_ident(err, ident))?
            }
            A::CompoundIdentifier(parts) => {
                let c = match parts.as_slice() {
                    [t, c] => ColumnRef::qualified(ident_name(t), ident_name(c)),
                    [_, t, c] | [_, _, t, c] => ColumnRef::qualified(ident_name(t), ident_name(c)),
                    _ => return Err(Error::not_supported(format!("column reference {e}"))),
                };
                let last = parts.last().ok_or_else(|| Error::internal("empty identifier"))?;
                self.bind_column(c, scope).map_err(|err| at_ident(err, last))?
            }
            A::Value(v) => Expr::Literal(self.bind_value(&v.value)?),
            A::TypedString(ts) => {
                let to = parse_sql_type(&ts.data_type.to_string())?;
                let text = match &ts.value.value {
                    Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                Expr::Literal(typed_string(&text, &to)?)
            }
            A::Interval(iv) => {
                let unit = iv.leading_field.as_ref().map(|f| f.to_string());
                let text = match iv.value.as_ref() {
                    A::Value(v) => match &v.value {
                        Value::SingleQuotedString(s) => s.clone(),
                        Value::Number(n, _) => n.to_string(),
                        other => return Err(Error::not_supported(format!("INTERVAL {other}"))),
                    },
                    A::UnaryOp {
                        op: UnaryOperator::Minus,
                        expr,
                    } => format!("-{expr}"),
                    other => {
                        // INTERVAL (expr) DAY: multiply at run time.
                        let unit = unit.clone().unwrap_or_else(|| "day".into());
                        let one = parse_interval("1", Some(&unit))?;
                        let n = self.bind_expr(other, scope)?;
                        return Ok(Expr::Cast {
                            expr: Box::new(n),
                            data_type: DataType::Int64,
                            try_cast: false,
                        }
                        .binary(BinaryOp::Multiply, Expr::Literal(one)));
                    }
                };
                Expr::Literal(parse_interval(&text, unit.as_deref())?)
            }
            A::Array(list) => Expr::Function {
                func: ScalarFunc::ListValue,
                args: list
                    .elem
                    .iter()
                    .map(|e| self.bind_expr(e, scope))
                    .collect::<Result<_>>()?,
            },
            A::Nested(inner) => self.bind_expr(inner, scope)?,
            A::BinaryOp { left, op, right } => {
                if is_comparison(e) && is_comparison(left) {
                    return Err(chained_comparison());
                }
                let op = match op {
                    BinaryOperator::Plus => BinaryOp::Plus,
                    BinaryOperator::Minus => BinaryOp::Minus,
                    BinaryOperator::Multiply => BinaryOp::Multiply,
                    BinaryOperator::Divide => BinaryOp::Divide,
                    BinaryOperator::DuckIntegerDivide | BinaryOperator::MyIntegerDivide => BinaryOp::IntegerDivide,
                    BinaryOperator::Modulo => BinaryOp::Modulo,
                    BinaryOperator::Eq => BinaryOp::Eq,
                    BinaryOperator::NotEq => BinaryOp::NotEq,
                    BinaryOperator::Lt => BinaryOp::Lt,
                    BinaryOperator::LtEq => BinaryOp::LtEq,
                    BinaryOperator::Gt => BinaryOp::Gt,
                    BinaryOperator::GtEq => BinaryOp::GtEq,
                    BinaryOperator::And => BinaryOp::And,
                    BinaryOperator::Or => BinaryOp::Or,
                    BinaryOperator::StringConcat => BinaryOp::Concat,
                    other => {
                        let (l, r) = (self.bind_expr(left, scope)?, self.bind_expr(right, scope)?);
                        return self
                            .bind_regex_op(other, l, r)
                            .ok_or_else(|| Error::not_supported(format!("operator {other}")));
                    }
                };
                self.bind_expr(left, scope)?.binary(op, self.bind_expr(right, scope)?)
            }
            A::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => Expr::Not(Box::new(self.bind_expr(expr, scope)?)),
                UnaryOperator::BitwiseNot => Expr::Function {
                    func: ScalarFunc::BitNot,
                    args: vec![self.bind_expr(expr, scope)?],
                },
                UnaryOperator::Plus => {
                    let inner = self.bind_expr(expr, scope)?;
                    // Unary plus is only defined on numbers (and intervals), as in DuckDB.
                    let t = crate::logical::typecheck::expr_type(&inner, scope, self.opts).unwrap_or(DataType::Null);
                    if !(t.is_numeric() || matches!(t, DataType::Interval(_) | DataType::Null)) {
                        return Err(Error::plan(format!(
                            "No function matches the given name and argument types '+({})'",
                            crate::logical::types::sql_type_name(&t)
                        )));
                    }
                    inner
                }
                UnaryOperator::Minus => match self.bind_expr(expr, scope)? {
                    Expr::Literal(v) if !v.is_null() => match negate_literal(&v) {
                        Some(neg) => Expr::Literal(neg),
                        None => Expr::Negative(Box::new(Expr::Literal(v))),
                    },
                    other => Expr::Negative(Box::new(other)),
                },
                other => return Err(Error::not_supported(format!("operator {other}"))),
            },
            A::IsNull(e) => Expr::IsNull(Box::new(self.bind_expr(e, scope)?)),
            A::IsNotNull(e) => Expr::IsNotNull(Box::new(self.bind_expr(e, scope)?)),
            A::IsUnknown(value) | A::IsNotUnknown(value) => {
                let inner = Box::new(Expr::Cast {
                    expr: Box::new(self.bind_expr(value, scope)?),
                    data_type: DataType::Boolean,
                    try_cast: false,
                });
                if matches!(e, A::IsUnknown(_)) {
                    Expr::IsNull(inner)
                } else {
                    Expr::IsNotNull(inner)
                }
            }
            A::IsTrue(e) => self.is_bool(e, scope, true, false)?,
            A::IsNotTrue(e) => self.is_bool(e, scope, true, true)?,
            A::IsFalse(e) => self.is_bool(e, scope, false, false)?,
            A::IsNotFalse(e) => self.is_bool(e, scope, false, true)?,
            A::IsDistinctFrom(a, b) | A::IsNotDistinctFrom(a, b) if is_comparison(a) || is_comparison(b) => {
                return Err(chained_comparison())
            }
            A::IsDistinctFrom(a, b) => self
                .bind_expr(a, scope)?
                .binary(BinaryOp::IsDistinctFrom, self.bind_expr(b, scope)?),
            A::IsNotDistinctFrom(a, b) => self
                .bind_expr(a, scope)?
                .binary(BinaryOp::IsNotDistinctFrom, self.bind_expr(b, scope)?),
            A::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: Box::new(self.bind_expr(expr, scope)?),
                negated: *negated,
                low: Box::new(self.bind_expr(low, scope)?),
                high: Box::new(self.bind_expr(high, scope)?),
            },
            A::InList { expr, list, negated } => Expr::InList {
                expr: Box::new(self.bind_expr(expr, scope)?),
                list: list.iter().map(|e| self.bind_expr(e, scope)).collect::<Result<_>>()?,
                negated: *negated,
            },
            A::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            }
            | A::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if *any {
                    return Err(Error::not_supported("LIKE ANY"));
                }
                if let Some(esc) = escape_char {
                    return self.bind_like_escape(
                        self.bind_expr(expr, scope)?,
                        self.bind_expr(pattern, scope)?,
                        &esc.value,
                        *negated,
                        matches!(e, A::ILike { .. }),
                    );
                }
                Expr::Like {
                    expr: Box::new(self.bind_expr(expr, scope)?),
                    pattern: Box::new(self.bind_expr(pattern, scope)?),
                    negated: *negated,
                    case_insensitive: matches!(e, A::ILike { .. }),
                }
            }
            A::Cast {
                kind, expr, data_type, ..
            } => Expr::Cast {
                expr: Box::new(self.bind_expr(expr, scope)?),
                data_type: parse_sql_type(&data_type.to_string())?,
                try_cast: matches!(kind, CastKind::TryCast | CastKind::SafeCast),
            },
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => Expr::Case {
                operand: match operand {
                    Some(o) => Some(Box::new(self.bind_expr(o, scope)?)),
                    None => None,
                },
                when_then: conditions
                    .iter()
                    .map(|c| Ok((self.bind_expr(&c.condition, scope)?, self.bind_expr(&c.result, scope)?)))
                    .collect::<Result<_>>()?,
                else_expr: match else_result {
                    Some(e) => Some(Box::new(self.bind_expr(e, scope)?)),
                    None => None,
                },
            },
            A::Extract { field, expr, .. } => {
                let args = vec![
                    Expr::Literal(ScalarValue::Utf8(Some(field.to_string().to_lowercase()))),
                    self.bind_expr(expr, scope)?,
                ];
                self.bind_scalar_call("date_part", args)?
                    .ok_or_else(|| Error::internal("date_part is not a function"))?
            }
            A::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char: None,
            } => self.bind_similar_to(self.bind_expr(expr, scope)?, self.bind_expr(pattern, scope)?, *negated),
            A::RLike {
                negated,
                expr,
                pattern,
                regexp: false,
            } => self.bind_glob(self.bind_expr(expr, scope)?, self.bind_expr(pattern, scope)?, *negated),
            A::Position { expr, r#in } => Expr::Function {
                func: ScalarFunc::StrPos,
                args: vec![self.bind_expr(r#in, scope)?, self.bind_expr(expr, scope)?],
            },
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr, scope)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f, scope)?,
                    None => Expr::Literal(ScalarValue::Int64(Some(1))),
                });
                if let Some(n) = substring_for {
                    args.push(self.bind_expr(n, scope)?);
                }
                Expr::Function {
                    func: ScalarFunc::Substring,
                    args,
                }
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => self.bind_trim(
                expr,
                trim_where.as_ref(),
                trim_what.as_deref(),
                trim_characters.as_ref(),
                scope,
            )?,
            A::Floor { expr, field } | A::Ceil { expr, field } => {
                if !matches!(field, ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)) {
                    return Err(Error::not_supported(format!("expression {e}")));
                }
                Expr::Function {
                    func: if matches!(e, A::Floor { .. }) {
                        ScalarFunc::Floor
                    } else {
                        ScalarFunc::Ceil
                    },
                    args: vec![self.bind_expr(expr, scope)?],
                }
            }
            A::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut args = vec![
                    self.bind_expr(expr, scope)?,
                    self.bind_expr(overlay_what, scope)?,
                    self.bind_expr(overlay_from, scope)?,
                ];
                if let Some(n) = overlay_for {
                    args.push(self.bind_expr(n, scope)?);
                }
                Expr::Function {
                    func: ScalarFunc::Overlay,
                    args,
                }
            }
            A::Function(f) => self.bind_function(f, scope)?,
            A::Subquery(q) => self.bind_subquery(q, scope, SubqueryKind::Scalar)?,
            A::Exists { subquery, negated } => {
                negated_if(*negated, self.bind_subquery(subquery, scope, SubqueryKind::Exists)?)
            }
            A::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let lhs = self.bind_expr(expr, scope)?;
                negated_if(
                    *negated,
                    self.bind_subquery(subquery, scope, SubqueryKind::In(Box::new(lhs)))?,
                )
            }
            A::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.bind_quantified(e, left, compare_op, right, false, scope)?,
            A::AllOp {
                left,
                compare_op,
                right,
            } => self.bind_quantified(e, left, compare_op, right, true, scope)?,
            other => return Err(Error::not_supported(format!("expression {other}"))),
        })
    }

    /// `left op ANY|ALL (subquery)`: `= ANY` is IN, `<> ALL` is NOT IN, the other comparisons
    /// a quantified subquery (see `quantified.rs`).
    fn bind_quantified(
        &self,
        e: &ast::Expr,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
        all: bool,
        scope: &PlanSchema,
    ) -> Result<Expr> {
        let ast::Expr::Subquery(q) = right else {
            return Err(Error::not_supported(format!("{e} (ANY/ALL over a non-subquery)")));
        };
        let op = match op {
            BinaryOperator::Eq => BinaryOp::Eq,
            BinaryOperator::NotEq => BinaryOp::NotEq,
            BinaryOperator::Lt => BinaryOp::Lt,
            BinaryOperator::LtEq => BinaryOp::LtEq,
            BinaryOperator::Gt => BinaryOp::Gt,
            BinaryOperator::GtEq => BinaryOp::GtEq,
            other => return Err(Error::not_supported(format!("operator {other} with ANY/ALL"))),
        };
        if let Some(fields) = row_fields(left) {
            let lhs = fields
                .into_iter()
                .map(|f| self.bind_expr(f, scope))
                .collect::<Result<Vec<_>>>()?;
            let plan = self.child(scope).bind_query(q)?;
            return self.row_quantified(lhs, op, all, plan, q.to_string().into(), scope);
        }
        let lhs = Box::new(self.bind_expr(left, scope)?);
        Ok(match (op, all) {
            (BinaryOp::Eq, false) => self.bind_subquery(q, scope, SubqueryKind::In(lhs))?,
            (BinaryOp::NotEq, true) => Expr::Not(Box::new(self.bind_subquery(q, scope, SubqueryKind::In(lhs))?)),
            _ => self.bind_subquery(q, scope, SubqueryKind::Quantified { lhs, op, all })?,
        })
    }

    /// A column of `scope`, or else of an enclosing query's scope (a correlated reference).
    fn bind_column(&self, c: ColumnRef, scope: &PlanSchema) -> Result<Expr> {
        if scope.find(&c)?.is_some() {
            return Ok(Expr::Column(c));
        }
        for (depth, outer) in self.outer.iter().rev().enumerate() {
            if let Ok(Some(i)) = outer.find(&c) {
                return Ok(Expr::OuterColumn {
                    column: outer.column_ref(i),
                    data_type: outer.field(i).data_type().clone(),
                    depth: depth + 1,
                });
            }
            // A select-list alias of that query: read as the grouping key it names (the
            // enclosing query groups by it before its subqueries are joined).
            let aliases = self.outer_aliases.get(self.outer_aliases.len().wrapping_sub(depth + 1));
            if let (None, Some(aliases)) = (&c.qualifier, aliases) {
                let aliases = aliases.borrow();
                if let Some((_, e)) = aliases.iter().find(|(a, _)| a.eq_ignore_ascii_case(&c.name)) {
                    return Ok(Expr::OuterColumn {
                        column: ColumnRef::new(e.output_name()),
                        data_type: crate::logical::typecheck::expr_type(e, outer, self.opts)?,
                        depth: depth + 1,
                    });
                }
            }
        }
        Err(scope.not_found(&c))
    }

    /// Binds a subquery used as an expression; scalar and IN subqueries must have one column.
    fn bind_subquery(&self, q: &ast::Query, scope: &PlanSchema, kind: SubqueryKind) -> Result<Expr> {
        let mut child = self.child(scope);
        let plan = child.bind_query(q)?;
        let columns = plan.schema().len();
        if !matches!(kind, SubqueryKind::Exists) && columns != 1 {
            return Err(Error::plan(format!("Subquery returns {columns} columns - expected 1")));
        }
        Ok(Expr::Subquery(SubqueryExpr {
            kind,
            plan: std::sync::Arc::new(plan),
            sql: q.to_string().into(),
        }))
    }

    fn is_bool(&self, e: &ast::Expr, scope: &PlanSchema, value: bool, negated: bool) -> Result<Expr> {
        // The value is read as a BOOLEAN first (`42 IS TRUE` is true).
        let inner = Expr::Cast {
            expr: Box::new(self.bind_expr(e, scope)?),
            data_type: DataType::Boolean,
            try_cast: false,
        };
        let test = inner.binary(
            BinaryOp::IsNotDistinctFrom,
            Expr::Literal(ScalarValue::Boolean(Some(value))),
        );
        Ok(negated_if(negated, test))
    }

    /// Binds a literal value.
    pub(super) fn bind_value(&self, v: &Value) -> Result<ScalarValue> {
        Ok(match v {
            Value::Number(n, _) => parse_number_literal(&n.to_string())?,
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) | Value::DoubleQuotedString(s) => {
                ScalarValue::Utf8(Some(s.clone()))
            }
            Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
            Value::Null => ScalarValue::Null,
            other => return Err(Error::not_supported(format!("literal {other}"))),
        })
    }

    fn bind_function(&self, f: &ast::Function, scope: &PlanSchema) -> Result<Expr> {
        let name = f.name.to_string().to_lowercase();
        let (args, distinct) = match &f.args {
            FunctionArguments::None => (vec![], false),
            FunctionArguments::List(list) => (
                list.args.iter().collect::<Vec<_>>(),
                matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)),
            ),
            FunctionArguments::Subquery(_) => {
                return Err(Error::not_supported("a subquery as a function's argument list"))
            }
        };
        if f.over.is_some() {
            return self.bind_window_call(f, &name, &args, distinct, scope);
        }
        if let Some(agg) = self.bind_aggregate_call(&name, f, &args, distinct, scope)? {
            return Ok(agg);
        }
        if super::scalar::is_scalar_name(&name) {
            if let Some(e) = self.bind_scalar_call(&name, self.bind_args(&args, scope)?)? {
                return Ok(e);
            }
        }
        if name == "count_star" && args.is_empty() {
            return Ok(Expr::Aggregate {
                func: AggFunc::Count,
                args: vec![],
                distinct: false,
                filter: None,
                order_by: vec![],
            });
        }
        let known = ScalarFunc::all_names().chain(AggFunc::all_names().iter().copied());
        let hint = closest_name(&name, known)
            .map(|n| format!(" Did you mean \"{n}\"?"))
            .unwrap_or_default();
        Err(Error::plan(format!(
            "Scalar Function with name {name} does not exist!{hint}"
        )))
    }

    pub(super) fn bind_args(&self, args: &[&FunctionArg], scope: &PlanSchema) -> Result<Vec<Expr>> {
        args.iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => self.bind_expr(e, scope),
                other => Err(Error::not_supported(format!("function argument {other}"))),
            })
            .collect()
    }
}

/// The fields of a row constructor: `(a, b, …)` or `ROW(a, …)`.
fn row_fields(e: &ast::Expr) -> Option<Vec<&ast::Expr>> {
    match e {
        ast::Expr::Tuple(fields) => Some(fields.iter().collect()),
        ast::Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("row") && f.over.is_none() => {
            let FunctionArguments::List(list) = &f.args else {
                return None;
            };
            list.args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect()
        }
        _ => None,
    }
}

/// `-literal` folded into the literal (so `-1` stays an INTEGER constant).
fn negate_literal(v: &ScalarValue) -> Option<ScalarValue> {
    Some(match v {
        ScalarValue::Int32(Some(x)) => ScalarValue::Int32(Some(x.checked_neg()?)),
        ScalarValue::Int64(Some(x)) => ScalarValue::Int64(Some(x.checked_neg()?)),
        ScalarValue::Float64(Some(x)) => ScalarValue::Float64(Some(-x)),
        ScalarValue::Decimal128(Some(x), p, s) => ScalarValue::Decimal128(Some(-x), *p, *s),
        ScalarValue::IntervalMonthDayNano(Some(i)) => {
            ScalarValue::IntervalMonthDayNano(Some(arrow::datatypes::IntervalMonthDayNano {
                months: -i.months,
                days: -i.days,
                nanoseconds: -i.nanoseconds,
            }))
        }
        _ => return None,
    })
}

/// Whether `e` is a comparison written without parentheses (`a = b`, `a IS DISTINCT FROM b`).
fn is_comparison(e: &ast::Expr) -> bool {
    use BinaryOperator as B;
    match e {
        ast::Expr::BinaryOp { op, .. } => matches!(op, B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq),
        ast::Expr::IsDistinctFrom(..) | ast::Expr::IsNotDistinctFrom(..) => true,
        _ => false,
    }
}

/// DuckDB rejects `a = b = c`: comparisons must be combined with AND.
fn chained_comparison() -> Error {
    Error::Parse {
        message: "Chained comparisons are not supported, use AND to combine comparisons".into(),
        location: None,
    }
}

/// `NOT e` when `negated`, else `e`.
fn negated_if(negated: bool, e: Expr) -> Expr {
    if negated {
        Expr::Not(Box::new(e))
    } else {
        e
    }
}
