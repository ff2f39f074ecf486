//! A forgiving lexer for the REPL's highlighter and completer: splits a line being typed
//! into words, numbers, strings, comments and punctuation, with byte ranges, and never fails
//! (an unclosed string or comment runs to the end and is marked so).

use crate::cli::run::Language;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: keyword, name or function.
    Word,
    /// A numeric literal.
    Number,
    /// A string literal (`'…'`; in the DSL also `"…"` and `"""…"""`).
    String,
    /// A quoted SQL identifier (`"…"`).
    QuotedIdent,
    /// A comment (`-- …`, `/* … */`; `# …` in the DSL).
    Comment,
    /// Spaces, tabs and newlines.
    Space,
    /// Any other character (operators, brackets, `.`, `,`, `;`).
    Punct,
}

/// A token: its kind, byte range and whether it is a string or comment left open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The kind.
    pub kind: TokenKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset past the last character.
    pub end: usize,
    /// A string, quoted identifier or block comment without its closing delimiter.
    pub open: bool,
}

impl Token {
    /// The token's text in `src`.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }
}

/// Splits `src` into tokens covering every byte.
pub fn tokenize(src: &str, language: Language) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let (kind, end, open) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                let end = scan_while(bytes, i, |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
                (TokenKind::Space, end, false)
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => (TokenKind::Comment, line_end(bytes, i), false),
            b'#' if language == Language::Dsl => (TokenKind::Comment, line_end(bytes, i), false),
            b'/' if bytes.get(i + 1) == Some(&b'*') => match find(bytes, i + 2, b"*/") {
                Some(e) => (TokenKind::Comment, e + 2, false),
                None => (TokenKind::Comment, bytes.len(), true),
            },
            b'"' if language == Language::Dsl && bytes[i..].starts_with(b"\"\"\"") => {
                match find(bytes, i + 3, b"\"\"\"") {
                    Some(e) => (TokenKind::String, e + 3, false),
                    None => (TokenKind::String, bytes.len(), true),
                }
            }
            b'\'' | b'"' => {
                let (end, open) = quoted(bytes, i);
                let kind = if c == b'"' && language == Language::Sql {
                    TokenKind::QuotedIdent
                } else {
                    TokenKind::String
                };
                (kind, end, open)
            }
            b'0'..=b'9' => (TokenKind::Number, number_end(bytes, i), false),
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !tokens.last().is_some_and(|t: &Token| t.kind == TokenKind::Word) =>
            {
                (TokenKind::Number, number_end(bytes, i), false)
            }
            c if is_word_start(c) => (TokenKind::Word, scan_while(bytes, i, is_word_byte), false),
            _ => {
                // One character (all of it, when it is not ASCII).
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                (TokenKind::Punct, i + len, false)
            }
        };
        tokens.push(Token { kind, start, end, open });
        i = end;
    }
    tokens
}

/// Whether `b` may start a word (ASCII letters, `_`, `$` for parameters, any non-ASCII byte).
fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether `b` may continue a word.
pub fn is_word_byte(b: u8) -> bool {
    is_word_start(b) || b.is_ascii_digit()
}

fn scan_while(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

fn line_end(bytes: &[u8], i: usize) -> usize {
    scan_while(bytes, i, |b| b != b'\n')
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The end of the quoted text starting at `i` (a doubled quote stands for one) and whether
/// it is left open.
fn quoted(bytes: &[u8], i: usize) -> (usize, bool) {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return (j + 1, false);
        }
        j += 1;
    }
    (bytes.len(), true)
}

/// The end of a number: digits, one `.`, an exponent.
fn number_end(bytes: &[u8], i: usize) -> usize {
    let mut j = scan_while(bytes, i, |b| b.is_ascii_digit() || b == b'_');
    if bytes.get(j) == Some(&b'.') {
        j = scan_while(bytes, j + 1, |b| b.is_ascii_digit() || b == b'_');
    }
    if matches!(bytes.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(bytes.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if bytes.get(k).is_some_and(u8::is_ascii_digit) {
            j = scan_while(bytes, k, |b| b.is_ascii_digit());
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, language: Language) -> Vec<(TokenKind, &str, bool)> {
        tokenize(src, language)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Space)
            .map(|t| (t.kind, t.text(src), t.open))
            .collect()
    }

    #[test]
    fn sql_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("SELECT a.b, 'it''s', \"Q\", 1.5e3 -- note", Language::Sql),
            vec![
                (Word, "SELECT", false),
                (Word, "a", false),
                (Punct, ".", false),
                (Word, "b", false),
                (Punct, ",", false),
                (String, "'it''s'", false),
                (Punct, ",", false),
                (QuotedIdent, "\"Q\"", false),
                (Punct, ",", false),
                (Number, "1.5e3", false),
                (Comment, "-- note", false),
            ]
        );
        assert_eq!(
            kinds("from 'data/x /* y", Language::Sql),
            vec![(Word, "from", false), (String, "'data/x /* y", true)]
        );
        assert_eq!(kinds("/* a", Language::Sql), vec![(Comment, "/* a", true)]);
        assert_eq!(kinds(".5", Language::Sql), vec![(Number, ".5", false)]);
        assert_eq!(
            kinds("é=1", Language::Sql),
            vec![(Word, "é", false), (Punct, "=", false), (Number, "1", false)]
        );
    }

    #[test]
    fn dsl_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("read_csv(\"a.csv\") # c", Language::Dsl),
            vec![
                (Word, "read_csv", false),
                (Punct, "(", false),
                (String, "\"a.csv\"", false),
                (Punct, ")", false),
                (Comment, "# c", false),
            ]
        );
        assert_eq!(kinds("\"\"\"x\n", Language::Dsl), vec![(String, "\"\"\"x\n", true)]);
    }
}
