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
            Completion::Path => {
                let (start, mut pairs) = self.files.complete_path(line, pos)?;
                close_quotes(&line[..start], &line[pos..], &mut pairs);
                Ok((start, pairs))
            }
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

/// Ends each completed file name (not a directory) with the quote the path was opened
/// with, unless the quote follows the cursor already.
fn close_quotes(before: &str, after: &str, pairs: &mut [Pair]) {
    let Some(quote) = before.chars().last().filter(|c| matches!(c, '\'' | '"')) else {
        return;
    };
    if after.starts_with(quote) {
        return;
    }
    for pair in pairs.iter_mut().filter(|p| !p.replacement.ends_with('/')) {
        pair.replacement.push(quote);
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.colour {
            Cow::Owned(highlight(&self.before, line, self.language))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_quotes_get_their_closing_quote() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.csv"), "a\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let helper = ReplHelper::new(false);
        let history = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&history);
        let prefix = dir.path().display().to_string();
        for (quote, language) in [('\'', Language::Sql), ('"', Language::Dsl)] {
            let mut helper = ReplHelper {
                language,
                ..ReplHelper::new(false)
            };
            helper.vocab = Vocabulary::default();
            let line = format!("select * from read_csv({quote}{prefix}/d");
            let (start, pairs) = helper.complete(&line, line.len(), &ctx).unwrap();
            assert_eq!(start, line.len() - prefix.len() - 2);
            let replacements: Vec<&str> = pairs.iter().map(|p| p.replacement.as_str()).collect();
            assert_eq!(replacements, vec![format!("{prefix}/data.csv{quote}")]);
            let line = format!("select * from read_csv({quote}{prefix}/s");
            let (_, pairs) = helper.complete(&line, line.len(), &ctx).unwrap();
            assert_eq!(pairs[0].replacement, format!("{prefix}/sub/"));
        }
        // Words complete as words.
        let (start, pairs) = helper.complete("SEL", 3, &ctx).unwrap();
        assert_eq!((start, pairs[0].replacement.as_str()), (0, "SELECT"));
    }
}
