//! Syntax highlighting of the line being typed: keywords (and DSL verbs) bold blue, strings
//! green, numbers yellow, comments grey. Only ANSI colour codes are added, so the text keeps
//! its width. Colour is used only when stdout is a terminal and `NO_COLOR` is not set.

use std::io::IsTerminal;

use crate::cli::repl::lexer::{tokenize, TokenKind};
use crate::cli::repl::words::{is_function, is_keyword};
use crate::cli::run::Language;

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[33m";
const COMMENT: &str = "\x1b[90m";
const RESET: &str = "\x1b[0m";

/// Whether the REPL may use colour: stdout is a terminal and `NO_COLOR` is unset (whatever
/// its value, see <https://no-color.org>).
pub fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// `line` with ANSI colours around its keywords, strings, numbers and comments; `before`
/// holds the earlier lines of the statement, so a string or comment left open there is
/// coloured on.
pub fn highlight(before: &str, line: &str, language: Language) -> String {
    let text = format!("{before}{line}");
    let offset = before.len();
    let mut out = String::with_capacity(line.len() + 32);
    let tokens = tokenize(&text, language);
    for (i, token) in tokens.iter().enumerate() {
        if token.end <= offset {
            continue;
        }
        let word = token.text(&text);
        // `left(s, 2)`, `range(5)`: a function, though its name is a keyword.
        let call = tokens.get(i + 1).is_some_and(|t| t.text(&text) == "(") && is_function(word);
        let colour = match token.kind {
            TokenKind::Word if is_keyword(word) && !call => Some(KEYWORD),
            TokenKind::Word
                if language == Language::Dsl && crate::frontend::dsl::verbs::lookup(&word.to_lowercase()).is_some() =>
            {
                Some(KEYWORD)
            }
            TokenKind::String => Some(STRING),
            TokenKind::Number => Some(NUMBER),
            TokenKind::Comment => Some(COMMENT),
            _ => None,
        };
        let shown = &text[token.start.max(offset)..token.end];
        match colour {
            Some(c) => {
                out.push_str(c);
                out.push_str(shown);
                out.push_str(RESET);
            }
            None => out.push_str(shown),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_keywords_strings_numbers_and_comments() {
        assert_eq!(
            highlight("", "select 'a', 42 from t -- x", Language::Sql),
            "\x1b[1;34mselect\x1b[0m \x1b[32m'a'\x1b[0m, \x1b[33m42\x1b[0m \x1b[1;34mfrom\x1b[0m t \x1b[90m-- x\x1b[0m"
        );
        // Quoted identifiers, names and functions stay plain.
        assert_eq!(
            highlight("", "\"select\" + sum(x)", Language::Sql),
            "\"select\" + sum(x)"
        );
        assert_eq!(
            highlight("", "left(s, 1) from range(3)", Language::Sql),
            "left(s, \x1b[33m1\x1b[0m) \x1b[1;34mfrom\x1b[0m range(\x1b[33m3\x1b[0m)"
        );
        // An unclosed string is coloured to the end.
        assert_eq!(highlight("", "'ab", Language::Sql), "\x1b[32m'ab\x1b[0m");
        // A string opened on an earlier line goes on; what follows its end is SQL again.
        assert_eq!(
            highlight("select 'a\n", "b' from", Language::Sql),
            "\x1b[32mb'\x1b[0m \x1b[1;34mfrom\x1b[0m"
        );
    }

    #[test]
    fn dsl_verbs_and_strings() {
        assert_eq!(
            highlight("", "read_csv(\"x.csv\").head(3)", Language::Dsl),
            "\x1b[1;34mread_csv\x1b[0m(\x1b[32m\"x.csv\"\x1b[0m).\x1b[1;34mhead\x1b[0m(\x1b[33m3\x1b[0m)"
        );
    }

    #[test]
    fn text_is_kept() {
        let line = "SELECT a.b, \"x\" FROM 'f.csv' WHERE c > 1.5e3 /* c */ ;";
        let plain = highlight("", line, Language::Sql)
            .replace(KEYWORD, "")
            .replace(STRING, "")
            .replace(NUMBER, "")
            .replace(COMMENT, "")
            .replace(RESET, "");
        assert_eq!(plain, line);
    }
}
