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

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arrow::record_batch::RecordBatch;
use common::{duckdb_value, test_config};
use libtest_mimic::{Arguments, Failed, Trial};
use parquet::arrow::ArrowWriter;
use rask::{Session, StatementResult};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator, PartSuppGenerator,
    RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow, SupplierArrow,
};

const SCALE_FACTOR: f64 = 0.1;
const TABLES: [&str; 8] = [
    "lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region",
];

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
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Where the generated Parquet files live (`RASK_TPCH_DATA` overrides it, for the DuckDB script).
fn data_dir() -> PathBuf {
    match std::env::var_os("RASK_TPCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("tpch-sf0.1"),
    }
}

/// Writes the eight tables as `{dir}/{table}.parquet` unless a previous run completed them.
fn generate(dir: &Path) -> Result<(), String> {
    let marker = dir.join("COMPLETE");
    if marker.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let sf = SCALE_FACTOR;
    write_table(dir, "lineitem", LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)))?;
    write_table(dir, "orders", OrderArrow::new(OrderGenerator::new(sf, 1, 1)))?;
    write_table(dir, "customer", CustomerArrow::new(CustomerGenerator::new(sf, 1, 1)))?;
    write_table(dir, "part", PartArrow::new(PartGenerator::new(sf, 1, 1)))?;
    write_table(dir, "partsupp", PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1)))?;
    write_table(dir, "supplier", SupplierArrow::new(SupplierGenerator::new(sf, 1, 1)))?;
    write_table(dir, "nation", NationArrow::new(NationGenerator::new(sf, 1, 1)))?;
    write_table(dir, "region", RegionArrow::new(RegionGenerator::new(sf, 1, 1)))?;
    std::fs::write(&marker, b"").map_err(|e| format!("{}: {e}", marker.display()))
}

fn write_table(dir: &Path, name: &str, batches: impl arrow::record_batch::RecordBatchReader) -> Result<(), String> {
    let path = dir.join(format!("{name}.parquet"));
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::create(&path).map_err(|e| fail(&e))?;
    let mut writer = ArrowWriter::try_new(file, batches.schema(), None).map_err(|e| fail(&e))?;
    for batch in batches {
        writer.write(&batch.map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    }
    writer.close().map_err(|e| fail(&e))?;
    Ok(())
}

fn run_query(data: &Path, query: &Path, expected: &Path) -> Result<(), Failed> {
    let sql = std::fs::read_to_string(query).map_err(|e| format!("{}: {e}", query.display()))?;
    let expected = std::fs::read_to_string(expected).map_err(|e| format!("{}: {e}", expected.display()))?;
    let mut session = Session::new(test_config(false)).map_err(|e| e.to_string())?;
    for table in TABLES {
        let path = data.join(format!("{table}.parquet"));
        session
            .execute(&format!("CREATE VIEW {table} AS SELECT * FROM '{}'", path.display()))
            .map_err(|e| e.to_string())?;
    }
    let results = session.execute(&sql).map_err(|e| format!("query failed: {e}"))?;
    let batches: Vec<RecordBatch> = results
        .into_iter()
        .filter_map(|r| match r {
            StatementResult::Query(result) => Some(result.batches),
            _ => None,
        })
        .next_back()
        .ok_or("the query returned no result")?;
    let actual = render(&batches);
    compare(&actual, &expected)
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
