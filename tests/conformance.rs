//! The SQL conformance run: every file of the shared sqllogictest corpus (SQLite, DuckDB,
//! DataFusion and RisingLight tests, described in its `README.md`) against rask, record by
//! record, with a baseline of files that must keep passing.
//!
//! ```text
//! cargo test --test conformance                                   # run, compare with baseline
//! RASK_CONFORMANCE_BASELINE=write cargo test --test conformance   # rewrite the baseline
//! RASK_CONFORMANCE_DIR=/path/to/corpus   corpus folder (default ../shared/conformance from
//!                                        the crate root)
//! RASK_CONFORMANCE_FILTER=join           only files whose relative path contains `join`
//! RASK_CONFORMANCE_TIMEOUT=20            seconds per file (default 20)
//! RASK_CONFORMANCE_JOBS=2                files run at once (default: available cores, max 4)
//! ```
//!
//! Each file runs in a child process (this binary again, with `RASK_CONFORMANCE_CHILD` set)
//! whose working directory is the corpus folder, so the TPC-H `COPY … FROM 'tpch-tiny/tbl/…'`
//! paths resolve. The child prints one line per record; the parent kills a child that exceeds
//! the time limit (a hang or a slow query fails that file, whose unfinished records count as
//! failed) and survives crashes. Conventions follow the corpus README:
//!
//! * labels `rask`, plus `postgresql` for `sqlite__*` files;
//! * `sqlite__*`: hash threshold 8, value-wise results, rendering by type letter, integer
//!   division; `datafusion__*`: DataFusion rendering, integer division; `duckdb__*` and
//!   `tpch-tiny/tpch.slt` (the only TPC-H file run; `_*.slt` are its fragments): DuckDB
//!   rendering;
//! * every expected error becomes "any error"; `PRAGMA` and rejected `SET`/`RESET` are no-ops;
//!   `EXPLAIN` records are skipped (their plan text is engine-specific);
//! * results are compared with the tolerant validator of `tests/common`.
//!
//! Output: one line per area (`area: N passed, N failed`, counting statement and query
//! records), a total, per-file counts in `target/conformance-report.tsv` and every failure in
//! `target/conformance-failures.txt`. The test fails if a file listed in
//! `tests/conformance_baseline.txt` no longer passes all its records. Without the corpus
//! folder it prints a notice and succeeds.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{first_keyword, test_config, tolerant_validator, Dialect, RaskDb};
use sqllogictest::{
    Control, DefaultColumnType, ExpectedError, QueryExpect, Record, RecordOutput, ResultMode, Runner, StatementExpect,
};

const CHILD_ENV: &str = "RASK_CONFORMANCE_CHILD";
const BASELINE: &str = "tests/conformance_baseline.txt";

fn main() -> ExitCode {
    if let Ok(file) = std::env::var(CHILD_ENV) {
        return child_main(Path::new(&file));
    }
    match parent_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Child: run one file, print one line per record.
//
//   TOTAL <n>                     statement + query records that will be attempted
//   PASS <S|Q> <line>
//   SKIP <S|Q> <line>
//   FAIL <S|Q> <line> <message, newlines escaped as \n>
// ---------------------------------------------------------------------------------------------

/// How a file of the corpus is run, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Sqlite,
    DuckDb,
    DataFusion,
    RisingLight,
}

impl Source {
    fn of(path: &Path) -> Source {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("sqlite__") {
            Source::Sqlite
        } else if name.starts_with("datafusion__") {
            Source::DataFusion
        } else if name.starts_with("duckdb__") {
            Source::DuckDb
        } else {
            Source::RisingLight
        }
    }

    fn dialect(self) -> Dialect {
        match self {
            Source::Sqlite => Dialect::Sqlite,
            Source::DataFusion => Dialect::DataFusion,
            Source::DuckDb | Source::RisingLight => Dialect::DuckDb,
        }
    }

    fn integer_division(self) -> bool {
        matches!(self, Source::Sqlite | Source::DataFusion)
    }
}

fn escape(s: &str) -> String {
    let s: String = s.chars().take(2000).collect();
    s.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn child_main(file: &Path) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let records = match sqllogictest::parse_file::<DefaultColumnType>(file) {
        Ok(records) => records,
        Err(e) => {
            let _ = writeln!(out, "TOTAL 1");
            let _ = writeln!(out, "FAIL S 0 {}", escape(&format!("parse error: {e}")));
            return ExitCode::SUCCESS;
        }
    };
    let source = Source::of(file);
    let mut records: Vec<Record<DefaultColumnType>> = records
        .into_iter()
        .take_while(|r| !matches!(r, Record::Halt { .. }))
        .map(any_error)
        .collect();
    if source == Source::Sqlite {
        records.insert(0, Record::Control(Control::ResultMode(ResultMode::ValueWise)));
    }
    let total = records
        .iter()
        .filter(|r| matches!(r, Record::Statement { .. } | Record::Query { .. }))
        .count();
    let _ = writeln!(out, "TOTAL {total}");
    let _ = out.flush();

    // Engine panics are turned into errors by RaskDb; keep their messages off stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let letters: common::LetterHint = Arc::new(Mutex::new(Vec::new()));
    let hint = Arc::clone(&letters);
    let mut runner = Runner::new(move || {
        let db = RaskDb::new(test_config(source.integer_division()), source.dialect())
            .map(|db| db.with_letter_hint(Arc::clone(&hint)).lenient_set(true));
        std::future::ready(db)
    });
    runner.add_label("rask");
    if source == Source::Sqlite {
        runner.add_label("postgresql");
        runner.with_hash_threshold(8);
    }
    runner.with_validator(tolerant_validator);

    for record in records {
        let (kind, line, sql, types) = match &record {
            Record::Statement { loc, sql, .. } => ('S', loc.line(), sql.as_str(), Vec::new()),
            Record::Query { loc, sql, expected, .. } => {
                let types = match expected {
                    QueryExpect::Results { types, .. } => types.clone(),
                    QueryExpect::Error(_) => Vec::new(),
                };
                ('Q', loc.line(), sql.as_str(), types)
            }
            _ => {
                // Control, hash-threshold, include markers, comments...
                let _ = runner.run(record);
                continue;
            }
        };
        if first_keyword(sql) == "EXPLAIN" {
            let _ = writeln!(out, "SKIP {kind} {line}");
            let _ = out.flush();
            continue;
        }
        if let Ok(mut l) = letters.lock() {
            *l = types;
        }
        let status = match runner.run(record) {
            Ok(RecordOutput::Nothing) => format!("SKIP {kind} {line}"),
            Ok(_) => format!("PASS {kind} {line}"),
            Err(e) => format!("FAIL {kind} {line} {}", escape(&e.display(false).to_string())),
        };
        let _ = writeln!(out, "{status}");
        let _ = out.flush();
    }
    ExitCode::SUCCESS
}

/// Rewrites every expected error to "any error": engines word their messages differently.
fn any_error(record: Record<DefaultColumnType>) -> Record<DefaultColumnType> {
    match record {
        Record::Statement {
            loc,
            conditions,
            connection,
            sql,
            expected: StatementExpect::Error(_),
            retry,
        } => Record::Statement {
            loc,
            conditions,
            connection,
            sql,
            expected: StatementExpect::Error(ExpectedError::Empty),
            retry,
        },
        Record::Query {
            loc,
            conditions,
            connection,
            sql,
            expected: QueryExpect::Error(_),
            retry,
        } => Record::Query {
            loc,
            conditions,
            connection,
            sql,
            expected: QueryExpect::Error(ExpectedError::Empty),
            retry,
        },
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Parent: find the files, run children with a time limit, report, check the baseline.
// ---------------------------------------------------------------------------------------------

/// The outcome of one file.
#[derive(Debug, Default, Clone)]
struct FileResult {
    /// Path relative to the corpus folder, `/`-separated.
    rel: String,
    area: String,
    total: usize,
    stmt_passed: usize,
    stmt_failed: usize,
    query_passed: usize,
    query_failed: usize,
    skipped: usize,
    /// Records that never reported (timeout or crash).
    unfinished: usize,
    /// `ok`, `timeout`, `crash: …`.
    status: String,
    failures: Vec<(u32, String)>,
    seconds: f64,
}

impl FileResult {
    fn passed(&self) -> usize {
        self.stmt_passed + self.query_passed
    }
    fn failed(&self) -> usize {
        self.stmt_failed + self.query_failed + self.unfinished
    }
    /// Every record that ran passed, and at least one ran.
    fn fully_passes(&self) -> bool {
        self.status == "ok" && self.failed() == 0 && self.passed() > 0
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The files to run, relative to `corpus`: `<area>/*.test|*.slt`, and of `tpch-tiny/` only
/// `tpch.slt`.
fn corpus_files(corpus: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    for area in std::fs::read_dir(corpus)? {
        let area = area?;
        if !area.file_type()?.is_dir() || area.file_name() == "LICENSES" {
            continue;
        }
        let area_name = area.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(area.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            if !(name.ends_with(".test") || name.ends_with(".slt")) || name.starts_with('_') {
                continue;
            }
            files.push(format!("{area_name}/{name}"));
        }
    }
    files.sort();
    Ok(files)
}

fn run_child(exe: &Path, corpus: &Path, rel: &str, timeout: Duration) -> FileResult {
    let area = rel.split('/').next().unwrap_or("").to_string();
    let mut result = FileResult {
        rel: rel.to_string(),
        area,
        status: "ok".to_string(),
        ..FileResult::default()
    };
    let started = Instant::now();
    let spawned = Command::new(exe)
        .env(CHILD_ENV, corpus.join(rel))
        .current_dir(corpus)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            result.status = format!("crash: cannot start: {e}");
            result.unfinished = 1;
            return result;
        }
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let lines: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) => sink.lock().expect("reader lock").push(line),
                Err(_) => break,
            }
        }
    });
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                result.status = format!("crash: {e}");
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = reader.join();
    result.seconds = started.elapsed().as_secs_f64();
    match exit {
        None if result.status == "ok" => result.status = format!("timeout after {}s", timeout.as_secs_f64()),
        Some(status) if !status.success() => result.status = format!("crash: {status}"),
        _ => {}
    }
    let mut reported = 0;
    for line in lines.lock().expect("reader lock").iter() {
        let mut parts = line.splitn(4, ' ');
        let tag = parts.next().unwrap_or("");
        if tag == "TOTAL" {
            result.total = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            continue;
        }
        let kind = parts.next().unwrap_or("");
        let line_no: u32 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        reported += 1;
        match (tag, kind) {
            ("PASS", "S") => result.stmt_passed += 1,
            ("PASS", _) => result.query_passed += 1,
            ("SKIP", _) => result.skipped += 1,
            ("FAIL", kind) => {
                if kind == "S" {
                    result.stmt_failed += 1;
                } else {
                    result.query_failed += 1;
                }
                result.failures.push((line_no, unescape(parts.next().unwrap_or(""))));
            }
            _ => reported -= 1,
        }
    }
    if result.status != "ok" {
        // The record in flight and everything after it.
        result.unfinished = result.total.saturating_sub(reported).max(1);
        let status = result.status.clone();
        result.failures.push((0, status));
    }
    result
}

fn read_baseline(path: &Path) -> std::io::Result<BTreeSet<String>> {
    if !path.exists() {
        return Ok(BTreeSet::new());
    }
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

fn write_baseline(path: &Path, files: &BTreeSet<String>) -> std::io::Result<()> {
    let mut text = String::from(
        "# Conformance files rask passes completely (paths relative to the corpus folder).\n\
         # `cargo test --test conformance` fails if one of them stops passing.\n\
         # Rewrite with: RASK_CONFORMANCE_BASELINE=write cargo test --test conformance\n",
    );
    for f in files {
        text.push_str(f);
        text.push('\n');
    }
    std::fs::write(path, text)
}

fn parent_main() -> Result<bool, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = match std::env::var("RASK_CONFORMANCE_DIR") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("..").join("shared").join("conformance"),
    };
    if !corpus.is_dir() {
        println!("conformance corpus not found at {}; skipped", corpus.display());
        return Ok(true);
    }
    let corpus = corpus
        .canonicalize()
        .map_err(|e| format!("{}: {e}", corpus.display()))?;
    let filter = std::env::var("RASK_CONFORMANCE_FILTER").unwrap_or_default();
    let timeout = Duration::from_secs_f64(env_or("RASK_CONFORMANCE_TIMEOUT", 60.0));
    let default_jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    let jobs = env_or("RASK_CONFORMANCE_JOBS", default_jobs).max(1);
    let write = std::env::var("RASK_CONFORMANCE_BASELINE").is_ok_and(|v| v == "write");

    let files: Vec<String> = corpus_files(&corpus)
        .map_err(|e| format!("cannot list {}: {e}", corpus.display()))?
        .into_iter()
        .filter(|f| f.contains(&filter))
        .collect();
    if files.is_empty() {
        eprintln!(
            "conformance: no test files in {} (filter {filter:?}); this counts as a failure",
            corpus.display()
        );
        return Ok(false);
    }
    println!(
        "conformance: {} files from {} ({jobs} at a time, {}s limit each)",
        files.len(),
        corpus.display(),
        timeout.as_secs_f64()
    );

    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<FileResult>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(rel) = files.get(i) else { break };
                let r = run_child(&exe, &corpus, rel, timeout);
                results.lock().expect("results lock").push(r);
            });
        }
    });
    let mut results = results.into_inner().expect("results lock");
    results.sort_by(|a, b| a.rel.cmp(&b.rel));

    // Per-area summary.
    let mut areas: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &results {
        let e = areas.entry(r.area.as_str()).or_default();
        e.0 += r.passed();
        e.1 += r.failed();
    }
    for (area, (passed, failed)) in &areas {
        println!("{area}: {passed} passed, {failed} failed");
    }
    let passed: usize = results.iter().map(FileResult::passed).sum();
    let failed: usize = results.iter().map(FileResult::failed).sum();
    let skipped: usize = results.iter().map(|r| r.skipped).sum();
    let full: BTreeSet<String> = results
        .iter()
        .filter(|r| r.fully_passes())
        .map(|r| r.rel.clone())
        .collect();
    println!(
        "total: {passed} passed, {failed} failed ({skipped} skipped; {} of {} files pass completely)",
        full.len(),
        results.len()
    );
    let slow: Vec<&FileResult> = results.iter().filter(|r| r.status != "ok").collect();
    for r in &slow {
        println!("  {}: {}", r.rel, r.status);
    }

    // Reports.
    let target = root.join("target");
    let _ = std::fs::create_dir_all(&target);
    let mut tsv = String::from(
        "file\tarea\tstatus\tstatements_passed\tstatements_failed\tqueries_passed\tqueries_failed\tskipped\tunfinished\tseconds\tfirst_failure\n",
    );
    let mut log = String::new();
    for r in &results {
        let first = r
            .failures
            .first()
            .map(|(line, msg)| format!("line {line}: {}", msg.lines().next().unwrap_or("")))
            .unwrap_or_default();
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.2}\t{}\n",
            r.rel,
            r.area,
            r.status,
            r.stmt_passed,
            r.stmt_failed,
            r.query_passed,
            r.query_failed,
            r.skipped,
            r.unfinished,
            r.seconds,
            first.replace('\t', " ")
        ));
        for (line, msg) in &r.failures {
            log.push_str(&format!("=== {}:{line}\n{}\n\n", r.rel, msg.trim_end()));
        }
    }
    let tsv_path = target.join("conformance-report.tsv");
    let log_path = target.join("conformance-failures.txt");
    std::fs::write(&tsv_path, tsv).map_err(|e| format!("{}: {e}", tsv_path.display()))?;
    std::fs::write(&log_path, log).map_err(|e| format!("{}: {e}", log_path.display()))?;
    println!(
        "per-file results: {}; failures: {}",
        tsv_path.display(),
        log_path.display()
    );

    // Baseline.
    let baseline_path = root.join(BASELINE);
    let baseline = read_baseline(&baseline_path).map_err(|e| format!("{}: {e}", baseline_path.display()))?;
    let ran: BTreeSet<&str> = results.iter().map(|r| r.rel.as_str()).collect();
    if write {
        // Keep entries of files this run did not cover (a filter was set).
        let mut new: BTreeSet<String> = baseline
            .iter()
            .filter(|f| !filter.is_empty() && !ran.contains(f.as_str()))
            .cloned()
            .collect();
        new.extend(full.iter().cloned());
        write_baseline(&baseline_path, &new).map_err(|e| format!("{}: {e}", baseline_path.display()))?;
        println!("baseline written: {} files in {}", new.len(), baseline_path.display());
        return Ok(true);
    }
    let mut regressions = Vec::new();
    for f in &baseline {
        if !f.contains(&filter) {
            continue;
        }
        if !ran.contains(f.as_str()) {
            regressions.push(format!("{f}: listed in the baseline but not in the corpus"));
        } else if !full.contains(f) {
            let r = results.iter().find(|r| &r.rel == f).expect("ran");
            let first = r
                .failures
                .first()
                .map(|(l, m)| format!("line {l}: {}", m.lines().next().unwrap_or("")))
                .unwrap_or_default();
            regressions.push(format!(
                "{f}: {} passed, {} failed ({}) {first}",
                r.passed(),
                r.failed(),
                r.status
            ));
        }
    }
    let new_passes: Vec<&String> = full.iter().filter(|f| !baseline.contains(*f)).collect();
    if !new_passes.is_empty() {
        println!(
            "{} files now pass completely but are not in the baseline (add them with RASK_CONFORMANCE_BASELINE=write):",
            new_passes.len()
        );
        for f in new_passes {
            println!("  {f}");
        }
    }
    if regressions.is_empty() {
        println!(
            "baseline: all {} listed files pass",
            baseline.iter().filter(|f| f.contains(&filter)).count()
        );
        Ok(true)
    } else {
        eprintln!("baseline regressions ({}):", regressions.len());
        for r in &regressions {
            eprintln!("  {r}");
        }
        Ok(false)
    }
}
