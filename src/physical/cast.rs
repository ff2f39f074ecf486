//! Casts with DuckDB's semantics on top of Arrow's cast kernel: a value that does not convert
//! is an error (NULL for TRY_CAST), fractions round to integers (floats half to even,
//! decimals half away from zero), decimals convert to and from BOOLEAN, and decimal text may
//! carry an exponent, and dates, timestamps, times and intervals read and print as DuckDB's
//! text ([`crate::physical::datetime_text`], [`crate::logical::interval`]).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, Float32Array, Float64Array, PrimitiveArray, PrimitiveBuilder, Scalar,
    StringArray, StringBuilder,
};
use arrow::compute::kernels::cmp;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, IntervalMonthDayNanoType, IntervalUnit, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, DECIMAL128_MAX_PRECISION,
};

use crate::physical::datetime_text as text;

use crate::error::{Error, Result};
use crate::logical::types::sql_type_name;

/// Casts `a` to `to`; a value that does not convert is an error, or NULL when `try_cast`.
pub fn cast_array(a: &ArrayRef, to: &DataType, try_cast: bool) -> Result<ArrayRef> {
    if a.data_type() == to {
        return Ok(Arc::clone(a));
    }
    let options = CastOptions {
        safe: try_cast,
        ..Default::default()
    };
    let fail = |e: &dyn std::fmt::Display| {
        Error::execution(format!(
            "Conversion Error: could not convert {} to {}: {e}",
            sql_type_name(a.data_type()),
            sql_type_name(to)
        ))
    };
    let arrow_cast = |a: &ArrayRef, to: &DataType| cast_with_options(a, to, &options).map_err(|e| fail(&e));
    Ok(match (a.data_type(), to) {
        (DataType::Decimal128(_, _), DataType::Boolean) => {
            let zero =
                Scalar::new(arrow::array::Decimal128Array::from(vec![0i128]).with_data_type(a.data_type().clone()));
            Arc::new(cmp::neq(a, &zero)?)
        }
        (DataType::Utf8, DataType::Interval(IntervalUnit::MonthDayNano)) => {
            let strings = as_string(a)?;
            let mut out = PrimitiveBuilder::<IntervalMonthDayNanoType>::with_capacity(strings.len());
            for v in strings.iter() {
                match v.map(crate::logical::interval::parse) {
                    None => out.append_null(),
                    Some(Ok(iv)) => out.append_value(iv),
                    Some(Err(_)) if try_cast => out.append_null(),
                    Some(Err(e)) => return Err(Error::execution(format!("Conversion Error: {e}"))),
                }
            }
            Arc::new(out.finish())
        }
        (DataType::Interval(IntervalUnit::MonthDayNano), DataType::Utf8) => {
            let intervals = a.as_primitive::<IntervalMonthDayNanoType>();
            let mut out = StringBuilder::with_capacity(intervals.len(), intervals.len() * 16);
            let mut buf = String::new();
            for v in intervals.iter() {
                match v {
                    None => out.append_null(),
                    Some(iv) => {
                        buf.clear();
                        crate::logical::interval::format(iv, &mut buf);
                        out.append_value(&buf);
                    }
                }
            }
            Arc::new(out.finish())
        }
        (DataType::Utf8, DataType::Date32) => {
            Arc::new(parse_each::<Date32Type>(as_string(a)?, try_cast, text::parse_date)?)
        }
        (DataType::Utf8, DataType::Time64(TimeUnit::Nanosecond)) => Arc::new(parse_each::<Time64NanosecondType>(
            as_string(a)?,
            try_cast,
            text::parse_time_tz,
        )?),
        (DataType::Time64(TimeUnit::Nanosecond), DataType::Utf8) => {
            format_each(a.as_primitive::<Time64NanosecondType>(), text::format_time_tz)
        }
        (DataType::Time64(TimeUnit::Nanosecond), DataType::Time64(TimeUnit::Microsecond)) => {
            Arc::new(arrow::compute::kernels::arity::unary::<_, _, Time64MicrosecondType>(
                a.as_primitive::<Time64NanosecondType>(),
                |p| text::decode_time_tz(p).0,
            ))
        }
        (DataType::Time64(TimeUnit::Microsecond), DataType::Time64(TimeUnit::Nanosecond)) => {
            Arc::new(arrow::compute::kernels::arity::unary::<_, _, Time64NanosecondType>(
                a.as_primitive::<Time64MicrosecondType>(),
                |t| text::encode_time_tz(t, 0),
            ))
        }
        (DataType::Timestamp(_, _), DataType::Time64(TimeUnit::Nanosecond)) => {
            let time = cast_array(a, &DataType::Time64(TimeUnit::Microsecond), try_cast)?;
            cast_array(&time, to, try_cast)?
        }
        (DataType::Utf8, DataType::Time64(TimeUnit::Microsecond)) => Arc::new(parse_each::<Time64MicrosecondType>(
            as_string(a)?,
            try_cast,
            text::parse_time,
        )?),
        (DataType::Utf8, DataType::Timestamp(TimeUnit::Nanosecond, tz)) => Arc::new(
            parse_each::<TimestampNanosecondType>(as_string(a)?, try_cast, text::parse_timestamp_nanos)?
                .with_timezone_opt(tz.clone()),
        ),
        (DataType::Utf8, DataType::Timestamp(unit, tz)) => {
            let micros = parse_each::<TimestampMicrosecondType>(as_string(a)?, try_cast, text::parse_timestamp)?;
            let micros: ArrayRef = Arc::new(micros.with_timezone_opt(tz.clone()));
            rescale_timestamp(&micros, *unit, tz.clone(), try_cast)?
        }
        (
            DataType::Timestamp(TimeUnit::Microsecond, _),
            DataType::Timestamp(unit @ (TimeUnit::Second | TimeUnit::Millisecond), tz),
        ) => rescale_timestamp(a, *unit, tz.clone(), try_cast)?,
        (DataType::Date32, DataType::Timestamp(TimeUnit::Microsecond, tz)) => {
            let days = a.as_primitive::<Date32Type>();
            let out = checked_each::<_, TimestampMicrosecondType>(days, try_cast, |d| {
                match d {
                    text::DATE_INFINITY => Some(text::TIMESTAMP_INFINITY),
                    d if d == -text::DATE_INFINITY => Some(-text::TIMESTAMP_INFINITY),
                    d => i64::from(d).checked_mul(86_400_000_000),
                }
                .filter(|m| *m >= text::TIMESTAMP_MIN)
                .ok_or_else(|| "Conversion Error: Date and time not in timestamp range".to_string())
            })?;
            Arc::new(out.with_timezone_opt(tz.clone()))
        }
        (DataType::Int32, DataType::Date32) => {
            // Day numbers (date ± days) must stay inside DuckDB's DATE range.
            let days = a.as_primitive::<arrow::datatypes::Int32Type>();
            Arc::new(checked_each::<_, Date32Type>(days, try_cast, |d| {
                if i64::from(d) >= text::DATE_MIN && d < text::DATE_INFINITY {
                    Ok(d)
                } else {
                    Err("Out of Range Error: Date out of range".to_string())
                }
            })?)
        }
        (DataType::Date32, DataType::Utf8) => {
            let days = a.as_primitive::<Date32Type>();
            format_each(days, text::format_date)
        }
        (DataType::Timestamp(TimeUnit::Nanosecond, None), DataType::Utf8) => format_each(
            a.as_primitive::<TimestampNanosecondType>(),
            text::format_timestamp_nanos,
        ),
        (DataType::Timestamp(_, None), DataType::Utf8) => {
            let micros = cast_with_options(a, &DataType::Timestamp(TimeUnit::Microsecond, None), &options)
                .map_err(|e| fail(&e))?;
            let micros = micros.as_primitive::<TimestampMicrosecondType>();
            format_each(micros, text::format_timestamp)
        }
        (DataType::Time64(TimeUnit::Microsecond), DataType::Utf8) => {
            let t = a.as_primitive::<Time64MicrosecondType>();
            format_each(t, text::format_time)
        }
        (DataType::Boolean, DataType::Decimal128(_, _)) => arrow_cast(&arrow_cast(a, &DataType::Int8)?, to)?,
        (DataType::Utf8, DataType::Decimal128(_, _)) => {
            let s = as_string(a)?;
            if s.iter().flatten().any(|v| v.contains(['e', 'E'])) {
                // Arrow does not read exponents ('1e3') when parsing decimals.
                let out: StringArray = s
                    .iter()
                    .map(|v| v.map(|v| crate::physical::decimal::expand_exponent(v).unwrap_or_else(|| v.to_string())))
                    .collect();
                arrow_cast(&(Arc::new(out) as ArrayRef), to)?
            } else {
                arrow_cast(a, to)?
            }
        }
        (DataType::Float64, t) if t.is_integer() => {
            let f = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| Error::internal("cast from DOUBLE"))?;
            let rounded: Float64Array =
                arrow::compute::kernels::arity::unary::<_, _, Float64Type>(f, f64::round_ties_even);
            arrow_cast(&(Arc::new(rounded) as ArrayRef), to)?
        }
        (DataType::Float32, t) if t.is_integer() => {
            let f = a
                .as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| Error::internal("cast from FLOAT"))?;
            let rounded: Float32Array =
                arrow::compute::kernels::arity::unary::<_, _, Float32Type>(f, f32::round_ties_even);
            arrow_cast(&(Arc::new(rounded) as ArrayRef), to)?
        }
        (DataType::Decimal128(_, s), t) if t.is_integer() && *s > 0 => {
            // Rescaling to scale 0 rounds half away from zero; Arrow's own cast truncates.
            let whole = arrow_cast(a, &DataType::Decimal128(DECIMAL128_MAX_PRECISION, 0))?;
            arrow_cast(&whole, to)?
        }
        _ => arrow_cast(a, to)?,
    })
}

/// Parses each string with `parse`; a failure is an error, or NULL for TRY_CAST.
fn parse_each<T: ArrowPrimitiveType>(
    strings: &StringArray,
    try_cast: bool,
    parse: impl Fn(&str) -> std::result::Result<T::Native, String>,
) -> Result<PrimitiveArray<T>> {
    let mut out = PrimitiveBuilder::<T>::with_capacity(strings.len());
    for v in strings.iter() {
        match v.map(&parse) {
            None => out.append_null(),
            Some(Ok(x)) => out.append_value(x),
            Some(Err(_)) if try_cast => out.append_null(),
            Some(Err(e)) => return Err(Error::execution(format!("Conversion Error: {e}"))),
        }
    }
    Ok(out.finish())
}

/// Converts each value with `f`; a failure is an error, or NULL for TRY_CAST.
fn checked_each<I: ArrowPrimitiveType, O: ArrowPrimitiveType>(
    values: &PrimitiveArray<I>,
    try_cast: bool,
    f: impl Fn(I::Native) -> std::result::Result<O::Native, String>,
) -> Result<PrimitiveArray<O>> {
    let mut out = PrimitiveBuilder::<O>::with_capacity(values.len());
    for v in values.iter() {
        match v.map(&f) {
            None => out.append_null(),
            Some(Ok(x)) => out.append_value(x),
            Some(Err(_)) if try_cast => out.append_null(),
            Some(Err(e)) => return Err(Error::execution(e)),
        }
    }
    Ok(out.finish())
}

/// Writes each value as text with `f`.
fn format_each<T: ArrowPrimitiveType>(values: &PrimitiveArray<T>, f: impl Fn(T::Native, &mut String)) -> ArrayRef {
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * 20);
    let mut buf = String::new();
    for v in values.iter() {
        match v {
            None => out.append_null(),
            Some(v) => {
                buf.clear();
                f(v, &mut buf);
                out.append_value(&buf);
            }
        }
    }
    Arc::new(out.finish())
}

/// Microsecond timestamps in `unit`: coarser units round half up like DuckDB, nanoseconds
/// must fit.
fn rescale_timestamp(a: &ArrayRef, unit: TimeUnit, tz: Option<Arc<str>>, try_cast: bool) -> Result<ArrayRef> {
    let micros = a.as_primitive::<TimestampMicrosecondType>();
    let keep = |m: i64| m == text::TIMESTAMP_INFINITY || m == -text::TIMESTAMP_INFINITY;
    let round = |m: i64, per: i64| if keep(m) { m } else { (m + per / 2).div_euclid(per) };
    Ok(match unit {
        TimeUnit::Microsecond => Arc::new(micros.clone().with_timezone_opt(tz)),
        TimeUnit::Millisecond => Arc::new(
            arrow::compute::kernels::arity::unary::<_, _, TimestampMillisecondType>(micros, |m| round(m, 1000))
                .with_timezone_opt(tz),
        ),
        TimeUnit::Second => Arc::new(
            arrow::compute::kernels::arity::unary::<_, _, TimestampSecondType>(micros, |m| round(m, 1_000_000))
                .with_timezone_opt(tz),
        ),
        TimeUnit::Nanosecond => Arc::new(
            checked_each::<_, TimestampNanosecondType>(micros, try_cast, |m| {
                m.checked_mul(1000)
                    .ok_or_else(|| "Conversion Error: timestamp out of range for TIMESTAMP_NS".to_string())
            })?
            .with_timezone_opt(tz),
        ),
    })
}

fn as_string(a: &ArrayRef) -> Result<&StringArray> {
    a.as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::internal("expected VARCHAR"))
}
