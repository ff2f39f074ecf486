//! The interactive REPL: rustyline with a history file (`~/.rask_history`, Ctrl-R searches
//! it), tab completion and syntax highlighting ([`helper`]), statements over several lines
//! until one ends with `;` (SQL) or is complete (DSL: brackets closed, not ending in `.`),
//! and dot commands ([`dot`]). The prompt shows the language. Errors are printed and the
//! REPL goes on. Ctrl-C cancels the running query (the REPL stays) or discards the
//! statement being typed; Ctrl-D exits.

pub mod complete;
pub mod dot;
pub mod helper;
pub mod highlight;
pub mod lexer;
pub mod output;
pub mod script;
pub mod words;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustyline::config::{ColorMode, CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;

use crate::cli::repl::dot::{dot_command, DotOutcome};
use crate::cli::repl::helper::ReplHelper;
use crate::cli::repl::output::Output;
use crate::cli::repl::script::{run_text, Explain};
use crate::cli::run::{report_error, terminal_width, Language, Printer};
use crate::error::{Error, Result};
use crate::session::Session;

const SQL_PROMPT: &str = "rask> ";
const DSL_PROMPT: &str = "rask dsl> ";
const CONTINUATION: &str = "   ·> ";
const DSL_CONTINUATION: &str = "       ·> ";

/// What dot commands change: how results are printed and where, `.explain`, the language.
#[derive(Debug)]
pub struct ReplState {
    /// Format, row limit and timer.
    pub printer: Printer,
    /// Whether queries are explained instead of run.
    pub explain: Explain,
    /// The language statements are read in.
    pub language: Language,
    /// Where results go.
    pub output: Output,
    /// Whether the terminal may be coloured.
    colour: bool,
}

impl ReplState {
    /// SQL, queries run, results printed by `printer` to `output`.
    pub fn new(printer: Printer, output: Output, colour: bool) -> Self {
        Self {
            printer,
            explain: Explain::Off,
            language: Language::Sql,
            output,
            colour,
        }
    }

    /// The printer for the current output: fitted to the terminal's width and coloured
    /// there, full width and plain in a file.
    pub fn printer_for_output(&self) -> Printer {
        let mut printer = self.printer.clone();
        let terminal = self.output.is_terminal();
        // A terminal too narrow to tell (a fresh pseudo-terminal says 0) is drawn unfitted.
        printer.opts.max_width = terminal_width().filter(|w| terminal && *w >= 20);
        printer.opts.colour = terminal && self.colour;
        printer
    }
}

/// Runs the REPL on `session` until `.quit` or Ctrl-D.
pub fn run(session: &mut Session, printer: Printer) -> Result<()> {
    let colour = highlight::colour_enabled();
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .color_mode(if colour {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config).map_err(readline_error)?;
    // After the editor: rustyline takes SIGINT for as long as it lives; the handler takes it
    // back (at the prompt Ctrl-C is a key rustyline reads, not a signal).
    install_ctrlc(session.cancel_flag());
    editor.set_helper(Some(ReplHelper::new(colour)));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut state = ReplState::new(printer, Output::stdout(), colour);
    let mut buffer = StatementBuffer::default();
    loop {
        buffer.language = state.language;
        if let Some(helper) = editor.helper_mut() {
            if buffer.is_empty() {
                helper.refresh(session);
            }
            helper.language = state.language;
            helper.before = buffer.text().to_string();
        }
        let prompt = match (state.language, buffer.is_empty()) {
            (Language::Sql, true) => SQL_PROMPT,
            (Language::Sql, false) => CONTINUATION,
            (Language::Dsl, true) => DSL_PROMPT,
            (Language::Dsl, false) => DSL_CONTINUATION,
        };
        if buffer.is_empty() {
            crate::exec::allocator::give_back_freed_memory();
        }
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() && line.trim_start().starts_with('.') {
                    let _ = editor.add_history_entry(line.trim());
                    match dot_command(line.trim(), session, &mut state, 0) {
                        Ok(DotOutcome::Continue | DotOutcome::Failed) => {}
                        Ok(DotOutcome::Switch(language)) => state.language = language,
                        Ok(DotOutcome::Quit) => break,
                        Err(e) => report_error(&e, None),
                    }
                    continue;
                }
                if let Some(text) = buffer.push_line(&line) {
                    let _ = editor.add_history_entry(text.trim());
                    let language = state.language;
                    if let Err(e) = run_text(session, &mut state, &text, language) {
                        report_error(&e, Some(&text));
                    }
                }
            }
            // Ctrl-C at the prompt: discard the statement being typed (nothing on an empty line).
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(readline_error(e)),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    state.output.close().map(|_| ())
}

/// On Ctrl-C while a query runs, sets `cancel`: the query stops (its spill files removed)
/// and the REPL goes on. Unlike a script run, a second Ctrl-C does not exit. At the prompt
/// Ctrl-C is a key rustyline reads, not a signal.
fn install_ctrlc(cancel: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
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
    /// An empty buffer for statements in `language`.
    pub fn new(language: Language) -> Self {
        Self {
            text: String::new(),
            language,
        }
    }

    /// The lines typed so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Takes the lines typed so far, leaving the buffer empty.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

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
            Language::Sql => ends_with_semicolon(&self.text),
            Language::Dsl => crate::frontend::dsl::is_complete(&self.text),
        };
        if complete {
            Some(std::mem::take(&mut self.text))
        } else {
            None
        }
    }
}

/// Whether SQL `text` ends with a `;` outside strings and comments (a comment may follow).
fn ends_with_semicolon(text: &str) -> bool {
    let tokens = lexer::tokenize(text, Language::Sql);
    if tokens.last().is_some_and(|t| t.open) {
        return false;
    }
    tokens
        .iter()
        .rev()
        .find(|t| !matches!(t.kind, lexer::TokenKind::Space | lexer::TokenKind::Comment))
        .is_some_and(|t| t.text(text) == ";")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // A ';' in a string or comment does not end the statement; a comment after one may.
        assert_eq!(buf.push_line("select 'a;"), None);
        assert_eq!(
            buf.push_line("b'; -- done"),
            Some("select 'a;\nb'; -- done\n".to_string())
        );
        assert_eq!(buf.push_line("select 1 -- not yet;"), None);
        assert_eq!(buf.take(), "select 1 -- not yet;\n");
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
}
