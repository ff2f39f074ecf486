//! Expressions as Spark SQL, with DuckDB's semantics kept where Spark's differ: division by
//! zero is IEEE for doubles and NULL otherwise, `//` truncates integers, casts of fractions to integers round, `LIKE` has
//! no escape character, and so on. Columns are named positionally (see [`Scope`]).

use arrow::datatypes::DataType;

use super::functions;
use super::literal::literal;
use super::types::{quote_string, spark_type};
use crate::error::{Error, Result};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::typecheck::{expr_type, TypeOptions};

/// The name of output column `i` of every rendered plan node.
pub fn column_name(i: usize) -> String {
    format!("_c{i}")
}

/// The columns an expression can read: one input (or two, side by side, for a join), each
/// rendered as a subquery under an alias whose columns are `_c0`, `_c1`, ….
pub struct Scope {
    schema: PlanSchema,
    references: Vec<String>,
    opts: TypeOptions,
}

impl Scope {
    /// The columns of one input, `schema`, read through `alias`.
    pub fn new(schema: &PlanSchema, alias: &str, opts: TypeOptions) -> Scope {
        Scope::joined(&[(schema, alias)], opts)
    }

    /// The columns of several inputs side by side (a join's left then right).
    pub fn joined(inputs: &[(&PlanSchema, &str)], opts: TypeOptions) -> Scope {
        let mut schema = PlanSchema::empty();
        let mut references = Vec::new();
        for (s, alias) in inputs {
            schema = schema.join(s);
            references.extend((0..s.len()).map(|i| format!("{alias}.{}", column_name(i))));
        }
        Scope {
            schema,
            references,
            opts,
        }
    }

    fn column(&self, c: &ColumnRef) -> Result<String> {
        let i = self.schema.resolve(c)?;
        self.references
            .get(i)
            .cloned()
            .ok_or_else(|| Error::internal(format!("remote: no column {i} in scope")))
    }

    /// The type of `e` over this scope's columns.
    pub fn type_of(&self, e: &Expr) -> Result<DataType> {
        expr_type(e, &self.schema, self.opts)
    }
}

/// `e` as a Spark SQL expression over `scope`.
pub fn render(e: &Expr, scope: &Scope) -> Result<String> {
    let r = |x: &Expr| render(x, scope);
    Ok(match e {
        Expr::Column(c) => scope.column(c)?,
        Expr::Literal(v) => literal(v)?,
        Expr::Binary { left, op, right } => binary(left, *op, right, scope)?,
        Expr::Not(x) => format!("(NOT {})", r(x)?),
        Expr::Negative(x) => format!("(- {})", r(x)?),
        Expr::IsNull(x) => format!("({} IS NULL)", r(x)?),
        Expr::IsNotNull(x) => format!("({} IS NOT NULL)", r(x)?),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => format!(
            "({} {}BETWEEN {} AND {})",
            r(expr)?,
            if *negated { "NOT " } else { "" },
            r(low)?,
            r(high)?
        ),
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => {
            let op = if *case_insensitive { "ILIKE" } else { "LIKE" };
            let like = format!("({} {op} {})", r(expr)?, like_pattern(pattern, scope)?);
            if *negated {
                format!("(NOT {like})")
            } else {
                like
            }
        }
        Expr::InList { expr, list, negated } => {
            let items = list.iter().map(r).collect::<Result<Vec<_>>>()?;
            format!(
                "({} {}IN ({}))",
                r(expr)?,
                if *negated { "NOT " } else { "" },
                items.join(", ")
            )
        }
        Expr::Case {
            operand,
            when_then,
            else_expr,
        } => {
            let mut out = String::from("CASE");
            if let Some(o) = operand {
                out.push(' ');
                out.push_str(&r(o)?);
            }
            for (w, t) in when_then {
                out.push_str(&format!(" WHEN {} THEN {}", r(w)?, r(t)?));
            }
            if let Some(x) = else_expr {
                out.push_str(&format!(" ELSE {}", r(x)?));
            }
            out.push_str(" END");
            out
        }
        Expr::Cast {
            expr,
            data_type,
            try_cast,
        } => cast(expr, data_type, *try_cast, scope)?,
        Expr::Function { func, args } => functions::scalar(*func, args, scope)?,
        Expr::Aggregate { .. } => functions::aggregate(e, scope, None)?,
        Expr::Window(w) => functions::window(w, scope)?,
        Expr::Alias { expr, .. } => r(expr)?,
        Expr::OuterColumn { .. } | Expr::Subquery(_) => {
            return Err(Error::internal("remote: a subquery was left in the optimized plan"))
        }
    })
}

/// A LIKE pattern with DuckDB's meaning in Spark, which reads `\` as an escape character by
/// default: backslashes are doubled (a constant pattern at once, others with `replace`).
fn like_pattern(pattern: &Expr, scope: &Scope) -> Result<String> {
    if let Expr::Literal(v) = pattern {
        if let Some(text) = string_constant(v) {
            return Ok(quote_string(&text.replace('\\', "\\\\")));
        }
    }
    Ok(format!(
        "replace({}, {}, {})",
        render(pattern, scope)?,
        quote_string("\\"),
        quote_string("\\\\")
    ))
}

/// The text of a string constant (`None` for NULL or other types).
pub fn string_constant(v: &datafusion_common::ScalarValue) -> Option<String> {
    use datafusion_common::ScalarValue;
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn binary(left: &Expr, op: BinaryOp, right: &Expr, scope: &Scope) -> Result<String> {
    let (l, r) = (render(left, scope)?, render(right, scope)?);
    let (lt, rt) = (scope.type_of(left)?, scope.type_of(right)?);
    Ok(match op {
        // Date ± integer days is a date in rask (and DuckDB).
        BinaryOp::Plus if lt == DataType::Date32 && rt.is_integer() => format!("date_add({l}, {r})"),
        BinaryOp::Plus if rt == DataType::Date32 && lt.is_integer() => format!("date_add({r}, {l})"),
        BinaryOp::Minus if lt == DataType::Date32 && rt.is_integer() => format!("date_sub({l}, {r})"),
        // Floating-point division by zero is ±Infinity or NaN (IEEE, as in DuckDB); Spark
        // (ANSI) raises an error, so the zero divisor is handled before dividing.
        BinaryOp::Divide if matches!(lt, DataType::Float64 | DataType::Float32) => {
            let t = spark_type(&lt)?;
            format!(
                "(CASE WHEN {l} IS NULL OR {r} IS NULL THEN NULL WHEN {r} <> 0 THEN {l} / {r} \
                 WHEN {l} > 0 THEN CAST('Infinity' AS {t}) WHEN {l} < 0 THEN CAST('-Infinity' AS {t}) \
                 ELSE CAST('NaN' AS {t}) END)"
            )
        }
        // DuckDB: integer and decimal division (and modulo) by zero is NULL.
        BinaryOp::Divide => format!("({l} / NULLIF({r}, 0))"),
        BinaryOp::Modulo => format!("({l} % NULLIF({r}, 0))"),
        BinaryOp::IntegerDivide => {
            let result = scope.type_of(&left.clone().binary(op, right.clone()))?;
            if result.is_integer() {
                format!("CAST(({l} div NULLIF({r}, 0)) AS {})", spark_type(&result)?)
            } else {
                format!("floor({l} / NULLIF({r}, 0))")
            }
        }
        BinaryOp::Concat => format!("({l} || {r})"),
        BinaryOp::NotEq => format!("({l} <> {r})"),
        BinaryOp::IsNotDistinctFrom => format!("({l} <=> {r})"),
        BinaryOp::IsDistinctFrom => format!("(NOT ({l} <=> {r}))"),
        op => format!("({l} {} {r})", op.symbol()),
    })
}

/// `CAST(x AS t)` with DuckDB's results: fractions cast to integers round (Spark
/// truncates), half to even from floating point and half away from zero from DECIMAL; dates
/// and integers convert through day numbers (rask's date arithmetic is planned that way).
fn cast(expr: &Expr, to: &DataType, try_cast: bool, scope: &Scope) -> Result<String> {
    let from = scope.type_of(expr)?;
    let value = render(expr, scope)?;
    if from == *to {
        return Ok(value);
    }
    let value = match (&from, to) {
        (DataType::Float16 | DataType::Float32 | DataType::Float64, t) if t.is_integer() => format!("rint({value})"),
        (DataType::Decimal128(_, _) | DataType::Decimal256(_, _), t) if t.is_integer() => {
            format!("round({value}, 0)")
        }
        (DataType::Date32, t) if t.is_integer() => format!("unix_date({value})"),
        (t, DataType::Date32) if t.is_integer() => return Ok(format!("date_from_unix_date(CAST({value} AS INT))")),
        (DataType::Null, _) => return Ok(format!("CAST(NULL AS {})", spark_type(to)?)),
        _ => value,
    };
    let function = if try_cast { "try_cast" } else { "CAST" };
    Ok(format!("{function}({value} AS {})", spark_type(to)?))
}
