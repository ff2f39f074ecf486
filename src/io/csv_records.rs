//! A small quote-aware CSV record splitter over a byte stream. It is used where speed does
//! not matter: sniffing the dialect and types from a sample, and finding the line of a bad
//! value once the vectorized Arrow reader has failed. Like Arrow's reader it skips blank
//! lines and recognises a quote only at the start of a field.

use std::io::BufRead;

/// The bytes that structure a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Field delimiter.
    pub delimiter: u8,
    /// Quote character.
    pub quote: u8,
    /// Escape character inside quotes (`None`: a doubled quote).
    pub escape: Option<u8>,
}

/// One record as text.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// 0-based line (counted from the start of the stream) on which the record starts.
    pub line: u64,
    /// The unquoted fields.
    pub fields: Vec<String>,
    /// True when a quoted field spans lines.
    pub multiline: bool,
    /// True when text follows a closing quote inside a field (`"a"b`): a sign that the
    /// quote or escape character was guessed wrong.
    pub irregular: bool,
    /// True when the stream ends inside a quoted field: a quote that is never closed.
    pub unterminated: bool,
}

/// Iterates over the records of a byte stream.
pub struct RecordScanner<R> {
    reader: R,
    dialect: Dialect,
    line: u64,
    eof: bool,
}

impl<R: BufRead> RecordScanner<R> {
    /// A scanner over `reader`.
    pub fn new(reader: R, dialect: Dialect) -> Self {
        Self {
            reader,
            dialect,
            line: 0,
            eof: false,
        }
    }

    /// The next record, `None` at the end of the stream.
    pub fn next_record(&mut self) -> std::io::Result<Option<RawRecord>> {
        #[derive(PartialEq)]
        enum State {
            Start,
            Unquoted,
            Quoted,
            QuoteInQuoted,
            Escaped,
            AfterQuoted,
        }
        let d = self.dialect;
        let mut state = State::Start;
        let mut fields: Vec<String> = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut started = false;
        let mut start_line = self.line;
        let mut multiline = false;
        let mut irregular = false;
        while !self.eof {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                self.eof = true;
                break;
            }
            let mut used = 0;
            let mut finished = false;
            for &b in buf {
                used += 1;
                if state == State::QuoteInQuoted {
                    if b == d.quote {
                        field.push(b);
                        state = State::Quoted;
                        continue;
                    }
                    state = State::AfterQuoted;
                }
                if state == State::Escaped {
                    field.push(b);
                    if b == b'\n' {
                        self.line += 1;
                        multiline = true;
                    }
                    state = State::Quoted;
                    continue;
                }
                if state == State::Quoted {
                    if Some(b) == d.escape && d.escape != Some(d.quote) {
                        state = State::Escaped;
                    } else if b == d.quote {
                        state = State::QuoteInQuoted;
                    } else {
                        if b == b'\n' {
                            self.line += 1;
                            multiline = true;
                        }
                        field.push(b);
                    }
                    continue;
                }
                if b == b'\n' {
                    self.line += 1;
                    if !started {
                        start_line = self.line;
                        continue;
                    }
                    if state != State::AfterQuoted && field.last() == Some(&b'\r') {
                        field.pop();
                    }
                    fields.push(String::from_utf8_lossy(&field).into_owned());
                    finished = true;
                    break;
                }
                if b == b'\r' && !started {
                    continue;
                }
                started = true;
                if b == d.delimiter {
                    fields.push(String::from_utf8_lossy(&field).into_owned());
                    field.clear();
                    state = State::Start;
                } else if b == d.quote && state == State::Start {
                    state = State::Quoted;
                } else if state == State::Start {
                    state = State::Unquoted;
                    field.push(b);
                } else if b != b'\r' || state != State::AfterQuoted {
                    irregular |= state == State::AfterQuoted;
                    field.push(b);
                }
            }
            self.reader.consume(used);
            if finished {
                return Ok(Some(RawRecord {
                    line: start_line,
                    fields,
                    multiline,
                    irregular,
                    unterminated: false,
                }));
            }
        }
        if !started {
            return Ok(None);
        }
        if field.last() == Some(&b'\r') && state != State::AfterQuoted {
            field.pop();
        }
        fields.push(String::from_utf8_lossy(&field).into_owned());
        Ok(Some(RawRecord {
            line: start_line,
            fields,
            multiline,
            irregular,
            unterminated: matches!(state, State::Quoted | State::Escaped),
        }))
    }
}

/// Reads up to `limit` records from `reader`.
pub fn read_records<R: BufRead>(reader: R, dialect: Dialect, limit: usize) -> std::io::Result<Vec<RawRecord>> {
    let mut scanner = RecordScanner::new(reader, dialect);
    let mut out = Vec::new();
    while out.len() < limit {
        match scanner.next_record()? {
            Some(r) => out.push(r),
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMA: Dialect = Dialect {
        delimiter: b',',
        quote: b'"',
        escape: None,
    };

    #[test]
    fn splits_quoted_and_multiline() {
        let text = "a,b\r\n\n\"x,\"\"y\",2\n\"multi\nline\",3\nlast,";
        let recs = read_records(text.as_bytes(), COMMA, 100).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].fields, ["a", "b"]);
        assert_eq!(recs[1].fields, ["x,\"y", "2"]);
        assert_eq!(recs[1].line, 2);
        assert_eq!(recs[2].fields, ["multi\nline", "3"]);
        assert!(recs[2].multiline && !recs[1].multiline);
        assert_eq!(recs[3].line, 5);
        assert_eq!(recs[3].fields, ["last", ""]);
        assert_eq!(read_records(text.as_bytes(), COMMA, 2).unwrap().len(), 2);
    }

    #[test]
    fn escape_character() {
        let d = Dialect {
            escape: Some(b'\\'),
            ..COMMA
        };
        let recs = read_records("\"a\\\"b\",c\n".as_bytes(), d, 10).unwrap();
        assert_eq!(recs[0].fields, ["a\"b", "c"]);
    }
}
