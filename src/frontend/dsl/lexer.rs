//! The DSL's tokenizer. It knows just enough to find statement, chain and argument
//! boundaries: names, strings (`'…'`, `"…"`, `"""…"""`), numbers, brackets, `.`, `,`, `=`,
//! `;` and line ends. Everything else is passed through as single-character operator tokens,
//! because arguments are SQL expressions that sqlparser reads from the original text.
//! Comments (`# …` and SQL's `-- …`) are dropped but remembered, so argument text handed to
//! sqlparser can have them blanked out.

use crate::error::{Error, Location, Result};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name: letters, digits and `_`, not starting with a digit.
    Ident(String),
    /// A quoted string, with its quote character (`'` or `"`) and its unescaped text.
    Str {
        /// The quote character.
        quote: char,
        /// The text between the quotes, with doubled quotes undone.
        value: String,
    },
    /// A number as written.
    Number(String),
    /// `.`
    Dot,
    /// `(`, `[` or `{`.
    Open(char),
    /// `)`, `]` or `}`.
    Close(char),
    /// `,`
    Comma,
    /// A lone `=` (not part of `==`, `<=`, `>=`, `!=`, `=>`, `:=`).
    Assign,
    /// `;`
    Semicolon,
    /// A parameter, `$name` (given with `--param name=value`).
    Param(String),
    /// One or more line ends (with only blanks and comments between them).
    Newline,
    /// Any other character (SQL operators and the like).
    Op(char),
    /// The end of the text.
    Eof,
}

/// A token with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
    /// Line and column of its first character.
    pub location: Location,
}

/// The tokens of a script and the byte ranges of its comments.
#[derive(Debug, Clone)]
pub struct Lexed {
    /// The tokens, ending with [`Tok::Eof`].
    pub tokens: Vec<Token>,
    /// Byte ranges of comments (to blank out of argument text).
    pub comments: Vec<(usize, usize)>,
}

/// Splits `text` into tokens.
pub fn tokenize(text: &str) -> Result<Lexed> {
    Lexer {
        text,
        chars: text.char_indices().collect(),
        pos: 0,
        line: 1,
        column: 1,
    }
    .run()
}

struct Lexer<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    /// Index into `chars`.
    pos: usize,
    line: u64,
    column: u64,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|(_, c)| *c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.pos).map(|(o, _)| *o).unwrap_or(self.text.len())
    }

    fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn run(mut self) -> Result<Lexed> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut comments = Vec::new();
        loop {
            let (start, location) = (self.offset(), self.location());
            let Some(c) = self.peek(0) else {
                tokens.push(Token {
                    tok: Tok::Eof,
                    start,
                    end: start,
                    location,
                });
                break;
            };
            let tok = match c {
                '\n' => {
                    self.bump();
                    if matches!(tokens.last(), Some(Token { tok: Tok::Newline, .. })) {
                        continue;
                    }
                    Tok::Newline
                }
                c if c.is_whitespace() => {
                    self.bump();
                    continue;
                }
                '#' => {
                    self.skip_line();
                    comments.push((start, self.offset()));
                    continue;
                }
                '-' if self.peek(1) == Some('-') => {
                    self.skip_line();
                    comments.push((start, self.offset()));
                    continue;
                }
                '\'' | '"' => self.string(c, location)?,
                c if c.is_alphabetic() || c == '_' => {
                    let mut name = String::new();
                    while let Some(c) = self.peek(0).filter(|c| c.is_alphanumeric() || *c == '_') {
                        name.push(c);
                        self.bump();
                    }
                    Tok::Ident(name)
                }
                c if c.is_ascii_digit() => {
                    let mut number = String::new();
                    while let Some(c) = self.peek(0).filter(|c| c.is_ascii_alphanumeric() || *c == '.') {
                        number.push(c);
                        self.bump();
                    }
                    Tok::Number(number)
                }
                '.' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) && !ends_operand(tokens.last()) => {
                    let mut number = String::new();
                    while let Some(c) = self.peek(0).filter(|c| c.is_ascii_alphanumeric() || *c == '.') {
                        number.push(c);
                        self.bump();
                    }
                    Tok::Number(number)
                }
                '$' if self.peek(1).is_some_and(|c| c.is_alphabetic() || c == '_') => {
                    self.bump();
                    let mut name = String::new();
                    while let Some(c) = self.peek(0).filter(|c| c.is_alphanumeric() || *c == '_') {
                        name.push(c);
                        self.bump();
                    }
                    Tok::Param(name)
                }
                '.' => self.single(Tok::Dot),
                '(' | '[' | '{' => self.single(Tok::Open(c)),
                ')' | ']' | '}' => self.single(Tok::Close(c)),
                ',' => self.single(Tok::Comma),
                ';' => self.single(Tok::Semicolon),
                '=' => {
                    let prev = self.pos.checked_sub(1).and_then(|p| self.chars.get(p)).map(|(_, c)| *c);
                    let joined =
                        matches!(prev, Some('<' | '>' | '!' | ':' | '=')) || matches!(self.peek(1), Some('=' | '>'));
                    self.single(if joined { Tok::Op('=') } else { Tok::Assign })
                }
                other => self.single(Tok::Op(other)),
            };
            tokens.push(Token {
                tok,
                start,
                end: self.offset(),
                location,
            });
        }
        Ok(Lexed { tokens, comments })
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.bump();
        tok
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// A string in `quote`s; a doubled quote stands for one. `"""…"""` holds anything but
    /// three double quotes, line ends included, with nothing undone.
    fn string(&mut self, quote: char, location: Location) -> Result<Tok> {
        if quote == '"' && self.peek(1) == Some('"') && self.peek(2) == Some('"') {
            for _ in 0..3 {
                self.bump();
            }
            let mut value = String::new();
            loop {
                match self.peek(0) {
                    Some('"') if self.peek(1) == Some('"') && self.peek(2) == Some('"') => {
                        for _ in 0..3 {
                            self.bump();
                        }
                        return Ok(Tok::Str { quote, value });
                    }
                    Some(c) => {
                        value.push(c);
                        self.bump();
                    }
                    None => return Err(unterminated(location, "\"\"\"")),
                }
            }
        }
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => {
                    if self.peek(0) == Some(quote) {
                        self.bump();
                        value.push(quote);
                    } else {
                        return Ok(Tok::Str { quote, value });
                    }
                }
                Some('\n') if quote == '"' => return Err(unterminated(location, "\"")),
                Some(c) => value.push(c),
                None => return Err(unterminated(location, &quote.to_string())),
            }
        }
    }
}

/// True when the previous token ends an operand, so a following `.` is member access
/// (`t.5` is not a thing, but `x.filter` after `)` or a name is).
fn ends_operand(last: Option<&Token>) -> bool {
    matches!(
        last.map(|t| &t.tok),
        Some(Tok::Ident(_) | Tok::Close(_) | Tok::Str { .. } | Tok::Number(_))
    )
}

fn unterminated(location: Location, quote: &str) -> Error {
    Error::Parse {
        message: format!("unterminated string: the {quote} here is never closed"),
        location: Some(location),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().tokens.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_a_chain() {
        assert_eq!(
            kinds("x = t.filter(a >= 1) # note\n  .head(2)"),
            vec![
                Tok::Ident("x".into()),
                Tok::Assign,
                Tok::Ident("t".into()),
                Tok::Dot,
                Tok::Ident("filter".into()),
                Tok::Open('('),
                Tok::Ident("a".into()),
                Tok::Op('>'),
                Tok::Op('='),
                Tok::Number("1".into()),
                Tok::Close(')'),
                Tok::Newline,
                Tok::Dot,
                Tok::Ident("head".into()),
                Tok::Open('('),
                Tok::Number("2".into()),
                Tok::Close(')'),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn strings_and_positions() {
        let lexed = tokenize("f('it''s', \"a\"\"b\")\n  g(\"\"\"x\ny\"\"\")").unwrap();
        let strings: Vec<&Tok> = lexed
            .tokens
            .iter()
            .map(|t| &t.tok)
            .filter(|t| matches!(t, Tok::Str { .. }))
            .collect();
        assert_eq!(
            strings,
            vec![
                &Tok::Str {
                    quote: '\'',
                    value: "it's".into()
                },
                &Tok::Str {
                    quote: '"',
                    value: "a\"b".into()
                },
                &Tok::Str {
                    quote: '"',
                    value: "x\ny".into()
                },
            ]
        );
        let g = lexed.tokens.iter().find(|t| t.tok == Tok::Ident("g".into())).unwrap();
        assert_eq!(g.location, Location { line: 2, column: 3 });
    }

    #[test]
    fn equals_signs() {
        assert_eq!(kinds("a == b")[1], Tok::Op('='));
        assert_eq!(kinds("a = b")[1], Tok::Assign);
        assert_eq!(kinds("a != b")[2], Tok::Op('='));
        assert_eq!(kinds("a => b")[1], Tok::Op('='));
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let err = tokenize("x.filter(a = 'oops)").unwrap_err();
        assert_eq!(err.location(), Some(Location { line: 1, column: 14 }));
    }

    #[test]
    fn numbers_with_leading_dots() {
        assert_eq!(kinds("f(.5)")[2], Tok::Number(".5".into()));
        assert_eq!(kinds("t.x")[1], Tok::Dot);
    }
}
