//! Stored tables larger than memory: CREATE TABLE AS, INSERT, UPDATE/DELETE and recursive
//! CTE rounds spill their rows to the temp directory when the pool refuses them; queries on
//! such tables read the spill files back and give the same answers as with no limit; the
//! files go away with the table (DROP TABLE, CREATE OR REPLACE, the end of the session).

mod common;

use rask::session::StatementResult;
use rask::Session;

/// A 4 MiB limit: the pool gets 70% of it (2.8 MiB), far less than the tables below.
const SMALL: usize = 4 << 20;
const LARGE: usize = 1 << 30;

use common::spill::{query, spill_session as session, text};

fn run(s: &mut Session, sql: &str) {
    s.execute(sql).expect(sql);
}

use common::spill::{assert_empty, entries, WIDE_ROWS};

/// Queries whose answers must not depend on where the table's rows are.
const CHECKS: &[&str] = &[
    "SELECT count(*), count(n), sum(n), min(s), max(s) FROM t",
    "SELECT sum(id), sum(length(s)) FROM t",
    "SELECT id % 10 AS k, count(*), sum(n), max(length(s)) FROM t GROUP BY k ORDER BY k",
    "SELECT count(*), sum(a.n), sum(b.id) FROM t a JOIN t b ON a.id = b.id + 1",
    "SELECT id, s, n FROM t WHERE id IN (0, 7, 199999, 123456) ORDER BY id",
];

/// The answers to [`CHECKS`].
fn answers(s: &mut Session) -> Vec<String> {
    CHECKS.iter().map(|q| text(&query(s, q))).collect()
}

/// Runs `script` in a session without a limit and returns the answers to [`CHECKS`].
fn expected(script: &[&str]) -> Vec<String> {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(LARGE, temp.path());
    for sql in script {
        run(&mut s, sql);
    }
    answers(&mut s)
}

fn assert_same(got: &[String], want: &[String]) {
    for ((g, w), q) in got.iter().zip(want).zip(CHECKS) {
        assert!(g == w, "{q}: got\n{g}\nexpected\n{w}");
    }
}

#[test]
fn a_table_larger_than_memory_spills_and_answers_like_one_in_memory() {
    let create = format!("CREATE TABLE t AS {WIDE_ROWS}");
    let want = expected(&[&create]);
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(SMALL, temp.path());
    run(&mut s, &create);
    let stats = s.last_stats().lock().unwrap().clone();
    let table = stats.spill.get("Table").copied().unwrap_or_default();
    assert!(table.files > 0 && table.rows > 0, "the table did not spill: {stats:?}");
    assert!(
        !common::spill::files_under(temp.path()).is_empty(),
        "no table files on disk"
    );
    assert!(
        s.memory().used() < SMALL / 2,
        "the spilled table still holds {}",
        s.memory().used()
    );
    assert_same(&answers(&mut s), &want);
    let plan = text(&query(&mut s, "EXPLAIN SELECT * FROM t"));
    assert!(plan.contains("spilled="), "{plan}");
    run(&mut s, "DROP TABLE t");
    assert_empty(temp.path());
    assert_eq!(s.memory().used(), 0);
}

#[test]
fn a_table_that_fits_stays_in_memory() {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(LARGE, temp.path());
    run(&mut s, &format!("CREATE TABLE t AS {WIDE_ROWS}"));
    assert!(entries(temp.path()).is_empty());
    assert!(s.memory().used() > 0, "the table reserves its memory");
    let plan = text(&query(&mut s, "EXPLAIN SELECT * FROM t"));
    assert!(!plan.contains("spilled="), "{plan}");
    run(&mut s, "DROP TABLE t");
    assert_eq!(s.memory().used(), 0);
}

#[test]
fn insert_update_and_delete_on_a_spilled_table() {
    let script = [
        format!("CREATE TABLE t AS {WIDE_ROWS}"),
        "INSERT INTO t SELECT range, 'new ' || range::VARCHAR, range FROM range(200000, 260000)".to_string(),
        "INSERT INTO t (id, s) VALUES (-1, 'one more')".to_string(),
        "UPDATE t SET n = coalesce(n, 0) + 1, s = upper(s) WHERE id % 5 = 0".to_string(),
        "DELETE FROM t WHERE id % 3 = 1".to_string(),
    ];
    let script: Vec<&str> = script.iter().map(String::as_str).collect();
    let want = expected(&script);
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(SMALL, temp.path());
    for (i, sql) in script.iter().enumerate() {
        run(&mut s, sql);
        if i == 1 {
            // The INSERT kept the spilled rows and added its own.
            let count = text(&query(&mut s, "SELECT count(*) FROM t"));
            assert!(count.contains("260000"), "{count}");
        }
    }
    assert!(!common::spill::files_under(temp.path()).is_empty());
    assert_same(&answers(&mut s), &want);
    drop(s);
    assert_empty(temp.path());
}

#[test]
fn create_or_replace_and_the_end_of_the_session_remove_the_files() {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(SMALL, temp.path());
    run(&mut s, &format!("CREATE TABLE t AS {WIDE_ROWS}"));
    let first = common::spill::files_under(temp.path());
    assert!(!first.is_empty());
    run(
        &mut s,
        &format!("CREATE OR REPLACE TABLE t AS {WIDE_ROWS} LIMIT 150000"),
    );
    let second = common::spill::files_under(temp.path());
    assert!(
        first.iter().all(|f| !second.contains(f)),
        "the replaced table's files are still there"
    );
    assert!(text(&query(&mut s, "SELECT count(*) FROM t")).contains("150000"));
    run(&mut s, &format!("CREATE TABLE u AS {WIDE_ROWS}"));
    drop(s);
    assert_empty(temp.path());
}

#[test]
fn a_new_temp_directory_takes_the_next_tables() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut s = session(SMALL, a.path());
    run(&mut s, &format!("CREATE TABLE t AS {WIDE_ROWS}"));
    run(&mut s, &format!("SET temp_directory = '{}'", b.path().display()));
    run(&mut s, &format!("CREATE TABLE u AS {WIDE_ROWS}"));
    assert!(!common::spill::files_under(a.path()).is_empty() && !common::spill::files_under(b.path()).is_empty());
    run(&mut s, "DROP TABLE t");
    assert!(
        entries(a.path()).is_empty(),
        "left behind: {:?}",
        common::spill::files_under(a.path())
    );
    assert!(text(&query(&mut s, "SELECT count(*) FROM u")).contains("200000"));
    run(&mut s, "DROP TABLE u");
    assert!(
        entries(b.path()).is_empty(),
        "left behind: {:?}",
        common::spill::files_under(b.path())
    );
}

#[test]
fn recursive_cte_rounds_larger_than_memory_spill() {
    let sql = "WITH RECURSIVE r(i, lvl, s) AS ( \
                 SELECT range, 0, repeat('y', (range % 40)::INTEGER) FROM range(20000) \
                 UNION ALL SELECT i, lvl + 1, s || 'z' FROM r WHERE lvl < 9) \
               SELECT count(*), sum(i), sum(lvl), sum(length(s)), count(DISTINCT s) FROM r";
    let temp = tempfile::tempdir().unwrap();
    let want = text(&query(&mut session(LARGE, temp.path()), sql));
    let mut s = session(SMALL, temp.path());
    assert_eq!(text(&query(&mut s, sql)), want);
    assert!(want.contains("200000"), "{want}");
    drop(s);
    assert_empty(temp.path());
}

#[test]
fn the_table_spill_cap_gives_a_clear_error_and_keeps_the_old_table() {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(SMALL, temp.path());
    run(&mut s, "CREATE TABLE t AS SELECT 1 AS id, 'a' AS s, 2 AS n");
    run(&mut s, "SET max_temp_directory_size = '200KB'");
    let err = s
        .execute(&format!("CREATE OR REPLACE TABLE t AS {WIDE_ROWS}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_temp_directory_size"), "{err}");
    assert!(text(&query(&mut s, "SELECT count(*) FROM t")).contains('1'));
    assert_empty(temp.path());
}

/// The DSL's `persist()` stores its rows the same way: a frame larger than the pool spills,
/// reads back whole, and its files go when the name is bound to something else.
#[test]
fn persisted_frames_spill_and_clean_up() {
    let temp = tempfile::tempdir().unwrap();
    let script = "big = sql(\"SELECT i, i % 7 AS k, repeat('x', 20) AS s FROM range(300000) t(i)\").persist()";
    let mut small = session(SMALL, temp.path());
    small.execute_dsl(script).expect("persist");
    assert!(!common::spill::files_under(temp.path()).is_empty(), "nothing spilled");
    let totals = |s: &mut Session| match s
        .execute_dsl("big.groupby(k).agg(n = count(*), total = sum(i)).sort(k)")
        .expect("agg")
        .pop()
    {
        Some(StatementResult::Query(q)) => text(&q.batches),
        other => panic!("{other:?}"),
    };
    let spilled = totals(&mut small);
    let unlimited_dir = tempfile::tempdir().unwrap();
    let mut large = session(LARGE, unlimited_dir.path());
    large.execute_dsl(script).expect("persist");
    assert!(common::spill::files_under(unlimited_dir.path()).is_empty());
    assert_eq!(spilled, totals(&mut large));
    small.execute_dsl("big = sql(\"SELECT 1 AS one\")").expect("rebind");
    assert_eq!(common::spill::files_under(temp.path()), Vec::<String>::new());
}
