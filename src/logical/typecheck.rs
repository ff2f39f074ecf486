//! Typing expressions: the type each expression produces, and the casts that make operands
//! meet (DuckDB's implicit conversions). The binder calls [`coerce`] on every expression it
//! builds, so later layers can assume operand types already match.

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};

use crate::error::{Error, Result};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::schema::PlanSchema;
use crate::logical::types::{arithmetic_types, comparison_type, is_string, sql_type_name, supertype};
use crate::logical::window::{WindowExpr, WindowFunc};

/// Typing options that differ between dialects.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypeOptions {
    /// `/` on integers is integer division.
    pub integer_division: bool,
    /// `ORDER BY` without NULLS FIRST/LAST puts NULLs first (`SET default_null_order`).
    pub nulls_first: bool,
    /// `ORDER BY 'x'` (a literal other than a position) is allowed and orders nothing
    /// (`SET order_by_non_integer_literal`), instead of DuckDB's error.
    pub order_by_literals: bool,
    /// `SET scalar_subquery_error_on_multiple_rows = false`: a scalar subquery with several
    /// rows gives one of them instead of an error.
    pub scalar_subquery_any_row: bool,
}

/// The type `expr` produces over `schema` (after [`coerce`]).
pub fn expr_type(expr: &Expr, schema: &PlanSchema, opts: TypeOptions) -> Result<DataType> {
    Ok(match expr {
        Expr::Column(c) => schema.field(schema.resolve(c)?).data_type().clone(),
        Expr::Literal(v) => v.data_type(),
        Expr::Binary { left, op, right } => match op {
            BinaryOp::And | BinaryOp::Or => DataType::Boolean,
            op if op.is_comparison() => DataType::Boolean,
            BinaryOp::Concat => DataType::Utf8,
            op => {
                let (l, r) = (expr_type(left, schema, opts)?, expr_type(right, schema, opts)?);
                arithmetic_types(*op, &l, &r, opts.integer_division)?.2
            }
        },
        Expr::Not(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::InList { .. } => DataType::Boolean,
        Expr::Negative(e) | Expr::Alias { expr: e, .. } => expr_type(e, schema, opts)?,
        Expr::Case {
            when_then, else_expr, ..
        } => {
            let mut t = DataType::Null;
            for then in when_then
                .iter()
                .map(|(_, t)| t)
                .chain(else_expr.iter().map(|b| b.as_ref()))
            {
                let tt = expr_type(then, schema, opts)?;
                t = supertype(&t, &tt).unwrap_or(tt);
            }
            t
        }
        Expr::Cast { data_type, .. } => data_type.clone(),
        Expr::OuterColumn { data_type, .. } => data_type.clone(),
        Expr::Subquery(sq) => match sq.kind {
            crate::logical::subquery::SubqueryKind::Scalar => {
                let schema = sq.plan.schema();
                if schema.is_empty() {
                    return Err(Error::plan("Subquery returns no columns"));
                }
                schema.field(0).data_type().clone()
            }
            _ => DataType::Boolean,
        },
        Expr::Function { func, args } => {
            let types = args
                .iter()
                .map(|a| expr_type(a, schema, opts))
                .collect::<Result<Vec<_>>>()?;
            func.signature(&types)?.1
        }
        Expr::Aggregate {
            func, args, order_by, ..
        } => {
            let types = args
                .iter()
                .map(|a| expr_type(a, schema, opts))
                .collect::<Result<Vec<_>>>()?;
            func.return_type(crate::logical::aggregate::value_arg_types(&types, order_by))?
        }
        Expr::Window(w) => {
            let types = w
                .args
                .iter()
                .map(|a| expr_type(a, schema, opts))
                .collect::<Result<Vec<_>>>()?;
            w.func.return_type(&types)?
        }
    })
}

/// Wraps `expr` (of type `from`) in a cast to `to` when the types differ.
pub fn cast_if_needed(expr: Expr, from: &DataType, to: &DataType) -> Expr {
    if from == to || *to == DataType::Null {
        expr
    } else {
        Expr::Cast {
            expr: Box::new(expr),
            data_type: to.clone(),
            try_cast: false,
        }
    }
}

/// Inserts the casts that make `expr` well-typed over `schema`, or explains why it is not.
pub fn coerce(expr: Expr, schema: &PlanSchema, opts: TypeOptions) -> Result<Expr> {
    let out = expr.transform_up(|e| coerce_node(e, schema, opts).map(Transformed::yes).map_err(Into::into))?;
    Ok(out.data)
}

/// `e` as a BOOLEAN condition: NULL, integers and strings are cast (as DuckDB does), other
/// types are an error naming `what` the condition is.
pub fn require_boolean(e: Expr, schema: &PlanSchema, opts: TypeOptions, what: &str) -> Result<Expr> {
    let t = expr_type(&e, schema, opts)?;
    match t {
        DataType::Boolean => Ok(e),
        DataType::Null => Ok(cast_if_needed(e, &t, &DataType::Boolean)),
        t if is_string(&t) || t.is_integer() => Ok(cast_if_needed(e, &t, &DataType::Boolean)),
        t => Err(Error::plan(format!(
            "{what} must be a BOOLEAN, but \"{e}\" is of type {}",
            sql_type_name(&t)
        ))),
    }
}

fn common_of(exprs: &[&Expr], schema: &PlanSchema, opts: TypeOptions, what: &str) -> Result<DataType> {
    common_with(exprs, schema, opts, what, comparison_type)
}

/// The common type of `exprs` under `meet` (comparison_type or supertype).
fn common_with(
    exprs: &[&Expr],
    schema: &PlanSchema,
    opts: TypeOptions,
    what: &str,
    meet: fn(&DataType, &DataType) -> Option<DataType>,
) -> Result<DataType> {
    let mut common = DataType::Null;
    for e in exprs {
        let t = expr_type(e, schema, opts)?;
        common = meet(&common, &t).ok_or_else(|| {
            Error::plan(format!(
                "Cannot mix values of type {} and {} in {what}",
                sql_type_name(&common),
                sql_type_name(&t)
            ))
        })?;
    }
    Ok(common)
}

fn cast_to(e: Expr, to: &DataType, schema: &PlanSchema, opts: TypeOptions) -> Result<Expr> {
    let from = expr_type(&e, schema, opts)?;
    Ok(cast_if_needed(e, &from, to))
}

/// `date ± days` (a DATE) and `date − date` (days, BIGINT) computed on day numbers.
fn date_arithmetic(left: Expr, lt: &DataType, op: BinaryOp, right: Expr, rt: &DataType) -> Expr {
    // Date − date can exceed INTEGER (the full DATE range spans 2^32 days).
    let days_type = if lt == rt { DataType::Int64 } else { DataType::Int32 };
    let as_days = |e: Expr, t: &DataType| {
        let e = cast_if_needed(e, t, &DataType::Int32);
        cast_if_needed(e, &DataType::Int32, &days_type)
    };
    let days = as_days(left, lt).binary(op, as_days(right, rt));
    let to = if lt == rt { DataType::Int64 } else { DataType::Date32 };
    Expr::Cast {
        expr: Box::new(days),
        data_type: to,
        try_cast: false,
    }
}

fn coerce_node(e: Expr, schema: &PlanSchema, opts: TypeOptions) -> Result<Expr> {
    Ok(match e {
        Expr::Binary { left, op, right } => {
            let (lt, rt) = (expr_type(&left, schema, opts)?, expr_type(&right, schema, opts)?);
            match op {
                BinaryOp::And | BinaryOp::Or => Expr::Binary {
                    left: Box::new(require_boolean(*left, schema, opts, op.symbol())?),
                    op,
                    right: Box::new(require_boolean(*right, schema, opts, op.symbol())?),
                },
                BinaryOp::Concat => Expr::Binary {
                    left: Box::new(cast_if_needed(*left, &lt, &DataType::Utf8)),
                    op,
                    right: Box::new(cast_if_needed(*right, &rt, &DataType::Utf8)),
                },
                op if op.is_comparison() => {
                    let t = comparison_type(&lt, &rt).ok_or_else(|| {
                        Error::plan(format!(
                            "Cannot compare values of type {} and type {} in \"{left} {} {right}\": add an explicit cast",
                            sql_type_name(&lt),
                            sql_type_name(&rt),
                            op.symbol()
                        ))
                    })?;
                    let t = if t == DataType::Null { DataType::Boolean } else { t };
                    Expr::Binary {
                        left: Box::new(cast_if_needed(*left, &lt, &t)),
                        op,
                        right: Box::new(cast_if_needed(*right, &rt, &t)),
                    }
                }
                op if matches!(op, BinaryOp::Plus | BinaryOp::Minus)
                    && (lt == DataType::Date32 || rt == DataType::Date32)
                    && (lt.is_integer() || rt.is_integer() || (lt == rt && op == BinaryOp::Minus)) =>
                {
                    date_arithmetic(*left, &lt, op, *right, &rt)
                }
                op => {
                    // Only string literals convert to numbers implicitly; typed VARCHAR does not.
                    let typed_text = |e: &Expr, t: &DataType| is_string(t) && !matches!(e, Expr::Literal(_));
                    if typed_text(&left, &lt) || typed_text(&right, &rt) {
                        return Err(Error::plan(format!(
                            "No function matches the given name and argument types '{}({}, {})'. You might need to add explicit type casts.",
                            op.symbol(),
                            sql_type_name(&lt),
                            sql_type_name(&rt)
                        )));
                    }
                    let (l, r, _) = arithmetic_types(op, &lt, &rt, opts.integer_division)?;
                    Expr::Binary {
                        left: Box::new(cast_if_needed(*left, &lt, &l)),
                        op,
                        right: Box::new(cast_if_needed(*right, &rt, &r)),
                    }
                }
            }
        }
        Expr::Not(inner) => Expr::Not(Box::new(require_boolean(*inner, schema, opts, "NOT")?)),
        Expr::Negative(inner) => {
            let t = expr_type(&inner, schema, opts)?;
            if !(t.is_numeric() || matches!(t, DataType::Interval(_) | DataType::Null)) {
                return Err(Error::plan(format!(
                    "Cannot negate a value of type {}",
                    sql_type_name(&t)
                )));
            }
            Expr::Negative(inner)
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let t = common_of(&[&expr, &low, &high], schema, opts, "BETWEEN")?;
            Expr::Between {
                expr: Box::new(cast_to(*expr, &t, schema, opts)?),
                negated,
                low: Box::new(cast_to(*low, &t, schema, opts)?),
                high: Box::new(cast_to(*high, &t, schema, opts)?),
            }
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => Expr::Like {
            expr: Box::new(cast_to(*expr, &DataType::Utf8, schema, opts)?),
            pattern: Box::new(cast_to(*pattern, &DataType::Utf8, schema, opts)?),
            negated,
            case_insensitive,
        },
        Expr::InList { expr, list, negated } => {
            let mut all: Vec<&Expr> = vec![&expr];
            all.extend(list.iter());
            let t = common_of(&all, schema, opts, "IN list")?;
            Expr::InList {
                expr: Box::new(cast_to(*expr, &t, schema, opts)?),
                list: list
                    .into_iter()
                    .map(|e| cast_to(e, &t, schema, opts))
                    .collect::<Result<_>>()?,
                negated,
            }
        }
        Expr::Case {
            operand,
            when_then,
            else_expr,
        } => {
            let thens: Vec<&Expr> = when_then
                .iter()
                .map(|(_, t)| t)
                .chain(else_expr.iter().map(|b| b.as_ref()))
                .collect();
            let result_type = common_with(&thens, schema, opts, "CASE results", supertype)?;
            let (operand, whens) = match operand {
                Some(op) => {
                    let mut all: Vec<&Expr> = vec![&op];
                    all.extend(when_then.iter().map(|(w, _)| w));
                    let t = common_of(&all, schema, opts, "CASE operand")?;
                    let whens = when_then
                        .iter()
                        .map(|(w, _)| cast_to(w.clone(), &t, schema, opts))
                        .collect::<Result<Vec<_>>>()?;
                    (Some(Box::new(cast_to(*op, &t, schema, opts)?)), whens)
                }
                None => (
                    None,
                    when_then
                        .iter()
                        .map(|(w, _)| require_boolean(w.clone(), schema, opts, "CASE WHEN condition"))
                        .collect::<Result<Vec<_>>>()?,
                ),
            };
            let mut pairs = Vec::with_capacity(whens.len());
            for (w, (_, t)) in whens.into_iter().zip(when_then) {
                pairs.push((w, cast_to(t, &result_type, schema, opts)?));
            }
            Expr::Case {
                operand,
                when_then: pairs,
                else_expr: match else_expr {
                    Some(e) => Some(Box::new(cast_to(*e, &result_type, schema, opts)?)),
                    None => None,
                },
            }
        }
        Expr::Cast {
            expr,
            data_type,
            try_cast,
        } => {
            let from = expr_type(&expr, schema, opts)?;
            if !crate::logical::types::can_cast(&from, &data_type) {
                return Err(Error::plan(format!(
                    "Unimplemented type for cast ({} -> {})",
                    sql_type_name(&from),
                    sql_type_name(&data_type)
                )));
            }
            Expr::Cast {
                expr,
                data_type,
                try_cast,
            }
        }
        Expr::Function { func, args } => {
            let types = args
                .iter()
                .map(|a| expr_type(a, schema, opts))
                .collect::<Result<Vec<_>>>()?;
            let (wanted, ret) = func.signature(&types)?;
            let rounded_type = decimal_round_type(func, &types, &args);
            let call = Expr::Function {
                func,
                args: args
                    .into_iter()
                    .zip(types.iter().zip(wanted.iter()))
                    .map(|(a, (from, to))| cast_if_needed(a, from, to))
                    .collect(),
            };
            match rounded_type {
                Some(t) => cast_if_needed(call, &ret, &t),
                None => call,
            }
        }
        Expr::Aggregate {
            func,
            args,
            distinct,
            filter,
            order_by,
        } => {
            let types = args
                .iter()
                .map(|a| expr_type(a, schema, opts))
                .collect::<Result<Vec<_>>>()?;
            func.return_type(crate::logical::aggregate::value_arg_types(&types, &order_by))?;
            let filter = match filter {
                Some(f) => Some(Box::new(require_boolean(*f, schema, opts, "FILTER")?)),
                None => None,
            };
            Expr::Aggregate {
                func,
                args,
                distinct,
                filter,
                order_by,
            }
        }
        Expr::Window(w) => Expr::Window(Box::new(coerce_window(*w, schema, opts)?)),
        other => other,
    })
}

/// DuckDB's type for `round(d [, k])` on a DECIMAL(p,s) with a constant `k`: DECIMAL(p, k)
/// for `0 <= k < s`, DECIMAL(p - s + 1, 0) for `k < 0` (room for the carry), the input type
/// otherwise. The kernel rounds at the input scale; a cast then gives this type.
fn decimal_round_type(
    func: crate::logical::functions::ScalarFunc,
    types: &[DataType],
    args: &[Expr],
) -> Option<DataType> {
    use datafusion_common::ScalarValue;
    if func != crate::logical::functions::ScalarFunc::Round {
        return None;
    }
    let DataType::Decimal128(p, s) = types.first()? else {
        return None;
    };
    let k: i64 = match args.get(1) {
        None => 0,
        Some(Expr::Literal(v)) => match v {
            ScalarValue::Int8(Some(k)) => i64::from(*k),
            ScalarValue::Int16(Some(k)) => i64::from(*k),
            ScalarValue::Int32(Some(k)) => i64::from(*k),
            ScalarValue::Int64(Some(k)) => *k,
            _ => return None,
        },
        Some(_) => return None,
    };
    let (p, s) = (i64::from(*p), i64::from(*s));
    let (p_out, s_out) = if k >= s {
        return None;
    } else if k >= 0 {
        (p, k)
    } else {
        ((p - s + 1).min(38), 0)
    };
    Some(DataType::Decimal128(p_out as u8, s_out as i8))
}

/// Window calls: offsets and counts are BIGINT, a lag/lead default takes the value's type.
fn coerce_window(mut w: WindowExpr, schema: &PlanSchema, opts: TypeOptions) -> Result<WindowExpr> {
    let types = w
        .args
        .iter()
        .map(|a| expr_type(a, schema, opts))
        .collect::<Result<Vec<_>>>()?;
    w.func.return_type(&types)?;
    let wanted: Vec<DataType> = match w.func {
        WindowFunc::Lag | WindowFunc::Lead => {
            let mut t = vec![types[0].clone(), DataType::Int64];
            if types.len() == 3 {
                let common = comparison_type(&types[0], &types[2]).unwrap_or(types[0].clone());
                t[0] = common.clone();
                t.push(common);
            }
            t
        }
        WindowFunc::Ntile => vec![DataType::Int64],
        WindowFunc::NthValue => vec![types[0].clone(), DataType::Int64],
        _ => types.clone(),
    };
    w.args = std::mem::take(&mut w.args)
        .into_iter()
        .zip(types.iter().zip(wanted.iter()))
        .map(|(a, (from, to))| cast_if_needed(a, from, to))
        .collect();
    Ok(w)
}
