//! Arithmetic on dates and times that Arrow's kernels lack, with DuckDB's semantics:
//! `INTERVAL * n`, `n * INTERVAL`, `INTERVAL / n` (NULL for 0; fractions spill into smaller parts: 1 month
//! = 30 days), `TIME ± INTERVAL` (wrapping around midnight, months and days ignored),
//! `TIMESTAMP ± INTERVAL` (over DuckDB's whole range, which chrono-based kernels do not cover),
//! `TIMESTAMP − TIMESTAMP` (an INTERVAL of days and time) and `DATE + TIME` (a TIMESTAMP).
//! The planner casts operands to the types `logical::types::temporal_arithmetic_types` names.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::compute::kernels::arity::{binary, try_binary};
use arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
};
use arrow::error::ArrowError;

use crate::error::{Error, Result};
use crate::logical::expr::BinaryOp;

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Evaluates `left op right` (equal lengths, types from
/// [`crate::logical::types::temporal_arithmetic_types`]); `None` when the
/// operation is not one of these.
pub fn evaluate(op: BinaryOp, left: &ArrayRef, right: &ArrayRef) -> Result<Option<ArrayRef>> {
    kernel(op, left, right).map_err(map_error)
}

fn kernel(op: BinaryOp, left: &ArrayRef, right: &ArrayRef) -> std::result::Result<Option<ArrayRef>, ArrowError> {
    use BinaryOp::*;
    use DataType::*;
    let out: ArrayRef = match (op, left.data_type(), right.data_type()) {
        (Multiply | Divide, Interval(IntervalUnit::MonthDayNano), Int64) => {
            // Division by zero gives NULL, as for numbers.
            let right = if op == Divide {
                zero_as_null(right)?
            } else {
                Arc::clone(right)
            };
            let (iv, n) = (intervals(left), right.as_primitive::<Int64Type>());
            Arc::new(try_binary::<_, _, _, IntervalMonthDayNanoType>(iv, n, |iv, n| {
                if op == Multiply {
                    times(iv, n)
                } else {
                    divide(iv, n)
                }
            })?)
        }
        (Multiply, Int64, Interval(IntervalUnit::MonthDayNano)) => {
            let (n, iv) = (left.as_primitive::<Int64Type>(), intervals(right));
            Arc::new(try_binary::<_, _, _, IntervalMonthDayNanoType>(n, iv, |n, iv| {
                times(iv, n)
            })?)
        }
        (Multiply | Divide, Interval(IntervalUnit::MonthDayNano), Float64) => {
            let right = if op == Divide {
                zero_as_null(right)?
            } else {
                Arc::clone(right)
            };
            let (iv, f) = (intervals(left), right.as_primitive::<Float64Type>());
            Arc::new(try_binary::<_, _, _, IntervalMonthDayNanoType>(iv, f, |iv, f| {
                if op == Divide && f == 0.0 {
                    return Err(division_by_zero());
                }
                scale(iv, if op == Multiply { f } else { 1.0 / f })
            })?)
        }
        (Multiply, Float64, Interval(IntervalUnit::MonthDayNano)) => {
            let (f, iv) = (left.as_primitive::<Float64Type>(), intervals(right));
            Arc::new(try_binary::<_, _, _, IntervalMonthDayNanoType>(f, iv, |f, iv| {
                scale(iv, f)
            })?)
        }
        (Plus | Minus, Time64(TimeUnit::Nanosecond), Interval(IntervalUnit::MonthDayNano)) => {
            let (t, iv) = (left.as_primitive::<Time64NanosecondType>(), intervals(right));
            let sign = if op == Plus { 1 } else { -1 };
            Arc::new(binary::<_, _, _, Time64NanosecondType>(t, iv, |t, iv| {
                shift_time_tz(t, sign * (iv.nanoseconds / 1000))
            })?)
        }
        (Plus, Interval(IntervalUnit::MonthDayNano), Time64(TimeUnit::Nanosecond)) => {
            let (iv, t) = (intervals(left), right.as_primitive::<Time64NanosecondType>());
            Arc::new(binary::<_, _, _, Time64NanosecondType>(iv, t, |iv, t| {
                shift_time_tz(t, iv.nanoseconds / 1000)
            })?)
        }
        (Plus | Minus, Time64(TimeUnit::Microsecond), Interval(IntervalUnit::MonthDayNano)) => {
            let (t, iv) = (left.as_primitive::<Time64MicrosecondType>(), intervals(right));
            let sign = if op == Plus { 1 } else { -1 };
            Arc::new(binary::<_, _, _, Time64MicrosecondType>(t, iv, |t, iv| {
                shift_time(t, sign * (iv.nanoseconds / 1000))
            })?)
        }
        (Plus, Interval(IntervalUnit::MonthDayNano), Time64(TimeUnit::Microsecond)) => {
            let (iv, t) = (intervals(left), right.as_primitive::<Time64MicrosecondType>());
            Arc::new(binary::<_, _, _, Time64MicrosecondType>(iv, t, |iv, t| {
                shift_time(t, iv.nanoseconds / 1000)
            })?)
        }
        (Plus | Minus, Timestamp(TimeUnit::Microsecond, tz), Interval(IntervalUnit::MonthDayNano)) => {
            let (t, iv) = (left.as_primitive::<TimestampMicrosecondType>(), intervals(right));
            let negate = op == Minus;
            Arc::new(
                try_binary::<_, _, _, TimestampMicrosecondType>(t, iv, |t, iv| shift_timestamp(t, iv, negate))?
                    .with_timezone_opt(tz.clone()),
            )
        }
        (Plus, Interval(IntervalUnit::MonthDayNano), Timestamp(TimeUnit::Microsecond, tz)) => {
            let (iv, t) = (intervals(left), right.as_primitive::<TimestampMicrosecondType>());
            Arc::new(
                try_binary::<_, _, _, TimestampMicrosecondType>(iv, t, |iv, t| shift_timestamp(t, iv, false))?
                    .with_timezone_opt(tz.clone()),
            )
        }
        (Minus, Timestamp(TimeUnit::Microsecond, _), Timestamp(TimeUnit::Microsecond, _)) => {
            let (a, b) = (
                left.as_primitive::<TimestampMicrosecondType>(),
                right.as_primitive::<TimestampMicrosecondType>(),
            );
            Arc::new(try_binary::<_, _, _, IntervalMonthDayNanoType>(a, b, |a, b| {
                let diff = a.checked_sub(b).ok_or_else(|| overflow("subtraction"))?;
                Ok(IntervalMonthDayNano {
                    months: 0,
                    days: (diff / MICROS_PER_DAY) as i32,
                    nanoseconds: (diff % MICROS_PER_DAY) * 1000,
                })
            })?)
        }
        (Plus, Date32, Time64(TimeUnit::Microsecond)) => {
            let (d, t) = (
                left.as_primitive::<Date32Type>(),
                right.as_primitive::<Time64MicrosecondType>(),
            );
            Arc::new(try_binary::<_, _, _, TimestampMicrosecondType>(d, t, date_time)?)
        }
        (Plus, Time64(TimeUnit::Microsecond), Date32) => {
            let (t, d) = (
                left.as_primitive::<Time64MicrosecondType>(),
                right.as_primitive::<Date32Type>(),
            );
            Arc::new(try_binary::<_, _, _, TimestampMicrosecondType>(t, d, |t, d| {
                date_time(d, t)
            })?)
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}

/// `a` with its zeros replaced by NULL.
fn zero_as_null(a: &ArrayRef) -> std::result::Result<ArrayRef, ArrowError> {
    let zero: ArrayRef = match a.data_type() {
        DataType::Float64 => Arc::new(arrow::array::Float64Array::from(vec![0.0])),
        _ => Arc::new(arrow::array::Int64Array::from(vec![0])),
    };
    let mask = arrow::compute::kernels::cmp::eq(a, &arrow::array::Scalar::new(zero))?;
    arrow::compute::nullif(a, &mask)
}

fn intervals(a: &ArrayRef) -> &PrimitiveArray<IntervalMonthDayNanoType> {
    a.as_primitive::<IntervalMonthDayNanoType>()
}

fn overflow(what: &str) -> ArrowError {
    ArrowError::ComputeError(format!("Out of Range Error: Overflow in interval {what}"))
}

fn division_by_zero() -> ArrowError {
    ArrowError::DivideByZero
}

/// `iv * n`, each part exactly.
fn times(iv: IntervalMonthDayNano, n: i64) -> std::result::Result<IntervalMonthDayNano, ArrowError> {
    let n32 = i32::try_from(n).map_err(|_| overflow("multiplication"))?;
    Ok(IntervalMonthDayNano {
        months: iv.months.checked_mul(n32).ok_or_else(|| {
            ArrowError::ComputeError(format!(
                "Out of Range Error: Overflow in multiplication of INT32 ({} * {n})!",
                iv.months
            ))
        })?,
        days: iv.days.checked_mul(n32).ok_or_else(|| overflow("multiplication"))?,
        nanoseconds: iv
            .nanoseconds
            .checked_mul(n)
            .ok_or_else(|| overflow("multiplication"))?,
    })
}

/// `iv / n`: a month's remainder becomes days (30 a month), a day's remainder microseconds.
fn divide(iv: IntervalMonthDayNano, n: i64) -> std::result::Result<IntervalMonthDayNano, ArrowError> {
    if n == 0 {
        return Err(division_by_zero());
    }
    let n = i128::from(n);
    let months = i128::from(iv.months);
    let days = i128::from(iv.months) % n * 30 + i128::from(iv.days);
    let micros = days % n * i128::from(MICROS_PER_DAY) + i128::from(iv.nanoseconds / 1000);
    Ok(IntervalMonthDayNano {
        months: (months / n) as i32,
        days: (days / n) as i32,
        nanoseconds: i64::try_from(micros / n * 1000).map_err(|_| overflow("division"))?,
    })
}

/// `iv * f`: the fraction of the months becomes days, the fraction of the days microseconds.
fn scale(iv: IntervalMonthDayNano, f: f64) -> std::result::Result<IntervalMonthDayNano, ArrowError> {
    let months = f64::from(iv.months) * f;
    let days = f64::from(iv.days) * f + months.fract() * 30.0;
    let micros = (iv.nanoseconds / 1000) as f64 * f + days.fract() * MICROS_PER_DAY as f64;
    let fits = |v: f64, max: f64| v.is_finite() && v.abs() <= max;
    if !fits(months, f64::from(i32::MAX)) || !fits(days, f64::from(i32::MAX)) || !fits(micros, 9.2e15) {
        return Err(overflow("multiplication"));
    }
    Ok(IntervalMonthDayNano {
        months: months.trunc() as i32,
        days: days.trunc() as i32,
        nanoseconds: micros.round() as i64 * 1000,
    })
}

/// `t ± iv` like DuckDB: months first (the day clamped to the month's end), then days, then
/// microseconds; infinities stay; leaving the TIMESTAMP range is an error.
fn shift_timestamp(t: i64, iv: IntervalMonthDayNano, negate: bool) -> std::result::Result<i64, ArrowError> {
    use crate::physical::datetime_text::{civil_from_days, days_from_civil, TIMESTAMP_INFINITY, TIMESTAMP_MIN};
    if t == TIMESTAMP_INFINITY || t == -TIMESTAMP_INFINITY {
        return Ok(t);
    }
    let out_of_range = || ArrowError::ComputeError("Conversion Error: Date and time not in timestamp range".into());
    let sign: i64 = if negate { -1 } else { 1 };
    let (mut days, time) = (t.div_euclid(MICROS_PER_DAY), t.rem_euclid(MICROS_PER_DAY));
    if iv.months != 0 {
        let (y, m, d) = civil_from_days(days);
        let total = y * 12 + i64::from(m) - 1 + sign * i64::from(iv.months);
        let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let last =
            civil_from_days(days_from_civil(if m == 12 { y + 1 } else { y }, if m == 12 { 1 } else { m + 1 }, 1) - 1).2;
        days = days_from_civil(y, m, d.min(last));
    }
    days += sign * i64::from(iv.days);
    let micros = i128::from(days) * i128::from(MICROS_PER_DAY)
        + i128::from(time)
        + i128::from(sign) * i128::from(iv.nanoseconds / 1000);
    if !(i128::from(TIMESTAMP_MIN)..i128::from(TIMESTAMP_INFINITY)).contains(&micros) {
        return Err(out_of_range());
    }
    Ok(micros as i64)
}

/// A packed TIMETZ whose local time moves by `micros` (wrapping), keeping its offset.
fn shift_time_tz(packed: i64, micros: i64) -> i64 {
    use crate::physical::datetime_text::{decode_time_tz, encode_time_tz};
    let (t, offset) = decode_time_tz(packed);
    encode_time_tz(shift_time(t, micros), offset)
}

/// A time of day moved by `micros`, wrapping around midnight.
fn shift_time(t: i64, micros: i64) -> i64 {
    (t + micros % MICROS_PER_DAY).rem_euclid(MICROS_PER_DAY)
}

fn date_time(d: i32, t: i64) -> std::result::Result<i64, ArrowError> {
    i64::from(d)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|v| v.checked_add(t))
        .ok_or_else(|| overflow("addition"))
}

/// The error for a failed kernel, in DuckDB's words.
fn map_error(e: ArrowError) -> Error {
    match e {
        ArrowError::DivideByZero => Error::execution("Invalid Input Error: Division by zero in interval division"),
        ArrowError::ComputeError(m) => Error::execution(m),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, secs: i64) -> IntervalMonthDayNano {
        IntervalMonthDayNano {
            months,
            days,
            nanoseconds: secs * 1_000_000_000,
        }
    }

    #[test]
    fn interval_division_spills() {
        assert_eq!(divide(iv(1, 0, 0), 3).unwrap(), iv(0, 10, 0));
        assert_eq!(divide(iv(0, 1, 1), 7).unwrap(), iv(0, 0, 12343));
        assert_eq!(divide(iv(0, -7, 0), 2).unwrap(), iv(0, -3, -43200));
        assert_eq!(scale(iv(0, 1, 0), 1.5).unwrap(), iv(0, 1, 43200));
        assert_eq!(shift_time(0, -3_600_000_000), 23 * 3_600_000_000);
    }
}
