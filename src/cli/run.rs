//! Running rask from the command line: builds the session from the arguments, gathers the SQL
//! (`-c` texts, script files, stdin) and prints each statement's result as it comes.
//!
//! Errors are printed once, to stderr, as `Error: <message>` (a parse error also shows the
//! offending line with a caret under the column). Exit codes: 0 on success and on a closed
//! output pipe, 1 on an error, 130 when the query was cancelled with Ctrl-C, 2 on a usage
//! error (from clap).

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::cli::args::{Args, Source};
use crate::cli::format::{is_streamable, write_result, write_stream, FormatOptions, OutputFormat};
use crate::cli::repl;
use crate::error::{Error, Result};
use crate::session::{Session, SessionConfig, StatementResult};

/// Exit code after a query cancelled with Ctrl-C (128 + SIGINT).
pub const EXIT_CANCELLED: i32 = 130;

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let args = Args::parse_env();
    let code = match run(&args) {
        Ok(()) => 0,
        Err(failure) => failure.exit_code(),
    };
    // Standard input spooled for `FROM '-'` is not needed past this process.
    crate::io::stdin::remove_spooled_stdin();
    code
}

/// A run that failed, already reported to the user.
#[derive(Debug)]
pub struct Failure {
    cancelled: bool,
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        if self.cancelled {
            EXIT_CANCELLED
        } else {
            1
        }
    }
}

/// How results are printed; shared by scripts and the REPL.
#[derive(Debug, Clone)]
pub struct Printer {
    /// The output format.
    pub format: OutputFormat,
    /// Header, row and width limits.
    pub opts: FormatOptions,
    /// Print the elapsed time of each statement to stderr.
    pub timer: bool,
}

impl Printer {
    /// Writes one statement result; `Done` results print nothing.
    pub fn print(&self, result: StatementResult, out: &mut dyn Write) -> Result<()> {
        match result {
            StatementResult::Query(q) => write_result(&q, self.format, out, &self.opts)?,
            StatementResult::Stream(mut s) if is_streamable(self.format) => {
                write_stream(&s.schema, &mut s.batches, self.format, out, &self.opts)?;
            }
            StatementResult::Stream(s) => write_result(&s.collect()?, self.format, out, &self.opts)?,
            StatementResult::Done { .. } => return Ok(()),
        }
        out.flush().map_err(|e| Error::io("<output>", e))
    }

    /// Whether results in this printer's format can be written as they are read.
    pub fn streams(&self) -> bool {
        is_streamable(self.format)
    }
}

/// The language of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// SQL statements ended by `;`.
    Sql,
    /// The dataframe DSL (`.rask` files, `--dsl`).
    Dsl,
}

/// A script to run: its text and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The text.
    pub text: String,
    /// Its language.
    pub language: Language,
}

/// Runs the statements of `script`, printing each result to `out` as soon as it is ready.
pub fn run_script(session: &mut Session, script: &Script, printer: &Printer, out: &mut dyn Write) -> Result<()> {
    run_statements(session, &script.text, script.language, printer, out)
}

/// Runs the statements of `text` in `language`, printing each result to `out` as soon as it
/// is ready.
pub fn run_statements(
    session: &mut Session,
    text: &str,
    language: Language,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<()> {
    run_with(
        session,
        text,
        language,
        printer.streams(),
        printer.timer,
        &mut |result| printer.print(result, out),
    )
}

/// Runs the statements of `text` in `language`, handing each result to `handle` as soon as it
/// is ready (streamed when `streaming`); with `timer`, prints each statement's run time and
/// memory to stderr.
pub fn run_with(
    session: &mut Session,
    text: &str,
    language: Language,
    streaming: bool,
    timer: bool,
    handle: &mut dyn FnMut(StatementResult) -> Result<()>,
) -> Result<()> {
    let cancel = session.cancel_flag();
    cancel.store(false, Ordering::SeqCst);
    let stats = session.last_stats();
    session.set_streaming(streaming);
    let mut started = Instant::now();
    let progress = crate::cli::progress::Progress::start(session.running_query(), crate::cli::progress::mode());
    let on_result = |result| {
        let elapsed = started.elapsed();
        if cancel.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        if let Some(p) = &progress {
            p.pause();
        }
        handle(result)?;
        if let Some(p) = &progress {
            p.resume();
        }
        if timer {
            let usage = stats.lock().map(|s| s.summary()).unwrap_or_default();
            let _ = writeln!(
                std::io::stderr(),
                "Run Time (s): real {:.3}  ({usage})",
                elapsed.as_secs_f64()
            );
        }
        started = Instant::now();
        Ok(())
    };
    let outcome = match language {
        Language::Sql => session.run_script(text, on_result),
        Language::Dsl => session.run_dsl(text, on_result),
    };
    drop(progress);
    cancel.store(false, Ordering::SeqCst);
    // What the statements left to say (rows `ignore_errors` skipped), whether or not they
    // succeeded.
    for warning in session.take_warnings() {
        let _ = writeln!(std::io::stderr(), "Warning: {warning}");
    }
    outcome
}

/// Prints `err` to stderr as `Error: <message>`; for a parse error with a position in `sql`,
/// also the offending line and a caret under the column.
pub fn report_error(err: &Error, sql: Option<&str>) {
    let mut text = format!("Error: {err}\n");
    if let (Some(loc), Some(sql)) = (err.location(), sql) {
        text.push_str(&caret_lines(sql, loc.line, loc.column));
    }
    if let Error::Statement {
        number, total, start, ..
    } = err
    {
        if *total > 1 {
            let line = start.map(|l| format!(", line {}", l.line)).unwrap_or_default();
            text.push_str(&format!(
                "(statement {number} of {total}{line}; the statements before it ran)\n"
            ));
        }
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// `LINE n: <text>` and a caret under 1-based `column` of 1-based `line` of `sql`; empty when
/// the line does not exist.
pub fn caret_lines(sql: &str, line: u64, column: u64) -> String {
    let Some(text) = usize::try_from(line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .and_then(|l| sql.lines().nth(l))
    else {
        return String::new();
    };
    let prefix = format!("LINE {line}: ");
    let mut pad: String = " ".repeat(prefix.chars().count());
    let before = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    // Keep tabs as tabs so the caret lines up however the terminal expands them.
    pad.extend(text.chars().take(before).map(|c| if c == '\t' { '\t' } else { ' ' }));
    format!("{prefix}{text}\n{pad}^\n")
}

/// Reports `err` and turns it into the run's outcome: a closed pipe is a quiet success.
pub(crate) fn fail(err: Error, sql: Option<&str>) -> std::result::Result<(), Failure> {
    if err.is_broken_pipe() {
        return Ok(());
    }
    report_error(&err, sql);
    Err(Failure {
        cancelled: matches!(err.inner(), Error::Cancelled),
    })
}

/// The session configuration the arguments ask for.
pub fn session_config(args: &Args) -> Result<SessionConfig> {
    let mut config = SessionConfig::default();
    if let Some(dir) = &args.temp_dir {
        config.exec.temp_dir = Some(crate::exec::spill::checked_temp_dir(dir)?);
    }
    if let Some(threads) = args.threads {
        config.exec.threads = threads;
        config.exec.target_partitions = threads;
    }
    if let Some(limit) = args.memory_limit {
        config.memory_limit = limit;
        crate::exec::allocator::return_freed_memory_promptly();
    }
    config.disabled_rules.extend(args.disable_rules.iter().cloned());
    if let Some(endpoint) = args.remote.as_deref().filter(|e| !e.trim().is_empty()) {
        config.remote = Some(crate::remote::Endpoint::parse(endpoint)?);
    }
    Ok(config)
}

/// Runs rask with `args`; errors are reported before returning.
pub fn run(args: &Args) -> std::result::Result<(), Failure> {
    let mut session = match session_config(args).and_then(Session::new) {
        Ok(s) => s,
        Err(e) => return fail(e, None),
    };
    crate::cli::progress::set_mode(match (args.progress, args.no_progress) {
        (_, true) => crate::cli::progress::ProgressMode::Never,
        (true, false) => crate::cli::progress::ProgressMode::Always,
        (false, false) => crate::cli::progress::ProgressMode::Auto,
    });
    for (name, value) in &args.params {
        session.params_mut().set(name, value);
    }

    let stdout_tty = std::io::stdout().is_terminal();
    if args.sources.is_empty() && std::io::stdin().is_terminal() {
        // The REPL installs its own Ctrl-C handler: a second Ctrl-C must not exit.
        let printer = stdout_printer(args, stdout_tty);
        return repl::run(&mut session, printer).or_else(|e| fail(e, None));
    }
    install_ctrlc(session.cancel_flag());
    let scripts = match load_sources(args) {
        Ok(s) => s,
        Err(e) => return fail(e, None),
    };
    if args.trace.is_some() || args.report.is_some() {
        session.keep_profiles();
    }
    let outcome = run_scripts(&mut session, &scripts, args, stdout_tty);
    // The trace and graph are written whether or not the run succeeded: they show what ran.
    if let Some(path) = &args.trace {
        if let Err(e) = write_trace(&session, path) {
            return outcome.and(fail(e, None));
        }
    }
    if let Some(path) = &args.report {
        if let Err(e) = write_report(&session, path) {
            return outcome.and(fail(e, None));
        }
    }
    if let Some(path) = &args.graph {
        if let Err(e) = write_last_graph(&session, path) {
            return outcome.and(fail(e, None));
        }
    }
    outcome
}

/// Draws the task graph of the last query the session ran.
fn write_last_graph(session: &Session, path: &Path) -> Result<()> {
    let profile = session
        .last_profile()
        .lock()
        .ok()
        .and_then(|p| p.clone())
        .ok_or_else(|| Error::InvalidInput(format!("--graph {}: no query ran", path.display())))?;
    crate::stage::dot::write_graph(path, &crate::stage::dot::to_dot(&profile.stages))
}

/// Writes the profiles the session kept as a trace file.
fn write_trace(session: &Session, path: &Path) -> Result<()> {
    let names: Vec<String> = session
        .profiles()
        .iter()
        .enumerate()
        .map(|(i, (text, _))| format!("query {}: {}", i + 1, text.chars().take(80).collect::<String>()))
        .collect();
    let text = crate::exec::profile::trace_file(
        names
            .iter()
            .map(String::as_str)
            .zip(session.profiles().iter().map(|(_, p)| p.as_ref())),
    );
    crate::io::write_atomically(path, text.as_bytes(), "--trace")
}

/// Writes the HTML report of the profiles the session kept.
fn write_report(session: &Session, path: &Path) -> Result<()> {
    let queries: Vec<crate::cli::report::ReportQuery> = session
        .profiles()
        .iter()
        .map(|(text, profile)| crate::cli::report::ReportQuery { text, profile })
        .collect();
    let page = crate::cli::report::html("rask report", &queries);
    crate::io::write_atomically(path, page.as_bytes(), "--report")
}

fn run_scripts(
    session: &mut Session,
    scripts: &[Script],
    args: &Args,
    stdout_tty: bool,
) -> std::result::Result<(), Failure> {
    match &args.output {
        Some(path) => crate::cli::output_file::run_to_file(session, scripts, args, path),
        None => {
            let printer = stdout_printer(args, stdout_tty);
            let mut out = BufWriter::new(std::io::stdout().lock());
            for script in scripts {
                if let Err(e) = run_script(session, script, &printer, &mut out) {
                    return fail(e, Some(&script.text));
                }
            }
            out.flush()
                .map_err(|e| Error::io("<output>", e))
                .or_else(|e| fail(e, None))
        }
    }
}

/// The printer for standard output: table on a terminal (fitted to its width), csv otherwise.
pub fn stdout_printer(args: &Args, stdout_tty: bool) -> Printer {
    let format = args.format.unwrap_or(if stdout_tty {
        OutputFormat::Table
    } else {
        OutputFormat::Csv
    });
    Printer {
        format,
        opts: FormatOptions {
            header: !args.no_header,
            max_width: if stdout_tty { terminal_width() } else { None },
            threads: render_threads(args),
            ..FormatOptions::default()
        },
        timer: args.timer,
    }
}

/// Threads that render CSV and TSV output: the worker threads asked for, else every core.
pub(crate) fn render_threads(args: &Args) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// The width of the terminal on stdout, if it is one.
pub fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}

/// Reads every source, in order: `-c` texts as given, files from disk, and the whole of
/// stdin when there is no source. `.rask` files are DSL, and everything is with `--dsl`.
pub fn load_sources(args: &Args) -> Result<Vec<Script>> {
    let language = |path: Option<&Path>| {
        let rask = path.is_some_and(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("rask")));
        if args.dsl || rask {
            Language::Dsl
        } else {
            Language::Sql
        }
    };
    if args.sources.is_empty() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::io("<stdin>", e))?;
        return Ok(vec![Script {
            text,
            language: language(None),
        }]);
    }
    args.sources
        .iter()
        .map(|s| match s {
            Source::Command(text) => Ok(Script {
                text: text.clone(),
                language: language(None),
            }),
            Source::File(path) => Ok(Script {
                text: std::fs::read_to_string(path).map_err(|e| Error::io(path.display().to_string(), e))?,
                language: language(Some(path)),
            }),
        })
        .collect()
}

/// On Ctrl-C sets `cancel` (the running query stops with "Query cancelled"); a second Ctrl-C
/// before the flag was consumed exits at once with code 130.
fn install_ctrlc(cancel: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_CANCELLED);
        }
    });
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;
    use crate::error::Location;

    #[test]
    fn caret_points_at_the_column() {
        let sql = "select 1;\nselec 2 frm t;";
        assert_eq!(caret_lines(sql, 2, 9), "LINE 2: selec 2 frm t;\n                ^\n");
        assert_eq!(caret_lines(sql, 1, 1), "LINE 1: select 1;\n        ^\n");
        assert_eq!(caret_lines(sql, 7, 1), "");
        assert_eq!(caret_lines("\tx y", 1, 4), "LINE 1: \tx y\n        \t  ^\n");
    }

    #[test]
    fn parse_errors_keep_their_location() {
        let err = Error::Parse {
            message: "Expected FROM".into(),
            location: Some(Location { line: 1, column: 3 }),
        };
        assert!(matches!(err, Error::Parse { location: Some(l), .. } if l.column == 3));
        assert_eq!(fail(err, Some("a b")).map_err(|f| f.exit_code()), Err(1));
        assert_eq!(fail(Error::Cancelled, None).map_err(|f| f.exit_code()), Err(130));
        let pipe = Error::io("<output>", std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(fail(pipe, None).is_ok());
    }

    #[test]
    fn config_from_args() {
        let args = Args::try_parse_from_iter(["rask", "-t", "3", "-m", "1GB", "--disable-rule", "x"]).unwrap();
        let config = session_config(&args).unwrap();
        assert_eq!(config.exec.threads, 3);
        assert_eq!(config.exec.target_partitions, 3);
        assert_eq!(config.memory_limit, 1_000_000_000);
        assert!(config.disabled_rules.contains("x"));
    }

    #[test]
    fn printer_defaults_follow_the_terminal() {
        let args = Args::try_parse_from_iter(["rask", "--no-header"]).unwrap();
        assert_eq!(stdout_printer(&args, false).format, OutputFormat::Csv);
        assert!(!stdout_printer(&args, false).opts.header);
        let args = Args::try_parse_from_iter(["rask", "-F", "json"]).unwrap();
        assert_eq!(stdout_printer(&args, true).format, OutputFormat::Json);
    }

    #[test]
    fn sources_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "select 2;").unwrap();
        let args = Args::try_parse_from_iter([
            OsStr::new("rask"),
            OsStr::new("-c"),
            OsStr::new("select 1"),
            file.as_os_str(),
        ])
        .unwrap();
        let sql = |text: &str| Script {
            text: text.into(),
            language: Language::Sql,
        };
        assert_eq!(load_sources(&args).unwrap(), vec![sql("select 1"), sql("select 2;")]);
        // `.rask` files are DSL; with --dsl, `-c` texts are too.
        let rask = dir.path().join("b.rask");
        std::fs::write(&rask, "t.head(1)").unwrap();
        let args = Args::try_parse_from_iter([OsStr::new("rask"), rask.as_os_str()]).unwrap();
        assert_eq!(load_sources(&args).unwrap()[0].language, Language::Dsl);
        let args = Args::try_parse_from_iter(["rask", "--dsl", "-c", "t.head(1)"]).unwrap();
        assert_eq!(load_sources(&args).unwrap()[0].language, Language::Dsl);
        let missing = Args::try_parse_from_iter(["rask", "-f", "/nonexistent/x.sql"]).unwrap();
        let err = load_sources(&missing).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/x.sql"), "{err}");
    }
}
