//! Helpers shared by the sqllogictest runners (`tests/slt.rs` and `tests/conformance.rs`).
//!
//! * [`RaskDb`] implements the `sqllogictest` crate's [`DB`] trait for a [`rask::Session`].
//!   `PRAGMA` statements are no-ops; with [`RaskDb::lenient_set`], a `SET`/`RESET` the engine
//!   rejects is a no-op too (unknown settings in foreign test files).
//! * [`render_cell`] turns one Arrow cell into the text a test file expects, following the
//!   conventions of the engine that wrote the file ([`Dialect`]): DuckDB's VARCHAR cast (the
//!   default, also used for rask's own files), SQLite's rendering by declared type letter, or
//!   DataFusion's runner.
//! * [`tolerant_validator`] compares results token by token, numbers with a relative tolerance,
//!   `true`/`false` equal to `1`/`0`, and accepts a multi-column result written one value per
//!   line. [`column_count_validator`] checks only the number of columns.
#![allow(dead_code)]

pub mod spill;
pub mod tpch_data;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, GenericListArray, OffsetSizeTrait, StructArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit, IntervalYearMonthType, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rask::{Session, SessionConfig, StatementResult};
use sqllogictest::{DBOutput, DefaultColumnType, Normalizer, DB};

/// Whose conventions a test file follows when it prints values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB's VARCHAR cast: rask's own files, `duckdb__*` and the RisingLight TPC-H files.
    DuckDb,
    /// SQLite's runner: rendering decided by the declared type letter (`I`, `R`, `T`).
    Sqlite,
    /// DataFusion's runner: floats rounded to 12 places, Arrow display for the rest.
    DataFusion,
}

/// The error a [`RaskDb`] returns: the engine's message (or a caught panic's).
#[derive(Debug, Clone)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// The type letters of the record about to run, shared between a runner loop and its
/// [`RaskDb`] (SQLite rendering depends on them).
pub type LetterHint = Arc<Mutex<Vec<DefaultColumnType>>>;

/// A rask session driven by the `sqllogictest` crate.
pub struct RaskDb {
    session: Session,
    dialect: Dialect,
    letters: LetterHint,
    lenient_set: bool,
}

/// The session configuration the runners use: 2 worker threads and 3 shuffle partitions, and
/// small file partitions, so multi-partition paths are exercised even on tiny inputs.
pub fn test_config(integer_division: bool) -> SessionConfig {
    let mut config = SessionConfig::default();
    config.exec.threads = 2;
    config.exec.target_partitions = 3;
    config.exec.file_partition_bytes = 256;
    config.integer_division = integer_division;
    config
}

impl RaskDb {
    /// A new session with `config`, rendering values like `dialect`.
    pub fn new(config: SessionConfig, dialect: Dialect) -> Result<Self, DbError> {
        let session = Session::new(config).map_err(|e| DbError(e.to_string()))?;
        Ok(Self {
            session,
            dialect,
            letters: Arc::new(Mutex::new(Vec::new())),
            lenient_set: false,
        })
    }

    /// Shares `hint`: the runner stores the type letters of each record there before running it.
    pub fn with_letter_hint(mut self, hint: LetterHint) -> Self {
        self.letters = hint;
        self
    }

    /// Treat a `SET`/`RESET` the engine rejects as a no-op.
    pub fn lenient_set(mut self, on: bool) -> Self {
        self.lenient_set = on;
        self
    }
}

/// The first keyword of `sql`, upper-cased, skipping whitespace and `--` comment lines.
pub fn first_keyword(sql: &str) -> String {
    let body = sql
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join(" ");
    body.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

impl DB for RaskDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let keyword = first_keyword(sql);
        if keyword == "PRAGMA" {
            return Ok(DBOutput::StatementComplete(0));
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| self.session.execute(sql)));
        let mut results = match outcome {
            Ok(Ok(results)) => results,
            Ok(Err(_)) if self.lenient_set && (keyword == "SET" || keyword == "RESET") => {
                return Ok(DBOutput::StatementComplete(0));
            }
            Ok(Err(e)) => return Err(DbError(e.to_string())),
            Err(payload) => return Err(DbError(format!("rask panicked: {}", panic_message(payload)))),
        };
        match results.pop() {
            Some(StatementResult::Query(q)) => {
                let letters = self.letters.lock().map(|l| l.clone()).unwrap_or_default();
                let types = q.schema.fields().iter().map(|f| column_type(f.data_type())).collect();
                let mut rows = Vec::with_capacity(q.num_rows());
                for batch in &q.batches {
                    for row in 0..batch.num_rows() {
                        rows.push(
                            batch
                                .columns()
                                .iter()
                                .enumerate()
                                .map(|(i, col)| render_cell(col.as_ref(), row, self.dialect, letters.get(i)))
                                .collect(),
                        );
                    }
                }
                Ok(DBOutput::Rows { types, rows })
            }
            Some(StatementResult::Done { rows, .. }) => Ok(DBOutput::StatementComplete(rows.unwrap_or(0))),
            Some(StatementResult::Stream(_)) => Err(DbError("the test session does not stream results".into())),
            None => Ok(DBOutput::StatementComplete(0)),
        }
    }

    fn engine_name(&self) -> &str {
        "rask"
    }
}

/// The sqllogictest type letter for an Arrow type (`I`, `R`, `T`, or `?` for anything else).
pub fn column_type(dt: &DataType) -> DefaultColumnType {
    match dt {
        dt if dt.is_integer() => DefaultColumnType::Integer,
        dt if dt.is_floating() => DefaultColumnType::FloatingPoint,
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            DefaultColumnType::FloatingPoint
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

/// Renders row `row` of `array` as `dialect` prints it. `letter` is the declared type letter of
/// the column (only SQLite rendering uses it).
pub fn render_cell(array: &dyn Array, row: usize, dialect: Dialect, letter: Option<&DefaultColumnType>) -> String {
    if array.is_null(row) || matches!(array.data_type(), DataType::Null) {
        return "NULL".to_string();
    }
    if let DataType::Dictionary(_, value_type) = array.data_type() {
        return match arrow::compute::cast(&array.slice(row, 1), value_type) {
            Ok(values) => render_cell(values.as_ref(), 0, dialect, letter),
            Err(e) => format!("<cast error: {e}>"),
        };
    }
    let text = match dialect {
        Dialect::DuckDb => duckdb_value(array, row),
        Dialect::Sqlite => sqlite_value(array, row, letter),
        Dialect::DataFusion => datafusion_value(array, row),
    };
    if text.is_empty() {
        "(empty)".to_string()
    } else {
        text
    }
}

/// The string value of a text cell, if the column is text.
fn text_value(array: &dyn Array, row: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

/// The numeric value of a cell as f64, if the column is numeric.
fn f64_value(array: &dyn Array, row: usize) -> Option<f64> {
    Some(match array.data_type() {
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row) as f64,
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row) as f64,
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row) as f64,
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row) as f64,
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row) as f64,
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row) as f64,
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row) as f64,
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row) as f64,
        DataType::Float16 => array.as_primitive::<Float16Type>().value(row).to_f64(),
        DataType::Float32 => array.as_primitive::<Float32Type>().value(row) as f64,
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row),
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            arrow_display(array, row).parse().ok()?
        }
        DataType::Boolean => {
            if array.as_boolean().value(row) {
                1.0
            } else {
                0.0
            }
        }
        _ => return None,
    })
}

/// Arrow's own display of a cell.
fn arrow_display(array: &dyn Array, row: usize) -> String {
    match ArrayFormatter::try_new(array, &FormatOptions::default()) {
        Ok(f) => f.value(row).to_string(),
        Err(e) => format!("<display error: {e}>"),
    }
}

/// DuckDB's VARCHAR cast of one (non-null) cell.
pub fn duckdb_value(array: &dyn Array, row: usize) -> String {
    duckdb_value_inner(array, row)
}

fn duckdb_value_inner(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".to_string();
    }
    if let Some(s) = text_value(array, row) {
        return s.to_string();
    }
    match array.data_type() {
        DataType::Boolean => bool_text(array.as_boolean(), row),
        DataType::Float16 => format_float_duckdb(array.as_primitive::<Float16Type>().value(row).to_f64(), false),
        DataType::Float32 => format_float_duckdb(array.as_primitive::<Float32Type>().value(row) as f64, true),
        DataType::Float64 => format_float_duckdb(array.as_primitive::<Float64Type>().value(row), false),
        DataType::Date32 => {
            let mut s = String::new();
            rask::physical::datetime_text::format_date(array.as_primitive::<Date32Type>().value(row), &mut s);
            s
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(row);
            format_timestamp_nanos(ms.div_euclid(86_400_000) * 86_400 * 1_000_000_000, false)
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let mut s = match unit {
                TimeUnit::Nanosecond => format_timestamp_nanos(v, true),
                _ => {
                    // Microseconds cover DuckDB's whole range (BC years, years past 9999).
                    let micros = v.saturating_mul(unit_nanos(unit) / 1000);
                    let mut s = String::new();
                    rask::physical::datetime_text::format_timestamp(micros, &mut s);
                    s
                }
            };
            if tz.is_some() {
                s.push_str("+00");
            }
            s
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            // rask's TIMETZ (a packed time and offset).
            let mut s = String::new();
            rask::physical::datetime_text::format_time_tz(
                array.as_primitive::<Time64NanosecondType>().value(row),
                &mut s,
            );
            s
        }
        DataType::Time32(unit) | DataType::Time64(unit) => {
            let v: i64 = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row) as i64,
                TimeUnit::Millisecond => array.as_primitive::<Time32MillisecondType>().value(row) as i64,
                TimeUnit::Microsecond => array.as_primitive::<Time64MicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(row),
            };
            format_clock(v as i128 * unit_nanos(unit) as i128)
        }
        DataType::Interval(unit) => {
            let (months, days, nanos) = match unit {
                IntervalUnit::YearMonth => (array.as_primitive::<IntervalYearMonthType>().value(row), 0, 0),
                IntervalUnit::DayTime => {
                    let v = array.as_primitive::<IntervalDayTimeType>().value(row);
                    (0, v.days, v.milliseconds as i64 * 1_000_000)
                }
                IntervalUnit::MonthDayNano => {
                    let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
                    (v.months, v.days, v.nanoseconds)
                }
            };
            format_interval_duckdb(months, days, nanos)
        }
        DataType::Duration(unit) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<DurationSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<DurationMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<DurationMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().value(row),
            };
            let nanos = v as i128 * unit_nanos(unit) as i128;
            let day = 86_400_000_000_000i128;
            format_interval_duckdb(0, (nanos / day) as i32, (nanos % day) as i64)
        }
        DataType::List(_) => list_text(array.as_list::<i32>(), row),
        DataType::LargeList(_) => list_text(array.as_list::<i64>(), row),
        DataType::FixedSizeList(..) => {
            let list = array.as_fixed_size_list();
            values_text(&list.value(row))
        }
        DataType::Struct(_) => struct_text(array.as_struct(), row),
        DataType::Map(..) => {
            let map = array.as_map();
            let entries = map.value(row);
            let parts: Vec<String> = (0..entries.len())
                .map(|i| {
                    format!(
                        "{}={}",
                        duckdb_value_inner(entries.column(0).as_ref(), i),
                        duckdb_value_inner(entries.column(1).as_ref(), i)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        DataType::Dictionary(_, value_type) => match arrow::compute::cast(&array.slice(row, 1), value_type) {
            Ok(values) => duckdb_value_inner(values.as_ref(), 0),
            Err(e) => format!("<cast error: {e}>"),
        },
        _ => arrow_display(array, row),
    }
}

fn bool_text(array: &BooleanArray, row: usize) -> String {
    if array.value(row) { "true" } else { "false" }.to_string()
}

fn list_text<O: OffsetSizeTrait>(list: &GenericListArray<O>, row: usize) -> String {
    values_text(&list.value(row))
}

fn values_text(values: &ArrayRef) -> String {
    let parts: Vec<String> = (0..values.len())
        .map(|i| duckdb_value_inner(values.as_ref(), i))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn struct_text(array: &StructArray, row: usize) -> String {
    let parts: Vec<String> = array
        .fields()
        .iter()
        .zip(array.columns())
        .map(|(f, col)| format!("'{}': {}", f.name(), duckdb_value_inner(col.as_ref(), row)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn unit_nanos(unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// `.5`, `.123456`: the fraction of a second, trailing zeros removed; empty when zero.
fn fraction(nanos: i64) -> String {
    if nanos == 0 {
        return String::new();
    }
    let digits = format!("{nanos:09}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// `2020-01-01 12:00:00[.fff]` for nanoseconds since the epoch (UTC); `2020-01-01` when `time`
/// is false.
fn format_timestamp_nanos(nanos: i64, time: bool) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let sub = nanos.rem_euclid(1_000_000_000);
    match chrono::DateTime::from_timestamp(secs, sub as u32) {
        Some(dt) => {
            let naive = dt.naive_utc();
            let date = naive.date();
            if time {
                format!(
                    "{date} {}",
                    format_clock(sub as i128 + (secs.rem_euclid(86_400) as i128) * 1_000_000_000)
                )
            } else {
                format!("{date}")
            }
        }
        None => format!("<timestamp out of range: {nanos}ns>"),
    }
}

/// `HH:MM:SS[.fff]` for a non-negative number of nanoseconds (hours may exceed 24).
fn format_clock(nanos: i128) -> String {
    let total_secs = nanos / 1_000_000_000;
    let sub = (nanos % 1_000_000_000) as i64;
    format!(
        "{:02}:{:02}:{:02}{}",
        total_secs / 3600,
        (total_secs / 60) % 60,
        total_secs % 60,
        fraction(sub)
    )
}

/// DuckDB's interval text: `1 year 2 months -3 days 04:05:06.5`, `00:00:00` when zero.
pub fn format_interval_duckdb(months: i32, days: i32, nanos: i64) -> String {
    fn unit(n: i64, name: &str) -> String {
        if n.abs() == 1 {
            format!("{n} {name}")
        } else {
            format!("{n} {name}s")
        }
    }
    let mut parts = Vec::new();
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        parts.push(unit(years as i64, "year"));
    }
    if months != 0 {
        parts.push(unit(months as i64, "month"));
    }
    if days != 0 {
        parts.push(unit(days as i64, "day"));
    }
    if nanos != 0 {
        let sign = if nanos < 0 { "-" } else { "" };
        parts.push(format!("{sign}{}", format_clock((nanos as i128).abs())));
    }
    if parts.is_empty() {
        "00:00:00".to_string()
    } else {
        parts.join(" ")
    }
}

/// DuckDB's (and Python's `repr`) shortest round-trip float text: `1.0`, `0.1`, `1e+20`,
/// `1e-05`, `inf`, `nan`. Positional for decimal exponents -4..16, scientific otherwise.
/// `single` formats the shortest form of the value as an f32.
pub fn format_float_duckdb(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // `{:e}` is the shortest round-trip form: `-1.2345e-7`, `1e16`.
    let sci = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else if (point as usize) >= digits.len() {
            format!("{sign}{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

/// SQLite's runner: the declared letter decides. `I` is a 64-bit integer (floats truncated,
/// booleans 1/0), `R` is `%.3f`, `T` is the text with non-printable-ASCII replaced by `@`.
fn sqlite_value(array: &dyn Array, row: usize, letter: Option<&DefaultColumnType>) -> String {
    match letter {
        Some(DefaultColumnType::Integer) => {
            if let Some(s) = text_value(array, row) {
                return leading_integer(s).to_string();
            }
            match array.data_type() {
                DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
                DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).to_string(),
                _ => match f64_value(array, row) {
                    Some(f) => (f.trunc() as i64).to_string(),
                    None => duckdb_value(array, row),
                },
            }
        }
        Some(DefaultColumnType::FloatingPoint) => {
            let f = match text_value(array, row) {
                Some(s) => s.trim().parse().unwrap_or(0.0),
                None => match f64_value(array, row) {
                    Some(f) => f,
                    None => return duckdb_value(array, row),
                },
            };
            format!("{f:.3}")
        }
        _ => {
            if let DataType::Boolean = array.data_type() {
                return if array.as_boolean().value(row) { "1" } else { "0" }.to_string();
            }
            duckdb_value(array, row)
                .chars()
                .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                .collect()
        }
    }
}

/// SQLite's integer conversion of text: the leading integer, or 0.
fn leading_integer(s: &str) -> i64 {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    s[..end].parse().unwrap_or(0)
}

/// DataFusion's runner: floats and decimals rounded to 12 places without trailing zeros,
/// `NaN`/`Infinity`, strings with trailing newlines trimmed, Arrow's display for the rest.
fn datafusion_value(array: &dyn Array, row: usize) -> String {
    if let Some(s) = text_value(array, row) {
        return s.trim_end_matches('\n').to_string();
    }
    match array.data_type() {
        DataType::Boolean => bool_text(array.as_boolean(), row),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let f = f64_value(array, row).unwrap_or(f64::NAN);
            if f.is_nan() {
                "NaN".to_string()
            } else if f.is_infinite() {
                if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
            } else {
                trim_decimal(format!("{f:.12}"))
            }
        }
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            trim_decimal(arrow_display(array, row))
        }
        _ => arrow_display(array, row),
    }
}

fn trim_decimal(s: String) -> String {
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Column check: only the number of columns must agree (the letters of foreign files are not
/// exact).
#[allow(clippy::ptr_arg)]
pub fn column_count_validator(actual: &Vec<DefaultColumnType>, expected: &Vec<DefaultColumnType>) -> bool {
    actual.len() == expected.len()
}

/// Compares results line by line after normalising whitespace; within a line, token by token:
/// equal text, numbers within a relative tolerance of 1e-6 (integers exactly, NaN equal to
/// NaN), `true`/`false` equal to `1`/`0`. A multi-column result also matches when the expected
/// lines list it one value per line.
pub fn tolerant_validator(normalizer: Normalizer, actual: &[Vec<String>], expected: &[String]) -> bool {
    if let [line] = expected {
        if let Some(matches) = hashed_result_matches(actual, line) {
            return matches;
        }
    }
    let expected: Vec<String> = expected.iter().map(normalizer).collect();
    let rows: Vec<String> = actual
        .iter()
        .map(|row| row.iter().map(normalizer).collect::<Vec<_>>().join(" "))
        .collect();
    if lines_match(&rows, &expected) {
        return true;
    }
    if actual.iter().any(|row| row.len() > 1) {
        let flat: Vec<String> = actual.iter().flatten().map(normalizer).collect();
        return lines_match(&flat, &expected);
    }
    false
}

/// DuckDB's hashed results: `N values hashing to <md5>` is the md5 of every value (in result
/// order, as the sort mode left it) followed by a newline. `None` when `expected` is not such
/// a line.
fn hashed_result_matches(actual: &[Vec<String>], expected: &str) -> Option<bool> {
    use md5::{Digest, Md5};
    let (count, hash) = expected.trim().split_once(" values hashing to ")?;
    let count: usize = count.parse().ok()?;
    if hash.len() != 32 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let values: Vec<&String> = actual.iter().flatten().collect();
    if actual.len() == 1 && actual[0].join(" ").contains(" values hashing to ") {
        return None; // the runner hashed the result itself (hash threshold)
    }
    let mut md5 = Md5::new();
    for v in &values {
        md5.update(v.as_bytes());
        md5.update(b"\n");
    }
    let digest: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(values.len() == count && digest.eq_ignore_ascii_case(hash))
}

fn lines_match(actual: &[String], expected: &[String]) -> bool {
    actual.len() == expected.len() && actual.iter().zip(expected).all(|(a, e)| line_matches(a, e))
}

/// Whether one rendered line matches the expected line (see [`tolerant_validator`]).
pub fn line_matches(actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    let a: Vec<&str> = actual.split_whitespace().collect();
    let e: Vec<&str> = expected.split_whitespace().collect();
    a.len() == e.len() && a.iter().zip(&e).all(|(a, e)| token_matches(a, e))
}

/// Whether one token matches the expected token (see [`tolerant_validator`]).
pub fn token_matches(actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    let as_bool = |s: &str| match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    };
    if let (Some(a), Some(e)) = (as_bool(actual), as_bool(expected)) {
        if actual.parse::<f64>().is_err() || expected.parse::<f64>().is_err() {
            return a == e;
        }
    }
    if let (Ok(a), Ok(e)) = (actual.parse::<i128>(), expected.parse::<i128>()) {
        return a == e;
    }
    match (parse_number(actual), parse_number(expected)) {
        (Some(a), Some(e)) => {
            if a.is_nan() || e.is_nan() {
                return a.is_nan() && e.is_nan();
            }
            if a.is_infinite() || e.is_infinite() {
                return a == e;
            }
            let scale = a.abs().max(e.abs());
            (a - e).abs() <= 1e-6 * scale || (a - e).abs() < 1e-12
        }
        _ => false,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    // Rust accepts `inf`, `Infinity`, `NaN` in any case; reject other words such as `e`.
    let first = s.trim_start_matches(['-', '+']).chars().next()?;
    if first.is_ascii_digit() || first == '.' || matches!(first, 'i' | 'I' | 'n' | 'N') {
        s.parse().ok()
    } else {
        None
    }
}
