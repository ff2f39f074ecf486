//! The REPL's dot commands: `.help`, `.tables`, `.schema`, `.mode`, `.timer`, `.maxrows`,
//! `.read`, `.output`, `.explain`, `.remote`, `.dsl`, `.sql` and `.quit`. What they show goes where
//! results go (the terminal, or the `.output` file).

use std::io::Write;
use std::path::Path;

use crate::cli::format::{type_name, OutputFormat};
use crate::cli::repl::script::{read_file, Explain};
use crate::cli::repl::ReplState;
use crate::cli::run::Language;
use crate::error::{Error, Result};
use crate::session::Session;

/// The text `.help` prints.
pub const HELP: &str = "\
Enter SQL statements ending with ';' (or, after .dsl, DSL chains: a statement ends with its
line unless brackets are open or it ends with '.'). Tab completes keywords, functions, tables,
columns and, inside quotes, file paths; Ctrl-R searches the history (~/.rask_history).
Ctrl-C cancels a running query or discards the statement being typed; Ctrl-D exits.
.help                  show this text
.dsl / .sql            switch to the dataframe DSL / back to SQL
.tables                list tables, views and frames
.schema [NAME]         show the columns of one table, or of all
.mode [FMT]            output format: table, csv, tsv, json, ndjson, markdown (no FMT: show it)
.timer on|off          print the run time of each statement
.maxrows N             rows a table shows before eliding the middle (first and last N/2)
.read FILE             run the statements in FILE (DSL when it ends in .rask; dot commands
                       too); stops at the first error and names the statement and its line
.output [FILE]         write results to FILE (it appears, whole, when output goes back to
                       the terminal); .output alone goes back to the terminal
.explain on|off|analyze
                       on: print each query's plans (logical, optimized, stages) instead of
                       running it; analyze: run it and print the plans with run time, memory
                       and spill figures; off: run queries (other statements always run)
.remote [URL|off]      run queries on a Spark cluster through Spark Connect (sc://host:15002);
                       off: run them here again; no URL: show where queries run
.quit                  exit (also .exit, Ctrl-D)
";

/// What the REPL does after a dot command.
#[derive(Debug, PartialEq, Eq)]
pub enum DotOutcome {
    /// Read the next line.
    Continue,
    /// Read statements in this language from now on.
    Switch(Language),
    /// Leave the REPL.
    Quit,
    /// The command failed and said so already (a `.read` script stopped).
    Failed,
}

/// Runs one dot command; `depth` counts the `.read` scripts it runs in.
pub fn dot_command(line: &str, session: &mut Session, state: &mut ReplState, depth: usize) -> Result<DotOutcome> {
    let (command, rest) = match line.split_once(char::is_whitespace) {
        Some((c, r)) => (c, r.trim()),
        None => (line, ""),
    };
    let arg = (!rest.is_empty()).then_some(rest);
    match (command, arg) {
        (".quit" | ".exit" | ".q", _) => return Ok(DotOutcome::Quit),
        (".help", _) => show(state, HELP)?,
        (".dsl", _) => return Ok(DotOutcome::Switch(Language::Dsl)),
        (".sql", _) => return Ok(DotOutcome::Switch(Language::Sql)),
        (".tables", _) => {
            let text: String = session.table_names().iter().map(|n| format!("{n}\n")).collect();
            show(state, &text)?;
        }
        (".schema", name) => show(state, &schema_text(session, name)?)?,
        (".mode", None) => show(state, &format!("{}\n", state.printer.format.name()))?,
        (".mode", Some(name)) => {
            state.printer.format = OutputFormat::from_name(name).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown mode '{name}': use table, csv, tsv, json, ndjson or markdown"
                ))
            })?;
        }
        (".timer", Some("on")) => state.printer.timer = true,
        (".timer", Some("off")) => state.printer.timer = false,
        (".timer", _) => return Err(usage(".timer on|off")),
        (".maxrows", Some(n)) => {
            state.printer.opts.max_rows = n
                .parse()
                .map_err(|_| Error::InvalidInput(format!("usage: .maxrows N (got '{n}')")))?;
        }
        (".maxrows", None) => show(state, &format!("{}\n", state.printer.opts.max_rows))?,
        (".read", Some(path)) => return read_file(session, state, Path::new(unquote(path)), depth),
        (".read", None) => return Err(usage(".read FILE")),
        (".output", Some(path)) => state.output.redirect(Path::new(unquote(path)))?,
        (".output", None) => {
            state.output.close()?;
        }
        (".explain", Some(mode)) => {
            state.explain = match mode.to_ascii_lowercase().as_str() {
                "on" => Explain::On,
                "off" => Explain::Off,
                "analyze" => Explain::Analyze,
                _ => return Err(usage(".explain on|off|analyze")),
            };
        }
        (".explain", None) => {
            let mode = match state.explain {
                Explain::On => "on",
                Explain::Off => "off",
                Explain::Analyze => "analyze",
            };
            show(state, &format!("{mode}\n"))?;
        }
        (".remote", None) => {
            let place = match &session.config().remote {
                Some(endpoint) => format!("{endpoint}\n"),
                None => "off (queries run here)\n".to_string(),
            };
            show(state, &place)?;
        }
        (".remote", Some(url)) => {
            session.config_mut().remote = match unquote(url) {
                "off" | "local" | "none" => None,
                url => Some(crate::remote::Endpoint::parse(url)?),
            };
        }
        _ => return Err(Error::InvalidInput(format!("unknown command '{command}': try .help"))),
    }
    Ok(DotOutcome::Continue)
}

fn usage(text: &str) -> Error {
    Error::InvalidInput(format!("usage: {text}"))
}

/// A file name without the quotes around it, if any.
fn unquote(path: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = path.strip_prefix(q).and_then(|p| p.strip_suffix(q)) {
            return inner;
        }
    }
    path
}

fn show(state: &mut ReplState, text: &str) -> Result<()> {
    state
        .output
        .write_all(text.as_bytes())
        .and_then(|_| state.output.flush())
        .map_err(|e| Error::io("<output>", e))
}

/// `CREATE TABLE name(col type, ...);` lines for table `name`, or for every table.
fn schema_text(session: &Session, name: Option<&str>) -> Result<String> {
    let names = match name {
        Some(n) => vec![n.to_string()],
        None => session.table_names(),
    };
    let mut text = String::new();
    for name in names {
        let schema = session
            .table_schema(&name)
            .ok_or_else(|| Error::plan(format!("Table with name {name} does not exist!")))?;
        let columns: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("{} {}", f.name(), type_name(f.data_type()).to_uppercase()))
            .collect();
        text.push_str(&format!("CREATE TABLE {name}({});\n", columns.join(", ")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::cli::format::FormatOptions;
    use crate::cli::repl::output::Output;
    use crate::cli::run::Printer;
    use crate::session::SessionConfig;

    /// A writer whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn take(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
        }
    }

    fn setup() -> (Session, ReplState, Shared) {
        let session = Session::new(SessionConfig::default()).unwrap();
        let shared = Shared::default();
        let printer = Printer {
            format: OutputFormat::Csv,
            opts: FormatOptions::default(),
            timer: false,
        };
        let state = ReplState::new(printer, Output::to_writer(Box::new(shared.clone())), false);
        (session, state, shared)
    }

    fn dot(line: &str, session: &mut Session, state: &mut ReplState) -> Result<DotOutcome> {
        dot_command(line, session, state, 0)
    }

    #[test]
    fn language_switches_and_quit() {
        let (mut session, mut state, _) = setup();
        assert_eq!(
            dot(".dsl", &mut session, &mut state).unwrap(),
            DotOutcome::Switch(Language::Dsl)
        );
        assert_eq!(
            dot(".sql", &mut session, &mut state).unwrap(),
            DotOutcome::Switch(Language::Sql)
        );
        assert_eq!(dot(".exit", &mut session, &mut state).unwrap(), DotOutcome::Quit);
    }

    #[test]
    fn printer_settings() {
        let (mut session, mut state, out) = setup();
        dot(".mode table", &mut session, &mut state).unwrap();
        assert_eq!(state.printer.format, OutputFormat::Table);
        dot(".mode", &mut session, &mut state).unwrap();
        assert_eq!(out.take(), "table\n");
        dot(".timer on", &mut session, &mut state).unwrap();
        assert!(state.printer.timer);
        dot(".maxrows 10", &mut session, &mut state).unwrap();
        assert_eq!(state.printer.opts.max_rows, 10);
        dot(".maxrows", &mut session, &mut state).unwrap();
        assert_eq!(out.take(), "10\n");
        for bad in [".mode xml", ".bogus", ".timer", ".maxrows x", ".read", ".explain maybe"] {
            assert!(dot(bad, &mut session, &mut state).is_err(), "{bad}");
        }
    }

    #[test]
    fn help_tables_and_schema() {
        let (mut session, mut state, out) = setup();
        dot(".help", &mut session, &mut state).unwrap();
        let help = out.take();
        for command in crate::cli::repl::complete::DOT_COMMANDS {
            assert!(help.contains(command), "{command} is not in .help");
        }
        dot(".tables", &mut session, &mut state).unwrap();
        assert_eq!(out.take(), "");
        session.execute("create table t(a int, b varchar)").unwrap();
        dot(".tables", &mut session, &mut state).unwrap();
        assert_eq!(out.take(), "t\n");
        dot(".schema t", &mut session, &mut state).unwrap();
        assert_eq!(out.take(), "CREATE TABLE t(a INT32, b VARCHAR);\n");
        let err = dot(".schema nope", &mut session, &mut state).unwrap_err();
        assert!(err.to_string().contains("nope"));
    }

    #[test]
    fn output_goes_to_a_file_until_switched_back() {
        let (mut session, mut state, out) = setup();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        dot(&format!(".output '{}'", path.display()), &mut session, &mut state).unwrap();
        crate::cli::repl::script::run_text(&mut session, &mut state, "select 1 as a; select 2 as b;", Language::Sql)
            .unwrap();
        assert!(!path.exists(), "the file appears when complete");
        dot(".output", &mut session, &mut state).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n1\nb\n2\n");
        crate::cli::repl::script::run_text(&mut session, &mut state, "select 3 as c;", Language::Sql).unwrap();
        assert_eq!(out.take(), "c\n3\n");
    }

    #[test]
    fn explain_prints_plans_instead_of_running() {
        let (mut session, mut state, out) = setup();
        dot(".explain on", &mut session, &mut state).unwrap();
        dot(".explain", &mut session, &mut state).unwrap();
        assert_eq!(out.take(), "on\n");
        let run = |session: &mut Session, state: &mut ReplState, sql: &str| {
            crate::cli::repl::script::run_text(session, state, sql, Language::Sql)
        };
        run(
            &mut session,
            &mut state,
            "create table t as select 1 as a; select a + 1 from t;",
        )
        .unwrap();
        let text = out.take();
        assert!(text.starts_with("== Logical plan ==\n"), "{text}");
        assert!(text.contains("== Stage graph =="), "{text}");
        assert!(!text.contains("a,"), "{text}");
        dot(".explain analyze", &mut session, &mut state).unwrap();
        run(&mut session, &mut state, "select a from t;").unwrap();
        assert!(out.take().contains("== Analyze ==\nrows: 1\n"));
        dot(".explain off", &mut session, &mut state).unwrap();
        run(&mut session, &mut state, "select a from t;").unwrap();
        assert_eq!(out.take(), "a\n1\n");
        // EXPLAIN typed out prints its plans as text too, not as a column of lines.
        run(&mut session, &mut state, "explain select a from t; select 2 as b;").unwrap();
        let text = out.take();
        assert!(
            text.starts_with("== Logical plan ==\n") && text.ends_with("b\n2\n"),
            "{text}"
        );
    }

    #[test]
    fn read_runs_a_script_and_stops_at_the_first_error() {
        let (mut session, mut state, out) = setup();
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.sql");
        std::fs::write(
            &script,
            "create table t as select 1 as a;\n.mode csv\nselect a from t; select 2 as b;\n\nselect *\n  from nope;\ncreate table never(a int);\n",
        )
        .unwrap();
        let outcome = dot(&format!(".read {}", script.display()), &mut session, &mut state).unwrap();
        assert_eq!(outcome, DotOutcome::Failed);
        assert_eq!(out.take(), "a\n1\nb\n2\n");
        assert_eq!(session.table_names(), vec!["t".to_string()]);

        let dsl = dir.path().join("s.rask");
        std::fs::write(&dsl, "x = t.select(a)\nx.head(1)\n").unwrap();
        let outcome = dot(&format!(".read {}", dsl.display()), &mut session, &mut state).unwrap();
        assert_eq!(outcome, DotOutcome::Continue);
        assert_eq!(out.take(), "a\n1\n");
        assert_eq!(state.language, Language::Sql, "the REPL's language is kept");
        assert!(dot(".read /no/such/file.sql", &mut session, &mut state).is_err());
    }
}
