//! Shared set-up of rask's fuzz targets: one session per fuzzing process over small tables
//! (`t1`, `t2`, `t3`, with NULLs, duplicates and an empty table), and the rule that decides
//! what counts as a crash.
//!
//! An error returned to the user is a correct answer to bad input. A panic, a stack
//! overflow, a hang, or an [`rask::Error::Internal`] (rask's scheduler turns a panicking task
//! into one, and rask raises it when an invariant does not hold) is a bug.

pub mod generator;

use std::cell::RefCell;
use std::path::PathBuf;

use rask::{Error, Result, Session, SessionConfig, StatementResult};

/// The tables every target's session has.
pub const TABLES_SQL: &str = "
CREATE TABLE t1 AS SELECT * FROM (VALUES
    (1, 'a', 1.5, DATE '2024-01-01', true),
    (2, 'b', NULL, DATE '2024-02-29', false),
    (2, NULL, -0.0, NULL, NULL),
    (NULL, 'a', 3.25, DATE '1999-12-31', true),
    (5, '', 1e300, DATE '2024-01-01', false),
    (-7, 'ünï', 'NaN'::DOUBLE, DATE '1970-01-01', NULL)
) AS v(a, b, c, d, e);
CREATE TABLE t2 AS SELECT * FROM (VALUES
    (1, 'x', 10::BIGINT),
    (2, 'y', NULL),
    (2, 'y', 30),
    (NULL, NULL, 40),
    (9, 'z', -9223372036854775807)
) AS v(k, s, n);
CREATE TABLE t3 AS SELECT * FROM (VALUES (1, 'q')) AS v(k, s) WHERE k > 1;
";

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
    static SCRATCH: PathBuf = scratch_dir();
}

/// A directory of this process's own for the files a target writes (removed by the OS's
/// temp cleaning; one per process so parallel fuzzers do not collide).
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The path of a scratch file named `name` for this process.
pub fn scratch_file(name: &str) -> PathBuf {
    SCRATCH.with(|d| d.join(name))
}

/// Runs `f` with the process's session, made on first use: one thread, 256 MB of memory,
/// spill files in the scratch directory.
pub fn with_session<T>(f: impl FnOnce(&mut Session) -> T) -> T {
    SESSION.with(|cell| {
        let mut slot = cell.borrow_mut();
        let session = slot.get_or_insert_with(|| {
            print_panics();
            let mut config = SessionConfig::default();
            config.exec.threads = 1;
            config.exec.target_partitions = 2;
            config.exec.batch_size = 4;
            config.exec.file_partition_bytes = 64;
            config.memory_limit = 256 << 20;
            config.exec.temp_dir = Some(scratch_file("spill"));
            let mut session = Session::new(config).expect("session");
            session.execute(TABLES_SQL).expect("fuzz tables");
            session
        });
        f(session)
    })
}

/// Fails the fuzz run (an abort libFuzzer records as a crash) when `result` is an error that
/// only a bug in rask can produce.
pub fn check<T>(what: &str, input: &str, result: Result<T>) {
    if let Err(e) = result {
        if let Error::Internal(message) = e.inner() {
            eprintln!("{what}: internal error on {input:?}: {message}");
            std::process::abort();
        }
    }
}

/// libFuzzer's panic hook aborts at every panic, even one rask catches on purpose (the
/// Parquet decoder's on corrupt data, which becomes an error naming the file). This hook
/// only prints: a panic rask turns into a user error passes, one the scheduler turns into
/// an internal error fails in [`check`], and one nobody catches aborts as it unwinds out of
/// the fuzz target.
fn print_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
}

/// Runs every statement of `sql` and reads every row it produces (streamed results too).
pub fn run_all(session: &mut Session, sql: &str) -> Result<()> {
    for result in session.execute(sql)? {
        if let StatementResult::Stream(stream) = result {
            stream.collect()?;
        }
    }
    Ok(())
}
