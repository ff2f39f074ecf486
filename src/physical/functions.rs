//! Evaluation of scalar functions on Arrow arrays (arguments already cast to the types
//! `logical::functions::ScalarFunc::signature` asked for).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::compute::kernels::{cmp, numeric};
use arrow::datatypes::{DataType, Decimal128Type, Float32Type, Float64Type, Int64Type};

use crate::error::{Error, Result};
use crate::logical::functions::ScalarFunc;

/// Evaluates `func` over `args` (each `rows` long) producing `return_type`.
pub fn evaluate_function(func: ScalarFunc, args: &[ArrayRef], return_type: &DataType, rows: usize) -> Result<ArrayRef> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| Error::internal(format!("{} is missing argument {i}", func.name())))
    };
    Ok(match func {
        ScalarFunc::Abs => {
            let a = arg(0)?;
            let zero = datafusion_common::ScalarValue::new_zero(a.data_type())?.to_array_of_size(a.len())?;
            let negative = cmp::lt(a, &zero)?;
            let negated = numeric::neg(a)?;
            arrow::compute::kernels::zip::zip(&negative, &negated, a)?
        }
        ScalarFunc::Coalesce => {
            let mut acc = Arc::clone(arg(0)?);
            for next in &args[1..] {
                let missing = arrow::compute::is_null(&acc)?;
                acc = arrow::compute::kernels::zip::zip(&missing, next, &acc)?;
            }
            acc
        }
        ScalarFunc::NullIf => {
            let (a, b) = (arg(0)?, arg(1)?);
            let equal = crate::physical::expr::null_as_false(&cmp::eq(a, b)?);
            arrow::compute::nullif(a, &equal)?
        }
        ScalarFunc::Lower | ScalarFunc::Upper | ScalarFunc::Trim => {
            let s = strings(arg(0)?)?;
            let out: StringArray = match func {
                ScalarFunc::Lower => s.iter().map(|v| v.map(str::to_lowercase)).collect(),
                ScalarFunc::Upper => s.iter().map(|v| v.map(str::to_uppercase)).collect(),
                _ => s.iter().map(|v| v.map(str::trim)).collect(),
            };
            Arc::new(out)
        }
        ScalarFunc::Length => {
            let s = strings(arg(0)?)?;
            let out: Int64Array = s.iter().map(|v| v.map(|v| v.chars().count() as i64)).collect();
            Arc::new(out)
        }
        ScalarFunc::Substring => {
            let s = strings(arg(0)?)?;
            let start = arg(1)?.as_primitive::<Int64Type>();
            let len = args.get(2).map(|a| a.as_primitive::<Int64Type>());
            let out: StringArray = (0..s.len())
                .map(|i| {
                    if s.is_null(i) || start.is_null(i) || len.is_some_and(|l| l.is_null(i)) {
                        return None;
                    }
                    Some(substring(s.value(i), start.value(i), len.map(|l| l.value(i))))
                })
                .collect();
            Arc::new(out)
        }
        ScalarFunc::Concat => {
            let parts = args.iter().map(|a| strings(a)).collect::<Result<Vec<_>>>()?;
            let out: StringArray = (0..rows)
                .map(|i| {
                    let mut s = String::new();
                    for p in &parts {
                        if !p.is_null(i) {
                            s.push_str(p.value(i));
                        }
                    }
                    Some(s)
                })
                .collect();
            Arc::new(out)
        }
        ScalarFunc::Round | ScalarFunc::Floor | ScalarFunc::Ceil => round(func, arg(0)?, args.get(1), return_type)?,
        ScalarFunc::DatePart => {
            let field = strings(arg(0)?)?;
            if field.is_empty() || field.is_null(0) {
                return Ok(arrow::array::new_null_array(&DataType::Int64, rows));
            }
            let part = match field.value(0).to_lowercase().as_str() {
                "year" | "years" | "y" => arrow::compute::DatePart::Year,
                "month" | "months" | "mon" => arrow::compute::DatePart::Month,
                "day" | "days" | "d" => arrow::compute::DatePart::Day,
                "quarter" => arrow::compute::DatePart::Quarter,
                "week" => arrow::compute::DatePart::Week,
                "dow" | "dayofweek" => arrow::compute::DatePart::DayOfWeekSunday0,
                "doy" | "dayofyear" => arrow::compute::DatePart::DayOfYear,
                "hour" => arrow::compute::DatePart::Hour,
                "minute" => arrow::compute::DatePart::Minute,
                "second" => arrow::compute::DatePart::Second,
                other => return Err(Error::plan(format!("unsupported date part '{other}'"))),
            };
            let out = arrow::compute::date_part(arg(1)?, part)?;
            arrow::compute::cast(&out, &DataType::Int64)?
        }
    })
}

fn strings(a: &ArrayRef) -> Result<&StringArray> {
    a.as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::internal(format!("expected VARCHAR, got {}", a.data_type())))
}

/// SQL substring: 1-based start (≤ 0 counts from before the first character), in characters.
fn substring(s: &str, start: i64, len: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let (from, to) = if start > 0 {
        let from = start - 1;
        (from, len.map(|l| from + l.max(0)).unwrap_or(n))
    } else if start < 0 {
        let from = (n + start).max(0);
        (from, len.map(|l| from + l.max(0)).unwrap_or(n))
    } else {
        (0, len.map(|l| (l - 1).max(0)).unwrap_or(n))
    };
    let (from, to) = (from.clamp(0, n) as usize, to.clamp(0, n) as usize);
    if from >= to {
        String::new()
    } else {
        chars[from..to].iter().collect()
    }
}

fn round(func: ScalarFunc, a: &ArrayRef, digits: Option<&ArrayRef>, return_type: &DataType) -> Result<ArrayRef> {
    let places = match digits {
        Some(d) => {
            let d = d.as_primitive::<Int64Type>();
            if d.is_null(0) {
                return Ok(arrow::array::new_null_array(return_type, a.len()));
            }
            d.value(0)
        }
        None => 0,
    };
    let f = |x: f64| -> f64 {
        let m = 10f64.powi(places as i32);
        match func {
            ScalarFunc::Floor => x.floor(),
            ScalarFunc::Ceil => x.ceil(),
            _ => (x * m).round() / m,
        }
    };
    Ok(match a.data_type() {
        DataType::Float64 => Arc::new(a.as_primitive::<Float64Type>().unary::<_, Float64Type>(f)),
        DataType::Float32 => Arc::new(
            a.as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|x| f(x as f64) as f32),
        ),
        DataType::Decimal128(p, s) => {
            let s = *s;
            let scale = 10i128.pow(s.max(0) as u32);
            let keep = match func {
                ScalarFunc::Round => (s as i64 - places).max(0) as u32,
                _ => s.max(0) as u32,
            };
            let step = 10i128.pow(keep.min(38));
            let out = a.as_primitive::<Decimal128Type>().unary::<_, Decimal128Type>(|v| {
                let (q, r) = (v / step, v % step);
                let adj = match func {
                    ScalarFunc::Floor => {
                        if r < 0 {
                            q - 1
                        } else {
                            q
                        }
                    }
                    ScalarFunc::Ceil => {
                        if r > 0 {
                            q + 1
                        } else {
                            q
                        }
                    }
                    _ => {
                        if r.abs() * 2 >= step {
                            q + r.signum()
                        } else {
                            q
                        }
                    }
                };
                adj * step
            });
            let _ = scale;
            Arc::new(out.with_precision_and_scale(*p, s)?)
        }
        t if t.is_integer() => Arc::clone(a),
        other => return Err(Error::plan(format!("{}() of {other}", func.name()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_is_one_based() {
        assert_eq!(substring("hello", 2, Some(3)), "ell");
        assert_eq!(substring("hello", -3, None), "llo");
        assert_eq!(substring("hello", 10, Some(3)), "");
    }
}
