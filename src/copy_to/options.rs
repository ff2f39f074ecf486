//! The option list of `COPY … TO 'path' (…)`. sqlparser parses only PostgreSQL's options, so
//! [`rewrite`] (run by the SQL front end when a script does not parse) replaces each COPY TO
//! option list by `(ENCODING '<marker><original text>')`; [`CopyOptions::from_statement`]
//! reads sqlparser's options and, behind the marker, the original text with DuckDB's
//! options: `FORMAT`, `HEADER`, `DELIMITER`/`SEP`, `COMPRESSION`, `PARTITION_BY (cols)`,
//! `OVERWRITE`, `OVERWRITE_OR_IGNORE`, `PER_THREAD_OUTPUT`.

use sqlparser::ast::{CopyLegacyOption, CopyOption};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result};

/// Marks an option list carried through sqlparser as an `ENCODING` string.
const MARKER: &str = "__rask_copy_options:";

/// What happens to files already at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExistingFiles {
    /// A directory target must be empty or absent (a single file is replaced).
    #[default]
    Error,
    /// The target is replaced as a whole.
    Overwrite,
    /// Files are added to the directory, replacing those with the same names.
    OverwriteOrIgnore,
}

/// The options of one COPY TO statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `FORMAT name`, lower-cased.
    pub format: Option<String>,
    /// `HEADER [bool]`.
    pub header: Option<bool>,
    /// `DELIMITER 'c'` / `SEP 'c'`.
    pub delimiter: Option<char>,
    /// `COMPRESSION name`, lower-cased.
    pub compression: Option<String>,
    /// `PARTITION_BY (col, …)`.
    pub partition_by: Vec<String>,
    /// `OVERWRITE` / `OVERWRITE_OR_IGNORE`.
    pub existing: ExistingFiles,
    /// `PER_THREAD_OUTPUT`.
    pub per_thread_output: bool,
}

impl CopyOptions {
    /// Reads sqlparser's option lists (including a list carried by [`rewrite`]).
    pub fn from_statement(options: &[CopyOption], legacy_options: &[CopyLegacyOption]) -> Result<Self> {
        let mut out = Self::default();
        for option in options {
            match option {
                CopyOption::Format(f) => out.format = Some(f.value.to_ascii_lowercase()),
                CopyOption::Header(h) => out.header = Some(*h),
                CopyOption::Delimiter(c) => out.delimiter = Some(*c),
                CopyOption::Encoding(text) if text.starts_with(MARKER) => out.parse_text(&text[MARKER.len()..])?,
                other => return Err(Error::not_supported(format!("COPY TO option {other}"))),
            }
        }
        for option in legacy_options {
            match option {
                CopyLegacyOption::Header => out.header = Some(true),
                CopyLegacyOption::Delimiter(c) => out.delimiter = Some(*c),
                other => return Err(Error::not_supported(format!("COPY TO option {other}"))),
            }
        }
        Ok(out)
    }

    /// Parses DuckDB's option list text (`FORMAT parquet, PARTITION_BY (a, b), OVERWRITE`).
    fn parse_text(&mut self, text: &str) -> Result<()> {
        let tokens = tokenize(text)?;
        let mut tokens = tokens.into_iter().map(|t| t.token).filter(|t| !is_blank(t)).peekable();
        let mut overwrite = false;
        let mut or_ignore = false;
        while let Some(token) = tokens.next() {
            let Token::Word(name) = token else {
                return Err(Error::plan(format!("COPY TO: expected an option name, found {token}")));
            };
            let mut values = Vec::new();
            match tokens.peek() {
                None | Some(Token::Comma) => {}
                Some(Token::LParen) => {
                    tokens.next();
                    for t in tokens.by_ref() {
                        match t {
                            Token::RParen => break,
                            Token::Comma => {}
                            other => values.push(value_text(&other)),
                        }
                    }
                }
                Some(_) => {
                    if let Some(t) = tokens.next() {
                        values.push(value_text(&t));
                    }
                }
            }
            if !matches!(tokens.next(), None | Some(Token::Comma)) {
                return Err(Error::plan(format!(
                    "COPY TO: unexpected text after option {}",
                    name.value
                )));
            }
            let key = name.value.to_ascii_lowercase();
            let one = || values.first().cloned().unwrap_or_default();
            match key.as_str() {
                "format" => self.format = Some(one().to_ascii_lowercase()),
                "header" => self.header = Some(flag(&key, &values)?),
                "delimiter" | "sep" | "delim" => {
                    let v = one();
                    // DuckDB reads '\t' in an option as a tab.
                    let v = if v == "\\t" { "\t".to_string() } else { v };
                    let mut chars = v.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => self.delimiter = Some(c),
                        _ => return Err(Error::not_supported(format!("COPY TO with DELIMITER '{v}'"))),
                    }
                }
                "compression" | "codec" => self.compression = Some(one().to_ascii_lowercase()),
                "partition_by" => self.partition_by = values,
                "overwrite" => overwrite = flag(&key, &values)?,
                "overwrite_or_ignore" => or_ignore = flag(&key, &values)?,
                "per_thread_output" => self.per_thread_output = flag(&key, &values)?,
                _ => return Err(Error::not_supported(format!("COPY TO option {}", name.value))),
            }
        }
        self.existing = match (overwrite, or_ignore) {
            (true, true) => {
                return Err(Error::plan(
                    "Can only set one of OVERWRITE_OR_IGNORE, OVERWRITE or APPEND",
                ));
            }
            (true, false) => ExistingFiles::Overwrite,
            (false, true) => ExistingFiles::OverwriteOrIgnore,
            (false, false) => self.existing,
        };
        Ok(())
    }
}

fn is_blank(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

fn value_text(t: &Token) -> String {
    match t {
        Token::Word(w) => w.value.clone(),
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A boolean option: bare (true) or followed by true/false/1/0/on/off.
fn flag(name: &str, values: &[String]) -> Result<bool> {
    match values.first().map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("true" | "1" | "on") => Ok(true),
        Some("false" | "0" | "off") => Ok(false),
        Some(other) => Err(Error::plan(format!("\"{name}\" expects a boolean, got '{other}'"))),
    }
}

fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>> {
    Tokenizer::new(&DuckDbDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| Error::Parse {
            message: e.to_string(),
            location: None,
        })
}

/// `sql` with the option list of every `COPY … TO 'path' (…)` carried as an `ENCODING`
/// string, or `None` when there is no such list.
pub fn rewrite(sql: &str) -> Option<String> {
    let tokens: Vec<TokenWithSpan> = tokenize(sql)
        .ok()?
        .into_iter()
        .filter(|t| !is_blank(&t.token))
        .collect();
    let offsets = LineOffsets::new(sql);
    let mut edits: Vec<(usize, usize)> = Vec::new();
    let mut at_start = true;
    let mut i = 0;
    while i < tokens.len() {
        let starts_copy = at_start && matches!(&tokens[i].token, Token::Word(w) if w.keyword == Keyword::COPY);
        at_start = matches!(tokens[i].token, Token::SemiColon);
        if !starts_copy {
            i += 1;
            continue;
        }
        // Find `TO` outside parentheses, then the file name and an option list.
        let mut depth = 0i32;
        let mut j = i + 1;
        while j < tokens.len() {
            match &tokens[j].token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                Token::SemiColon => break,
                Token::Word(w) if depth == 0 && w.keyword == Keyword::TO => break,
                _ => {}
            }
            j += 1;
        }
        let mut k = j + 2;
        if matches!(tokens.get(k).map(|t| &t.token), Some(Token::Word(w)) if w.keyword == Keyword::WITH) {
            k += 1;
        }
        let is_to = matches!(tokens.get(j).map(|t| &t.token), Some(Token::Word(w)) if w.keyword == Keyword::TO);
        let is_file = matches!(tokens.get(j + 1).map(|t| &t.token), Some(Token::SingleQuotedString(_)));
        if is_to && is_file && matches!(tokens.get(k).map(|t| &t.token), Some(Token::LParen)) {
            let mut depth = 0i32;
            let mut end = k;
            while end < tokens.len() {
                match tokens[end].token {
                    Token::LParen => depth += 1,
                    Token::RParen => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                end += 1;
            }
            let open = offsets.byte(sql, tokens[k].span.start)?;
            let close = offsets.byte(sql, tokens.get(end)?.span.start)?;
            edits.push((open, close));
            i = end;
        } else {
            i = j;
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 64);
    let mut last = 0;
    for (open, close) in edits {
        let text = sql.get(open + 1..close)?;
        if text.trim_start().starts_with('\'') && text.contains(MARKER) {
            continue;
        }
        out.push_str(sql.get(last..open)?);
        out.push_str(&format!("(ENCODING '{MARKER}{}')", text.replace('\'', "''")));
        last = close + 1;
    }
    out.push_str(sql.get(last..)?);
    Some(out)
}

/// Maps the tokenizer's line/column locations to byte offsets.
struct LineOffsets {
    starts: Vec<usize>,
}

impl LineOffsets {
    fn new(sql: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(sql.char_indices().filter(|(_, c)| *c == '\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn byte(&self, sql: &str, loc: Location) -> Option<usize> {
        let line_start = *self.starts.get((loc.line as usize).checked_sub(1)?)?;
        let col = (loc.column as usize).checked_sub(1)?;
        let (offset, _) = sql.get(line_start..)?.char_indices().nth(col)?;
        Some(line_start + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_duckdb_options() {
        let sql =
            "COPY (SELECT 'a''b' AS x, (1)) TO 'o.csv' (FORMAT csv, PARTITION_BY (x), COMPRESSION 'gzip'); SELECT 1";
        let out = rewrite(sql).unwrap();
        assert!(out.starts_with("COPY (SELECT 'a''b' AS x, (1)) TO 'o.csv' (ENCODING '__rask_copy_options:"));
        assert!(out.ends_with("); SELECT 1"));
        let statements = crate::frontend::sql::parse(sql).unwrap();
        let sqlparser::ast::Statement::Copy { options, .. } = &statements[0] else {
            panic!("not a COPY")
        };
        let parsed = CopyOptions::from_statement(options, &[]).unwrap();
        assert_eq!(parsed.format.as_deref(), Some("csv"));
        assert_eq!(parsed.partition_by, vec!["x".to_string()]);
        assert_eq!(parsed.compression.as_deref(), Some("gzip"));
    }

    #[test]
    fn overwrite_modes_exclude_each_other() {
        let mut o = CopyOptions::default();
        assert!(o.parse_text("OVERWRITE, OVERWRITE_OR_IGNORE").is_err());
        let mut o2 = CopyOptions::default();
        o2.parse_text("overwrite_or_ignore true, per_thread_output").unwrap();
        assert_eq!(o2.existing, ExistingFiles::OverwriteOrIgnore);
        assert!(o2.per_thread_output);
        assert!(o.parse_text("bogus 1").is_err());
    }
}
