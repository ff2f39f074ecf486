//! Constants as Spark SQL literals, each with exactly rask's type (a `CAST` where Spark's
//! literal syntax would give another type).

use datafusion_common::ScalarValue;

use super::types::{quote_string, spark_type};
use crate::error::{Error, Result};
use crate::physical::datetime_text::{format_date, format_timestamp};

/// `v` as a Spark SQL expression of the same type and value.
pub fn literal(v: &ScalarValue) -> Result<String> {
    if matches!(v, ScalarValue::Null) {
        return Ok("NULL".into());
    }
    if v.is_null() {
        return Ok(format!("CAST(NULL AS {})", spark_type(&v.data_type())?));
    }
    let typed = |text: String| -> Result<String> { Ok(format!("CAST({text} AS {})", spark_type(&v.data_type())?)) };
    Ok(match v {
        ScalarValue::Boolean(Some(b)) => (if *b { "TRUE" } else { "FALSE" }).into(),
        ScalarValue::Int32(Some(i)) if *i != i32::MIN => i.to_string(),
        ScalarValue::Int64(Some(i)) if *i != i64::MIN => format!("{i}L"),
        ScalarValue::Int8(Some(_))
        | ScalarValue::Int16(Some(_))
        | ScalarValue::Int32(Some(_))
        | ScalarValue::Int64(Some(_))
        | ScalarValue::UInt8(Some(_))
        | ScalarValue::UInt16(Some(_))
        | ScalarValue::UInt32(Some(_))
        | ScalarValue::UInt64(Some(_)) => typed(quote_string(&v.to_string()))?,
        ScalarValue::Float64(Some(f)) if f.is_finite() => format!("{f:?}D"),
        ScalarValue::Float32(Some(_)) | ScalarValue::Float64(Some(_)) => typed(quote_string(&float_text(v)))?,
        ScalarValue::Decimal128(Some(_), _, _) => typed(format!("{v}BD"))?,
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            quote_string(s)
        }
        ScalarValue::Date32(Some(days)) => {
            let mut text = String::new();
            format_date(*days, &mut text);
            format!("DATE {}", quote_string(&text))
        }
        ScalarValue::TimestampMicrosecond(Some(micros), tz) => timestamp(*micros, tz.is_some()),
        ScalarValue::TimestampMillisecond(Some(ms), tz) => timestamp(ms.saturating_mul(1000), tz.is_some()),
        ScalarValue::TimestampSecond(Some(s), tz) => timestamp(s.saturating_mul(1_000_000), tz.is_some()),
        ScalarValue::TimestampNanosecond(Some(ns), tz) => timestamp(ns / 1000, tz.is_some()),
        ScalarValue::IntervalMonthDayNano(Some(i)) => {
            if i.nanoseconds % 1000 != 0 {
                return Err(Error::not_supported(
                    "remote mode: an interval finer than a microsecond",
                ));
            }
            let micros = i.nanoseconds / 1000;
            match (i.months, i.days, micros) {
                (m, 0, 0) => format!("INTERVAL '{m}' MONTH"),
                (0, d, 0) => format!("INTERVAL '{d}' DAY"),
                (m, d, us) => format!(
                    "make_interval(0, {m}, 0, {d}, 0, 0, CAST({}.{:06} AS DECIMAL(18,6)))",
                    us / 1_000_000,
                    (us % 1_000_000).abs()
                ),
            }
        }
        other => {
            return Err(Error::not_supported(format!(
                "remote mode cannot send the constant {other} to Spark"
            )))
        }
    })
}

fn float_text(v: &ScalarValue) -> String {
    let f = match v {
        ScalarValue::Float32(Some(f)) => f64::from(*f),
        ScalarValue::Float64(Some(f)) => *f,
        _ => return v.to_string(),
    };
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        (if f > 0.0 { "Infinity" } else { "-Infinity" }).into()
    } else {
        format!("{f:?}")
    }
}

/// A timestamp literal: `TIMESTAMP_NTZ '…'` for a plain timestamp, `TIMESTAMP '…+00:00'` for
/// an instant (rask keeps instants in UTC).
fn timestamp(micros: i64, with_zone: bool) -> String {
    let mut text = String::new();
    format_timestamp(micros, &mut text);
    if with_zone {
        format!("TIMESTAMP {}", quote_string(&format!("{text}+00:00")))
    } else {
        format!("TIMESTAMP_NTZ {}", quote_string(&text))
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::IntervalMonthDayNano;

    use super::*;

    #[test]
    fn literals_keep_their_types() {
        assert_eq!(literal(&ScalarValue::Int32(Some(7))).unwrap(), "7");
        assert_eq!(literal(&ScalarValue::Int64(Some(-7))).unwrap(), "-7L");
        assert_eq!(
            literal(&ScalarValue::Int64(Some(i64::MIN))).unwrap(),
            "CAST('-9223372036854775808' AS BIGINT)"
        );
        assert_eq!(literal(&ScalarValue::Int32(None)).unwrap(), "CAST(NULL AS INT)");
        assert_eq!(literal(&ScalarValue::Float64(Some(0.5))).unwrap(), "0.5D");
        assert_eq!(
            literal(&ScalarValue::Float64(Some(f64::NAN))).unwrap(),
            "CAST('NaN' AS DOUBLE)"
        );
        assert_eq!(
            literal(&ScalarValue::Decimal128(Some(-5), 15, 2)).unwrap(),
            "CAST(-0.05BD AS DECIMAL(15,2))"
        );
        assert_eq!(
            literal(&ScalarValue::Date32(Some(10_561))).unwrap(),
            "DATE '1998-12-01'"
        );
        assert_eq!(literal(&ScalarValue::Utf8(Some("a'b".into()))).unwrap(), r"'a\'b'");
        let days = ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(0, 90, 0)));
        assert_eq!(literal(&days).unwrap(), "INTERVAL '90' DAY");
    }
}
