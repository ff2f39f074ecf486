//! Hash aggregation under a tiny memory limit: the aggregate spills (partial aggregates hand
//! their groups out early, final and single ones partition their groups to disk and finish
//! the partitions one at a time; the query's statistics show its spill files) and gives
//! exactly what an unlimited run gives; no spill file is left behind. Data is generated with `range()`: integer, string and NULL keys, a
//! skewed key, and every common aggregate including DISTINCT ones and holistic ones.

mod common;

use std::path::Path;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use rask::{Session, StatementResult};

/// Rows of the test table.
const ROWS: usize = 60_000;
/// The memory limit that forces spilling.
const TINY: usize = 1 << 20;

fn session(memory_limit: usize, dir: &Path) -> Session {
    let config = common::spill::spill_config(memory_limit, dir, 512);
    let mut s = Session::new(config).expect("session");
    // Views, so the data is generated as it is read and holds no memory of its own: `t1` is
    // one partition (aggregated in single mode), `t` four (partial, shuffle, final).
    let columns = "i, i % 20000 AS k, \
        'key-' || (i % 7919) || repeat('x', i % 23) AS s, \
        CASE WHEN i % 13 = 0 THEN NULL ELSE i % 1000 END AS n, \
        CASE WHEN i % 10 < 8 THEN 0 ELSE i END AS skew, \
        CAST((i % 997) / 4 AS DECIMAL(12, 2)) AS d";
    let quarter = ROWS / 4;
    let parts: Vec<String> = (0..4)
        .map(|p| {
            format!(
                "SELECT {columns} FROM range({}, {}) r(i)",
                p * quarter,
                (p + 1) * quarter
            )
        })
        .collect();
    s.execute(&format!("CREATE VIEW t AS {}", parts.join(" UNION ALL ")))
        .expect("view");
    s.execute(&format!("CREATE VIEW t1 AS SELECT {columns} FROM range({ROWS}) r(i)"))
        .expect("view");
    s
}

/// The rows of `sql` as text, one string per row.
fn run(s: &mut Session, sql: &str) -> rask::error::Result<Vec<String>> {
    let results = s.execute(sql)?;
    let Some(StatementResult::Query(q)) = results.into_iter().last() else {
        panic!("no query result for {sql}");
    };
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in &q.batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| f.value(row).to_string()).collect();
            rows.push(cells.join("|"));
        }
    }
    Ok(rows)
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

/// Runs `sql` with a tiny limit and without one; the results must be equal as multisets and
/// the spill directory empty afterwards.
fn check(sql: &str) {
    compare(sql, false);
}

/// Like [`check`] for a query whose rows are ordered: the order must be equal too.
fn check_ordered(sql: &str) {
    compare(sql, true);
}

fn compare(sql: &str, ordered: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut tiny = session(TINY, dir.path());
    let mut spilled = run(&mut tiny, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert!(is_empty(dir.path()), "spill files left behind by {sql}");
    let stats = tiny.last_stats().lock().unwrap().clone();
    let aggregate_files: u64 = stats
        .spill
        .iter()
        .filter(|(operator, _)| operator.starts_with("HashAggregate"))
        .map(|(_, s)| s.files)
        .sum();
    assert!(aggregate_files > 0, "{sql}: the aggregate did not spill: {stats:?}");
    let unlimited_dir = tempfile::tempdir().unwrap();
    let mut unlimited = session(usize::MAX / 2, unlimited_dir.path());
    let mut expected = run(&mut unlimited, sql).unwrap();
    if !ordered {
        spilled.sort();
        expected.sort();
    }
    assert!(!expected.is_empty(), "{sql}");
    assert_eq!(spilled.len(), expected.len(), "{sql}");
    if let Some((a, b)) = spilled.iter().zip(&expected).find(|(a, b)| a != b) {
        panic!("{sql}: results differ, first:\n{a}\nexpected:\n{b}");
    }
}

#[test]
fn many_integer_groups_with_common_aggregates() {
    for table in ["t", "t1"] {
        check(&format!(
            "SELECT k, count(*), count(n), sum(i), sum(n), min(i), max(n), avg(i), avg(d), sum(d), \
             min(s), max(s), bool_or(n > 500), stddev_samp(n) IS NULL FROM {table} GROUP BY k"
        ));
    }
}

#[test]
fn string_keys() {
    check("SELECT s, count(*), sum(i), min(n), max(s || 'z'), avg(n) FROM t GROUP BY s");
}

#[test]
fn multi_column_keys_with_nulls() {
    check("SELECT n, s, k % 7 AS m, count(*), sum(i), max(d) FROM t GROUP BY n, s, m");
}

#[test]
fn distinct_aggregates() {
    check(
        "SELECT k % 3000 AS g, count(DISTINCT s), count(DISTINCT n), sum(DISTINCT n), count(*) \
         FROM t GROUP BY g",
    );
}

#[test]
fn holistic_aggregates() {
    check(
        "SELECT k % 2500 AS g, string_agg(s, ',' ORDER BY i), list(i ORDER BY i DESC), \
         median(i), quantile_disc(n, 0.25), min(s) FROM t GROUP BY g",
    );
}

#[test]
fn order_sensitive_aggregates_keep_input_order() {
    // One input partition: the order rows reach the aggregate is fixed, and must survive
    // spilling (states are merged in the order they were written).
    check(
        "SELECT k % 2000 AS g, string_agg(s, '/'), list(n), first(s), last(i), \
         list(DISTINCT n % 7) FROM t1 GROUP BY g",
    );
}

#[test]
fn select_distinct() {
    check("SELECT DISTINCT s, n FROM t");
    check("SELECT DISTINCT k, n IS NULL FROM t");
    check("SELECT DISTINCT s, d FROM t1");
}

#[test]
fn skewed_key() {
    check("SELECT skew, count(*), sum(i), count(DISTINCT n), max(s), min(n) FROM t GROUP BY skew");
}

#[test]
fn ordered_output_and_having() {
    check_ordered("SELECT k, sum(i) AS total FROM t GROUP BY k HAVING count(*) > 2 ORDER BY total DESC, k LIMIT 50");
}

#[test]
fn a_state_without_keys_that_cannot_fit_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(TINY, dir.path());
    let err = run(&mut s, "SELECT count(DISTINCT s || i) FROM t")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HashAggregate") && err.contains("without GROUP BY keys"),
        "{err}"
    );
    assert!(is_empty(dir.path()));
}
