//! The session set-up the spill tests share: a memory limit, a private temp directory, two
//! threads, four partitions and small batches, so that small data overflows the pool.

use std::path::Path;

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use rask::exec::task::ExecConfig;
use rask::session::StatementResult;
use rask::{Session, SessionConfig};

/// A configuration with `memory_limit` bytes spilling into `dir`, with batches of
/// `batch_size` rows.
pub fn spill_config(memory_limit: usize, dir: &Path, batch_size: usize) -> SessionConfig {
    SessionConfig {
        memory_limit,
        exec: ExecConfig {
            temp_dir: Some(dir.to_path_buf()),
            threads: 2,
            target_partitions: 4,
            batch_size,
            ..ExecConfig::default()
        },
        ..SessionConfig::default()
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path().display().to_string());
        }
    }
    out
}

/// The names of the entries directly in `dir`.
pub fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Asserts that nothing is left in `dir`, listing what is.
pub fn assert_empty(dir: &Path) {
    assert!(entries(dir).is_empty(), "left behind: {:?}", files_under(dir));
}

/// 200,000 rows with a string column of varying length (about 10 MB in memory).
pub const WIDE_ROWS: &str = "SELECT range AS id, repeat('x', (range % 50)::INTEGER) || range::VARCHAR AS s, \
     CASE WHEN range % 7 = 0 THEN NULL ELSE range * 3 END AS n FROM range(200000)";

/// A session with `memory_limit` bytes spilling into `temp`, batches of 1024 rows.
pub fn spill_session(memory_limit: usize, temp: &Path) -> Session {
    Session::new(spill_config(memory_limit, temp, 1024)).expect("session")
}

/// The rows of the last statement of `sql`.
pub fn query(s: &mut Session, sql: &str) -> Vec<RecordBatch> {
    match s.execute(sql).expect(sql).pop() {
        Some(StatementResult::Query(q)) => q.batches,
        other => panic!("{sql}: no rows: {other:?}"),
    }
}

/// Batches as a printed table, for comparing results.
pub fn text(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}
