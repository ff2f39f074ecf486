//! rask's own sqllogictest suite: one test per file in `tests/slt/*.slt`, named after the file.
//!
//! ```text
//! cargo test --test slt                          # run every file
//! cargo test --test slt -- joins                 # run the files whose name contains `joins`
//! RASK_SLT_COMPLETE=1 cargo test --test slt      # rewrite the expected output of every file
//! ```
//!
//! Each file runs in a fresh session with 2 threads, 3 shuffle partitions and small file
//! partitions (see `common::test_config`), from the crate root so `FROM 'testdata/…'` works.
//! Values are rendered the way DuckDB casts them to VARCHAR and compared with a tolerant
//! validator (numbers within 1e-6, `true`/`1`). Every record of a file runs even after a
//! failure; the test fails with all mismatches listed.
//!
//! With `RASK_SLT_COMPLETE=1`, the sqllogictest crate's record completion rewrites each file in
//! place with rask's output (results that already match, tolerantly, are kept as written).
//! Review the diff: a failing statement becomes `statement error`. The expected results were
//! first computed with DuckDB by `tests/slt/duckdb_expected.py`, which can re-check the files
//! against DuckDB at any time.
//!
//! A `self_check` test checks the value rendering and the validator without the engine.

mod common;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};

use common::{column_count_validator, test_config, tolerant_validator, Dialect, RaskDb};
use libtest_mimic::{Arguments, Failed, Trial};
use sqllogictest::{default_normalizer, DefaultColumnType, Record, RecordOutput, Runner};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Err(e) = std::env::set_current_dir(root) {
        eprintln!("cannot change directory to {}: {e}", root.display());
        return ExitCode::FAILURE;
    }
    let args = Arguments::from_args();
    let dir = root.join("tests").join("slt");
    let files = match slt_files(&dir) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            eprintln!("no .slt files found in {}", dir.display());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cannot list {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let complete = std::env::var("RASK_SLT_COMPLETE").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            Trial::test(name, move || {
                if complete {
                    complete_file(&path)
                } else {
                    run_file(&path)
                }
            })
        })
        .collect();
    trials.push(Trial::test("self_check", self_check));
    libtest_mimic::run(&args, trials).exit_code()
}

/// The `.slt` files in `dir`, sorted.
fn slt_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "slt") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn new_runner() -> Runner<RaskDb, impl FnMut() -> std::future::Ready<Result<RaskDb, common::DbError>>> {
    let mut runner = Runner::new(|| std::future::ready(RaskDb::new(test_config(false), Dialect::DuckDb)));
    runner.add_label("rask");
    runner.with_validator(tolerant_validator);
    runner.with_column_validator(column_count_validator);
    runner
}

/// Runs every record of `path`; fails with every mismatch, or when no record ran.
fn run_file(path: &Path) -> Result<(), Failed> {
    let records = sqllogictest::parse_file::<DefaultColumnType>(path)
        .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    let mut runner = new_runner();
    let mut ran = 0usize;
    let mut failures = Vec::new();
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        let is_test = matches!(record, Record::Statement { .. } | Record::Query { .. });
        match runner.run(record) {
            Ok(RecordOutput::Nothing) => {}
            Ok(_) => ran += usize::from(is_test),
            Err(e) => {
                ran += 1;
                failures.push(e.display(false).to_string());
            }
        }
    }
    runner.shutdown();
    if ran == 0 {
        return Err(format!("{}: no statement or query ran", path.display()).into());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {ran} records failed in {}:\n\n{}",
            failures.len(),
            path.display(),
            failures.join("\n")
        )
        .into())
    }
}

/// Rewrites the expected output of `path` in place with rask's results.
fn complete_file(path: &Path) -> Result<(), Failed> {
    let mut runner = new_runner();
    let result = block_on(runner.update_test_file(
        path,
        "\t",
        tolerant_validator,
        default_normalizer,
        column_count_validator,
    ));
    runner.shutdown();
    result.map_err(|e| format!("cannot complete {}: {e}", path.display()).into())
}

/// Drives a future whose every await is ready (the rask DB is synchronous).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Checks rendering and validation on hand-built values, without the engine.
fn self_check() -> Result<(), Failed> {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int64Array,
        IntervalMonthDayNanoArray, ListArray, StringArray, StructArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{DataType, Field, Int32Type, IntervalMonthDayNano};
    use common::{format_float_duckdb, render_cell, token_matches};

    let mut errors = Vec::new();
    let mut check = |what: &str, actual: String, expected: &str| {
        if actual != expected {
            errors.push(format!("{what}: got {actual:?}, expected {expected:?}"));
        }
    };

    for (v, expected) in [
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1e20, "1e+20"),
        (1e-7, "1e-07"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"),
        (1.234e-5, "1.234e-05"),
        (100.0 / 3.0, "33.333333333333336"),
        (-0.0, "-0.0"),
        (-2.5, "-2.5"),
        (123456.0, "123456.0"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
    ] {
        check(&format!("double {v:?}"), format_float_duckdb(v, false), expected);
    }
    check("float 0.1", format_float_duckdb(0.1f32 as f64, true), "0.1");
    check("float 3.4e38", format_float_duckdb(3.4e38f32 as f64, true), "3.4e+38");

    let duck = |a: ArrayRef, row: usize| render_cell(a.as_ref(), row, Dialect::DuckDb, None);
    let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("a b"), Some(""), None]));
    check("string", duck(strings.clone(), 0), "a b");
    check("empty string", duck(strings.clone(), 1), "(empty)");
    check("null string", duck(strings, 2), "NULL");
    let bools: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
    check("true", duck(bools.clone(), 0), "true");
    check("false", duck(bools.clone(), 1), "false");
    let sqlite_int = render_cell(bools.as_ref(), 0, Dialect::Sqlite, Some(&DefaultColumnType::Integer));
    check("sqlite boolean", sqlite_int, "1");
    let dec: ArrayRef = Arc::new(
        Decimal128Array::from(vec![150, -5])
            .with_precision_and_scale(10, 2)
            .map_err(|e| e.to_string())?,
    );
    check("decimal", duck(dec.clone(), 0), "1.50");
    check("negative decimal", duck(dec.clone(), 1), "-0.05");
    check(
        "datafusion decimal",
        render_cell(dec.as_ref(), 0, Dialect::DataFusion, None),
        "1.5",
    );
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![2.0, 1.0 / 3.0]));
    check("double column", duck(floats.clone(), 0), "2.0");
    check(
        "datafusion double",
        render_cell(floats.as_ref(), 1, Dialect::DataFusion, None),
        "0.333333333333",
    );
    check(
        "sqlite double as I",
        render_cell(floats.as_ref(), 0, Dialect::Sqlite, Some(&DefaultColumnType::Integer)),
        "2",
    );
    check(
        "sqlite double as R",
        render_cell(
            floats.as_ref(),
            1,
            Dialect::Sqlite,
            Some(&DefaultColumnType::FloatingPoint),
        ),
        "0.333",
    );
    let f32s: ArrayRef = Arc::new(Float32Array::from(vec![0.1f32]));
    check("float column", duck(f32s, 0), "0.1");
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![-42]));
    check("bigint", duck(ints, 0), "-42");
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![18262, -1]));
    check("date", duck(dates.clone(), 0), "2020-01-01");
    check("date before 1970", duck(dates, 1), "1969-12-31");
    let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
        1_577_880_000_000_000,
        1_577_880_000_500_000,
        -1,
    ]));
    check("timestamp", duck(ts.clone(), 0), "2020-01-01 12:00:00");
    check("timestamp fraction", duck(ts.clone(), 1), "2020-01-01 12:00:00.5");
    check("timestamp before 1970", duck(ts, 2), "1969-12-31 23:59:59.999999");
    let ts_tz: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![0]).with_timezone("UTC"));
    check("timestamptz", duck(ts_tz, 0), "1970-01-01 00:00:00+00");
    let iv: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(vec![
        IntervalMonthDayNano::new(12, 2, 2_000_000_000),
        IntervalMonthDayNano::new(0, 0, 0),
        IntervalMonthDayNano::new(14, 0, 0),
        IntervalMonthDayNano::new(0, -1, 0),
        IntervalMonthDayNano::new(12, 0, -1_000_000_000),
        IntervalMonthDayNano::new(0, 0, 90_000_000_000_000 + 500_000_000),
    ]));
    check("interval", duck(iv.clone(), 0), "1 year 2 days 00:00:02");
    check("zero interval", duck(iv.clone(), 1), "00:00:00");
    check("months interval", duck(iv.clone(), 2), "1 year 2 months");
    check("negative day", duck(iv.clone(), 3), "-1 day");
    check("negative time", duck(iv.clone(), 4), "1 year -00:00:01");
    check("long time", duck(iv, 5), "25:00:00.5");
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![
        Some(1),
        None,
        Some(2),
    ])]));
    check("list", duck(list, 0), "[1, NULL, 2]");
    let st: ArrayRef = Arc::new(StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int64, true)),
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        ),
    ]));
    check("struct", duck(st, 0), "{'a': 1, 'b': x}");

    let tokens = [
        ("1", "1.0", true),
        ("0.30000000000000004", "0.3", true),
        ("true", "1", true),
        ("false", "0", true),
        ("true", "0", false),
        ("inf", "Inf", true),
        ("nan", "NAN", true),
        ("1", "2", false),
        ("9223372036854775807", "9223372036854775806", false),
        ("1.0001", "1.0", false),
        ("abc", "ABC", false),
    ];
    for (a, e, want) in tokens {
        if token_matches(a, e) != want {
            errors.push(format!("token_matches({a:?}, {e:?}) should be {want}"));
        }
    }
    let rows = vec![
        vec!["1".to_string(), "a".to_string()],
        vec!["2".to_string(), "b".to_string()],
    ];
    let rowwise = ["1\ta".to_string(), "2   b".to_string()];
    let valuewise = ["1", "a", "2", "b"].map(String::from);
    let wrong = ["1 a".to_string(), "2 c".to_string()];
    if !tolerant_validator(default_normalizer, &rows, &rowwise) {
        errors.push("validator rejects a row-wise match".into());
    }
    if !tolerant_validator(default_normalizer, &rows, &valuewise) {
        errors.push("validator rejects a value-per-line match".into());
    }
    if tolerant_validator(default_normalizer, &rows, &wrong) {
        errors.push("validator accepts a mismatch".into());
    }
    if tolerant_validator(default_normalizer, &rows, &rowwise[..1]) {
        errors.push("validator accepts a missing row".into());
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n").into())
    }
}
