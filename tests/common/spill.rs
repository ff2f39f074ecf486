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
