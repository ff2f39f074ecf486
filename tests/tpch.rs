//! TPC-H at scale factor 0.1: the 22 standard queries (`queries/tpch/qNN.sql`) must give
//! DuckDB's answers.
//!
//! ```text
//! cargo test --test tpch                 # all 22 queries
//! cargo test --test tpch -- q17          # one query
//! python3 tests/tpch/duckdb_answers.py   # recompute the expected answers with DuckDB
//! ```
//!
//! The data is generated during the test run with the `tpchgen` crates (the Rust port of
//! dbgen, deterministic) and written as Parquet under Cargo's test temp dir, once; later runs
//! reuse it. The expected answers, `testdata/tpch/sf0.1/qNN.tsv`, were computed by DuckDB over
//! those same files (`tests/tpch/duckdb_answers.py`, which runs this test's generator first).
//! Each value is compared as text after DuckDB's VARCHAR rendering, numbers within a relative
//! 1e-9.
//!
//! The queries written in the dataframe DSL, `queries/tpch-dsl/qNN.rask`, must give the same
//! answers (`dsl_qNN`, column names included) and the same optimized plan and stage graph as
//! the SQL (`dsl_qNN_plan` compares the EXPLAIN text below the optimized plan's header, which
//! names the rules that fired).

mod common;

use std::path::Path;
use std::process::ExitCode;

use arrow::record_batch::RecordBatch;
use common::duckdb_value;
use common::tpch_data::{data_dir, generate};
use libtest_mimic::{Arguments, Failed, Trial};
use rask::{Session, StatementResult};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = Arguments::from_args();
    let data = data_dir();
    // Listing the tests (or filtering them all out) must not generate anything.
    let generated = if args.list { Ok(()) } else { generate(&data) };
    let trials = (1..=22)
        .map(|q| {
            let name = format!("q{q:02}");
            let query = root.join("queries").join("tpch").join(format!("{name}.sql"));
            let expected = root
                .join("testdata")
                .join("tpch")
                .join("sf0.1")
                .join(format!("{name}.tsv"));
            let data = data.clone();
            let generated = generated.clone();
            Trial::test(name, move || {
                generated.map_err(|e| Failed::from(format!("generating TPC-H data failed: {e}")))?;
                run_query(&data, &query, &expected)
            })
        })
        .collect::<Vec<_>>();
    let mut trials = trials;
    for q in 1..=22 {
        let name = format!("q{q:02}");
        let dsl = root.join("queries").join("tpch-dsl").join(format!("{name}.rask"));
        if !dsl.exists() {
            continue;
        }
        let sql = root.join("queries").join("tpch").join(format!("{name}.sql"));
        let expected = root
            .join("testdata")
            .join("tpch")
            .join("sf0.1")
            .join(format!("{name}.tsv"));
        let (data_a, generated_a, dsl_a) = (data.clone(), generated.clone(), dsl.clone());
        trials.push(Trial::test(format!("dsl_{name}"), move || {
            generated_a.map_err(|e| Failed::from(format!("generating TPC-H data failed: {e}")))?;
            run_dsl_query(&data_a, &dsl_a, &expected)
        }));
        let (data_b, generated_b) = (data.clone(), generated.clone());
        trials.push(Trial::test(format!("dsl_{name}_plan"), move || {
            generated_b.map_err(|e| Failed::from(format!("generating TPC-H data failed: {e}")))?;
            compare_plans(&data_b, &sql, &dsl)
        }));
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// A session with a view per table over the generated files.
fn tpch_session(data: &Path) -> Result<Session, Failed> {
    Ok(common::tpch_data::tpch_session(data)?)
}

fn read(path: &Path) -> Result<String, Failed> {
    Ok(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn run_query(data: &Path, query: &Path, expected: &Path) -> Result<(), Failed> {
    let sql = read(query)?;
    let expected = read(expected)?;
    let mut session = tpch_session(data)?;
    let results = session.execute(&sql).map_err(|e| format!("query failed: {e}"))?;
    check_result(results, &expected)
}

fn run_dsl_query(data: &Path, query: &Path, expected: &Path) -> Result<(), Failed> {
    let script = read(query)?;
    let expected = read(expected)?;
    let mut session = tpch_session(data)?;
    let results = session.execute_dsl(&script).map_err(|e| format!("query failed: {e}"))?;
    let header = results.iter().rev().find_map(|r| match r {
        StatementResult::Query(q) => Some(
            q.schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join("\t"),
        ),
        _ => None,
    });
    let expected_header = expected.lines().next().unwrap_or_default();
    if header.as_deref() != Some(expected_header) {
        return Err(format!("columns: expected {expected_header:?}, got {header:?}").into());
    }
    check_result(results, &expected)
}

/// The EXPLAIN text of the SQL and the DSL query from the optimized plan on, without the
/// optimized plan's header line (the rules that fired differ: the DSL's joins start out with
/// their conditions, the SQL's are pushed into them).
fn compare_plans(data: &Path, sql: &Path, dsl: &Path) -> Result<(), Failed> {
    let below_header = |text: String| -> String {
        text.lines()
            .skip_while(|l| !l.starts_with("== Optimized plan"))
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sql_plan = tpch_session(data)?.explain(&read(sql)?).map_err(|e| e.to_string())?;
    let dsl_plan = tpch_session(data)?
        .explain_dsl(&read(dsl)?)
        .map_err(|e| e.to_string())?;
    let (sql_text, dsl_text) = (below_header(sql_plan.to_string()), below_header(dsl_plan.to_string()));
    if sql_text.is_empty() || sql_text != dsl_text {
        return Err(format!("plans differ:\n--- SQL\n{sql_text}\n--- DSL\n{dsl_text}").into());
    }
    Ok(())
}

fn check_result(results: Vec<StatementResult>, expected: &str) -> Result<(), Failed> {
    let batches: Vec<RecordBatch> = results
        .into_iter()
        .filter_map(|r| match r {
            StatementResult::Query(result) => Some(result.batches),
            _ => None,
        })
        .next_back()
        .ok_or("the query returned no result")?;
    let actual = render(&batches);
    compare(&actual, expected)
}

/// One line per row, values tab-separated as DuckDB renders them as VARCHAR.
fn render(batches: &[RecordBatch]) -> Vec<String> {
    let mut lines = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch.columns().iter().map(|c| duckdb_value(c.as_ref(), row)).collect();
            lines.push(cells.join("\t"));
        }
    }
    lines
}

/// Compares rows in order; the expected file's first line is the header.
fn compare(actual: &[String], expected: &str) -> Result<(), Failed> {
    let expected: Vec<&str> = expected.lines().skip(1).collect();
    if actual.len() != expected.len() {
        return Err(format!(
            "expected {} rows, got {}:\n{}",
            expected.len(),
            actual.len(),
            actual.join("\n")
        )
        .into());
    }
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        let (a_cells, e_cells): (Vec<&str>, Vec<&str>) = (a.split('\t').collect(), e.split('\t').collect());
        let same = a_cells.len() == e_cells.len() && a_cells.iter().zip(&e_cells).all(|(a, e)| cell_matches(a, e));
        if !same {
            return Err(format!("row {}: expected\n  {e}\ngot\n  {a}", i + 1).into());
        }
    }
    Ok(())
}

fn cell_matches(actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    match (actual.parse::<f64>(), expected.parse::<f64>()) {
        (Ok(a), Ok(e)) => (a - e).abs() <= 1e-9 * e.abs().max(1.0),
        _ => false,
    }
}
