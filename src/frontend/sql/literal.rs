//! SQL literals: numbers (integers as INTEGER/BIGINT, decimals as exact DECIMAL like DuckDB),
//! typed strings (`DATE '…'`) and intervals.

use arrow::datatypes::{DataType, IntervalMonthDayNano};
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};

/// The value of a numeric literal as written: INTEGER when it fits, else BIGINT, a DECIMAL
/// with the written precision and scale for `1.25`, DOUBLE for exponents or huge numbers.
pub fn parse_number_literal(text: &str) -> Result<ScalarValue> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(match i32::try_from(i) {
            Ok(v) => ScalarValue::Int32(Some(v)),
            Err(_) => ScalarValue::Int64(Some(i)),
        });
    }
    let bad = || Error::Parse {
        message: format!("invalid number literal {text}"),
        location: None,
    };
    if !text.contains(['e', 'E']) {
        if let Some((int_part, frac_part)) = text.split_once('.').or(Some((text, ""))) {
            let int_digits = int_part.trim_start_matches('0');
            let digits = format!("{int_digits}{frac_part}");
            let precision = digits.len().max(1);
            let scale = frac_part.len();
            if precision <= 38 && digits.chars().all(|c| c.is_ascii_digit()) {
                let value: i128 = if digits.is_empty() {
                    0
                } else {
                    digits.parse().map_err(|_| bad())?
                };
                let precision = precision.max(scale).max(1) as u8;
                return Ok(ScalarValue::Decimal128(Some(value), precision, scale as i8));
            }
        }
    }
    text.parse::<f64>()
        .map(|f| ScalarValue::Float64(Some(f)))
        .map_err(|_| bad())
}

/// Parses an interval: `'90'` with unit `day`, or a text like `'1 year 2 months 3 days'`,
/// `'2 hours'`, `'00:30:00'`.
pub fn parse_interval(value: &str, unit: Option<&str>) -> Result<ScalarValue> {
    let bad = || Error::Parse {
        message: format!("invalid INTERVAL '{value}'"),
        location: None,
    };
    let mut months: i64 = 0;
    let mut days: i64 = 0;
    let mut micros: i64 = 0;
    let mut add = |n: f64, unit: &str| -> Result<()> {
        let lower = unit.to_ascii_lowercase();
        let u = match lower.as_str() {
            "ms" | "msec" | "msecs" => "millisecond",
            "us" | "usec" | "usecs" => "microsecond",
            "millennia" | "millennium" | "millenniums" => "millennium",
            other => other.trim_end_matches('s'),
        };
        match u {
            "year" | "y" | "yr" => months += (n * 12.0) as i64,
            "month" | "mon" => months += n as i64,
            "week" | "w" => days += (n * 7.0) as i64,
            "day" | "d" => days += n as i64,
            "hour" | "h" | "hr" => micros += (n * 3_600_000_000.0) as i64,
            "minute" | "min" | "m" => micros += (n * 60_000_000.0) as i64,
            "second" | "sec" => micros += (n * 1_000_000.0) as i64,
            "millisecond" | "msec" => micros += (n * 1000.0) as i64,
            "microsecond" | "u" | "usec" => micros += n as i64,
            "decade" => months += (n * 120.0) as i64,
            "century" | "centurie" => months += (n * 1200.0) as i64,
            "millennium" => months += (n * 12000.0) as i64,
            "quarter" => months += (n * 3.0) as i64,
            _ => return Err(bad()),
        }
        Ok(())
    };
    let text = value.trim();
    match unit {
        Some(u) => {
            let n: f64 = text.parse().map_err(|_| bad())?;
            add(n, u)?;
        }
        None => {
            let mut tokens: Vec<&str> = text.split_whitespace().collect();
            let ago = tokens.last().is_some_and(|t| t.eq_ignore_ascii_case("ago"));
            if ago {
                tokens.pop();
            }
            let mut i = 0;
            while i < tokens.len() {
                let tok = tokens[i];
                if tok.contains(':') {
                    let parts: Vec<f64> = tok
                        .split(':')
                        .map(|p| p.parse::<f64>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| bad())?;
                    let (h, m, s) = match parts[..] {
                        [h, m] => (h, m, 0.0),
                        [h, m, s] => (h, m, s),
                        _ => return Err(bad()),
                    };
                    add(h * 3600.0 + m * 60.0 + s, "second")?;
                    i += 1;
                    continue;
                }
                // "3days" or "3 days"
                let split = tok.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(tok.len());
                let (num, rest) = tok.split_at(split);
                let n: f64 = num.parse().map_err(|_| bad())?;
                let unit = if rest.is_empty() {
                    i += 1;
                    *tokens.get(i).ok_or_else(bad)?
                } else {
                    rest
                };
                add(n, unit)?;
                i += 1;
            }
            if ago {
                (months, days, micros) = (-months, -days, -micros);
            }
        }
    }
    Ok(ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano {
        months: i32::try_from(months).map_err(|_| bad())?,
        days: i32::try_from(days).map_err(|_| bad())?,
        nanoseconds: micros.saturating_mul(1000),
    })))
}

/// Casts a string literal to `to` now (e.g. `DATE '1998-12-01'`), with a clear error.
pub fn typed_string(value: &str, to: &DataType) -> Result<ScalarValue> {
    let s = ScalarValue::Utf8(Some(value.to_string()));
    s.cast_to(to).map_err(|_| Error::Parse {
        message: format!("invalid {} literal '{value}'", crate::logical::types::sql_type_name(to)),
        location: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number_literal("42").unwrap(), ScalarValue::Int32(Some(42)));
        assert_eq!(
            parse_number_literal("5000000000").unwrap(),
            ScalarValue::Int64(Some(5_000_000_000))
        );
        assert_eq!(
            parse_number_literal("0.06").unwrap(),
            ScalarValue::Decimal128(Some(6), 2, 2)
        );
        assert_eq!(
            parse_number_literal("1.5e3").unwrap(),
            ScalarValue::Float64(Some(1500.0))
        );
    }

    #[test]
    fn intervals() {
        let v = parse_interval("90", Some("day")).unwrap();
        assert_eq!(
            v,
            ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano {
                months: 0,
                days: 90,
                nanoseconds: 0
            }))
        );
        let v = parse_interval("1 year 2 months", None).unwrap();
        assert_eq!(
            v,
            ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano {
                months: 14,
                days: 0,
                nanoseconds: 0
            }))
        );
    }
}
