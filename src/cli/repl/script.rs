//! Statements one at a time: splitting text at its top-level `;`, running it with the REPL's
//! settings (`.explain` mode included), and `.read FILE`, which runs a script (SQL, or the
//! DSL for `.rask` files; dot commands too) and stops at the first error, naming the
//! statement and its line.

use std::path::Path;

use crate::cli::repl::dot::{dot_command, DotOutcome};
use crate::cli::repl::lexer::{tokenize, TokenKind};
use crate::cli::repl::{ReplState, StatementBuffer};
use crate::cli::run::{report_error, run_statements, Language};
use crate::error::{Error, Result};
use crate::frontend::dsl::verbs::{self, Role};
use crate::session::{Session, StatementResult};

/// How `.explain` changes what a query does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// Queries run.
    Off,
    /// Queries are planned and their plans printed instead of running.
    On,
    /// Queries run and print their plans with run time, memory and spill figures.
    Analyze,
}

/// One statement of a text: the 1-based line it starts on, and its text preceded by blank
/// lines and spaces so positions in it are positions in the whole text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Line of the statement's first character (1-based).
    pub line: usize,
    /// The statement, padded to keep its place.
    pub text: String,
}

/// Splits `text` at its top-level `;` (not in strings or comments) into statements; blank
/// ones are left out. `first_line` is the line `text` starts on.
pub fn split(text: &str, language: Language, first_line: usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut push = |from: usize, to: usize| {
        let body = &text[from..to];
        let Some(offset) = body.find(|c: char| !c.is_whitespace()) else {
            return;
        };
        let begin = from + offset;
        let before = &text[..begin];
        let lines_before = before.matches('\n').count();
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        let mut padded = "\n".repeat(first_line - 1 + lines_before);
        padded.push_str(&" ".repeat(column));
        padded.push_str(&text[begin..to]);
        pieces.push(Piece {
            line: first_line + lines_before,
            text: padded,
        });
    };
    for token in tokenize(text, language) {
        if token.kind == TokenKind::Punct && token.text(text) == ";" {
            push(start, token.end);
            start = token.end;
        }
    }
    push(start, text.len());
    pieces
}

/// Runs `text` with the REPL's printer and output. Plans (EXPLAIN, and every query when
/// `.explain` is on) print as plain text rather than as a table of lines.
pub fn run_text(session: &mut Session, state: &mut ReplState, text: &str, language: Language) -> Result<()> {
    let printer = state.printer_for_output();
    if state.explain == Explain::Off && !text.to_ascii_lowercase().contains("explain") {
        return run_statements(session, text, language, &printer, &mut state.output);
    }
    for piece in split(text, language, 1) {
        match plan_statement(&piece.text, language, state.explain) {
            Some(explain) => {
                let mut lines = String::new();
                for result in match language {
                    Language::Sql => session.execute(&explain)?,
                    Language::Dsl => session.execute_dsl(&explain)?,
                } {
                    if let StatementResult::Query(q) = result {
                        lines.push_str(&plan_text(&q)?);
                    }
                }
                std::io::Write::write_all(&mut state.output, lines.as_bytes())
                    .and_then(|_| std::io::Write::flush(&mut state.output))
                    .map_err(|e| Error::io("<output>", e))?;
            }
            None => run_statements(session, &piece.text, language, &printer, &mut state.output)?,
        }
    }
    Ok(())
}

/// The statement to run for `piece` when what it prints is a plan: `piece` itself when it is
/// an EXPLAIN (SQL) or ends in `.explain(…)` (DSL); with `.explain` on, the statement that
/// explains it when it is a query (SQL) or a chain that computes rows (DSL). `None` for
/// anything else, which runs and prints as usual.
fn plan_statement(piece: &str, language: Language, mode: Explain) -> Option<String> {
    use sqlparser::ast::{DescribeAlias, Statement};
    let analyze = mode == Explain::Analyze;
    match language {
        Language::Sql => match crate::frontend::sql::parse(piece).ok()?.as_slice() {
            [Statement::Explain {
                describe_alias: DescribeAlias::Explain,
                ..
            }] => Some(piece.to_string()),
            [Statement::Query(_)] if mode != Explain::Off => {
                Some(format!("EXPLAIN {}{piece}", if analyze { "ANALYZE " } else { "" }))
            }
            _ => None,
        },
        Language::Dsl => {
            let statements = crate::frontend::dsl::parse(piece).ok()?;
            let [statement] = statements.as_slice() else {
                return None;
            };
            let action = statement
                .chain
                .calls
                .last()
                .filter(|c| verbs::lookup(&c.verb).is_some_and(|s| s.role == Role::Action));
            match action {
                Some(call) if call.verb == "explain" => Some(piece.to_string()),
                None if statement.target.is_none() && mode != Explain::Off => Some(format!(
                    "{}.explain({})",
                    statement.text.trim_end().trim_end_matches(';'),
                    if analyze { "analyze = true" } else { "" }
                )),
                _ => None,
            }
        }
    }
}

/// The lines of an EXPLAIN result (one `plan` column), as plain text.
fn plan_text(result: &crate::session::QueryResult) -> Result<String> {
    let mut text = String::new();
    for batch in &result.batches {
        let Some(column) = batch.columns().first() else {
            continue;
        };
        let lines = column
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| Error::internal("EXPLAIN result is not text"))?;
        for line in lines.iter().flatten() {
            text.push_str(line);
            text.push('\n');
        }
    }
    Ok(text)
}

/// Runs the script in `path` (DSL when it ends in `.rask`), stopping at the first error,
/// which is reported with the statement's number and line. Returns whether every statement
/// succeeded (or the script asked to quit).
pub fn read_file(session: &mut Session, state: &mut ReplState, path: &Path, depth: usize) -> Result<DotOutcome> {
    if depth > 16 {
        return Err(Error::InvalidInput(format!(
            ".read {}: scripts nested more than 16 deep (does a script read itself?)",
            path.display()
        )));
    }
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(&name, e))?;
    let language = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("rask")) {
        Language::Dsl
    } else {
        Language::Sql
    };
    let saved = state.language;
    state.language = language;
    let outcome = read_text(session, state, &text, &name, depth);
    state.language = saved;
    outcome
}

fn read_text(session: &mut Session, state: &mut ReplState, text: &str, name: &str, depth: usize) -> Result<DotOutcome> {
    let stopped = |number: usize, line: usize| {
        eprintln!("{name}: stopped at statement {number} (line {line})");
        Ok(DotOutcome::Failed)
    };
    let mut buffer = StatementBuffer::new(state.language);
    let mut number = 0;
    let mut start_line = 1;
    let mut chunks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if buffer.is_empty() && line.trim_start().starts_with('.') {
            chunks.push((i + 1, line.to_string(), true));
            continue;
        }
        if buffer.is_empty() {
            start_line = i + 1;
        }
        if let Some(chunk) = buffer.push_line(line) {
            chunks.push((start_line, chunk, false));
        }
    }
    if !buffer.is_empty() {
        chunks.push((start_line, buffer.take(), false));
    }
    for (line, chunk, is_dot) in chunks {
        if is_dot {
            number += 1;
            match dot_command(chunk.trim(), session, state, depth + 1) {
                Ok(DotOutcome::Continue) => {}
                Ok(DotOutcome::Switch(language)) => state.language = language,
                Ok(DotOutcome::Quit) => return Ok(DotOutcome::Quit),
                Ok(DotOutcome::Failed) => return stopped(number, line),
                Err(e) => {
                    report_error(&e, None);
                    return stopped(number, line);
                }
            }
            continue;
        }
        for piece in split(&chunk, state.language, line) {
            number += 1;
            let language = state.language;
            if let Err(e) = run_text(session, state, &piece.text, language) {
                report_error(&e, Some(&piece.text));
                return stopped(number, piece.line);
            }
        }
    }
    Ok(DotOutcome::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons() {
        let text = "select 1; select ';'\n  -- a; comment\n, 2;\n\n  select 3";
        let pieces = split(text, Language::Sql, 1);
        let lines: Vec<usize> = pieces.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 1, 5]);
        assert_eq!(pieces[0].text, "select 1;");
        assert_eq!(pieces[1].text, "          select ';'\n  -- a; comment\n, 2;");
        assert_eq!(pieces[2].text, "\n\n\n\n  select 3");
        assert_eq!(
            split("  ;\n ", Language::Sql, 1),
            vec![Piece {
                line: 1,
                text: "  ;".into()
            }]
        );
        assert!(split(" \n ", Language::Sql, 1).is_empty());
        assert_eq!(split("select 1;", Language::Sql, 3)[0].text, "\n\nselect 1;");
    }

    #[test]
    fn queries_are_explained_other_statements_run() {
        let on = |piece: &str, language| plan_statement(piece, language, Explain::On);
        assert_eq!(on("\nselect 1;", Language::Sql).as_deref(), Some("EXPLAIN \nselect 1;"));
        assert_eq!(
            plan_statement("from t", Language::Sql, Explain::Analyze).as_deref(),
            Some("EXPLAIN ANALYZE from t")
        );
        assert_eq!(on("create table t(a int);", Language::Sql), None);
        assert_eq!(on("t.head(2)", Language::Dsl).as_deref(), Some("t.head(2).explain()"));
        assert_eq!(
            plan_statement("t.head(2)", Language::Dsl, Explain::Analyze).as_deref(),
            Some("t.head(2).explain(analyze = true)")
        );
        assert_eq!(on("x = t.head(2)", Language::Dsl), None);
        assert_eq!(on("t.to_csv(\"x.csv\")", Language::Dsl), None);
        // EXPLAIN typed as such prints plain too, whatever the mode; DESCRIBE is a table.
        let off = |piece: &str, language| plan_statement(piece, language, Explain::Off);
        assert_eq!(
            off("explain select 1", Language::Sql).as_deref(),
            Some("explain select 1")
        );
        assert_eq!(off("select 1", Language::Sql), None);
        assert_eq!(off("describe select 1", Language::Sql), None);
        assert_eq!(off("t.explain()", Language::Dsl).as_deref(), Some("t.explain()"));
        assert_eq!(off("t.head(2)", Language::Dsl), None);
    }
}
