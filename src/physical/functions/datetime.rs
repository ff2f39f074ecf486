//! Date and time functions: date_part on dates, timestamps, times and intervals, epoch,
//! date_trunc, date_diff, make_date, strftime/strptime, last_day, month and day names.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Float64Array, PrimitiveArray, TimestampMicrosecondArray};
use arrow::datatypes::{
    DataType, Date32Type, Int64Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::{arg, i64_rows, prim_arg, str_arg, string_rows};
use crate::error::{Error, Result};
use crate::logical::functions::ScalarFunc as F;

const UNIX_EPOCH_DAY_CE: i32 = 719_163;
const US_PER_DAY: i64 = 86_400_000_000;

/// Evaluates the date and time functions; `None` for other functions.
pub(super) fn evaluate(func: F, args: &[ArrayRef], rows: usize) -> Result<Option<ArrayRef>> {
    Ok(Some(match func {
        F::DatePart => {
            let Some(part) = field(args)? else {
                return Ok(Some(arrow::array::new_null_array(&DataType::Int64, rows)));
            };
            let a = arg(args, 1)?;
            match a.data_type() {
                DataType::Interval(_) => {
                    let iv = a.as_primitive::<IntervalMonthDayNanoType>();
                    i64_rows(&args[1..], rows, |i| interval_part(&part, iv.value(i)))?
                }
                DataType::Time64(_) => {
                    let t = a.as_primitive::<Time64MicrosecondType>();
                    i64_rows(&args[1..], rows, |i| {
                        let us = t.value(i);
                        let dt = DateTime::from_timestamp_micros(us)
                            .ok_or_else(|| Error::execution("time out of range"))?
                            .naive_utc();
                        match part.as_str() {
                            "hour" | "minute" | "second" | "millisecond" | "microsecond" | "epoch" => {
                                date_part(&part, dt)
                            }
                            other => Err(Error::not_supported(format!("\"time\" units \"{other}\""))),
                        }
                    })?
                }
                _ => {
                    let t = Temporal::new(a)?;
                    i64_rows(&args[1..], rows, |i| {
                        let (dt, shift) = t.get_shifted(i)?;
                        date_part_shifted(&part, dt, shift)
                    })?
                }
            }
        }
        F::Epoch => {
            let a = arg(args, 0)?;
            let out: Float64Array = match a.data_type() {
                DataType::Date32 => a.as_primitive::<Date32Type>().unary(|d| d as f64 * 86_400.0),
                DataType::Interval(_) => a
                    .as_primitive::<IntervalMonthDayNanoType>()
                    // DuckDB: a year is 365.25 days, other months 30 days.
                    .unary(|v| {
                        let (years, months) = (v.months / 12, v.months % 12);
                        (years as f64 * 365.25 + months as f64 * 30.0 + v.days as f64) * 86_400.0
                            + v.nanoseconds as f64 / 1e9
                    }),
                _ => prim_arg::<TimestampMicrosecondType>(args, 0)?.unary(|us| us as f64 / 1e6),
            };
            Arc::new(out)
        }
        F::EpochMs => {
            let ms = prim_arg::<Int64Type>(args, 0)?;
            Arc::new(ms.unary::<_, TimestampMicrosecondType>(|ms| ms.saturating_mul(1000)))
        }
        F::DateTrunc => {
            let Some(part) = field(args)? else {
                return Ok(Some(arrow::array::new_null_array(
                    &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                    rows,
                )));
            };
            let t = Temporal::new(arg(args, 1)?)?;
            let out = timestamps(&args[1..], rows, |i| date_trunc(&part, t.get(i)?))?;
            Arc::new(out)
        }
        F::DateDiff => {
            let Some(part) = field(args)? else {
                return Ok(Some(arrow::array::new_null_array(&DataType::Int64, rows)));
            };
            let (a, b) = (Temporal::new(arg(args, 1)?)?, Temporal::new(arg(args, 2)?)?);
            i64_rows(&args[1..], rows, |i| date_diff(&part, a.get(i)?, b.get(i)?))?
        }
        F::MakeDate => {
            let (y, m, d) = (
                prim_arg::<Int64Type>(args, 0)?,
                prim_arg::<Int64Type>(args, 1)?,
                prim_arg::<Int64Type>(args, 2)?,
            );
            let days = i64_rows(args, rows, |i| {
                let date = i32::try_from(y.value(i))
                    .ok()
                    .and_then(|y| NaiveDate::from_ymd_opt(y, m.value(i) as u32, d.value(i) as u32))
                    .ok_or_else(|| {
                        Error::execution(format!(
                            "Conversion Error: Date out of range: {}-{}-{}",
                            y.value(i),
                            m.value(i),
                            d.value(i)
                        ))
                    })?;
                Ok(days_of(date) as i64)
            })?;
            arrow::compute::cast(&arrow::compute::cast(&days, &DataType::Int32)?, &DataType::Date32)?
        }
        F::LastDay => {
            let t = Temporal::new(arg(args, 0)?)?;
            let days = i64_rows(args, rows, |i| {
                let d = t.get(i)?.date();
                let first_next = if d.month() == 12 {
                    NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
                };
                let last = first_next
                    .and_then(|f| f.pred_opt())
                    .ok_or_else(|| Error::execution("date out of range"))?;
                Ok(days_of(last) as i64)
            })?;
            arrow::compute::cast(&arrow::compute::cast(&days, &DataType::Int32)?, &DataType::Date32)?
        }
        F::MonthName | F::DayName => {
            let t = Temporal::new(arg(args, 0)?)?;
            let fmt = if func == F::MonthName { "%B" } else { "%A" };
            string_rows(args, rows, |i, out| {
                use std::fmt::Write;
                write!(out, "{}", t.get_shifted(i)?.0.format(fmt)).map_err(|e| Error::execution(e.to_string()))
            })?
        }
        F::Strftime => {
            let (t, fmt) = (Temporal::new(arg(args, 0)?)?, str_arg(args, 1)?);
            let mut last: Option<(String, Vec<chrono::format::Item<'static>>)> = None;
            string_rows(args, rows, |i, out| {
                let f = fmt.value(i);
                if last.as_ref().is_none_or(|(k, _)| k != f) {
                    last = Some((f.to_string(), strftime_items(f)?));
                }
                let items = last.as_ref().map(|(_, items)| items.as_slice()).unwrap_or(&[]);
                use std::fmt::Write;
                write!(out, "{}", t.get(i)?.format_with_items(items.iter()))
                    .map_err(|e| Error::execution(e.to_string()))
            })?
        }
        F::Strptime => {
            let (s, fmt) = (str_arg(args, 0)?, str_arg(args, 1)?);
            Arc::new(timestamps(args, rows, |i| strptime(s.value(i), fmt.value(i)))?)
        }
        F::CurrentDate => {
            let today = chrono::Utc::now().date_naive();
            Arc::new(Date32Array::from(vec![days_of(today); rows]))
        }
        F::Now => {
            let now = chrono::Utc::now().timestamp_micros();
            Arc::new(TimestampMicrosecondArray::from(vec![now; rows]))
        }
        _ => return Ok(None),
    }))
}

/// The (constant) field name in argument 0, lower-case; `None` when NULL.
fn field(args: &[ArrayRef]) -> Result<Option<String>> {
    let f = str_arg(args, 0)?;
    if f.is_empty() || f.is_null(0) {
        return Ok(None);
    }
    Ok(Some(normalize_part(&f.value(0).to_lowercase())?.to_string()))
}

/// DuckDB's date part names and their aliases → one canonical name.
fn normalize_part(p: &str) -> Result<&'static str> {
    Ok(match p {
        "year" | "years" | "y" | "yr" | "yrs" => "year",
        "month" | "months" | "mon" | "mons" => "month",
        "day" | "days" | "d" | "dayofmonth" => "day",
        "decade" | "decades" | "dec" => "decade",
        "century" | "centuries" | "c" | "cent" => "century",
        "millennium" | "millennia" | "millenium" | "mil" | "mils" => "millennium",
        "quarter" | "quarters" => "quarter",
        "week" | "weeks" | "w" | "weekofyear" => "week",
        "dow" | "dayofweek" | "weekday" => "dow",
        "isodow" => "isodow",
        "doy" | "dayofyear" => "doy",
        "isoyear" => "isoyear",
        "yearweek" => "yearweek",
        "era" => "era",
        "hour" | "hours" | "h" | "hr" | "hrs" => "hour",
        "minute" | "minutes" | "m" | "min" | "mins" => "minute",
        "second" | "seconds" | "s" | "sec" | "secs" => "second",
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => "millisecond",
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" => "microsecond",
        "epoch" => "epoch",
        other => return Err(Error::plan(format!("Binder Error: Unsupported date part \"{other}\""))),
    })
}

/// A DATE or TIMESTAMP column read as date-times.
enum Temporal<'a> {
    Date(&'a PrimitiveArray<Date32Type>),
    Timestamp(&'a PrimitiveArray<TimestampMicrosecondType>),
}

impl<'a> Temporal<'a> {
    fn new(a: &'a ArrayRef) -> Result<Self> {
        match a.data_type() {
            DataType::Date32 => Ok(Temporal::Date(a.as_primitive())),
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _) => {
                Ok(Temporal::Timestamp(a.as_primitive()))
            }
            other => Err(Error::internal(format!("expected DATE or TIMESTAMP, got {other}"))),
        }
    }

    fn get(&self, i: usize) -> Result<NaiveDateTime> {
        let out = match self {
            Temporal::Date(a) => NaiveDate::from_num_days_from_ce_opt(a.value(i).saturating_add(UNIX_EPOCH_DAY_CE))
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
            Temporal::Timestamp(a) => DateTime::from_timestamp_micros(a.value(i)).map(|t| t.naive_utc()),
        };
        out.ok_or_else(|| Error::execution("date out of range"))
    }

    /// Row `i`, moved by whole 400-year cycles into chrono's range when it lies beyond
    /// (DuckDB's dates reach ±5.8 million years): the date-time and the years it was moved
    /// back by. Months, days and weekdays repeat every 400 years (146097 days, whole weeks).
    fn get_shifted(&self, i: usize) -> Result<(NaiveDateTime, i64)> {
        if let Ok(t) = self.get(i) {
            return Ok((t, 0));
        }
        const CYCLE_DAYS: i64 = 146_097;
        const DAY_MICROS: i64 = 86_400_000_000;
        let (days, micros) = match self {
            Temporal::Date(a) => (i64::from(a.value(i)), 0),
            Temporal::Timestamp(a) => (a.value(i).div_euclid(DAY_MICROS), a.value(i).rem_euclid(DAY_MICROS)),
        };
        let cycles = days.div_euclid(CYCLE_DAYS);
        let inside = days - cycles * CYCLE_DAYS;
        let t = NaiveDate::from_num_days_from_ce_opt(inside as i32 + UNIX_EPOCH_DAY_CE)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|d| d.checked_add_signed(chrono::Duration::microseconds(micros)))
            .ok_or_else(|| Error::execution("date out of range"))?;
        Ok((t, cycles * 400))
    }
}

/// [`date_part`] of a date-time moved back by `shift` years (see `Temporal::get_shifted`).
fn date_part_shifted(part: &str, t: NaiveDateTime, shift: i64) -> Result<i64> {
    if shift == 0 {
        return date_part(part, t);
    }
    let y = i64::from(t.year()) + shift;
    let iso_year = i64::from(t.iso_week().year()) + shift;
    Ok(match part {
        "year" => y,
        "decade" => y.div_euclid(10),
        "century" if y > 0 => (y - 1) / 100 + 1,
        "century" => y / 100 - 1,
        "millennium" if y > 0 => (y - 1) / 1000 + 1,
        "millennium" => y / 1000 - 1,
        "isoyear" => iso_year,
        "yearweek" => iso_year * 100 + i64::from(t.iso_week().week()),
        "era" => i64::from(y > 0),
        "epoch" => {
            let micros = i128::from(micros_of(t)) + i128::from(shift / 400) * 146_097 * 86_400_000_000;
            (micros.div_euclid(1_000_000)) as i64
        }
        other => date_part(other, t)?,
    })
}

fn days_of(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_DAY_CE
}

fn micros_of(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

/// Builds a TIMESTAMP column: NULL where any argument is NULL, else `f(i)`.
fn timestamps(
    args: &[ArrayRef],
    rows: usize,
    mut f: impl FnMut(usize) -> Result<NaiveDateTime>,
) -> Result<TimestampMicrosecondArray> {
    let out = i64_rows(args, rows, |i| f(i).map(micros_of))?;
    Ok(out
        .as_primitive::<Int64Type>()
        .reinterpret_cast::<TimestampMicrosecondType>())
}

fn date_part(part: &str, t: NaiveDateTime) -> Result<i64> {
    let y = t.year() as i64;
    let sub_second = (t.nanosecond() / 1000) as i64 % 1_000_000;
    Ok(match part {
        "year" => y,
        "month" => t.month() as i64,
        "day" => t.day() as i64,
        "decade" => y.div_euclid(10),
        "century" => {
            if y > 0 {
                (y - 1) / 100 + 1
            } else {
                y / 100 - 1
            }
        }
        "millennium" => {
            if y > 0 {
                (y - 1) / 1000 + 1
            } else {
                y / 1000 - 1
            }
        }
        "quarter" => (t.month() as i64 - 1) / 3 + 1,
        "week" => t.iso_week().week() as i64,
        "dow" => t.weekday().num_days_from_sunday() as i64,
        "isodow" => t.weekday().number_from_monday() as i64,
        "doy" => t.ordinal() as i64,
        "isoyear" => t.iso_week().year() as i64,
        "yearweek" => t.iso_week().year() as i64 * 100 + t.iso_week().week() as i64,
        "era" => i64::from(y > 0),
        "hour" => t.hour() as i64,
        "minute" => t.minute() as i64,
        "second" => t.second() as i64,
        "millisecond" => t.second() as i64 * 1000 + sub_second / 1000,
        "microsecond" => t.second() as i64 * 1_000_000 + sub_second,
        "epoch" => micros_of(t).div_euclid(1_000_000),
        other => return Err(Error::not_supported(format!("date part \"{other}\""))),
    })
}

fn interval_part(part: &str, v: arrow::datatypes::IntervalMonthDayNano) -> Result<i64> {
    let us = v.nanoseconds / 1000;
    let years = v.months as i64 / 12;
    Ok(match part {
        "year" => years,
        "month" => v.months as i64 % 12,
        "day" => v.days as i64,
        "decade" => years / 10,
        "century" => years / 100,
        "millennium" => years / 1000,
        "quarter" => (v.months as i64 % 12) / 3 + 1,
        "hour" => us / 3_600_000_000,
        "minute" => (us / 60_000_000) % 60,
        "second" => (us / 1_000_000) % 60,
        "millisecond" => (us / 1000) % 60_000,
        "microsecond" => us % 60_000_000,
        "epoch" => (v.months as i64 * 30 + v.days as i64) * 86_400 + us / 1_000_000,
        other => return Err(Error::not_supported(format!("\"interval\" units \"{other}\""))),
    })
}

fn date_trunc(part: &str, t: NaiveDateTime) -> Result<NaiveDateTime> {
    let d = t.date();
    let ymd = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(|| Error::execution("date out of range"))
    };
    let us = micros_of(t);
    let floor_us = |unit: i64| {
        DateTime::from_timestamp_micros(us - us.rem_euclid(unit))
            .map(|t| t.naive_utc())
            .ok_or_else(|| Error::execution("timestamp out of range"))
    };
    match part {
        "millennium" => ymd((d.year() - 1).div_euclid(1000) * 1000 + 1, 1),
        "century" => ymd((d.year() - 1).div_euclid(100) * 100 + 1, 1),
        "decade" => ymd(d.year().div_euclid(10) * 10, 1),
        "year" | "isoyear" => ymd(d.year(), 1),
        "quarter" => ymd(d.year(), (d.month() - 1) / 3 * 3 + 1),
        "month" => ymd(d.year(), d.month()),
        "week" | "yearweek" => {
            let monday = d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64);
            Ok(monday.and_time(chrono::NaiveTime::MIN))
        }
        "day" | "dow" | "isodow" | "doy" => Ok(d.and_time(chrono::NaiveTime::MIN)),
        "hour" => floor_us(3_600_000_000),
        "minute" => floor_us(60_000_000),
        "second" | "epoch" => floor_us(1_000_000),
        "millisecond" => floor_us(1000),
        "microsecond" => Ok(t),
        other => Err(Error::not_supported(format!("date_trunc part \"{other}\""))),
    }
}

fn date_diff(part: &str, a: NaiveDateTime, b: NaiveDateTime) -> Result<i64> {
    let months = |t: NaiveDateTime| t.year() as i64 * 12 + t.month() as i64 - 1;
    let floor = |t: NaiveDateTime, unit: i64| micros_of(t).div_euclid(unit);
    Ok(match part {
        "year" | "isoyear" => b.year() as i64 - a.year() as i64,
        "decade" => (b.year() as i64).div_euclid(10) - (a.year() as i64).div_euclid(10),
        "century" => (b.year() as i64).div_euclid(100) - (a.year() as i64).div_euclid(100),
        "millennium" => (b.year() as i64).div_euclid(1000) - (a.year() as i64).div_euclid(1000),
        "quarter" => months(b).div_euclid(3) - months(a).div_euclid(3),
        "month" => months(b) - months(a),
        "week" | "yearweek" => (floor(b, US_PER_DAY) - floor(a, US_PER_DAY)) / 7,
        "day" | "dow" | "isodow" | "doy" => floor(b, US_PER_DAY) - floor(a, US_PER_DAY),
        "hour" => floor(b, 3_600_000_000) - floor(a, 3_600_000_000),
        "minute" => floor(b, 60_000_000) - floor(a, 60_000_000),
        "second" | "epoch" => floor(b, 1_000_000) - floor(a, 1_000_000),
        "millisecond" => floor(b, 1000) - floor(a, 1000),
        "microsecond" => micros_of(b) - micros_of(a),
        other => return Err(Error::not_supported(format!("date_diff part \"{other}\""))),
    })
}

/// DuckDB's format specifiers → chrono's (`%f` is microseconds, `%g` milliseconds).
fn strftime_items(fmt: &str) -> Result<Vec<chrono::format::Item<'static>>> {
    let translated = fmt.replace("%f", "%6f").replace("%g", "%3f");
    let items: Vec<chrono::format::Item<'static>> = chrono::format::StrftimeItems::new(&translated)
        .map(|i| i.to_owned())
        .collect();
    if items.iter().any(|i| matches!(i, chrono::format::Item::Error)) {
        return Err(Error::execution(format!(
            "Invalid Input Error: Failed to parse format specifier {fmt}"
        )));
    }
    Ok(items)
}

fn strptime(s: &str, fmt: &str) -> Result<NaiveDateTime> {
    let translated = fmt.replace("%f", "%6f").replace("%g", "%3f");
    NaiveDateTime::parse_from_str(s, &translated)
        .or_else(|_| NaiveDate::parse_from_str(s, &translated).map(|d| d.and_time(chrono::NaiveTime::MIN)))
        .map_err(|_| {
            Error::execution(format!(
                "Invalid Input Error: Could not parse string \"{s}\" according to format specifier \"{fmt}\""
            ))
        })
}
