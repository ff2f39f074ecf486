//! The rustyline [`Helper`] of the REPL: completion ([`complete`]), file paths through
//! rustyline's [`FilenameCompleter`], and highlighting ([`highlight`]). The REPL refreshes
//! its catalog snapshot, language and statement-so-far before each line.

use std::borrow::Cow;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::cli::repl::complete::{complete, Completion, Vocabulary};
use crate::cli::repl::highlight::highlight;
use crate::cli::run::Language;
use crate::session::Session;

/// Completion and highlighting for the line being edited.
pub struct ReplHelper {
    /// Tables and functions to complete.
    pub vocab: Vocabulary,
    /// The language being typed.
    pub language: Language,
    /// Earlier lines of the statement being typed.
    pub before: String,
    /// Whether to highlight.
    pub colour: bool,
    files: FilenameCompleter,
}

impl ReplHelper {
    /// A helper knowing every function; tables come with [`ReplHelper::refresh`].
    pub fn new(colour: bool) -> Self {
        Self {
            vocab: Vocabulary {
                tables: Vec::new(),
                functions: crate::cli::repl::words::function_names(),
            },
            language: Language::Sql,
            before: String::new(),
            colour,
            files: FilenameCompleter::new(),
        }
    }

    /// Takes the session's tables and their columns.
    pub fn refresh(&mut self, session: &Session) {
        self.vocab.tables = session
            .table_names()
            .into_iter()
            .map(|name| {
                let columns = session
                    .table_schema(&name)
                    .map(|s| s.fields().iter().map(|f| f.name().clone()).collect())
                    .unwrap_or_default();
                (name, columns)
            })
            .collect();
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        match complete(&self.vocab, self.language, &self.before, line, pos) {
            Completion::Path => self.files.complete_path(line, pos),
            Completion::Words { start, candidates } => Ok((
                start,
                candidates
                    .into_iter()
                    .map(|c| Pair {
                        display: c.clone(),
                        replacement: c,
                    })
                    .collect(),
            )),
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.colour {
            Cow::Owned(highlight(line, self.language))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.colour && kind != CmdKind::MoveCursor
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}
