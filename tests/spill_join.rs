//! Hash join spilling (grace hash join, block nested loop): every join type under a memory
//! limit far below its build side gives the same rows as an unlimited run, and the temp
//! directory is empty afterwards. Data comes from `range()`: NULL keys, strings of varying
//! length, a skewed key, string keys.

mod common;

use std::path::Path;

use arrow::array::Array;
use arrow::util::display::array_value_to_string;
use rask::{Session, StatementResult};

/// The build sides are a few hundred KiB; this forces the joins to spill.
const LIMIT: usize = 300_000;

/// For semi and anti joins whose build side is one key column: its table is compact enough
/// to fit under [`LIMIT`], so they get less.
const KEY_ONLY_LIMIT: usize = 150_000;

const VIEWS: &str = "
CREATE VIEW l AS SELECT CASE WHEN i % 17 = 0 THEN NULL ELSE i % 3000 END AS k,
    repeat('ab', (i % 50)::INTEGER) AS s, i AS v FROM range(12000) t(i);
CREATE VIEW r AS SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7) % 4000 END AS k,
    'r' || (i % 2500) AS s, i AS w FROM range(10000) t(i);
CREATE VIEW small AS SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3 END AS k, i AS w
    FROM range(400) t(i);
CREATE VIEW skew AS SELECT CASE WHEN i % 5 = 0 THEN i ELSE 7 END AS k,
    repeat('s', (100 + i % 100)::INTEGER) AS s, i AS v FROM range(3000) t(i);
CREATE VIEW skew_probe AS SELECT CASE WHEN i % 600 = 0 THEN 7 ELSE i * 10 END AS k, i AS w,
    repeat('p', 200) AS t FROM range(6000) t(i);
CREATE VIEW wide_a AS SELECT i AS v, repeat('a', (300 + i % 100)::INTEGER) AS s FROM range(1000) t(i);
CREATE VIEW wide_b AS SELECT i AS w, repeat('b', (300 + i % 100)::INTEGER) AS s FROM range(1100) t(i);
";

fn session(memory_limit: Option<usize>, broadcast: bool, dir: &Path) -> Session {
    let mut config = common::spill::spill_config(memory_limit.unwrap_or(4 << 30), dir, 256);
    config.exec.broadcast_threshold_bytes = if broadcast { u64::MAX } else { 0 };
    config.exec.broadcast_within_memory = broadcast;
    let mut s = Session::new(config).expect("session");
    s.execute(VIEWS).expect("views");
    s
}

/// The rows of `sql` as sorted strings.
fn rows(s: &mut Session, sql: &str) -> Vec<String> {
    let results = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let Some(StatementResult::Query(q)) = results.into_iter().last() else {
        panic!("{sql}: no rows")
    };
    let mut out: Vec<String> = q
        .batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows()).map(move |r| {
                b.columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(r) {
                            "NULL".to_string()
                        } else {
                            array_value_to_string(c, r).unwrap()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
        })
        .collect();
    out.sort();
    out
}

/// Runs `sql` unlimited and under [`LIMIT`] (partitioned, and with broadcast build sides
/// when `broadcast`), checks that the join spilled and compares; returns the row count.
fn check(sql: &str, broadcast: bool) -> usize {
    check_under(sql, broadcast, LIMIT)
}

/// [`check`] under a memory limit of `limit` bytes.
fn check_under(sql: &str, broadcast: bool, limit: usize) -> usize {
    compare_under(sql, broadcast, limit, true)
}

/// Runs `sql` unlimited and under a memory limit of `limit` bytes and compares, checking
/// that the limited run returned its memory and left no files, and that a join spilled
/// when `must_spill`; returns the row count.
fn compare_under(sql: &str, broadcast: bool, limit: usize, must_spill: bool) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = rows(&mut session(None, broadcast, dir.path()), sql);
    let mut limited = session(Some(limit), broadcast, dir.path());
    let got = rows(&mut limited, sql);
    let stats = limited.last_stats().lock().expect("stats").clone();
    let join_files: u64 = stats
        .spill
        .iter()
        .filter(|(op, _)| op.starts_with("HashJoin"))
        .map(|(_, s)| s.files)
        .sum();
    assert!(
        join_files > 0 || !must_spill,
        "{sql}: the join did not spill: {:?}",
        stats.spill
    );
    assert_eq!(got.len(), expected.len(), "{sql}");
    assert!(got == expected, "{sql}: rows differ");
    assert_eq!(limited.memory().used(), 0, "{sql}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
    assert!(left.is_empty(), "{sql}: files left in the temp dir: {left:?}");
    expected.len()
}

#[test]
fn inner_and_outer_joins() {
    for join in ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"] {
        let n = check(
            &format!("SELECT l.v, l.s, r.w, r.s FROM l {join} r ON l.k = r.k"),
            false,
        );
        assert!(n > 20_000, "{join}: {n}");
    }
}

#[test]
fn residual_predicates() {
    for join in ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"] {
        check(
            &format!("SELECT l.v, r.w FROM l {join} r ON l.k = r.k AND (l.v + r.w) % 3 = 0"),
            false,
        );
    }
    check(
        "SELECT v FROM l WHERE EXISTS (SELECT 1 FROM r WHERE r.k = l.k AND r.w > l.v)",
        false,
    );
    check(
        "SELECT v FROM l WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.k = l.k AND r.w > l.v)",
        false,
    );
}

#[test]
fn semi_and_anti_joins_both_ways_round() {
    // Build on either side: l is larger than r, small is tiny.
    check("SELECT v, s FROM l WHERE k IN (SELECT k FROM r)", false);
    check("SELECT w, s FROM r WHERE k IN (SELECT k FROM l)", false);
    check_under(
        "SELECT v FROM l WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.k = l.k)",
        false,
        KEY_ONLY_LIMIT,
    );
    check(
        "SELECT w FROM r WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.k = r.k)",
        false,
    );
}

#[test]
fn not_in_with_null_keys() {
    // r has NULL keys: NOT IN is empty; without them it is an anti join that drops l's
    // NULL keys. With NULLs in r every row of l fails the NULL check before the anti
    // join, and pairing l's rows with the subquery's one row of counts buffers nothing
    // (the row is broadcast), so no join has anything to spill: only the answer, the
    // memory and the temporary files are checked.
    assert_eq!(
        compare_under("SELECT v FROM l WHERE k NOT IN (SELECT k FROM r)", false, LIMIT, false),
        0
    );
    assert!(
        check(
            // The subquery side is the larger: it is the build side of a right anti join.
            "SELECT v FROM l WHERE v % 5 <> 0 AND k NOT IN (SELECT k FROM r WHERE k IS NOT NULL AND w % 3 <> 0)",
            false
        ) > 0
    );
    assert!(
        check(
            "SELECT w FROM r WHERE k NOT IN (SELECT k FROM l WHERE k IS NOT NULL)",
            false
        ) > 0
    );
}

#[test]
fn string_keys() {
    check(
        "SELECT l.v, r.w FROM l JOIN r ON l.s = repeat('ab', (r.w % 60)::INTEGER)",
        false,
    );
    check("SELECT r.w, l.v FROM r LEFT JOIN l ON r.s = 'r' || l.v", false);
}

#[test]
fn a_skewed_key() {
    // Four fifths of the build rows have key 7: their partition is joined by a block
    // nested loop over chunks of it.
    for join in ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"] {
        check(
            &format!(
                "SELECT skew.v, skew.s, p.w FROM skew {join} skew_probe p \
                 ON skew.k = p.k AND (skew.v + p.w) % 4 <> 1"
            ),
            false,
        );
    }
    check_under(
        // The skewed side is the build side (the smaller estimate) of a right semi join.
        "SELECT w, t FROM skew_probe p WHERE EXISTS (SELECT 1 FROM skew WHERE skew.k = p.k AND length(skew.s) > 101)",
        false,
        KEY_ONLY_LIMIT,
    );
    check(
        "SELECT w FROM skew_probe p WHERE NOT EXISTS (SELECT 1 FROM skew WHERE skew.k = p.k AND skew.s > p.t AND skew.v % 2 = 0)",
        false,
    );
    check(
        "SELECT v FROM skew WHERE NOT EXISTS (SELECT 1 FROM skew_probe p WHERE p.k = skew.k AND p.t < skew.s AND p.w % 2 = 0)",
        false,
    );
}

#[test]
fn broadcast_build_sides() {
    check("SELECT l.v, r.w FROM l JOIN r ON l.k = r.k", true);
    check("SELECT l.v, r.w FROM r RIGHT JOIN l ON l.k = r.k AND l.v > r.w", true);
    check("SELECT v FROM l WHERE k IN (SELECT k FROM r)", true);
    check(
        "SELECT v FROM l WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.k = l.k)",
        true,
    );
}

#[test]
fn keyless_joins() {
    // No keys: one partition, joined by a block nested loop.
    check(
        "SELECT a.v, b.w, a.s, b.s FROM wide_a a, wide_b b WHERE a.v + b.w = 1500",
        false,
    );
    check(
        "SELECT a.v, b.w, a.s, b.s FROM wide_b b LEFT JOIN wide_a a ON a.v > b.w + 990",
        false,
    );
}
