//! Tab completion for the REPL, as a pure function of the text typed so far and a snapshot
//! of the catalog ([`Vocabulary`]), so it can be tested without a terminal.
//!
//! SQL: after `FROM`, `JOIN`, `INTO`, `TABLE`, … table and view names and table functions;
//! after `name.` the columns of that table (or of the table `name` is an alias of);
//! elsewhere the columns of the tables named in the statement, then table names, function
//! names (with `(`) and keywords (in the case of what was typed). Inside a `'…'` string: file
//! paths. DSL: sources and frame names at the start of a statement, verbs after `.`, and
//! columns, functions and keywords inside a call's brackets; file paths inside `"…"`. A line
//! starting with `.` completes dot commands and their arguments.

use crate::cli::format::OutputFormat;
use crate::cli::repl::lexer::{is_word_byte, tokenize, Token, TokenKind};
use crate::cli::repl::words::{KEYWORDS, TABLE_FUNCTIONS};
use crate::cli::run::Language;
use crate::frontend::dsl::verbs::{self, Role, FRAME_ROLES};

/// What the completer knows about the session: its tables (with their columns) and the
/// function names.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Table, view and frame names with their column names.
    pub tables: Vec<(String, Vec<String>)>,
    /// Scalar, aggregate and window function names.
    pub functions: Vec<&'static str>,
}

/// What to complete at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// A file path (the cursor is inside a string, or after `.read`/`.output`).
    Path,
    /// Replace the text from byte `start` of the line to the cursor with one of `candidates`.
    Words {
        /// Byte offset in the line where the word being completed starts.
        start: usize,
        /// Candidates in order of preference.
        candidates: Vec<String>,
    },
}

/// Dot commands, for completion (the REPL's `.help` describes them).
pub const DOT_COMMANDS: &[&str] = &[
    ".dsl", ".exit", ".explain", ".help", ".maxrows", ".mode", ".output", ".quit", ".read", ".remote", ".schema",
    ".sql", ".tables", ".timer",
];

/// Keywords after which a table name comes.
const TABLE_CONTEXT: &[&str] = &[
    "FROM",
    "JOIN",
    "INTO",
    "TABLE",
    "UPDATE",
    "DESCRIBE",
    "SUMMARIZE",
    "VIEW",
];

/// Completes `line` at byte `pos`; `before` holds the lines of the statement typed before
/// this one (each ending with a newline).
pub fn complete(vocab: &Vocabulary, language: Language, before: &str, line: &str, pos: usize) -> Completion {
    let pos = pos.min(line.len());
    if before.trim().is_empty() && line.trim_start().starts_with('.') {
        return complete_dot(vocab, line, pos);
    }
    let text = format!("{before}{line}");
    let cursor = before.len() + pos;
    let head = tokenize(&text[..cursor], language);
    if let Some(last) = head.last() {
        match last.kind {
            TokenKind::String if last.open => return Completion::Path,
            TokenKind::QuotedIdent | TokenKind::String if last.open => return nothing(pos),
            TokenKind::Comment => return nothing(pos),
            _ => {}
        }
    }
    let (word_index, prefix) = match head.last() {
        Some(t) if t.kind == TokenKind::Word => (head.len() - 1, t.text(&text)),
        _ => (head.len(), ""),
    };
    let start = pos - prefix.len();
    let scope = Scope::of(vocab, &text, language);
    let previous = significant_before(&head, word_index);
    let qualifier = match previous {
        Some(i) if head[i].text(&text) == "." => significant_before(&head, i).map(|q| unquote(head[q].text(&text))),
        _ => None,
    };
    let mut out = Candidates::new(prefix);
    match language {
        Language::Sql => {
            let after_keyword = previous.map(|i| head[i].text(&text).to_ascii_uppercase());
            if let Some(q) = qualifier {
                out.columns(scope.columns_of(&q));
            } else if after_keyword.is_some_and(|k| TABLE_CONTEXT.contains(&k.as_str())) {
                out.tables(vocab);
                out.functions(TABLE_FUNCTIONS.iter().copied());
            } else if !prefix.is_empty() {
                out.columns(scope.columns());
                out.tables(vocab);
                out.functions(vocab.functions.iter().copied());
                out.keywords();
            } else {
                out.columns(scope.columns());
            }
        }
        Language::Dsl => {
            let depth = bracket_depth(&head, &text);
            let after_dot = previous.is_some_and(|i| head[i].text(&text) == ".");
            if depth == 0 && after_dot {
                out.words(verbs::names(FRAME_ROLES));
            } else if depth == 0 {
                out.words(verbs::names(&[Role::Source]));
                out.tables(vocab);
            } else if let Some(q) = qualifier.filter(|q| scope.knows(q)) {
                out.columns(scope.columns_of(q.as_str()));
            } else if !prefix.is_empty() {
                out.columns(scope.columns());
                out.functions(vocab.functions.iter().copied());
                out.keywords();
            } else {
                out.columns(scope.columns());
            }
        }
    }
    Completion::Words {
        start,
        candidates: out.done(),
    }
}

fn nothing(pos: usize) -> Completion {
    Completion::Words {
        start: pos,
        candidates: Vec::new(),
    }
}

/// Completes a dot command, or its argument.
fn complete_dot(vocab: &Vocabulary, line: &str, pos: usize) -> Completion {
    let head = &line[..pos];
    let trimmed = head.trim_start();
    let Some(space) = trimmed.find(char::is_whitespace) else {
        let mut out = Candidates::new(trimmed);
        out.words(DOT_COMMANDS.iter().copied());
        return Completion::Words {
            start: pos - trimmed.len(),
            candidates: out.done(),
        };
    };
    let command = &trimmed[..space];
    let arg_start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let mut out = Candidates::new(&head[arg_start..]);
    match command {
        ".read" | ".output" => return Completion::Path,
        ".mode" => out.words(
            [
                OutputFormat::Table,
                OutputFormat::Csv,
                OutputFormat::Tsv,
                OutputFormat::Json,
                OutputFormat::Ndjson,
                OutputFormat::Markdown,
            ]
            .map(OutputFormat::name),
        ),
        ".schema" => out.tables(vocab),
        ".timer" => out.words(["on", "off"]),
        ".explain" => out.words(["on", "off", "analyze"]),
        _ => {}
    }
    Completion::Words {
        start: arg_start,
        candidates: out.done(),
    }
}

/// The index of the last token before `index` that is not space or a comment.
fn significant_before(tokens: &[Token], index: usize) -> Option<usize> {
    tokens[..index]
        .iter()
        .rposition(|t| !matches!(t.kind, TokenKind::Space | TokenKind::Comment))
}

/// How many brackets are open at the end of `tokens`, counting from the last statement.
fn bracket_depth(tokens: &[Token], text: &str) -> i32 {
    let mut depth = 0;
    for t in tokens.iter().filter(|t| t.kind == TokenKind::Punct) {
        match t.text(text) {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            ";" => depth = 0,
            _ => {}
        }
    }
    depth.max(0)
}

/// A name as the user wrote it, without the quotes of a quoted identifier.
fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_string(),
    }
}

/// `name`, quoted when it is not a plain identifier.
fn quote_ident(name: &str) -> String {
    let plain = name.bytes().next().is_some_and(|b| !b.is_ascii_digit()) && name.bytes().all(is_word_byte);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The tables a statement names, with the aliases it gives them.
struct Scope<'a> {
    /// (name or alias, table) pairs; a table also appears under its own name.
    names: Vec<(String, &'a (String, Vec<String>))>,
}

impl<'a> Scope<'a> {
    /// Every table of `vocab` named in `text`, and the aliases given after it
    /// (`t AS x`, `t x`).
    fn of(vocab: &'a Vocabulary, text: &str, language: Language) -> Self {
        let tokens: Vec<Token> = tokenize(text, language)
            .into_iter()
            .filter(|t| !matches!(t.kind, TokenKind::Space | TokenKind::Comment))
            .collect();
        let mut names = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            if !matches!(token.kind, TokenKind::Word | TokenKind::QuotedIdent | TokenKind::String) {
                continue;
            }
            let name = unquote(token.text(text));
            let Some(table) = vocab.tables.iter().find(|(t, _)| t.eq_ignore_ascii_case(&name)) else {
                continue;
            };
            names.push((table.0.clone(), table));
            let mut next = i + 1;
            if tokens
                .get(next)
                .is_some_and(|t| t.text(text).eq_ignore_ascii_case("as"))
            {
                next += 1;
            }
            if let Some(alias) = tokens.get(next).filter(|t| {
                matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
                    && !crate::cli::repl::words::is_keyword(t.text(text))
            }) {
                names.push((unquote(alias.text(text)), table));
            }
        }
        Self { names }
    }

    /// Whether `name` is a table or alias in scope.
    fn knows(&self, name: &str) -> bool {
        self.names.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The columns of the table called (or aliased) `name`.
    fn columns_of(&self, name: &str) -> Vec<&'a str> {
        self.names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, (_, cols))| cols.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The columns of every table in scope.
    fn columns(&self) -> Vec<&'a str> {
        self.names
            .iter()
            .flat_map(|(_, (_, cols))| cols.iter().map(String::as_str))
            .collect()
    }
}

/// Candidates matching a prefix (case-insensitively), in the order added, without repeats.
struct Candidates {
    prefix: String,
    lower: bool,
    out: Vec<String>,
}

impl Candidates {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_lowercase(),
            // Keywords follow the case of what was typed; upper case when nothing was.
            lower: prefix.chars().any(char::is_alphabetic) && !prefix.chars().any(char::is_uppercase),
            out: Vec::new(),
        }
    }

    fn matches(&self, word: &str) -> bool {
        word.to_lowercase().starts_with(&self.prefix)
    }

    fn push(&mut self, candidate: String) {
        if !self.out.contains(&candidate) {
            self.out.push(candidate);
        }
    }

    fn words<'w>(&mut self, words: impl IntoIterator<Item = &'w str>) {
        for w in words {
            if self.matches(w) {
                self.push(w.to_string());
            }
        }
    }

    fn columns(&mut self, columns: Vec<&str>) {
        let mut columns: Vec<&str> = columns.into_iter().filter(|c| self.matches(c)).collect();
        columns.sort_unstable();
        for c in columns {
            self.push(quote_ident(c));
        }
    }

    fn tables(&mut self, vocab: &Vocabulary) {
        for (t, _) in &vocab.tables {
            if self.matches(t) {
                self.push(quote_ident(t));
            }
        }
    }

    fn functions<'w>(&mut self, names: impl Iterator<Item = &'w str>) {
        for f in names {
            if self.matches(f) {
                self.push(format!("{f}("));
            }
        }
    }

    fn keywords(&mut self) {
        for k in KEYWORDS {
            if self.matches(k) {
                self.push(if self.lower { k.to_lowercase() } else { k.to_string() });
            }
        }
    }

    fn done(self) -> Vec<String> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Vocabulary {
            tables: vec![
                ("customers".into(), cols(&["id", "name", "city"])),
                ("orders".into(), cols(&["id", "customer_id", "amount"])),
                ("My Table".into(), cols(&["x"])),
            ],
            functions: crate::cli::repl::words::function_names(),
        }
    }

    /// The candidates for `line` with the cursor at its end (or at `|`).
    fn words_at(language: Language, before: &str, line: &str) -> (usize, Vec<String>) {
        let pos = line.find('|').unwrap_or(line.len());
        let line = line.replace('|', "");
        match complete(&vocab(), language, before, &line, pos) {
            Completion::Words { start, candidates } => (start, candidates),
            Completion::Path => panic!("path completion for {line:?}"),
        }
    }

    fn sql(line: &str) -> Vec<String> {
        words_at(Language::Sql, "", line).1
    }

    #[test]
    fn tables_after_from_and_join() {
        assert_eq!(
            words_at(Language::Sql, "", "SELECT * FROM cu"),
            (14, vec!["customers".to_string()])
        );
        assert_eq!(sql("select * from customers c join o"), vec!["orders"]);
        assert_eq!(
            sql("select * from "),
            vec![
                "customers",
                "orders",
                "\"My Table\"",
                "generate_series(",
                "range(",
                "read_csv(",
                "read_csv_auto(",
                "read_json(",
                "read_json_auto(",
                "read_ndjson(",
                "read_parquet("
            ]
        );
        assert_eq!(sql("select * from read_p"), vec!["read_parquet("]);
        assert_eq!(sql("insert into or"), vec!["orders"]);
    }

    #[test]
    fn keywords_follow_the_case_typed() {
        assert_eq!(sql("sel"), vec!["select"]);
        assert_eq!(sql("SEL"), vec!["SELECT"]);
        assert_eq!(sql("select * fr"), vec!["from"]);
        assert!(sql("select 1 Gr").contains(&"GROUP".to_string()));
    }

    #[test]
    fn functions_get_a_bracket() {
        let c = sql("select upp");
        assert_eq!(c, vec!["upper("]);
        assert!(sql("select row_n").contains(&"row_number(".to_string()));
        assert!(sql("select string_a").contains(&"string_agg(".to_string()));
    }

    #[test]
    fn columns_of_tables_in_the_statement() {
        // The table may come after the cursor, and on an earlier line.
        assert_eq!(
            words_at(Language::Sql, "", "select na| from customers"),
            (7, vec!["name".to_string(), "natural".into()])
        );
        assert_eq!(
            words_at(Language::Sql, "select *\nfrom orders\n", "where cust").1,
            vec!["customer_id", "customers"]
        );
        assert_eq!(words_at(Language::Sql, "", "select amo| from orders").1, vec!["amount"]);
        // Nothing typed: just the columns in scope.
        assert_eq!(
            words_at(Language::Sql, "", "select | from orders").1,
            vec!["amount", "customer_id", "id"]
        );
        assert_eq!(sql("select "), Vec::<String>::new());
    }

    #[test]
    fn qualified_columns_by_table_or_alias() {
        assert_eq!(
            words_at(Language::Sql, "", "select o.| from orders o join customers c on true"),
            (9, vec!["amount".to_string(), "customer_id".into(), "id".into()])
        );
        assert_eq!(sql("select * from orders o join customers as c on c.ci"), vec!["city"]);
        assert_eq!(
            words_at(Language::Sql, "", "select customers.na| from customers").1,
            vec!["name"]
        );
        assert_eq!(sql("select \"My Table\".x"), vec!["x"]);
    }

    #[test]
    fn strings_complete_paths_and_comments_nothing() {
        let vocab = vocab();
        assert_eq!(
            complete(&vocab, Language::Sql, "", "select * from 'data/", 20),
            Completion::Path
        );
        assert_eq!(sql("select \"na"), Vec::<String>::new());
        assert_eq!(sql("select 1 -- fr"), Vec::<String>::new());
        assert_eq!(
            complete(&vocab, Language::Dsl, "", "read_csv(\"te", 12),
            Completion::Path
        );
        assert_eq!(complete(&vocab, Language::Sql, "", ".read sc", 8), Completion::Path);
    }

    #[test]
    fn dot_commands() {
        assert_eq!(words_at(Language::Sql, "", ".ti"), (0, vec![".timer".to_string()]));
        assert_eq!(words_at(Language::Sql, "", ".mode c"), (6, vec!["csv".to_string()]));
        assert_eq!(words_at(Language::Sql, "", ".schema o").1, vec!["orders"]);
        assert_eq!(words_at(Language::Sql, "", ".explain a").1, vec!["analyze"]);
        // Inside a statement a line starting with '.' is not a command.
        assert_eq!(words_at(Language::Sql, "select 1\n", ".ti").1, Vec::<String>::new());
    }

    #[test]
    fn dsl_sources_verbs_and_columns() {
        let dsl = |line: &str| words_at(Language::Dsl, "", line).1;
        assert_eq!(dsl("read_p"), vec!["read_parquet"]);
        assert_eq!(dsl("x = ord"), vec!["orders"]);
        assert_eq!(dsl("orders.fil"), vec!["filter"]);
        assert_eq!(dsl("orders.filter(x > 1).sel"), vec!["select"]);
        assert_eq!(dsl("orders.filter(amo"), vec!["amount"]);
        assert_eq!(dsl("orders.select(abs"), vec!["abs("]);
        assert_eq!(
            words_at(Language::Dsl, "orders.filter(\n", "  customer_").1,
            vec!["customer_id"]
        );
    }
}
