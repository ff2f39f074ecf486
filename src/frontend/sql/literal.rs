//! SQL literals: numbers (integers as INTEGER/BIGINT, decimals as exact DECIMAL like DuckDB),
//! typed strings (`DATE '…'`) and intervals.

use arrow::datatypes::DataType;
#[cfg(test)]
use arrow::datatypes::IntervalMonthDayNano;
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
/// `'2 hours'`, `'00:30:00'` (DuckDB's rules, see [`crate::logical::interval`]).
pub fn parse_interval(value: &str, unit: Option<&str>) -> Result<ScalarValue> {
    let parsed = match unit {
        Some(u) => crate::logical::interval::from_number(value, u),
        None => crate::logical::interval::parse(value),
    };
    parsed
        .map(|v| ScalarValue::IntervalMonthDayNano(Some(v)))
        .map_err(|e| Error::Parse {
            message: format!("invalid INTERVAL '{value}': {e}"),
            location: None,
        })
}

/// Casts a string literal to `to` now (e.g. `DATE '1998-12-01'`); a value that does not
/// convert is the cast's own error (`Conversion Error: …`), as in DuckDB.
pub fn typed_string(value: &str, to: &DataType) -> Result<ScalarValue> {
    let text: arrow::array::ArrayRef = std::sync::Arc::new(arrow::array::StringArray::from(vec![value]));
    let cast = crate::physical::cast::cast_array(&text, to, false)?;
    Ok(ScalarValue::try_from_array(&cast, 0)?)
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
