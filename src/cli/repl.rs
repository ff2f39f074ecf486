//! The interactive REPL: rustyline with a history file (`~/.rask_history`), statements over
//! several lines until one ends with `;` (SQL) or is complete (DSL: brackets closed, not
//! ending in `.`), and dot commands (`.help`, `.tables`, `.schema`, `.mode`, `.timer`,
//! `.maxrows`, `.dsl`, `.sql`, `.quit`). The prompt shows the language. Errors are printed and
//! the REPL goes on; Ctrl-C clears the line being typed (or cancels the running query),
//! Ctrl-D exits.

use std::io::Write;
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::cli::format::{type_name, OutputFormat};
use crate::cli::run::{report_error, run_statements, terminal_width, Language, Printer};
use crate::error::{Error, Result};
use crate::session::Session;

const SQL_PROMPT: &str = "rask> ";
const DSL_PROMPT: &str = "rask dsl> ";
const CONTINUATION: &str = "   ·> ";
const DSL_CONTINUATION: &str = "       ·> ";

const HELP: &str = "\
Enter SQL statements ending with ';' (or, after .dsl, DSL chains: a statement ends with its
line unless brackets are open or it ends with '.'). Ctrl-C clears the line or cancels a query,
Ctrl-D exits.
.help             show this text
.dsl / .sql       switch to the dataframe DSL / back to SQL
.tables           list tables and views
.schema [NAME]    show the columns of one table, or of all
.mode FMT         output format: table, csv, tsv, json, ndjson, markdown
.timer on|off     print the run time of each statement
.maxrows N        rows a table shows before eliding the middle
.quit             exit (also .exit)
";

/// Runs the REPL on `session` until `.quit` or Ctrl-D.
pub fn run(session: &mut Session, mut printer: Printer) -> Result<()> {
    let mut editor = DefaultEditor::new().map_err(readline_error)?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut buffer = StatementBuffer::default();
    loop {
        let prompt = match (buffer.language, buffer.is_empty()) {
            (Language::Sql, true) => SQL_PROMPT,
            (Language::Sql, false) => CONTINUATION,
            (Language::Dsl, true) => DSL_PROMPT,
            (Language::Dsl, false) => DSL_CONTINUATION,
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() && line.trim_start().starts_with('.') {
                    let _ = editor.add_history_entry(line.trim());
                    let mut out = std::io::stdout().lock();
                    match dot_command(line.trim(), session, &mut printer, &mut out) {
                        Ok(DotOutcome::Continue) => {}
                        Ok(DotOutcome::Switch(language)) => buffer.language = language,
                        Ok(DotOutcome::Quit) => break,
                        Err(e) => report_error(&e, None),
                    }
                    continue;
                }
                if let Some(text) = buffer.push_line(&line) {
                    let _ = editor.add_history_entry(text.trim());
                    printer.opts.max_width = terminal_width();
                    let mut out = std::io::stdout().lock();
                    if let Err(e) = run_statements(session, &text, buffer.language, &printer, &mut out) {
                        report_error(&e, Some(&text));
                    }
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(readline_error(e)),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// `~/.rask_history`, when the home directory is known.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rask_history"))
}

fn readline_error(e: ReadlineError) -> Error {
    match e {
        ReadlineError::Io(source) => Error::io("<terminal>", source),
        other => Error::io("<terminal>", std::io::Error::other(other.to_string())),
    }
}

/// Collects lines until a statement is complete: SQL when its last line ends with `;`, the
/// DSL when [`crate::frontend::dsl::is_complete`] says so.
#[derive(Debug)]
pub struct StatementBuffer {
    text: String,
    /// The language being typed.
    pub language: Language,
}

impl Default for StatementBuffer {
    fn default() -> Self {
        Self {
            text: String::new(),
            language: Language::Sql,
        }
    }
}

impl StatementBuffer {
    /// True when no statement is being typed.
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Forgets the statement being typed.
    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// Adds a line; returns the whole statement text once it ends with `;`.
    pub fn push_line(&mut self, line: &str) -> Option<String> {
        if self.is_empty() && line.trim().is_empty() {
            self.text.clear();
            return None;
        }
        self.text.push_str(line);
        self.text.push('\n');
        let complete = match self.language {
            Language::Sql => line.trim_end().ends_with(';'),
            Language::Dsl => crate::frontend::dsl::is_complete(&self.text),
        };
        if complete {
            Some(std::mem::take(&mut self.text))
        } else {
            None
        }
    }
}

/// What the REPL does after a dot command.
#[derive(Debug, PartialEq, Eq)]
pub enum DotOutcome {
    /// Read the next line.
    Continue,
    /// Read statements in this language from now on.
    Switch(Language),
    /// Leave the REPL.
    Quit,
}

/// Runs one dot command, writing what it shows to `out`.
pub fn dot_command(line: &str, session: &Session, printer: &mut Printer, out: &mut dyn Write) -> Result<DotOutcome> {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let arg = words.next();
    let write = |out: &mut dyn Write, text: &str| {
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("<output>", e))
    };
    match (command, arg) {
        (".quit" | ".exit" | ".q", _) => return Ok(DotOutcome::Quit),
        (".help", _) => write(out, HELP)?,
        (".dsl", _) => return Ok(DotOutcome::Switch(Language::Dsl)),
        (".sql", _) => return Ok(DotOutcome::Switch(Language::Sql)),
        (".tables", _) => {
            let mut text = session.table_names().join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            write(out, &text)?;
        }
        (".schema", name) => write(out, &schema_text(session, name)?)?,
        (".mode", None) => write(out, &format!("{}\n", printer.format.name()))?,
        (".mode", Some(name)) => {
            printer.format = OutputFormat::from_name(name).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown mode '{name}': use table, csv, tsv, json, ndjson or markdown"
                ))
            })?;
        }
        (".timer", Some("on")) => printer.timer = true,
        (".timer", Some("off")) => printer.timer = false,
        (".timer", _) => return Err(Error::InvalidInput("usage: .timer on|off".into())),
        (".maxrows", Some(n)) => {
            printer.opts.max_rows = n
                .parse()
                .map_err(|_| Error::InvalidInput(format!("usage: .maxrows N (got '{n}')")))?;
        }
        _ => return Err(Error::InvalidInput(format!("unknown command '{command}': try .help"))),
    }
    Ok(DotOutcome::Continue)
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
    use super::*;
    use crate::cli::format::FormatOptions;
    use crate::session::SessionConfig;

    fn printer() -> Printer {
        Printer {
            format: OutputFormat::Table,
            opts: FormatOptions::default(),
            timer: false,
        }
    }

    #[test]
    fn statements_end_with_semicolon() {
        let mut buf = StatementBuffer::default();
        assert_eq!(buf.push_line(""), None);
        assert!(buf.is_empty());
        assert_eq!(buf.push_line("select 1"), None);
        assert!(!buf.is_empty());
        assert_eq!(buf.push_line("  as a;  "), Some("select 1\n  as a;  \n".to_string()));
        assert!(buf.is_empty());
        assert_eq!(buf.push_line("select 2"), None);
        buf.clear();
        assert!(buf.is_empty());
    }

    #[test]
    fn dsl_statements_end_when_complete() {
        let mut buf = StatementBuffer {
            language: Language::Dsl,
            ..StatementBuffer::default()
        };
        assert_eq!(buf.push_line("t.filter("), None);
        assert_eq!(buf.push_line("  a > 1)."), None);
        assert_eq!(
            buf.push_line("  head(2)"),
            Some("t.filter(\n  a > 1).\n  head(2)\n".to_string())
        );
        assert_eq!(buf.push_line("x = t"), Some("x = t\n".to_string()));
    }

    #[test]
    fn dot_commands_switch_the_language() {
        let session = Session::new(SessionConfig::default()).unwrap();
        let mut p = printer();
        let mut out = Vec::new();
        assert_eq!(
            dot_command(".dsl", &session, &mut p, &mut out).unwrap(),
            DotOutcome::Switch(Language::Dsl)
        );
        assert_eq!(
            dot_command(".sql", &session, &mut p, &mut out).unwrap(),
            DotOutcome::Switch(Language::Sql)
        );
    }

    #[test]
    fn dot_commands_change_the_printer() {
        let session = Session::new(SessionConfig::default()).unwrap();
        let mut p = printer();
        let mut out = Vec::new();
        assert_eq!(
            dot_command(".mode csv", &session, &mut p, &mut out).unwrap(),
            DotOutcome::Continue
        );
        assert_eq!(p.format, OutputFormat::Csv);
        dot_command(".mode", &session, &mut p, &mut out).unwrap();
        assert_eq!(String::from_utf8(out.clone()).unwrap(), "csv\n");
        dot_command(".timer on", &session, &mut p, &mut out).unwrap();
        assert!(p.timer);
        dot_command(".maxrows 10", &session, &mut p, &mut out).unwrap();
        assert_eq!(p.opts.max_rows, 10);
        assert!(dot_command(".mode xml", &session, &mut p, &mut out).is_err());
        assert!(dot_command(".bogus", &session, &mut p, &mut out).is_err());
        assert_eq!(
            dot_command(".quit", &session, &mut p, &mut out).unwrap(),
            DotOutcome::Quit
        );
    }

    #[test]
    fn help_tables_and_schema() {
        let session = Session::new(SessionConfig::default()).unwrap();
        let mut p = printer();
        let mut out = Vec::new();
        dot_command(".help", &session, &mut p, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().contains(".schema [NAME]"));
        let mut out = Vec::new();
        dot_command(".tables", &session, &mut p, &mut out).unwrap();
        assert_eq!(out, b"");
        let err = dot_command(".schema nope", &session, &mut p, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("nope"));
    }
}
