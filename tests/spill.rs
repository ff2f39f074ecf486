//! Out-of-core execution through the session: stage outputs and query results that do not
//! fit the memory limit spill to the temp directory, read back identically, and leave
//! nothing behind; `COPY … TO` streams a spilled result into a file; the spill-size cap and
//! the statistics EXPLAIN ANALYZE shows.

mod common;

use rask::session::StatementResult;

use common::spill::{query, spill_session as session, text};

use common::spill::{entries, WIDE_ROWS};

#[test]
fn a_result_larger_than_the_limit_spills_and_reads_back_identically() {
    let temp = tempfile::tempdir().unwrap();
    let expected = text(&query(&mut session(1 << 30, temp.path()), WIDE_ROWS));
    let mut small = session(2 << 20, temp.path());
    let got = text(&query(&mut small, WIDE_ROWS));
    assert!(got == expected, "spilled result differs from the in-memory one");
    let stats = small.last_stats().lock().unwrap().clone();
    let total = stats.spill_total();
    assert!(total.files > 0 && total.bytes > 0, "nothing spilled: {stats:?}");
    assert!(total.rows > 0 && total.rows <= 200_000, "{stats:?}");
    assert!(
        stats.peak_memory <= 2 << 20,
        "peak {} over the limit",
        stats.peak_memory
    );
    assert!(
        entries(temp.path()).is_empty(),
        "left behind: {:?}",
        entries(temp.path())
    );
}

#[test]
fn explain_analyze_shows_peak_memory_and_spill_per_operator() {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(2 << 20, temp.path());
    let plan = text(&query(&mut s, &format!("EXPLAIN ANALYZE {WIDE_ROWS}")));
    assert!(plan.contains("peak memory"), "{plan}");
    assert!(plan.contains("spill ShuffleWrite (stage 0):"), "{plan}");
    assert!(plan.contains("rows: 200000"), "{plan}");
    assert!(entries(temp.path()).is_empty());
}

#[test]
fn copy_to_streams_a_spilled_result_into_files_of_every_format() {
    let temp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut s = session(2 << 20, temp.path());
    for (name, format) in [
        ("x.parquet", ""),
        ("x.csv", ""),
        ("x.tsv", ""),
        ("x.ndjson", ""),
        ("y.out", " (FORMAT parquet)"),
    ] {
        let path = out.path().join(name);
        let sql = format!("COPY ({WIDE_ROWS}) TO '{}'{format}", path.display());
        match s.execute(&sql).expect(&sql).pop() {
            Some(StatementResult::Done { rows, .. }) => assert_eq!(rows, Some(200_000), "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
        assert!(path.is_file(), "{sql}");
    }
    // The files read back give the same rows.
    let reader = |f: &str| format!("SELECT count(*), count(n), sum(n), sum(length(s)), max(s) FROM {f}");
    let expected = text(&query(&mut s, &reader(&format!("({WIDE_ROWS})"))));
    for f in [
        format!("'{}'", out.path().join("x.parquet").display()),
        format!("read_parquet('{}')", out.path().join("y.out").display()),
        format!("'{}'", out.path().join("x.csv").display()),
        format!("'{}'", out.path().join("x.ndjson").display()),
    ] {
        assert_eq!(text(&query(&mut s, &reader(&f))), expected, "{f}");
    }
    // Only the outputs are left: no temporary COPY file, no spill file.
    let mut names = entries(out.path());
    names.sort();
    assert_eq!(names, ["x.csv", "x.ndjson", "x.parquet", "x.tsv", "y.out"]);
    assert!(entries(temp.path()).is_empty());
}

#[test]
fn a_failed_copy_leaves_the_previous_file() {
    let temp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("keep.csv");
    std::fs::write(&path, "old contents\n").unwrap();
    let mut s = session(1 << 30, temp.path());
    let sql = format!(
        "COPY (SELECT (CASE WHEN range = 9000 THEN 'boom' ELSE range::VARCHAR END)::INTEGER AS v \
         FROM range(10000)) TO '{}'",
        path.display()
    );
    assert!(s.execute(&sql).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old contents\n");
    assert_eq!(entries(out.path()), ["keep.csv"]);
    let missing = format!("COPY (SELECT 1) TO '{}/no/such/dir/x.csv'", out.path().display());
    let err = s.execute(&missing).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn the_spill_size_cap_stops_the_query_with_a_clear_error_and_cleans_up() {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(2 << 20, temp.path());
    s.execute("SET max_temp_directory_size = '100KB'").unwrap();
    let err = s.execute(WIDE_ROWS).unwrap_err().to_string();
    assert!(err.contains("max_temp_directory_size"), "{err}");
    assert!(
        entries(temp.path()).is_empty(),
        "left behind: {:?}",
        entries(temp.path())
    );
}

#[test]
fn temp_directory_must_exist() {
    let temp = tempfile::tempdir().unwrap();
    let mut s = session(1 << 30, temp.path());
    let err = s
        .execute("SET temp_directory = '/nonexistent/rask/spill'")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/rask/spill"), "{err}");
    let other = tempfile::tempdir().unwrap();
    s.execute(&format!("SET temp_directory = '{}'", other.path().display()))
        .unwrap();
    s.execute("SET memory_limit = '1MB'").unwrap();
    let rows = query(&mut s, &format!("SELECT count(*) AS c FROM ({WIDE_ROWS})"));
    assert_eq!(text(&rows).matches("200000").count(), 1);
    assert!(entries(other.path()).is_empty());
}
