//! Scalar, aggregate and window functions in Spark SQL. Each rask function maps to the Spark
//! spelling with DuckDB's result: the same value and, through a `CAST`, the same type. A
//! function with no faithful Spark counterpart is refused here, before anything is sent.

use arrow::datatypes::DataType;

use super::expr::{render, string_constant, Scope};
use super::types::{quote_string, spark_type};
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::expr::Expr;
use crate::logical::functions::{MathFunc, ScalarFunc};
use crate::logical::window::{FrameBound, FrameExclusion, FrameUnits, WindowExpr, WindowFunc};

fn refused(name: &str, why: &str) -> Error {
    Error::not_supported(format!("remote mode: {name}() cannot run on Spark ({why})"))
}

/// The text of argument `i` when it is a string constant.
fn constant_arg(name: &str, args: &[Expr], i: usize) -> Result<String> {
    match args.get(i) {
        Some(Expr::Literal(v)) => string_constant(v),
        _ => None,
    }
    .ok_or_else(|| refused(name, "this argument must be a constant string"))
}

/// A scalar function call.
pub fn scalar(func: ScalarFunc, args: &[Expr], scope: &Scope) -> Result<String> {
    let a = args.iter().map(|e| render(e, scope)).collect::<Result<Vec<_>>>()?;
    let all = a.join(", ");
    let name = func.name();
    let arg = |i: usize| {
        a.get(i)
            .cloned()
            .ok_or_else(|| Error::internal(format!("{name}: argument {i}")))
    };
    let result_type = || {
        scope.type_of(&Expr::Function {
            func,
            args: args.to_vec(),
        })
    };
    let typed = |text: String| -> Result<String> { Ok(format!("CAST({text} AS {})", spark_type(&result_type()?)?)) };
    use ScalarFunc as F;
    Ok(match func {
        F::Coalesce
        | F::NullIf
        | F::Greatest
        | F::Least
        | F::Lower
        | F::Upper
        | F::Replace
        | F::Reverse
        | F::Translate
        | F::Ascii
        | F::Repeat
        | F::LPad
        | F::RPad
        | F::SplitPart
        | F::Abs => {
            format!("{}({all})", name)
        }
        F::Pi => "pi()".into(),
        F::Random => "rand()".into(),
        F::ListValue => format!("array({all})"),
        F::Length => match args.first().map(|e| scope.type_of(e)).transpose()? {
            Some(DataType::List(_) | DataType::LargeList(_)) => typed(format!("size({})", arg(0)?))?,
            _ => typed(format!("char_length({})", arg(0)?))?,
        },
        F::Substring => typed(format!("substring({all})"))?,
        F::Trim | F::LTrim | F::RTrim => {
            let side = match func {
                F::Trim => "BOTH",
                F::LTrim => "LEADING",
                _ => "TRAILING",
            };
            match a.len() {
                1 => format!("trim({side} FROM {})", arg(0)?),
                _ => format!("trim({side} {} FROM {})", arg(1)?, arg(0)?),
            }
        }
        // DuckDB's concat skips NULLs, as Spark's concat_ws does.
        F::Concat => format!("concat_ws('', {all})"),
        F::ConcatWs => format!("concat_ws({all})"),
        F::StartsWith => format!("startswith({all})"),
        F::EndsWith => format!("endswith({all})"),
        F::Contains => format!("contains({all})"),
        F::StrPos => typed(format!("instr({all})"))?,
        // DuckDB: a negative count takes all but that many characters from the other end.
        F::Left | F::Right => {
            let (s, n) = (arg(0)?, arg(1)?);
            let (spark, other_end) = if func == F::Left {
                (
                    "left",
                    format!("substring({s}, 1, greatest(char_length({s}) + {n}, 0))"),
                )
            } else {
                ("right", format!("substring({s}, 1 - {n})"))
            };
            format!("CASE WHEN {n} >= 0 THEN {spark}({s}, {n}) ELSE {other_end} END")
        }
        F::Overlay => match a.len() {
            4 => format!(
                "overlay({} PLACING {} FROM {} FOR {})",
                arg(0)?,
                arg(1)?,
                arg(2)?,
                arg(3)?
            ),
            _ => format!("overlay({} PLACING {} FROM {})", arg(0)?, arg(1)?, arg(2)?),
        },
        F::Chr => format!("chr({all})"),
        F::RegexpMatches if a.len() == 2 => format!("({} RLIKE {})", arg(0)?, arg(1)?),
        F::RegexpFullMatch if a.len() == 2 => {
            format!("({} RLIKE concat('^(?:', {}, ')$'))", arg(0)?, arg(1)?)
        }
        F::RegexpReplace => {
            let global = a.len() > 3 && constant_arg(name, args, 3)?.contains('g');
            if !global {
                return Err(refused(name, "Spark's regexp_replace replaces every match; pass 'g'"));
            }
            format!("regexp_replace({}, {}, {})", arg(0)?, arg(1)?, arg(2)?)
        }
        F::RegexpExtract => {
            let group = if a.len() > 2 { arg(2)? } else { "0".into() };
            format!("regexp_extract({}, {}, {group})", arg(0)?, arg(1)?)
        }
        F::LikeEscape | F::ILikeEscape => {
            let op = if func == F::LikeEscape { "LIKE" } else { "ILIKE" };
            let escape = constant_arg(name, args, 2)?;
            format!("({} {op} {} ESCAPE {})", arg(0)?, arg(1)?, quote_string(&escape))
        }
        F::Round => match a.len() {
            1 => typed(format!("round({})", arg(0)?))?,
            _ => typed(format!("round({}, {})", arg(0)?, arg(1)?))?,
        },
        F::Floor | F::Ceil => typed(format!("{}({})", name, arg(0)?))?,
        F::Sign => typed(format!("sign({})", arg(0)?))?,
        F::Power => typed(format!("power({all})"))?,
        F::Atan2 => format!("atan2({all})"),
        F::Log => match a.len() {
            1 => format!("log10({})", arg(0)?),
            _ => format!("log({}, {})", arg(0)?, arg(1)?),
        },
        F::Math(m) => math(m, &arg(0)?)?,
        F::BitCount => typed(format!("bit_count({all})"))?,
        F::BitAnd => format!("({} & {})", arg(0)?, arg(1)?),
        F::BitOr => format!("({} | {})", arg(0)?, arg(1)?),
        F::BitXor => format!("({} ^ {})", arg(0)?, arg(1)?),
        F::BitNot => format!("(~ {})", arg(0)?),
        F::ShiftLeft => typed(format!("shiftleft({all})"))?,
        F::ShiftRight => typed(format!("shiftright({all})"))?,
        F::IsNan => format!("isnan({})", arg(0)?),
        F::IsInf => format!("(abs({}) = CAST('Infinity' AS DOUBLE))", arg(0)?),
        F::IsFinite => {
            let x = arg(0)?;
            format!("(NOT isnan({x}) AND abs({x}) <> CAST('Infinity' AS DOUBLE))")
        }
        F::DatePart => date_part(&constant_arg(name, args, 0)?, &arg(1)?)?,
        F::Epoch => format!("(unix_micros(CAST({} AS TIMESTAMP)) / 1000000D)", arg(0)?),
        F::EpochMs => format!("CAST(timestamp_millis({}) AS TIMESTAMP_NTZ)", arg(0)?),
        F::DateTrunc => typed(format!(
            "date_trunc({}, {})",
            quote_string(&constant_arg(name, args, 0)?),
            arg(1)?
        ))?,
        F::DateDiff => date_diff(&constant_arg(name, args, 0)?, &arg(1)?, &arg(2)?)?,
        F::MakeDate => format!("make_date({all})"),
        F::LastDay => format!("last_day({all})"),
        F::MonthName => format!("date_format({}, 'MMMM')", arg(0)?),
        F::DayName => format!("date_format({}, 'EEEE')", arg(0)?),
        F::CurrentDate => "current_date()".into(),
        F::Now => "current_timestamp()".into(),
        F::Strftime => format!(
            "date_format({}, {})",
            arg(0)?,
            quote_string(&spark_datetime_pattern(&constant_arg(name, args, 1)?)?)
        ),
        F::Strptime => format!(
            "to_timestamp_ntz({}, {})",
            arg(0)?,
            quote_string(&spark_datetime_pattern(&constant_arg(name, args, 1)?)?)
        ),
        F::TypeOf => return Err(refused(name, "Spark names types differently")),
        _ => return Err(refused(name, "Spark has no function with DuckDB's behaviour")),
    })
}

fn math(m: MathFunc, x: &str) -> Result<String> {
    let name = match m {
        MathFunc::Sqrt => "sqrt",
        MathFunc::Cbrt => "cbrt",
        MathFunc::Exp => "exp",
        MathFunc::Ln => "ln",
        MathFunc::Log10 => "log10",
        MathFunc::Log2 => "log2",
        MathFunc::Degrees => "degrees",
        MathFunc::Radians => "radians",
        MathFunc::Sin => "sin",
        MathFunc::Cos => "cos",
        MathFunc::Tan => "tan",
        MathFunc::Asin => "asin",
        MathFunc::Acos => "acos",
        MathFunc::Atan => "atan",
        MathFunc::Cot => "cot",
        MathFunc::Gamma | MathFunc::LGamma | MathFunc::Even => {
            return Err(refused(&format!("{m:?}").to_lowercase(), "Spark has no such function"))
        }
    };
    Ok(format!("{name}(CAST({x} AS DOUBLE))"))
}

/// `date_part(part, t)` as a BIGINT, DuckDB's numbering (day of week 0 = Sunday).
fn date_part(part: &str, t: &str) -> Result<String> {
    let value = match part.to_lowercase().as_str() {
        "year" | "years" | "y" | "yr" | "yrs" => format!("year({t})"),
        "month" | "months" | "mon" | "mons" => format!("month({t})"),
        "day" | "days" | "d" | "dayofmonth" => format!("day({t})"),
        "quarter" | "quarters" => format!("quarter({t})"),
        "week" | "weeks" | "w" | "weekofyear" => format!("weekofyear({t})"),
        "dow" | "dayofweek" | "weekday" => format!("(dayofweek({t}) - 1)"),
        "isodow" => format!("(weekday({t}) + 1)"),
        "doy" | "dayofyear" => format!("dayofyear({t})"),
        "hour" | "hours" | "h" | "hr" | "hrs" => format!("hour({t})"),
        "minute" | "minutes" | "m" | "min" | "mins" => format!("minute({t})"),
        "second" | "seconds" | "s" | "sec" | "secs" => format!("second({t})"),
        "decade" | "decades" | "dec" => format!("floor(year({t}) / 10)"),
        "epoch" => format!("unix_seconds(CAST({t} AS TIMESTAMP))"),
        other => return Err(refused("date_part", &format!("the part '{other}' is not mapped"))),
    };
    Ok(format!("CAST({value} AS BIGINT)"))
}

/// `date_diff(part, start, end)`: how many `part` boundaries lie between the two (DuckDB),
/// which is not Spark's `timestampdiff` (whole units elapsed).
fn date_diff(part: &str, start: &str, end: &str) -> Result<String> {
    let months = |t: &str| format!("(year({t}) * 12 + month({t}))");
    let seconds = |t: &str| format!("unix_seconds(CAST(CAST({t} AS TIMESTAMP_NTZ) AS TIMESTAMP))");
    let value = match part.to_lowercase().as_str() {
        "year" | "years" | "y" | "yr" | "yrs" => format!("(year({end}) - year({start}))"),
        "quarter" | "quarters" => {
            format!("((year({end}) * 4 + quarter({end})) - (year({start}) * 4 + quarter({start})))")
        }
        "month" | "months" | "mon" | "mons" => format!("({} - {})", months(end), months(start)),
        "day" | "days" | "d" => format!("datediff(CAST({end} AS DATE), CAST({start} AS DATE))"),
        "hour" | "hours" | "h" => format!("(floor({} / 3600) - floor({} / 3600))", seconds(end), seconds(start)),
        "minute" | "minutes" | "m" | "min" => {
            format!("(floor({} / 60) - floor({} / 60))", seconds(end), seconds(start))
        }
        "second" | "seconds" | "s" | "sec" => format!("({} - {})", seconds(end), seconds(start)),
        other => return Err(refused("date_diff", &format!("the part '{other}' is not mapped"))),
    };
    Ok(format!("CAST({value} AS BIGINT)"))
}

/// A strftime pattern (`%Y-%m-%d`) as a Spark datetime pattern (`yyyy-MM-dd`).
fn spark_datetime_pattern(strftime: &str) -> Result<String> {
    let mut out = String::new();
    let mut chars = strftime.chars();
    let mut literal = String::new();
    let flush = |literal: &mut String, out: &mut String| {
        if !literal.is_empty() {
            out.push('\'');
            out.push_str(&literal.replace('\'', "''"));
            out.push('\'');
            literal.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            if c.is_ascii_alphabetic() || c == '\'' {
                literal.push(c);
            } else {
                flush(&mut literal, &mut out);
                out.push(c);
            }
            continue;
        }
        flush(&mut literal, &mut out);
        let spec = chars.next().unwrap_or('%');
        out.push_str(match spec {
            'Y' => "yyyy",
            'y' => "yy",
            'm' => "MM",
            'd' => "dd",
            'H' => "HH",
            'I' => "hh",
            'M' => "mm",
            'S' => "ss",
            'f' => "SSSSSS",
            'p' => "a",
            'B' => "MMMM",
            'b' => "MMM",
            'A' => "EEEE",
            'a' => "EEE",
            'j' => "DDD",
            '%' => "%",
            other => return Err(refused("strftime", &format!("the specifier %{other} is not mapped"))),
        });
    }
    flush(&mut literal, &mut out);
    Ok(out)
}

/// An aggregate call (`Expr::Aggregate`), cast to rask's result type; with `over`, each
/// aggregate it is made of is computed over that window (`sum(x) OVER (…)`).
pub fn aggregate(e: &Expr, scope: &Scope, over: Option<&str>) -> Result<String> {
    let Expr::Aggregate {
        func,
        args,
        distinct,
        filter,
        order_by,
    } = e
    else {
        return Err(Error::internal("remote: not an aggregate"));
    };
    let name = func.name();
    if !order_by.is_empty() {
        return Err(refused(name, "an ORDER BY inside an aggregate is not mapped"));
    }
    let a = args.iter().map(|x| render(x, scope)).collect::<Result<Vec<_>>>()?;
    let all = a.join(", ");
    let d = if *distinct { "DISTINCT " } else { "" };
    let mut filter = match filter {
        Some(f) => format!(" FILTER (WHERE {})", render(f, scope)?),
        None => String::new(),
    };
    if let Some(over) = over {
        filter.push_str(&format!(" OVER ({over})"));
    }
    use AggFunc as A;
    let decimal_arg = matches!(
        args.first().map(|x| scope.type_of(x)).transpose()?,
        Some(DataType::Decimal128(_, _) | DataType::Decimal256(_, _))
    );
    let call = match func {
        // DuckDB averages a DECIMAL exactly and divides once, as a DOUBLE; Spark's avg
        // would round to a DECIMAL with 4 more digits first.
        A::Avg if decimal_arg => {
            format!("(CAST(sum({d}{all}){filter} AS DOUBLE) / NULLIF(count({d}{all}){filter}, 0))")
        }
        A::Count if a.is_empty() => format!("count(1){filter}"),
        A::Count
        | A::Sum
        | A::Avg
        | A::Min
        | A::Max
        | A::StddevSamp
        | A::StddevPop
        | A::VarSamp
        | A::VarPop
        | A::Corr
        | A::CovarSamp
        | A::CovarPop
        | A::RegrSlope
        | A::RegrIntercept
        | A::RegrR2
        | A::RegrCount
        | A::RegrAvgx
        | A::RegrAvgy
        | A::RegrSxx
        | A::RegrSyy
        | A::RegrSxy
        | A::BoolAnd
        | A::BoolOr
        | A::CountIf
        | A::Median
        | A::Mode => format!("{name}({d}{all}){filter}"),
        A::DecimalAverage => format!("avg({d}{all}){filter}"),
        A::AnyValue => format!("first({d}{all}, true){filter}"),
        A::First => format!("first({d}{all}, false){filter}"),
        A::Last => format!("last({d}{all}, false){filter}"),
        A::ArgMin => format!("min_by({all}){filter}"),
        A::ArgMax => format!("max_by({all}){filter}"),
        A::QuantileCont => format!("percentile({all}){filter}"),
        A::QuantileDisc if a.len() == 2 => {
            format!("percentile_disc({}) WITHIN GROUP (ORDER BY {}){filter}", a[1], a[0])
        }
        // DuckDB's string_agg separates with ',' unless told otherwise; both skip NULLs.
        A::StringAgg => match a.as_slice() {
            [x] => format!("string_agg({d}{x}, ','){filter}"),
            _ => format!("string_agg({d}{all}){filter}"),
        },
        // DuckDB's list keeps NULL elements, which collect_list drops: collect them wrapped.
        A::List => format!("transform(collect_list({d}named_struct('v', {all})){filter}, e -> e.v)"),
        A::SingleValue => format!(
            "CASE WHEN count(1) > 1 THEN raise_error('More than one row returned by a subquery used as an \
             expression') ELSE first({all}, false) END"
        ),
        _ => return Err(refused(name, "no Spark aggregate with DuckDB's behaviour")),
    };
    Ok(format!("CAST({call} AS {})", spark_type(&scope.type_of(e)?)?))
}

/// A window function call (`f(…) OVER (…)`), cast to rask's result type.
pub fn window(w: &WindowExpr, scope: &Scope) -> Result<String> {
    let call = match w.func {
        WindowFunc::Aggregate(func) => {
            if w.ignore_nulls {
                return Err(refused(func.name(), "IGNORE NULLS on an aggregate"));
            }
            let agg = Expr::Aggregate {
                func,
                args: w.args.clone(),
                distinct: w.distinct,
                filter: None,
                order_by: vec![],
            };
            return aggregate(&agg, scope, Some(&over_clause(w, scope)?));
        }
        f => {
            let a = w.args.iter().map(|x| render(x, scope)).collect::<Result<Vec<_>>>()?;
            let nulls = if w.ignore_nulls { " IGNORE NULLS" } else { "" };
            format!("{}({}){nulls}", f.name(), a.join(", "))
        }
    };
    let t = scope.type_of(&Expr::Window(Box::new(w.clone())))?;
    Ok(format!(
        "CAST({call} OVER ({}) AS {})",
        over_clause(w, scope)?,
        spark_type(&t)?
    ))
}

fn over_clause(w: &WindowExpr, scope: &Scope) -> Result<String> {
    let mut parts = Vec::new();
    if !w.partition_by.is_empty() {
        let keys = w
            .partition_by
            .iter()
            .map(|e| render(e, scope))
            .collect::<Result<Vec<_>>>()?;
        parts.push(format!("PARTITION BY {}", keys.join(", ")));
    }
    if !w.order_by.is_empty() {
        let keys = w
            .order_by
            .iter()
            .map(|s| {
                Ok(format!(
                    "{} {} NULLS {}",
                    render(&s.expr, scope)?,
                    if s.asc { "ASC" } else { "DESC" },
                    if s.nulls_first { "FIRST" } else { "LAST" }
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        parts.push(format!("ORDER BY {}", keys.join(", ")));
    }
    if !w.func.ignores_frame() {
        if w.frame.exclusion != FrameExclusion::NoOthers {
            return Err(refused(w.func.name(), "Spark has no frame EXCLUDE"));
        }
        let units = match w.frame.units {
            FrameUnits::Rows => "ROWS",
            FrameUnits::Range => "RANGE",
            FrameUnits::Groups => return Err(refused(w.func.name(), "Spark has no GROUPS frames")),
        };
        parts.push(format!(
            "{units} BETWEEN {} AND {}",
            bound(&w.frame.start)?,
            bound(&w.frame.end)?
        ));
    }
    Ok(parts.join(" "))
}

fn bound(b: &FrameBound) -> Result<String> {
    Ok(match b {
        FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING".into(),
        FrameBound::CurrentRow => "CURRENT ROW".into(),
        FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING".into(),
        FrameBound::Preceding(v) => format!("{} PRECEDING", offset(v)?),
        FrameBound::Following(v) => format!("{} FOLLOWING", offset(v)?),
    })
}

/// A frame offset: integers plainly (Spark wants an INT for ROWS), others as literals.
fn offset(v: &datafusion_common::ScalarValue) -> Result<String> {
    if v.data_type().is_integer() && !v.is_null() {
        return Ok(v.to_string());
    }
    super::literal::literal(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_patterns_become_spark_patterns() {
        assert_eq!(
            spark_datetime_pattern("%Y-%m-%d %H:%M:%S").unwrap(),
            "yyyy-MM-dd HH:mm:ss"
        );
        assert_eq!(spark_datetime_pattern("%d of %B").unwrap(), "dd 'of' MMMM");
        assert!(spark_datetime_pattern("%Q").is_err());
    }
}
