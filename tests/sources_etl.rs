//! Reading for batch ETL through the session: `ignore_errors` and the warning it leaves,
//! the error without it, hive partition pruning (files ruled out are never opened, and
//! EXPLAIN counts them), and schema mismatches between the files of a glob. The answers
//! themselves are checked against DuckDB in tests/slt/read_*.slt; stdin formats are
//! checked through the binary in tests/cli.rs.

mod common;

use common::{duckdb_value, test_config};
use rask::{Session, StatementResult};

fn session() -> Session {
    Session::new(test_config(false)).unwrap()
}

/// The rows of `sql`, cells joined with `|`.
fn rows(s: &mut Session, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for r in s.execute(sql).unwrap_or_else(|e| panic!("{sql}\n{e}")) {
        let batches = match r {
            StatementResult::Query(q) => q.batches,
            StatementResult::Stream(st) => st.collect().unwrap().batches,
            StatementResult::Done { .. } => continue,
        };
        for b in &batches {
            for row in 0..b.num_rows() {
                let cells: Vec<String> = b.columns().iter().map(|c| duckdb_value(c.as_ref(), row)).collect();
                out.push(cells.join("|"));
            }
        }
    }
    out
}

fn error(s: &mut Session, sql: &str) -> String {
    match s.execute(sql) {
        Ok(results) => {
            // A streamed result fails while it is read.
            for r in results {
                if let StatementResult::Stream(st) = r {
                    if let Err(e) = st.collect() {
                        return e.to_string();
                    }
                }
            }
            panic!("{sql}: no error")
        }
        Err(e) => e.to_string(),
    }
}

const BAD_ROWS: &str =
    "read_csv('testdata/etl/bad_rows.csv', ignore_errors = true, types = {'id': 'BIGINT', 'qty': 'BIGINT'})";

#[test]
fn ignore_errors_skips_rows_and_warns_once() {
    let mut s = session();
    assert!(s.take_warnings().is_empty());
    let got = rows(&mut s, &format!("SELECT * FROM {BAD_ROWS} ORDER BY id"));
    assert_eq!(got, ["1|ann|10", "2|bob|11", "7|gus|15"]);
    let warnings = s.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert!(w.contains("skipped 4 rows"), "{w}");
    // The first bad row is line 4 (`3,cid`: a field missing).
    assert!(w.contains("testdata/etl/bad_rows.csv:4 column 3"), "{w}");
    assert!(w.contains("expected 3 fields but found 2"), "{w}");
    assert!(s.take_warnings().is_empty(), "warnings are taken once");

    // A value that does not convert: `five` in id, line 6.
    rows(&mut s, &format!("SELECT id FROM {BAD_ROWS} WHERE id > 100"));
    let w = s.take_warnings().join("\n");
    assert!(w.contains("skipped 3 rows") && w.contains(":4 column 3"), "{w}");
    let got = rows(
        &mut s,
        &format!("SELECT name FROM {BAD_ROWS} WHERE qty > 10 ORDER BY name"),
    );
    assert_eq!(got, ["bob", "eve", "gus"]);
    let w = s.take_warnings().join("\n");
    assert!(w.contains("x14") || w.contains("column 3"), "{w}");

    // Nothing skipped: no warning.
    rows(
        &mut s,
        "SELECT * FROM read_csv('testdata/etl/sniff/pipe.csv', ignore_errors = true)",
    );
    assert!(s.take_warnings().is_empty());
}

#[test]
fn ignore_errors_in_every_partition_of_a_split_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut text = String::from("n,label\n");
    for i in 0..20_000 {
        if i % 1000 == 999 {
            text.push_str(&format!("bad{i},x\n"));
        } else {
            text.push_str(&format!("{i},row{i}\n"));
        }
    }
    std::fs::write(&path, text).unwrap();
    let mut s = session();
    let sql = format!(
        "SELECT count(*), sum(n) FROM read_csv('{}', ignore_errors = true, types = ['BIGINT', 'VARCHAR'])",
        path.display()
    );
    let expected: i64 = (0..20_000).filter(|i| i % 1000 != 999).sum();
    assert_eq!(rows(&mut s, &sql), [format!("19980|{expected}")]);
    let w = s.take_warnings().join("\n");
    assert!(w.contains("skipped 20 rows"), "{w}");
    // The first bad row is data row 1000, on line 1001 (after the header).
    assert!(w.contains(":1001 column 1") && w.contains("bad999"), "{w}");
}

#[test]
fn without_ignore_errors_a_bad_row_names_file_line_and_column() {
    let mut s = session();
    let e = error(
        &mut s,
        "SELECT * FROM read_csv('testdata/etl/bad_rows.csv', types = {'id': 'BIGINT', 'qty': 'BIGINT'})",
    );
    assert!(e.contains("testdata/etl/bad_rows.csv") && e.contains('4'), "{e}");
    let e = error(
        &mut s,
        "SELECT * FROM read_csv('testdata/etl/bad_rows.csv', types = {'nope': 'BIGINT'})",
    );
    assert!(e.contains("nope"), "{e}");
}

fn explain(s: &mut Session, sql: &str) -> String {
    rows(s, &format!("EXPLAIN {sql}")).join("\n")
}

#[test]
fn hive_filters_prune_files_before_they_are_opened() {
    let dir = tempfile::tempdir().unwrap();
    for (k, body) in [("1", "x\n1\n2\n"), ("2", "x\n3\nnot a number\n"), ("3", "x\n5\n")] {
        let d = dir.path().join(format!("k={k}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("part.csv"), body).unwrap();
    }
    let glob = format!("{}/*/*.csv", dir.path().display());
    let mut s = session();
    let src = format!("read_csv('{glob}', hive_partitioning = true, types = ['BIGINT'])");
    // k = 2's file is bad: reading it fails, so these pass only because it is never opened.
    assert_eq!(
        rows(&mut s, &format!("SELECT sum(x), min(k) FROM {src} WHERE k <> 2")),
        ["8|1"]
    );
    assert_eq!(rows(&mut s, &format!("SELECT x FROM {src} WHERE k IN (3, 7)")), ["5"]);
    assert_eq!(
        rows(&mut s, &format!("SELECT count(*) FROM {src} WHERE k * 10 > 25")),
        ["1"]
    );
    let e = error(&mut s, &format!("SELECT sum(x) FROM {src}"));
    assert!(e.contains("k=2") && e.contains("not a number"), "{e}");
    // Detected without the option too.
    assert_eq!(
        rows(
            &mut s,
            &format!("SELECT k, x FROM read_csv('{glob}', types = ['BIGINT']) WHERE k = 1 ORDER BY x")
        ),
        ["1|1", "1|2"]
    );

    let plan = explain(&mut s, &format!("SELECT x FROM {src} WHERE k >= 2"));
    assert!(plan.contains("files=2/3"), "{plan}");
    let plan = explain(&mut s, &format!("SELECT x FROM {src} WHERE x > 1"));
    assert!(plan.contains("files=3,"), "{plan}");
}

#[test]
fn hive_parquet_plan_counts_files_read() {
    let mut s = session();
    let plan = explain(
        &mut s,
        "SELECT * FROM read_parquet('testdata/etl/hive/**/*.parquet', hive_partitioning = true) \
         WHERE year = 2024 AND region = 'east'",
    );
    assert!(plan.contains("files=1/6"), "{plan}");
}

#[test]
fn files_with_other_columns_fail_naming_both_files_and_the_column() {
    let mut s = session();
    let e = error(&mut s, "SELECT * FROM 'testdata/etl/union/*.csv'");
    assert!(
        e.contains("\"score\"") && e.contains("union/a.csv") && e.contains("union/b.csv"),
        "{e}"
    );
    assert!(e.contains("union_by_name"), "{e}");
    let e = error(&mut s, "SELECT * FROM 'testdata/etl/union/*.parquet'");
    assert!(
        e.contains("\"tag\"") && e.contains("union/p1.parquet") && e.contains("union/p2.parquet"),
        "{e}"
    );
}

#[test]
fn same_columns_in_another_order_are_matched_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("1.csv"), "a,b\n1,x\n").unwrap();
    std::fs::write(dir.path().join("2.csv"), "b,a\ny,2\n").unwrap();
    let mut s = session();
    let sql = format!("SELECT a, b FROM '{}/*.csv' ORDER BY a", dir.path().display());
    assert_eq!(rows(&mut s, &sql), ["1|x", "2|y"]);
}

#[test]
fn an_empty_file_in_a_glob_adds_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("1.csv"), "a,b\n1,x\n").unwrap();
    std::fs::write(dir.path().join("2.csv"), "").unwrap();
    let mut s = session();
    let sql = format!("SELECT a, b FROM '{}/*.csv'", dir.path().display());
    assert_eq!(rows(&mut s, &sql), ["1|x"]);
}

#[test]
fn a_bad_boolean_after_the_sample_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.csv");
    std::fs::write(&path, "flag,n\nt,1\nno,2\nYES,3\nmaybe,4\nf,5\n").unwrap();
    let mut s = session();
    let src = format!("read_csv('{}', sample_size = 2)", path.display());
    let e = error(&mut s, &format!("SELECT * FROM {src}"));
    assert!(
        e.contains("flags.csv") && e.contains(":5") && e.contains("maybe") && e.contains("BOOLEAN"),
        "{e}"
    );
    let ok = format!("read_csv('{}', sample_size = 2, ignore_errors = true)", path.display());
    assert_eq!(rows(&mut s, &format!("SELECT n FROM {ok} WHERE flag")), ["1", "3"]);
    assert_eq!(rows(&mut s, &format!("SELECT count(flag) FROM {ok}")), ["4"]);
    let w = s.take_warnings().join("\n");
    assert!(w.contains("skipped 1 row") && w.contains(":5 column 1"), "{w}");
}

#[test]
fn copy_partition_by_reads_back_as_hive_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut s = session();
    s.execute(&format!(
        "COPY (SELECT i, i % 3 AS k, DATE '2024-01-01' + (i % 2)::INT AS d FROM range(12) t(i)) \
         TO '{}' (FORMAT parquet, PARTITION_BY (k, d))",
        out.display()
    ))
    .unwrap();
    let src = format!("'{}/**/*.parquet'", out.display());
    assert_eq!(
        rows(
            &mut s,
            &format!(
                "SELECT k, d, count(*), sum(i) FROM {src} WHERE d = '2024-01-02' AND k < 2 GROUP BY ALL ORDER BY ALL"
            )
        ),
        ["0|2024-01-02|2|12", "1|2024-01-02|2|8"]
    );
    let plan = explain(&mut s, &format!("SELECT i FROM {src} WHERE d = '2024-01-02' AND k < 2"));
    assert!(plan.contains("files=2/6"), "{plan}");
}

#[test]
fn copy_from_a_source_that_skipped_rows_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(&format!(
        "COPY (SELECT * FROM {BAD_ROWS}) TO '{}/good.csv'",
        dir.path().display()
    ))
    .unwrap();
    let w = s.take_warnings().join("\n");
    assert!(w.contains("skipped 4 rows"), "{w}");
}
