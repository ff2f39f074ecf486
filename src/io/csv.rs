//! CSV sources: sniffing the dialect, header and column types from the first file, and
//! scanning a partition (a whole file or a byte range) with Arrow's vectorized decoder.
//! A value that does not fit its column's type is reported with file, line and field.

use std::io::{BufRead, Read};
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, BooleanArray, BooleanBuilder, RecordBatchOptions, StringArray};
use arrow::csv::reader::{Decoder, Format};
use arrow::csv::ReaderBuilder;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use regex::Regex;

use crate::error::{Error, Result};
use crate::io::csv_records::{read_records, Dialect, RecordScanner};
use crate::io::csv_sniff::{detect_dialect, detect_header, header_names, infer_types, is_null, sql_type_name};
use crate::io::input::{lines_before, open_file, open_partition};
use crate::io::source::{CsvOptions, FileMeta, PartitionKind};
use crate::io::union::{same_columns, union_by_name, FileColumns};
use crate::physical::plan::BatchStream;

/// How many bytes dialect detection looks at.
const DELIMITER_SAMPLE_BYTES: u64 = 1 << 20;

/// What the sniffer learned about a CSV source, kept for scanning.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    /// The schema the decoder parses: the source schema, plus a trailing empty column when
    /// every line ends with the delimiter (that column is never output).
    pub decode_schema: SchemaRef,
    /// Delimiter, quote and escape.
    pub dialect: Dialect,
    /// Whether each file starts with a header line.
    pub header: bool,
    /// Text that reads as NULL besides the empty field.
    pub null_string: Option<String>,
    /// False when a quoted field spans lines: files are then never split into byte ranges.
    pub splittable: bool,
    /// How many records the types were inferred from (for error messages).
    pub sampled_rows: usize,
    /// Per column of the decode schema: whether its type was declared (`types = {…}`)
    /// rather than inferred (for error messages).
    pub declared: Vec<bool>,
}

/// Sniffs the first file: returns the options with detected values filled in, the schema
/// and the layout used to scan.
pub fn sniff(first: &FileMeta, opts: &CsvOptions) -> Result<(CsvOptions, SchemaRef, CsvLayout)> {
    let io_err = |e| Error::io(&first.display_name, e);
    let dialect = match (opts.delimiter, opts.quote, opts.escape) {
        (Some(delimiter), Some(quote), Some(escape)) => Dialect {
            delimiter,
            quote,
            escape: Some(escape).filter(|e| *e != quote),
        },
        (delimiter, quote, escape) => {
            let mut sample = Vec::new();
            open_file(first)?
                .take(DELIMITER_SAMPLE_BYTES)
                .read_to_end(&mut sample)
                .map_err(io_err)?;
            detect_dialect(&sample, delimiter, quote, escape)
        }
    };
    let delimiter = dialect.delimiter;
    let records = read_records(open_file(first)?, dialect, opts.sample_rows.saturating_add(1)).map_err(io_err)?;
    let null = opts.null_string.as_deref();
    let Some(first_rec) = records.first() else {
        // An empty file: one VARCHAR column, no rows.
        let schema = Arc::new(Schema::new(vec![Field::new("column0", DataType::Utf8, true)]));
        let layout = CsvLayout {
            decode_schema: schema.clone(),
            dialect,
            header: false,
            null_string: opts.null_string.clone(),
            splittable: true,
            sampled_rows: 0,
            declared: vec![false],
        };
        let filled = CsvOptions {
            header: Some(false),
            delimiter: Some(delimiter),
            quote: Some(dialect.quote),
            escape: Some(dialect.escape.unwrap_or(dialect.quote)),
            ..opts.clone()
        };
        return Ok((filled, schema, layout));
    };
    if let Some(open) = records.iter().find(|r| r.unterminated) {
        return Err(Error::Malformed {
            file: first.display_name.clone(),
            line: open.line + 1,
            column: open.fields.len() as u64,
            message: format!(
                "the quote ({}) that opens this field is never closed: the field would run to the \
                 end of the file; close it, or read with another quote character",
                char::from(dialect.quote)
            ),
        });
    }
    let ncols = first_rec.fields.len();
    let header = match opts.header {
        Some(h) => h,
        None => detect_header(first_rec, &records[1..], null),
    };
    let data = if header { &records[1..] } else { &records[..] };
    let data = &data[..data.len().min(opts.sample_rows)];
    let mut types = infer_types(data, ncols, null);
    let names = if header {
        header_names(&first_rec.fields)
    } else {
        (0..ncols).map(|i| format!("column{i}")).collect()
    };
    let declared = apply_types(&mut types, &names, &opts.types, &first.display_name)?;
    let trailing_empty = ncols > 1
        && (!header || first_rec.fields[ncols - 1].is_empty())
        && data
            .iter()
            .all(|r| r.fields.get(ncols - 1).is_none_or(|v| v.is_empty()));
    let fields: Vec<Field> = names
        .iter()
        .zip(&types)
        .map(|(n, t)| Field::new(n, t.clone(), true))
        .collect();
    let decode_schema = Arc::new(Schema::new(fields.clone()));
    let public = if trailing_empty {
        Arc::new(Schema::new(fields[..ncols - 1].to_vec()))
    } else {
        decode_schema.clone()
    };
    let layout = CsvLayout {
        decode_schema,
        dialect,
        header,
        null_string: opts.null_string.clone(),
        splittable: !records.iter().any(|r| r.multiline),
        sampled_rows: data.len(),
        declared,
    };
    let filled = CsvOptions {
        header: Some(header),
        delimiter: Some(delimiter),
        quote: Some(dialect.quote),
        escape: Some(dialect.escape.unwrap_or(dialect.quote)),
        ..opts.clone()
    };
    Ok((filled, public, layout))
}

/// Replaces inferred types with the `types` option's: by column name, or by position
/// when the entries have no names.
/// Sets the declared `wanted` types over the inferred ones; returns, per column, whether
/// its type was declared.
fn apply_types(
    types: &mut [DataType],
    names: &[String],
    wanted: &[(Option<String>, DataType)],
    file: &str,
) -> Result<Vec<bool>> {
    let mut declared = vec![false; types.len()];
    for (k, (name, dt)) in wanted.iter().enumerate() {
        let index = match name {
            Some(n) => names.iter().position(|c| c.eq_ignore_ascii_case(n)).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{file}: types names a column \"{n}\" that the file does not have (its columns: {}); \
                     if one of those looks like several columns, check the delimiter",
                    names.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
                ))
            })?,
            None => k,
        };
        let slot = types.get_mut(index).ok_or_else(|| {
            Error::InvalidInput(format!(
                "{file}: types has {} entries but the file has {} columns",
                wanted.len(),
                names.len()
            ))
        })?;
        *slot = dt.clone();
        declared[index] = true;
    }
    Ok(declared)
}

/// What [`open`] learned: the options with detected values filled in, the source's
/// schema, the layouts (one, or one per file) and, when some file's columns differ from
/// the source's, each file's mapping.
pub type OpenedCsv = (CsvOptions, SchemaRef, Vec<CsvLayout>, Option<Vec<FileColumns>>);

/// Opens the CSV files of a source: the first file is sniffed; with `union_by_name` every
/// file is, and each decodes its columns as the union's types. Otherwise, when the files
/// have headers, every header must name the first file's columns (in any order).
pub fn open(files: &[FileMeta], opts: &CsvOptions, union: bool) -> Result<OpenedCsv> {
    let first = files.first().ok_or_else(|| Error::internal("no CSV files"))?;
    if union && files.len() > 1 {
        let sniffed = files.iter().map(|f| sniff(f, opts)).collect::<Result<Vec<_>>>()?;
        let schemas: Vec<SchemaRef> = sniffed.iter().map(|(_, s, _)| Arc::clone(s)).collect();
        let (union_schema, mut columns) = union_by_name(&schemas);
        let mut layouts = Vec::with_capacity(files.len());
        for ((_, _, layout), cols) in sniffed.iter().zip(columns.iter_mut()) {
            let mut fields: Vec<Field> = layout
                .decode_schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            for (u, j) in cols.index.iter().enumerate() {
                if let Some(f) = j.and_then(|j| fields.get_mut(j)) {
                    *f = Field::new(f.name(), union_schema.field(u).data_type().clone(), true);
                }
            }
            let public = cols.schema.fields().len();
            cols.schema = Arc::new(Schema::new(fields[..public].to_vec()));
            layouts.push(CsvLayout {
                decode_schema: Arc::new(Schema::new(fields)),
                ..layout.clone()
            });
        }
        let filled = sniffed
            .into_iter()
            .next()
            .map(|(o, _, _)| o)
            .unwrap_or_else(|| opts.clone());
        return Ok((filled, union_schema, layouts, Some(columns)));
    }
    let (filled, schema, layout) = sniff(first, opts)?;
    if files.len() < 2 || !layout.header {
        return Ok((filled, schema, vec![layout], None));
    }
    // Each file's columns as its header names them, typed as the first file's.
    let mut schemas = vec![Arc::clone(&schema)];
    for file in &files[1..] {
        let names = match read_records(open_file(file)?, layout.dialect, 1)
            .map_err(|e| Error::io(&file.display_name, e))?
            .first()
        {
            Some(rec) => header_names(&rec.fields),
            // An empty file has no rows to misread.
            None => {
                schemas.push(Arc::clone(&schema));
                continue;
            }
        };
        let extra = layout.decode_schema.fields().len() - schema.fields().len();
        let names = &names[..names.len().saturating_sub(extra)];
        let fields: Vec<Field> = names
            .iter()
            .map(|n| {
                let dt = schema
                    .fields()
                    .iter()
                    .find(|f| f.name().eq_ignore_ascii_case(n))
                    .map_or(DataType::Utf8, |f| f.data_type().clone());
                Field::new(n, dt, true)
            })
            .collect();
        schemas.push(Arc::new(Schema::new(fields)));
    }
    let Some(columns) = same_columns(files, &schemas)? else {
        return Ok((filled, schema, vec![layout], None));
    };
    // Some file has the columns in another order: it decodes in its own order.
    let layouts = columns
        .iter()
        .map(|c| {
            let mut fields: Vec<Field> = c.schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields.extend(
                layout
                    .decode_schema
                    .fields()
                    .iter()
                    .skip(schema.fields().len())
                    .map(|f| f.as_ref().clone()),
            );
            CsvLayout {
                decode_schema: Arc::new(Schema::new(fields)),
                ..layout.clone()
            }
        })
        .collect();
    Ok((filled, schema, layouts, Some(columns)))
}

fn null_regex(null_string: Option<&str>) -> Result<Option<Regex>> {
    null_string
        .map(|s| Regex::new(&format!("^(|{})$", regex::escape(s))).map_err(|e| Error::internal(e.to_string())))
        .transpose()
}

/// Scans one partition of a CSV file, reading the `projection` columns (indices into the
/// source schema) in that order.
pub fn scan(
    file: &FileMeta,
    kind: &PartitionKind,
    layout: &CsvLayout,
    projection: Vec<usize>,
    batch_size: usize,
) -> Result<BatchStream> {
    let input = open_partition(file, kind)?;
    let header = layout.header && !matches!(kind, PartitionKind::ByteRange { start, .. } if *start > 0);
    let mut format = Format::default()
        .with_header(header)
        .with_delimiter(layout.dialect.delimiter)
        .with_quote(layout.dialect.quote);
    if let Some(e) = layout.dialect.escape {
        format = format.with_escape(e);
    }
    if let Some(re) = null_regex(layout.null_string.as_deref())? {
        format = format.with_null_regex(re);
    }
    // BOOLEAN columns are decoded as text: DuckDB also reads t/f and yes/no.
    let booleans: Vec<usize> = projection
        .iter()
        .enumerate()
        .filter(|(_, &c)| layout.decode_schema.field(c).data_type() == &DataType::Boolean)
        .map(|(k, _)| k)
        .collect();
    let arrow_schema = if booleans.is_empty() {
        layout.decode_schema.clone()
    } else {
        Arc::new(Schema::new(
            layout
                .decode_schema
                .fields()
                .iter()
                .map(|f| match f.data_type() {
                    DataType::Boolean => Field::new(f.name(), DataType::Utf8, true),
                    _ => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
        ))
    };
    let out_schema = Arc::new(Schema::new(
        projection
            .iter()
            .map(|&c| layout.decode_schema.field(c).clone())
            .collect::<Vec<_>>(),
    ));
    let decoder = ReaderBuilder::new(arrow_schema)
        .with_format(format)
        .with_batch_size(batch_size.max(1))
        .with_projection(projection.clone())
        .build_decoder();
    Ok(Box::new(CsvStream {
        reader: input.reader,
        decoder,
        booleans,
        projection,
        out_schema,
        records_before: u64::from(header),
        done: false,
        ctx: ErrorContext {
            file: file.clone(),
            kind: kind.clone(),
            layout: layout.clone(),
            header,
        },
    }))
}

struct ErrorContext {
    file: FileMeta,
    kind: PartitionKind,
    layout: CsvLayout,
    header: bool,
}

struct CsvStream {
    reader: Box<dyn BufRead + Send>,
    decoder: Decoder,
    /// Positions (in the projection) of BOOLEAN columns decoded as text.
    booleans: Vec<usize>,
    /// The projected columns (indices into the decode schema).
    projection: Vec<usize>,
    out_schema: SchemaRef,
    /// Records of the partition before the next batch (the header included).
    records_before: u64,
    done: bool,
    ctx: ErrorContext,
}

impl CsvStream {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let buf = self
                .reader
                .fill_buf()
                .map_err(|e| Error::io(&self.ctx.file.display_name, e))?;
            let decoded = self.decoder.decode(buf).map_err(|e| self.ctx.locate(e))?;
            if decoded == 0 {
                break;
            }
            self.reader.consume(decoded);
        }
        let Some(batch) = self.decoder.flush().map_err(|e| self.ctx.locate(e))? else {
            return Ok(None);
        };
        let first_record = self.records_before;
        self.records_before += batch.num_rows() as u64;
        if self.booleans.is_empty() {
            return Ok(Some(batch));
        }
        let mut columns = batch.columns().to_vec();
        for &k in &self.booleans {
            let text = columns[k]
                .as_string_opt::<i32>()
                .ok_or_else(|| Error::internal("a BOOLEAN CSV column was not decoded as text"))?;
            columns[k] = match parse_booleans(text) {
                Ok(b) => Arc::new(b),
                Err(row) => {
                    let message = format!(
                        "Error while parsing value '{}' as type 'Boolean' for column {} at line {}",
                        text.value(row),
                        self.projection[k],
                        first_record + row as u64
                    );
                    return Err(self.ctx.locate(ArrowError::ParseError(message)));
                }
            };
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(Some(RecordBatch::try_new_with_options(
            Arc::clone(&self.out_schema),
            columns,
            &options,
        )?))
    }
}

/// DuckDB's boolean text: `true`/`t`/`yes` and `false`/`f`/`no`, in any case.
pub fn boolean_text(s: &str) -> Option<bool> {
    if ["true", "t", "yes"].iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if ["false", "f", "no"].iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(false)
    } else {
        None
    }
}

/// Booleans from text; a value that is not one becomes NULL.
pub fn booleans_or_null(text: &StringArray) -> BooleanArray {
    text.iter().map(|v| v.and_then(boolean_text)).collect()
}

/// Booleans from text (NULL stays NULL), or the row of the first value that is not one.
fn parse_booleans(text: &StringArray) -> std::result::Result<BooleanArray, usize> {
    let mut out = BooleanBuilder::with_capacity(text.len());
    for (row, v) in text.iter().enumerate() {
        match v.map(boolean_text) {
            None => out.append_null(),
            Some(Some(b)) => out.append_value(b),
            Some(None) => return Err(row),
        }
    }
    Ok(out.finish())
}

impl Iterator for CsvStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
        }
        out
    }
}

/// Where Arrow says a CSV error is: 0-based record index in the partition's stream
/// (header included) and 0-based field, or the field count it found.
enum ErrorSite {
    Value { record: u64, field: usize },
    Utf8 { record: u64, field: usize },
    FieldCount { record: u64 },
}

fn parse_site(message: &str) -> Option<ErrorSite> {
    static VALUE: OnceLock<Option<Regex>> = OnceLock::new();
    static COUNT: OnceLock<Option<Regex>> = OnceLock::new();
    static UTF8: OnceLock<Option<Regex>> = OnceLock::new();
    let value = VALUE
        .get_or_init(|| Regex::new(r"(?:for column|parsing column) (\d+) at line (\d+)").ok())
        .as_ref()?;
    let count = COUNT
        .get_or_init(|| Regex::new(r"incorrect number of fields for line (\d+), expected \d+ got").ok())
        .as_ref()?;
    let utf8 = UTF8
        .get_or_init(|| Regex::new(r"invalid UTF-8 data for line (\d+) and field (\d+)").ok())
        .as_ref()?;
    if let Some(c) = value.captures(message) {
        return Some(ErrorSite::Value {
            field: c[1].parse().ok()?,
            record: c[2].parse().ok()?,
        });
    }
    if let Some(c) = count.captures(message) {
        return Some(ErrorSite::FieldCount {
            record: c[1].parse::<u64>().ok()?.checked_sub(1)?,
        });
    }
    if let Some(c) = utf8.captures(message) {
        // Both 1-based in this message.
        return Some(ErrorSite::Utf8 {
            record: c[1].parse::<u64>().ok()?.checked_sub(1)?,
            field: c[2].parse::<usize>().ok()?.checked_sub(1)?,
        });
    }
    None
}

impl ErrorContext {
    /// Turns an Arrow CSV error into one naming file, line and field. Rescans the
    /// partition to find the record (this is the error path only).
    fn locate(&self, err: ArrowError) -> Error {
        let message = err.to_string();
        let fallback = || Error::InvalidInput(format!("{}: {message}", self.file.display_name));
        let Some(site) = parse_site(&message) else {
            return fallback();
        };
        let record = match &site {
            ErrorSite::Value { record, .. } | ErrorSite::Utf8 { record, .. } | ErrorSite::FieldCount { record, .. } => {
                *record
            }
        };
        let found = (|| -> Result<Option<(u64, Vec<String>)>> {
            let input = open_partition(&self.file, &self.kind)?;
            let mut scanner = RecordScanner::new(input.reader, self.layout.dialect);
            let mut index = 0u64;
            while let Some(rec) = scanner
                .next_record()
                .map_err(|e| Error::io(&self.file.display_name, e))?
            {
                if index == record {
                    let line = lines_before(&self.file, input.data_start)? + rec.line + 1;
                    return Ok(Some((line, rec.fields)));
                }
                index += 1;
            }
            Ok(None)
        })();
        let Ok(Some((line, fields))) = found else {
            return fallback();
        };
        let schema = &self.layout.decode_schema;
        match site {
            ErrorSite::Value { field, .. } => {
                let Some(f) = schema.fields().get(field) else {
                    return fallback();
                };
                let value = fields.get(field).map(String::as_str).unwrap_or("");
                let shown = if is_null(value, None) {
                    "<empty>".to_string()
                } else {
                    format!("\"{value}\"")
                };
                Error::Malformed {
                    file: self.file.display_name.clone(),
                    line,
                    column: field as u64 + 1,
                    message: if self.layout.declared.get(field).copied().unwrap_or(false) {
                        format!(
                            "could not convert {shown} to {ty} in column \"{name}\", whose type was declared \
                             as {ty}; fix the value, declare another type, or pass ignore_errors = true",
                            ty = sql_type_name(f.data_type()),
                            name = f.name(),
                        )
                    } else {
                        format!(
                            "could not convert {shown} to {ty} in column \"{name}\": the column type was \
                             inferred as {ty} from the first {n} rows of the first file; fix the value or \
                             read the column as VARCHAR",
                            ty = sql_type_name(f.data_type()),
                            name = f.name(),
                            n = self.layout.sampled_rows,
                        )
                    },
                }
            }
            ErrorSite::Utf8 { field, .. } => Error::Malformed {
                file: self.file.display_name.clone(),
                line,
                column: field as u64 + 1,
                message: "invalid UTF-8: the file is not UTF-8 encoded; convert it first (e.g. \
                          `iconv -f latin1 -t utf-8`)"
                    .to_string(),
            },
            ErrorSite::FieldCount { .. } => {
                let expected = schema.fields().len();
                let got = fields.len();
                let column = if got < expected { got + 1 } else { expected + 1 };
                let what = if self.header && record == 0 {
                    "the header has"
                } else {
                    "this line has"
                };
                Error::Malformed {
                    file: self.file.display_name.clone(),
                    line,
                    column: column as u64,
                    message: format!(
                        "expected {expected} fields but {what} {got}; check the \
                         delimiter '{}' and quoting",
                        char::from(self.layout.dialect.delimiter).escape_default()
                    ),
                }
            }
        }
    }
}
