//! Out-of-core sorts and windows: with a memory limit far below the data, ORDER BY spills
//! sorted runs and merges them (in several passes), windows hold one window partition at a
//! time and compute running functions over a spilled partition in chunks, and the results
//! equal an unlimited run; the temp directory is empty afterwards.

mod common;

use std::path::Path;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use rask::session::{QueryResult, StatementResult};
use rask::Session;

/// 30 000 rows: `i` unique, `s` strings of 4..45 bytes (every 7th NULL), `k` in 0..1000
/// (every 11th NULL, skewed by the multiplication).
const TABLE: &str = "CREATE VIEW t AS SELECT range AS i, \
     CASE WHEN range % 7 = 0 THEN NULL ELSE repeat('x', CAST((range * 13) % 40 AS INTEGER)) || CAST((range * 7919) % 10007 AS VARCHAR) END AS s, \
     CASE WHEN range % 11 = 0 THEN NULL ELSE (range * 104729) % 1000 END AS k \
     FROM range(0, 30000)";

fn session(memory_limit: usize, dir: &Path) -> Session {
    let config = common::spill::spill_config(memory_limit, dir, 64);
    let mut s = Session::new(config).expect("session");
    s.execute(TABLE).expect("view");
    s
}

fn query(s: &mut Session, sql: &str) -> rask::error::Result<QueryResult> {
    match s.execute(sql)?.pop() {
        Some(StatementResult::Query(r)) => Ok(r),
        other => panic!("not a query result: {other:?}"),
    }
}

/// Every row as text, in order.
fn rows(r: &QueryResult) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in &r.batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            let row: Vec<String> = formatters.iter().map(|f| f.value(i).to_string()).collect();
            out.push(row.join("|"));
        }
    }
    out
}

/// Spill totals per operator of the last query.
fn spill_stats(s: &Session) -> std::collections::BTreeMap<String, rask::exec::spill::SpillStats> {
    s.last_stats().lock().unwrap().spill.clone()
}

/// Spill files written by operators whose label starts with `operator`.
fn spill_files(s: &Session, operator: &str) -> u64 {
    spill_stats(s)
        .iter()
        .filter(|(label, _)| label.starts_with(operator))
        .map(|(_, st)| st.files)
        .sum()
}

/// Equal row lists; on a difference, shows the first differing row only.
fn assert_same(actual: &[String], expected: &[String]) {
    assert_eq!(actual.len(), expected.len());
    if let Some(i) = (0..actual.len()).find(|&i| actual[i] != expected[i]) {
        panic!("row {i} differs: {} vs expected {}", actual[i], expected[i]);
    }
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "temp dir not empty: {left:?}");
}

/// Runs `sql` unlimited and with `limit` bytes; both must give the same rows, and the limited
/// run must have spilled from `operator`.
fn same_with_limit(sql: &str, limit: usize, operator: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut big = session(1 << 30, dir.path());
    let expected = rows(&query(&mut big, sql).unwrap());
    assert_eq!(
        spill_files(&big, ""),
        0,
        "the unlimited run spilled: {:?}",
        spill_stats(&big)
    );
    let mut small = session(limit, dir.path());
    let actual = rows(&query(&mut small, sql).unwrap());
    assert!(
        spill_files(&small, operator) > 0,
        "{operator} did not spill: {:?}",
        spill_stats(&small)
    );
    assert_same(&actual, &expected);
    assert_empty(dir.path());
    expected
}

#[test]
fn sorts_strings_with_nulls_ascending_through_many_runs() {
    let out = same_with_limit("SELECT s, i, k FROM t ORDER BY s, i", 256 << 10, "Sort");
    assert_eq!(out.len(), 30_000);
    // NULLs last by default.
    assert!(out.last().unwrap().starts_with("NULL|"));
}

#[test]
fn sorts_ints_descending_nulls_first_with_computed_keys() {
    same_with_limit(
        "SELECT k, i, s FROM t ORDER BY k DESC NULLS FIRST, length(s) ASC NULLS FIRST, i DESC",
        256 << 10,
        "Sort",
    );
}

#[test]
fn sorts_on_a_non_unique_key_with_the_same_key_order_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT k, i FROM t ORDER BY k";
    let expected = rows(&query(&mut session(1 << 30, dir.path()), sql).unwrap());
    let mut small = session(256 << 10, dir.path());
    let actual = rows(&query(&mut small, sql).unwrap());
    assert!(spill_files(&small, "Sort") > 0);
    let key = |r: &String| r.split('|').next().unwrap().to_string();
    assert_eq!(
        actual.iter().map(key).collect::<Vec<_>>(),
        expected.iter().map(key).collect::<Vec<_>>()
    );
    let (mut a, mut e) = (actual, expected);
    a.sort();
    e.sort();
    assert_eq!(a, e);
    assert_empty(dir.path());
}

#[test]
fn order_by_with_limit_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    for sql in [
        "SELECT s, i FROM t ORDER BY s DESC NULLS FIRST, i LIMIT 100",
        "SELECT s, i FROM t ORDER BY s, i LIMIT 50 OFFSET 20000",
    ] {
        let expected = rows(&query(&mut session(1 << 30, dir.path()), sql).unwrap());
        let actual = rows(&query(&mut session(256 << 10, dir.path()), sql).unwrap());
        assert_same(&actual, &expected);
    }
    assert_empty(dir.path());
}

#[test]
fn windows_over_many_partitions_with_a_tiny_limit() {
    let out = same_with_limit(
        "SELECT i, k, s, \
           row_number() OVER (PARTITION BY k ORDER BY i) AS rn, \
           sum(i) OVER (PARTITION BY k ORDER BY i) AS running, \
           rank() OVER (PARTITION BY k % 100 ORDER BY s) AS r, \
           lag(s) OVER (PARTITION BY k ORDER BY i) AS prev, \
           count(*) OVER (PARTITION BY k) AS n, \
           max(length(s)) OVER (PARTITION BY k ORDER BY i ROWS BETWEEN 2 PRECEDING AND 3 FOLLOWING) AS m \
         FROM t ORDER BY i",
        // A pool of 1.4 MiB (70% of the limit): the `k % 100` window partitions need the whole
        // partition (count over it, lag) and must fit.
        2 << 20,
        "Sort",
    );
    assert_eq!(out.len(), 30_000);
}

#[test]
fn a_window_partition_larger_than_memory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(256 << 10, dir.path());
    let err = query(&mut s, "SELECT i, lead(i) OVER (ORDER BY s, i) FROM t")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Window") && err.contains("window partition"), "{err}");
    drop(s);
    assert_empty(dir.path());
}

#[test]
fn windows_hold_one_partition_at_a_time() {
    // Each task partition (about 7 500 rows, 300 KiB) is larger than the whole pool; its
    // window partitions (60 rows) are small.
    same_with_limit(
        "SELECT i, s, row_number() OVER (PARTITION BY i % 500 ORDER BY s DESC, i) AS rn, \
           sum(k) OVER (PARTITION BY i % 500 ORDER BY i) AS running, \
           first_value(s) OVER (PARTITION BY i % 500 ORDER BY i ROWS BETWEEN 1 FOLLOWING AND 5 FOLLOWING) AS f \
         FROM t ORDER BY i",
        256 << 10,
        "Sort",
    );
}

#[test]
fn running_window_functions_stream_a_partition_larger_than_memory() {
    for sql in [
        // RANGE frames and ranks: chunks end at peer groups (g has 1000 values and a NULL group).
        "SELECT i, g, row_number() OVER (ORDER BY g, i) AS rn, rank() OVER (ORDER BY g) AS r, \
           dense_rank() OVER (ORDER BY g) AS dr, count(s) OVER (ORDER BY g) AS c, \
           sum(k) OVER (ORDER BY g) AS sk, min(s) OVER (ORDER BY g) AS mi, max(s) OVER (ORDER BY g) AS ma \
         FROM (SELECT *, CASE WHEN i % 97 = 0 THEN NULL ELSE i % 1000 END AS g FROM t) ORDER BY i",
        // ROWS frames, descending, several large partitions (NULLs first).
        "SELECT i, k, s, sum(k) OVER w AS sk, max(length(s)) OVER w AS ml, min(k) OVER w AS mk, \
           row_number() OVER w AS rn \
         FROM t WINDOW w AS (PARTITION BY i % 3 ORDER BY i DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) \
         ORDER BY i",
    ] {
        same_with_limit(sql, 1 << 20, "Window");
    }
}
