//! Sniffing a CSV file from a sample of its records: the delimiter, whether the first line
//! is a header, and DuckDB-like column types (BOOLEAN, BIGINT, DOUBLE, TIME, DATE,
//! TIMESTAMP, VARCHAR). Types are checked with the same parsers Arrow's CSV reader uses, so a value
//! the sniffer accepted always decodes.

use arrow::compute::kernels::cast_utils::{string_to_datetime, Parser};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, Time64MicrosecondType, TimeUnit};

use crate::io::csv_records::{read_records, Dialect, RawRecord};

/// The delimiters tried when none is given, in order of preference.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b'|', b';'];

/// The timestamp type CSV columns are inferred as.
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// The time-of-day type CSV columns are inferred as.
pub const TIME: DataType = DataType::Time64(TimeUnit::Microsecond);

/// The SQL name of a type the sniffer produces, for error messages.
pub fn sql_type_name(dt: &DataType) -> String {
    match dt {
        // A sniffed TIME has no time zone (rask's TIMETZ shares Time64 with it).
        DataType::Time64(_) => "TIME".into(),
        other => crate::logical::types::sql_type_name(other),
    }
}

/// Which types every value of a column seen so far fits.
#[derive(Debug, Clone, Copy)]
pub struct TypeCandidates {
    boolean: bool,
    int: bool,
    float: bool,
    date: bool,
    timestamp: bool,
    time: bool,
    seen: bool,
}

impl Default for TypeCandidates {
    fn default() -> Self {
        Self {
            boolean: true,
            int: true,
            float: true,
            date: true,
            timestamp: true,
            time: true,
            seen: false,
        }
    }
}

/// True when `s` is a date written `YYYY-MM-DD`.
pub fn is_date_text(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && Date32Type::parse(s).is_some()
}

/// True when `s` is a timestamp without a time zone (`YYYY-MM-DD hh:mm:ss[.f]`).
pub fn is_timestamp_text(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && !s.ends_with(['Z', 'z'])
        && !s.get(10..).is_some_and(|t| t.contains(['+']))
        && string_to_datetime(&chrono::Utc, s).is_ok()
}

/// True when `s` is a time of day written `hh:mm[:ss[.f]]`.
pub fn is_time_text(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let colon = b.iter().position(|&c| c == b':');
    matches!(colon, Some(1 | 2))
        && colon.is_some_and(|c| digits(0..c) && digits(c + 1..c + 3))
        && s.bytes().all(|c| c.is_ascii_digit() || c == b':' || c == b'.')
        && Time64MicrosecondType::parse(s).is_some()
}

impl TypeCandidates {
    /// Narrows the candidates with one non-null value.
    pub fn add(&mut self, s: &str) {
        self.seen = true;
        // DuckDB reads `+7` as text, not a number.
        let numeric = s.bytes().any(|b| b.is_ascii_digit()) && !s.starts_with('+');
        if self.boolean {
            self.boolean = crate::io::csv::boolean_text(s).is_some();
        }
        if self.int {
            self.int = numeric && s.trim() == s && Int64Type::parse(s).is_some();
        }
        if self.float {
            self.float = numeric && s.trim() == s && Float64Type::parse(s).is_some();
        }
        if self.date {
            self.date = is_date_text(s);
        }
        if self.timestamp {
            self.timestamp = is_timestamp_text(s);
        }
        if self.time {
            self.time = is_time_text(s);
        }
    }

    /// The narrowest type that fits every value (VARCHAR when none was seen).
    pub fn data_type(&self) -> DataType {
        match self {
            c if !c.seen => DataType::Utf8,
            c if c.boolean => DataType::Boolean,
            c if c.int => DataType::Int64,
            c if c.float => DataType::Float64,
            c if c.date => DataType::Date32,
            c if c.timestamp => TIMESTAMP,
            c if c.time => TIME,
            _ => DataType::Utf8,
        }
    }
}

/// True when `s` is a value of type `dt` (as the sniffer would infer it).
pub fn fits(s: &str, dt: &DataType) -> bool {
    let mut c = TypeCandidates::default();
    c.add(s);
    match dt {
        DataType::Boolean => c.boolean,
        DataType::Int64 => c.int,
        DataType::Float64 => c.float,
        DataType::Date32 => c.date,
        DataType::Timestamp(_, _) => c.timestamp,
        DataType::Time64(_) => c.time,
        _ => true,
    }
}

/// The quote characters tried when none is given, in order of preference.
pub const QUOTES: [u8; 2] = [b'"', b'\''];

/// Picks the dialect (delimiter, quote, escape) that splits the most sample records into
/// the same number (> 1) of fields without text after a closing quote (rows with another
/// count are tolerated: they may be bad rows that `ignore_errors` skips); then the most
/// fields, then the order of the candidates. `None` arguments are detected: delimiters
/// from [`DELIMITERS`], quotes from [`QUOTES`], escapes from a doubled quote or `\`.
/// Falls back to a comma and the first quote.
pub fn detect_dialect(sample: &[u8], delimiter: Option<u8>, quote: Option<u8>, escape: Option<u8>) -> Dialect {
    let delimiters: Vec<u8> = delimiter.map_or_else(|| DELIMITERS.to_vec(), |d| vec![d]);
    let quotes: Vec<u8> = quote.map_or_else(|| QUOTES.to_vec(), |q| vec![q]);
    let escapes: Vec<Option<u8>> = escape.map_or_else(|| vec![None, Some(b'\\')], |e| vec![Some(e)]);
    let mut best: Option<((usize, usize), Dialect)> = None;
    for &quote in &quotes {
        for &escape in &escapes {
            for &delimiter in &delimiters {
                let dialect = Dialect {
                    delimiter,
                    quote,
                    escape: escape.filter(|e| *e != quote),
                };
                let Some(score) = score_dialect(sample, dialect) else {
                    continue;
                };
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, dialect));
                }
            }
        }
    }
    best.map_or(
        Dialect {
            delimiter: delimiter.unwrap_or(b','),
            quote: quotes[0],
            escape: escape.filter(|e| *e != quotes[0]),
        },
        |(_, d)| d,
    )
}

/// (records with the most common field count, that count) for regular records, when the
/// count is over one (or the delimiter was given).
fn score_dialect(sample: &[u8], dialect: Dialect) -> Option<(usize, usize)> {
    let records = read_records(sample, dialect, 1000).ok()?;
    // The last record of a truncated sample may be cut short.
    let complete = if records.len() > 1 {
        &records[..records.len() - 1]
    } else {
        &records[..]
    };
    let mut counts: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for r in complete.iter().filter(|r| !r.irregular) {
        *counts.entry(r.fields.len()).or_default() += 1;
    }
    // The most common field count (the larger one on a tie).
    let (n, rows) = counts
        .iter()
        .map(|(&n, &rows)| (n, rows))
        .max_by_key(|&(n, rows)| (rows, n))?;
    (n > 1).then_some((rows, n))
}

/// The delimiter [`detect_dialect`] picks for a given quote and escape.
pub fn detect_delimiter(sample: &[u8], quote: u8, escape: Option<u8>) -> u8 {
    detect_dialect(sample, None, Some(quote), Some(escape.unwrap_or(quote))).delimiter
}

/// Whether `value` reads as NULL.
pub fn is_null(value: &str, null_string: Option<&str>) -> bool {
    value.is_empty() || null_string == Some(value)
}

/// Infers column types from `records`.
pub fn infer_types(records: &[RawRecord], ncols: usize, null_string: Option<&str>) -> Vec<DataType> {
    candidates(records, ncols, null_string)
        .iter()
        .map(TypeCandidates::data_type)
        .collect()
}

fn candidates(records: &[RawRecord], ncols: usize, null_string: Option<&str>) -> Vec<TypeCandidates> {
    let mut cands = vec![TypeCandidates::default(); ncols];
    for rec in records {
        for (c, v) in cands.iter_mut().zip(&rec.fields) {
            if !is_null(v, null_string) {
                c.add(v);
            }
        }
    }
    cands
}

/// Whether the first record is a header, given the records below it: yes when one of its
/// fields would turn a typed column into VARCHAR; when every column below is VARCHAR, yes
/// when its fields are all non-empty and not numbers or dates (DuckDB's rule).
pub fn detect_header(first: &RawRecord, below: &[RawRecord], null_string: Option<&str>) -> bool {
    let cands = candidates(below, first.fields.len(), null_string);
    let mut all_varchar = true;
    for (v, c) in first.fields.iter().zip(&cands) {
        if c.data_type() == DataType::Utf8 {
            continue;
        }
        all_varchar = false;
        let mut with_first = *c;
        if !is_null(v, null_string) {
            with_first.add(v);
        }
        if with_first.data_type() == DataType::Utf8 {
            return true;
        }
    }
    if !all_varchar {
        return false;
    }
    first.fields.iter().all(|v| {
        let mut c = TypeCandidates::default();
        c.add(v);
        !is_null(v, null_string) && c.data_type() == DataType::Utf8
    })
}

/// Column names from a header record: empty names become `column{i}`, duplicates get
/// `_1`, `_2`, ... suffixes.
pub fn header_names(fields: &[String]) -> Vec<String> {
    let mut used = std::collections::HashSet::new();
    let mut names = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        // A UTF-8 byte order mark is not part of the first name.
        let f = if i == 0 {
            f.trim_start_matches('\u{feff}')
        } else {
            f.as_str()
        };
        let base = if f.is_empty() {
            format!("column{i}")
        } else {
            f.to_string()
        };
        let mut name = base.clone();
        let mut k = 1;
        while !used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> RawRecord {
        RawRecord {
            line: 0,
            fields: fields.iter().map(|s| s.to_string()).collect(),
            multiline: false,
            irregular: false,
            unterminated: false,
        }
    }

    #[test]
    fn infers_types() {
        let records = vec![
            rec(&["1", "1.5", "true", "2024-01-02", "2024-01-02 10:00:00", "x", ""]),
            rec(&["-7", "2", "FALSE", "2024-12-31", "2024-01-02T10:00:00.123", "1", ""]),
        ];
        let types = infer_types(&records, 7, None);
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Float64,
                DataType::Boolean,
                DataType::Date32,
                TIMESTAMP,
                DataType::Utf8,
                DataType::Utf8
            ]
        );
        let mixed = vec![rec(&["2024-01-02"]), rec(&["2024-01-03 01:02:03"])];
        assert_eq!(infer_types(&mixed, 1, None), [TIMESTAMP]);
        assert_eq!(
            infer_types(&[rec(&["NA"]), rec(&["3"])], 1, Some("NA")),
            [DataType::Int64]
        );
        assert_eq!(
            infer_types(&[rec(&["99999999999999999999"])], 1, None),
            [DataType::Float64]
        );
        assert_eq!(
            infer_types(
                &[rec(&["10:30", "+7", "1:02:03.5"]), rec(&["23:59:59", "8", "25:00"])],
                3,
                None
            ),
            [TIME, DataType::Utf8, DataType::Utf8]
        );
    }

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter(b"a;b;c\n1;2;3\n", b'"', None), b';');
        assert_eq!(detect_delimiter(b"a\tb\n1\t2,5\n", b'"', None), b'\t');
        assert_eq!(detect_delimiter(b"1|x|2|\n3|y|4|\n", b'"', None), b'|');
        assert_eq!(detect_delimiter(b"a,b\n\"1;2\",3\n", b'"', None), b',');
        assert_eq!(detect_delimiter(b"single\nvalues\n", b'"', None), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1;2;3\n4;5\n6;7;8\nx\n", b'"', None), b';');
        let d = detect_dialect(b"id,t\n1,'a, b'\n2,'c'\n", None, None, None);
        assert_eq!((d.delimiter, d.quote, d.escape), (b',', b'\'', None));
        let d = detect_dialect(b"id,t\n1,\"a \\\"q\\\" w\"\n2,\"x\"\n", None, None, None);
        assert_eq!((d.quote, d.escape), (b'"', Some(b'\\')));
        let d = detect_dialect(b"id,t\n1,\"say \"\"hi\"\"\"\n", None, None, None);
        assert_eq!((d.quote, d.escape), (b'"', None));
    }

    #[test]
    fn detects_headers() {
        let below = [rec(&["3", "ann"]), rec(&["4", "cid"])];
        assert!(detect_header(&rec(&["id", "name"]), &below, None));
        assert!(!detect_header(&rec(&["1", "bob"]), &below, None));
        assert!(!detect_header(&rec(&["1.5", "bob"]), &below, None));
        assert!(detect_header(&rec(&["name", "city"]), &[rec(&["a", "b"])], None));
        assert!(!detect_header(&rec(&["bob", ""]), &[rec(&["a", "b"])], None));
        assert!(!detect_header(&rec(&["bob", "7"]), &[rec(&["a", "b"])], None));
        assert!(detect_header(&rec(&["x", "y"]), &[], None));
        assert_eq!(
            header_names(&["a".into(), "a".into(), "".into(), "a".into()]),
            ["a", "a_1", "column2", "a_2"]
        );
    }
}
