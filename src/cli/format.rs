//! Output formats: renders a [`QueryResult`] as a DuckDB-like box table, CSV, TSV, JSON,
//! NDJSON or a Markdown pipe table.
//!
//! Values are shown as DuckDB prints them: `NULL` in tables (dim on a colour terminal; an empty field in CSV/TSV,
//! `null` in JSON), floats in their shortest round-trip form (`1.0`, `0.1`, `1e+20`),
//! decimals with their scale, dates as ISO dates and timestamps as `2024-01-02 03:04:05`.
//! CSV, TSV, JSON and NDJSON stream batch by batch; the table renders only the rows it shows.

use std::fmt::{Display, LowerExp, Write as _};
use std::io::Write;
use std::path::Path;

use arrow::array::{Array, Float16Array, Float32Array, Float64Array, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions as ArrowFormatOptions};
use comfy_table::{Attribute, Cell, CellAlignment, ContentArrangement, Table};

use crate::error::{Error, Result};
use crate::session::QueryResult;

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A box-drawn table with column names and types, like DuckDB's.
    Table,
    /// Comma-separated values with RFC 4180 quoting.
    Csv,
    /// Tab-separated values; tabs, newlines and backslashes are escaped.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Markdown pipe table.
    Markdown,
}

impl OutputFormat {
    /// The format named `name` (`table`, `csv`, `tsv`, `json`, `ndjson`/`jsonl`, `markdown`/`md`,
    /// `box` and `duckbox` for table), case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "table" | "box" | "duckbox" => Some(Self::Table),
            "csv" => Some(Self::Csv),
            "tsv" | "tabs" => Some(Self::Tsv),
            "json" => Some(Self::Json),
            "ndjson" | "jsonl" | "jsonlines" => Some(Self::Ndjson),
            "markdown" | "md" => Some(Self::Markdown),
            _ => None,
        }
    }

    /// The format implied by the extension of `path` (`.csv`, `.tsv`, `.json`, `.ndjson`,
    /// `.jsonl`, `.md`, `.txt` for a table), if any.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Some(Self::Table),
            "tab" => Some(Self::Tsv),
            other => Self::from_name(other),
        }
    }

    /// The lower-case name of the format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
            Self::Markdown => "markdown",
        }
    }
}

/// Settings for [`write_result`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    /// Write a header row (CSV and TSV).
    pub header: bool,
    /// Table: results with more rows show the first and last `max_rows / 2` rows.
    pub max_rows: usize,
    /// Table: the width to fit in (the terminal's); `None` draws columns at full width.
    pub max_width: Option<u16>,
    /// Table: NULL is drawn dim (on a colour terminal); otherwise it is just `NULL`.
    pub colour: bool,
    /// CSV and TSV: threads that turn batches into text side by side (the rows still come
    /// out in order).
    pub threads: usize,
}

impl Default for FormatOptions {
    fn default() -> Self {
        Self {
            header: true,
            max_rows: 40,
            max_width: None,
            colour: false,
            threads: 1,
        }
    }
}

/// Writes `result` to `out` in `format`.
pub fn write_result(
    result: &QueryResult,
    format: OutputFormat,
    out: &mut dyn Write,
    opts: &FormatOptions,
) -> Result<()> {
    match format {
        OutputFormat::Table => write_table(result, out, opts),
        OutputFormat::Markdown => write_markdown(result, out),
        _ => write_stream(
            &result.schema,
            &mut result.batches.iter().cloned().map(Ok),
            format,
            out,
            opts,
        )
        .map(|_| ()),
    }
}

/// Whether `format` can be written batch by batch as the rows arrive (csv, tsv, json,
/// ndjson); the table and markdown formats need every row first.
pub fn is_streamable(format: OutputFormat) -> bool {
    !matches!(format, OutputFormat::Table | OutputFormat::Markdown)
}

/// Writes `batches` to `out` as they arrive, in a streamable `format`; returns the number of
/// rows written.
pub fn write_stream(
    schema: &SchemaRef,
    batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
    format: OutputFormat,
    out: &mut dyn Write,
    opts: &FormatOptions,
) -> Result<u64> {
    match format {
        OutputFormat::Csv => write_delimited(schema, batches, out, opts, Delimited::Csv),
        OutputFormat::Tsv => write_delimited(schema, batches, out, opts, Delimited::Tsv),
        OutputFormat::Json => write_json(batches, out, false),
        OutputFormat::Ndjson => write_json(batches, out, true),
        OutputFormat::Table | OutputFormat::Markdown => Err(Error::internal(format!(
            "the {} format cannot be streamed",
            format.name()
        ))),
    }
}

/// Maps a write error on the output to [`Error::Io`] (so a closed pipe is recognisable).
fn io_error(e: std::io::Error) -> Error {
    Error::io("<output>", e)
}

/// Maps an Arrow error raised while writing; I/O errors keep their kind.
fn arrow_write_error(e: arrow::error::ArrowError) -> Error {
    match e {
        arrow::error::ArrowError::IoError(_, source) => io_error(source),
        other => Error::Arrow(other),
    }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";
const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f%:z";

/// Arrow display options matching DuckDB's rendering of temporal values.
fn arrow_options() -> ArrowFormatOptions<'static> {
    ArrowFormatOptions::new()
        .with_null("NULL")
        .with_display_error(false)
        .with_timestamp_format(Some(TIMESTAMP_FORMAT))
        .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT))
}

enum Kind<'a> {
    F16(&'a Float16Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    /// Values already rendered by rask's own casts to VARCHAR (dates, timestamps, times,
    /// TIMETZ and intervals in DuckDB's text, over DuckDB's whole range).
    Text(StringArray),
    Other(ArrayFormatter<'a>),
}

/// Renders the values of one column as text, DuckDB style.
struct ValueRenderer<'a> {
    nulls: Option<NullBuffer>,
    kind: Kind<'a>,
    null: &'a str,
    /// Times and timestamps without zone: drop trailing zeros of the fraction of a second.
    trim_fraction: bool,
}

impl<'a> ValueRenderer<'a> {
    /// A renderer for `array` that shows NULL as `null`.
    fn try_new(array: &'a dyn Array, null: &'a str) -> Result<Self> {
        let any = array.as_any();
        let kind = match array.data_type() {
            DataType::Float16 => any.downcast_ref().map(Kind::F16),
            DataType::Float32 => any.downcast_ref().map(Kind::F32),
            DataType::Float64 => any.downcast_ref().map(Kind::F64),
            DataType::Date32
            | DataType::Timestamp(_, None)
            | DataType::Time64(_)
            | DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => {
                let text = crate::physical::cast::cast_array(
                    &arrow::array::make_array(array.to_data()),
                    &DataType::Utf8,
                    false,
                )?;
                text.as_any().downcast_ref::<StringArray>().cloned().map(Kind::Text)
            }
            _ => None,
        };
        let kind = match kind {
            Some(kind) => kind,
            None => Kind::Other(ArrayFormatter::try_new(array, &arrow_options())?),
        };
        Ok(Self {
            nulls: array.logical_nulls(),
            kind,
            null,
            trim_fraction: matches!(
                array.data_type(),
                DataType::Timestamp(_, None) | DataType::Time32(_) | DataType::Time64(_)
            ),
        })
    }

    /// True when row `row` is NULL.
    fn is_null(&self, row: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(row))
    }

    /// Appends the text of row `row` to `buf`.
    fn write(&self, row: usize, buf: &mut String) -> Result<()> {
        if self.is_null(row) {
            buf.push_str(self.null);
            return Ok(());
        }
        match &self.kind {
            Kind::F16(a) => format_float(a.value(row).to_f32(), buf),
            Kind::F32(a) => format_float(a.value(row), buf),
            Kind::F64(a) => format_float(a.value(row), buf),
            Kind::Text(a) => buf.push_str(a.value(row)),
            Kind::Other(f) => {
                let start = buf.len();
                f.value(row).write(buf)?;
                if self.trim_fraction {
                    trim_fraction_zeros(buf, start);
                }
            }
        }
        Ok(())
    }

    /// The text of row `row`.
    fn render(&self, row: usize) -> Result<String> {
        let mut s = String::new();
        self.write(row, &mut s)?;
        Ok(s)
    }
}

/// Removes trailing zeros of a fractional-seconds part at the end of `buf[start..]`
/// (`03:04:05.100` → `03:04:05.1`), as DuckDB prints timestamps and times.
fn trim_fraction_zeros(buf: &mut String, start: usize) {
    let text = &buf[start..];
    let Some(dot) = text.rfind('.') else { return };
    let frac = &text[dot + 1..];
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    let keep = frac.trim_end_matches('0').len();
    let cut = if keep == 0 { dot } else { dot + 1 + keep };
    buf.truncate(start + cut);
}

/// Writes a float the way DuckDB does: shortest round-trip digits, `.0` on whole numbers,
/// scientific notation (`1e+20`, `1.5e-05`) outside `1e-4 ..= 1e16`, `nan`, `inf`.
fn format_float<T: Display + LowerExp + Copy + Into<f64>>(v: T, buf: &mut String) {
    let wide: f64 = v.into();
    if wide.is_nan() {
        buf.push_str("nan");
        return;
    }
    if wide.is_infinite() {
        buf.push_str(if wide > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // The shortest digits of a double below 1e16 and from 1e-4 up have an exponent in
    // -4..16 (the thresholds are doubles themselves), so the common case needs no
    // scientific rendering to decide. (Narrower floats convert inexactly: they take the
    // general path.)
    let plain_double = std::mem::size_of::<T>() == 8 && (wide == 0.0 || (1e-4..1e16).contains(&wide.abs()));
    if !plain_double {
        let sci = format!("{v:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        if !(-4..16).contains(&exp) {
            let sign = if exp < 0 { '-' } else { '+' };
            let _ = write!(buf, "{mantissa}e{sign}{:02}", exp.unsigned_abs());
            return;
        }
    }
    let start = buf.len();
    let _ = write!(buf, "{v}");
    if !buf[start..].contains('.') {
        buf.push_str(".0");
    }
}

/// The type name DuckDB shows under a column name (`int64`, `varchar`, `decimal(15,2)`).
pub fn type_name(dt: &DataType) -> String {
    match dt {
        DataType::Null => "\"null\"".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "blob".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone".into(),
        DataType::Interval(_) | DataType::Duration(_) => "interval".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => format!("{}[]", type_name(f.data_type())),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{} {}", f.name(), type_name(f.data_type())))
                .collect();
            format!("struct({})", inner.join(", "))
        }
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map({}, {})",
                type_name(kv[0].data_type()),
                type_name(kv[1].data_type())
            ),
            _ => "map".into(),
        },
        DataType::Dictionary(_, value) => type_name(value),
        DataType::RunEndEncoded(_, value) => type_name(value.data_type()),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// True for types whose values are right-aligned in a table.
fn is_numeric(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, value) => is_numeric(value),
        other => other.is_numeric(),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV and TSV
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Delimited {
    Csv,
    Tsv,
}

impl Delimited {
    fn separator(self) -> char {
        match self {
            Delimited::Csv => ',',
            Delimited::Tsv => '\t',
        }
    }

    /// Appends one field. `is_text`: an empty non-NULL string is quoted in CSV so that it
    /// differs from NULL (an empty field).
    fn push_field(self, field: &str, is_text: bool, line: &mut String) {
        match self {
            Delimited::Csv => {
                let needs_quotes = field.contains([',', '"', '\n', '\r'])
                    || (is_text && field.is_empty())
                    || field.starts_with(' ')
                    || field.ends_with(' ');
                if needs_quotes {
                    line.push('"');
                    for c in field.chars() {
                        if c == '"' {
                            line.push('"');
                        }
                        line.push(c);
                    }
                    line.push('"');
                } else {
                    line.push_str(field);
                }
            }
            Delimited::Tsv => {
                for c in field.chars() {
                    match c {
                        '\t' => line.push_str("\\t"),
                        '\n' => line.push_str("\\n"),
                        '\r' => line.push_str("\\r"),
                        '\\' => line.push_str("\\\\"),
                        c => line.push(c),
                    }
                }
            }
        }
    }
}

fn is_text(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// Rows each thread renders at a time when CSV or TSV is rendered on several threads.
const RENDER_CHUNK_ROWS: usize = 32 * 1024;

/// Renders `batches` as CSV or TSV rows and writes them in order: on `threads` threads
/// (each a consecutive share of the batches) when there are several batches.
fn write_rendered(batches: &[RecordBatch], kind: Delimited, threads: usize, out: &mut dyn Write) -> Result<()> {
    if batches.is_empty() {
        return Ok(());
    }
    if threads == 1 || batches.len() == 1 {
        let text = render_delimited(batches, kind)?;
        return out.write_all(text.as_bytes()).map_err(io_error);
    }
    let share = batches.len().div_ceil(threads);
    let texts: Vec<Result<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .chunks(share)
            .map(|part| scope.spawn(move || render_delimited(part, kind)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| Err(Error::internal(crate::error::panic_message(&*panic))))
            })
            .collect()
    });
    for text in texts {
        out.write_all(text?.as_bytes()).map_err(io_error)?;
    }
    Ok(())
}

/// `batches` as CSV or TSV rows (no header).
fn render_delimited(batches: &[RecordBatch], kind: Delimited) -> Result<String> {
    let sep = kind.separator();
    let mut line = String::new();
    let mut field = String::new();
    for batch in batches {
        let renderers = batch
            .columns()
            .iter()
            .map(|c| ValueRenderer::try_new(c.as_ref(), ""))
            .collect::<Result<Vec<_>>>()?;
        let text: Vec<bool> = batch.columns().iter().map(|c| is_text(c.data_type())).collect();
        for row in 0..batch.num_rows() {
            for (i, r) in renderers.iter().enumerate() {
                if i > 0 {
                    line.push(sep);
                }
                field.clear();
                r.write(row, &mut field)?;
                kind.push_field(&field, text[i] && !r.is_null(row), &mut line);
            }
            line.push('\n');
        }
    }
    Ok(line)
}

fn write_delimited(
    schema: &SchemaRef,
    batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
    out: &mut dyn Write,
    opts: &FormatOptions,
    kind: Delimited,
) -> Result<u64> {
    let sep = kind.separator();
    let mut line = String::new();
    let mut rows = 0u64;
    if opts.header {
        for (i, field) in schema.fields().iter().enumerate() {
            if i > 0 {
                line.push(sep);
            }
            kind.push_field(field.name(), false, &mut line);
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io_error)?;
    }
    let threads = opts.threads.max(1);
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0usize;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        pending_rows += batch.num_rows();
        pending.push(batch);
        // One batch at a time on one thread (the first rows of a pipeline go out at once);
        // with more, a few batches per thread are rendered side by side.
        if threads == 1 || pending_rows >= RENDER_CHUNK_ROWS * threads {
            write_rendered(&pending, kind, threads, out)?;
            pending.clear();
            pending_rows = 0;
        }
    }
    write_rendered(&pending, kind, threads, out)?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// JSON and NDJSON
// ---------------------------------------------------------------------------------------------

fn write_json(batches: &mut dyn Iterator<Item = Result<RecordBatch>>, out: &mut dyn Write, lines: bool) -> Result<u64> {
    use arrow::json::writer::{JsonArray, LineDelimited, Writer, WriterBuilder};
    let builder = WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_timestamp_format(TIMESTAMP_FORMAT.to_string())
        .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.to_string());
    let mut rows = 0u64;
    if lines {
        let mut writer: Writer<_, LineDelimited> = builder.build(&mut *out);
        for batch in batches {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            writer.write(&batch).map_err(arrow_write_error)?;
        }
        writer.finish().map_err(arrow_write_error)?;
    } else {
        {
            let mut writer: Writer<_, JsonArray> = builder.build(&mut *out);
            for batch in batches {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(arrow_write_error)?;
            }
            writer.finish().map_err(arrow_write_error)?;
        }
        out.write_all(b"\n").map_err(io_error)?;
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Rows shown by the table and markdown formats
// ---------------------------------------------------------------------------------------------

/// Rendered rows: the text of each cell, and whether it is NULL.
type RenderedRows = (Vec<Vec<String>>, Vec<Vec<bool>>);

/// Renders the rows with the given global indices (ascending) as strings, NULL as `null`;
/// also tells which cells are NULL.
fn render_rows(batches: &[RecordBatch], rows: &[usize], null: &str) -> Result<RenderedRows> {
    let mut out = Vec::with_capacity(rows.len());
    let mut nulls = Vec::with_capacity(rows.len());
    let mut next = 0;
    let mut offset = 0;
    for batch in batches {
        let end = offset + batch.num_rows();
        if next < rows.len() && rows[next] < end {
            let renderers = batch
                .columns()
                .iter()
                .map(|c| ValueRenderer::try_new(c.as_ref(), null))
                .collect::<Result<Vec<_>>>()?;
            while next < rows.len() && rows[next] < end {
                let row = rows[next] - offset;
                let cells = renderers.iter().map(|r| r.render(row)).collect::<Result<Vec<_>>>()?;
                out.push(cells);
                nulls.push(renderers.iter().map(|r| r.is_null(row)).collect());
                next += 1;
            }
        }
        offset = end;
        if next >= rows.len() {
            break;
        }
    }
    Ok((out, nulls))
}

/// Number of characters `s` takes on screen (one per char; wide glyphs are rare in results).
fn text_width(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn write_markdown(result: &QueryResult, out: &mut dyn Write) -> Result<()> {
    let fields = result.schema.fields();
    let all: Vec<usize> = (0..result.num_rows()).collect();
    let escape = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let rows: Vec<Vec<String>> = render_rows(&result.batches, &all, "NULL")?
        .0
        .into_iter()
        .map(|r| r.iter().map(|c| escape(c)).collect())
        .collect();
    let names: Vec<String> = fields.iter().map(|f| escape(f.name())).collect();
    let numeric: Vec<bool> = fields.iter().map(|f| is_numeric(f.data_type())).collect();
    let widths: Vec<usize> = (0..fields.len())
        .map(|c| {
            rows.iter()
                .map(|r| text_width(&r[c]))
                .chain([text_width(&names[c]), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let mut text = String::new();
    let pad = |text: &mut String, cells: &[String]| {
        text.push('|');
        for (c, cell) in cells.iter().enumerate() {
            let fill = widths[c].saturating_sub(text_width(cell));
            if numeric[c] {
                let _ = write!(text, " {}{} |", " ".repeat(fill), cell);
            } else {
                let _ = write!(text, " {}{} |", cell, " ".repeat(fill));
            }
        }
        text.push('\n');
    };
    pad(&mut text, &names);
    text.push('|');
    for (c, w) in widths.iter().enumerate() {
        if numeric[c] {
            let _ = write!(text, "{}:|", "-".repeat(w + 1));
        } else {
            let _ = write!(text, "{}|", "-".repeat(w + 2));
        }
    }
    text.push('\n');
    for row in &rows {
        pad(&mut text, row);
    }
    out.write_all(text.as_bytes()).map_err(io_error)
}

// ---------------------------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------------------------

/// DuckDB's box: light lines, a rule under the header, no rules between rows.
const DUCKDB_PRESET: &str = "││──├─┼┤│    ┬┴┌┐└┘";
/// Cells wider than this are cut with `…` when the table does not fit the width.
const MAX_CELL_WIDTH: usize = 20;

/// Global indices of the rows a table shows: all of them, or the first and last
/// `max_rows / 2`. The flag tells whether rows were left out.
fn shown_rows(total: usize, max_rows: usize) -> (Vec<usize>, bool) {
    if total <= max_rows.max(1) {
        return ((0..total).collect(), false);
    }
    let half = (max_rows / 2).max(1);
    let head = 0..half;
    let tail = total - half..total;
    (head.chain(tail).collect(), true)
}

/// Cuts `s` to `width` characters, ending with `…`.
fn truncate(s: &str, width: usize) -> String {
    if text_width(s) <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn write_table(result: &QueryResult, out: &mut dyn Write, opts: &FormatOptions) -> Result<()> {
    let fields = result.schema.fields();
    let total = result.num_rows();
    let (rows, elided) = shown_rows(total, opts.max_rows);
    let (mut cells, nulls) = render_rows(&result.batches, &rows, "NULL")?;
    let headers: Vec<(String, String)> = fields
        .iter()
        .map(|f| (f.name().clone(), type_name(f.data_type())))
        .collect();

    // Columns kept, in order; `None` marks the `…` column standing for dropped ones.
    let shown = match opts.max_width {
        Some(width) => fit_columns(&headers, &mut cells, usize::from(width)),
        None => (0..fields.len()).map(Some).collect(),
    };
    let dropped = shown.contains(&None);

    let mut table = Table::new();
    table.load_preset(DUCKDB_PRESET);
    if opts.colour {
        table.enforce_styling();
    }
    match opts.max_width {
        Some(width) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(width);
        }
        None => {
            table.force_no_tty();
        }
    }
    table.set_header(shown.iter().map(|col| match col {
        Some(c) => Cell::new(format!("{}\n{}", headers[*c].0, headers[*c].1)).set_alignment(CellAlignment::Center),
        None => Cell::new("…").set_alignment(CellAlignment::Center),
    }));
    let half = rows.len() / 2;
    for (i, row) in cells.iter().enumerate() {
        if elided && i == half {
            table.add_row(
                shown
                    .iter()
                    .map(|_| Cell::new("⋮").set_alignment(CellAlignment::Center)),
            );
        }
        table.add_row(shown.iter().map(|col| match col {
            Some(c) if opts.colour && nulls[i][*c] => Cell::new(&row[*c]).add_attribute(Attribute::Dim),
            Some(c) => Cell::new(&row[*c]),
            None => Cell::new("…").set_alignment(CellAlignment::Center),
        }));
    }
    for (i, col) in shown.iter().enumerate() {
        if let (Some(c), Some(column)) = (col, table.column_mut(i)) {
            if is_numeric(fields[*c].data_type()) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    let mut text = table.to_string();
    text.push('\n');
    let mut footer = Vec::new();
    if elided {
        footer.push(format!("{total} rows ({} shown)", rows.len()));
    }
    if dropped {
        let kept = shown.iter().filter(|c| c.is_some()).count();
        footer.push(format!("{} columns ({kept} shown)", fields.len()));
    }
    if !footer.is_empty() {
        text.push_str(&footer.join("  "));
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(io_error)
}

/// Makes the table fit `width`: first cuts long cells to [`MAX_CELL_WIDTH`], then drops
/// columns from the middle. Returns the columns to show in order, `None` standing for the
/// dropped ones (drawn as one `…` column).
fn fit_columns(headers: &[(String, String)], cells: &mut [Vec<String>], width: usize) -> Vec<Option<usize>> {
    let all: Vec<Option<usize>> = (0..headers.len()).map(Some).collect();
    let col_width = |c: usize, cells: &[Vec<String>]| {
        cells
            .iter()
            .map(|r| text_width(&r[c]))
            .chain([text_width(&headers[c].0), text_width(&headers[c].1)])
            .max()
            .unwrap_or(1)
    };
    // Borders: one leading `│`, then per column a space, the content, a space and a `│`.
    let table_width = |kept: &[usize], widths: &[usize], dropped: bool| {
        1 + kept.iter().map(|&c| widths[c] + 3).sum::<usize>() + if dropped { 4 } else { 0 }
    };
    let mut kept: Vec<usize> = (0..headers.len()).collect();
    let widths: Vec<usize> = kept.iter().map(|&c| col_width(c, cells)).collect();
    if table_width(&kept, &widths, false) <= width {
        return all;
    }
    for row in cells.iter_mut() {
        for cell in row.iter_mut() {
            if text_width(cell) > MAX_CELL_WIDTH {
                *cell = truncate(cell, MAX_CELL_WIDTH);
            }
        }
    }
    let widths: Vec<usize> = kept.iter().map(|&c| col_width(c, cells)).collect();
    let mut first_dropped = None;
    while kept.len() > 1 && table_width(&kept, &widths, first_dropped.is_some()) > width {
        let victim = kept.remove(kept.len() / 2);
        first_dropped = Some(first_dropped.map_or(victim, |f: usize| f.min(victim)));
    }
    let Some(first) = first_dropped else {
        return all;
    };
    let split = kept.iter().position(|&c| c > first).unwrap_or(kept.len());
    let mut shown: Vec<Option<usize>> = kept.iter().map(|&c| Some(c)).collect();
    shown.insert(split, None);
    shown
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Schema, TimeUnit};

    use super::*;

    fn result(columns: Vec<(&str, ArrayRef)>) -> QueryResult {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        QueryResult {
            schema: batch.schema(),
            batches: vec![batch],
        }
    }

    fn one_x() -> QueryResult {
        result(vec![
            ("a", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("b", Arc::new(StringArray::from(vec!["x"]))),
        ])
    }

    fn render(result: &QueryResult, format: OutputFormat, opts: &FormatOptions) -> String {
        let mut out = Vec::new();
        write_result(result, format, &mut out, opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn show(result: &QueryResult, format: OutputFormat) -> String {
        render(result, format, &FormatOptions::default())
    }

    /// Rows of every type DuckDB prints specially, with a NULL row.
    fn typed() -> QueryResult {
        let ts = TimestampMicrosecondArray::from(vec![Some(1_704_164_645_000_000), Some(1_704_164_645_500_000), None]);
        result(vec![
            (
                "i",
                Arc::new(Int64Array::from(vec![Some(-7), Some(42), None])) as ArrayRef,
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![Some(1.0), Some(0.1 + 0.2), None])),
            ),
            (
                "d",
                Arc::new(
                    Decimal128Array::from(vec![Some(12340), Some(-5), None])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
            ),
            ("dt", Arc::new(Date32Array::from(vec![Some(19724), Some(0), None]))),
            ("ts", Arc::new(ts)),
            ("ok", Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]))),
            ("s", Arc::new(StringArray::from(vec![Some("x"), Some(""), None]))),
        ])
    }

    fn float_text(v: f64) -> String {
        let mut s = String::new();
        format_float(v, &mut s);
        s
    }

    #[test]
    fn floats_print_like_duckdb() {
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_text(-2.5), "-2.5");
        assert_eq!(float_text(123456.789), "123456.789");
        assert_eq!(float_text(1e15), "1000000000000000.0");
        assert_eq!(float_text(1e16), "1e+16");
        assert_eq!(float_text(1e20), "1e+20");
        assert_eq!(float_text(1.5e-5), "1.5e-05");
        assert_eq!(float_text(0.0001), "0.0001");
        assert_eq!(float_text(-0.0), "-0.0");
        assert_eq!(float_text(f64::NAN), "nan");
        assert_eq!(float_text(f64::NEG_INFINITY), "-inf");
        let mut s = String::new();
        format_float(0.1f32, &mut s);
        assert_eq!(s, "0.1");
    }

    #[test]
    fn type_names_like_duckdb() {
        assert_eq!(type_name(&DataType::Int64), "int64");
        assert_eq!(type_name(&DataType::Int32), "int32");
        assert_eq!(type_name(&DataType::Utf8), "varchar");
        assert_eq!(type_name(&DataType::Float64), "double");
        assert_eq!(type_name(&DataType::Date32), "date");
        assert_eq!(type_name(&DataType::Decimal128(15, 2)), "decimal(15,2)");
        assert_eq!(
            type_name(&DataType::Timestamp(TimeUnit::Microsecond, None)),
            "timestamp"
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert_eq!(type_name(&list), "int64[]");
    }

    #[test]
    fn csv_simple() {
        assert_eq!(show(&one_x(), OutputFormat::Csv), "a,b\n1,x\n");
        let opts = FormatOptions {
            header: false,
            ..FormatOptions::default()
        };
        assert_eq!(render(&one_x(), OutputFormat::Csv, &opts), "1,x\n");
    }

    #[test]
    fn csv_values_nulls_and_quoting() {
        assert_eq!(
            show(&typed(), OutputFormat::Csv),
            "i,f,d,dt,ts,ok,s\n\
             -7,1.0,123.40,2024-01-02,2024-01-02 03:04:05,true,x\n\
             42,0.30000000000000004,-0.05,1970-01-01,2024-01-02 03:04:05.5,false,\"\"\n\
             ,,,,,,\n"
        );
        let quoted = result(vec![(
            "s,1",
            Arc::new(StringArray::from(vec!["a,b", "say \"hi\"", "two\nlines", " pad"])) as ArrayRef,
        )]);
        assert_eq!(
            show(&quoted, OutputFormat::Csv),
            "\"s,1\"\n\"a,b\"\n\"say \"\"hi\"\"\"\n\"two\nlines\"\n\" pad\"\n"
        );
    }

    #[test]
    fn csv_and_tsv_rendered_on_several_threads_keep_the_rows_in_order() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("f", DataType::Float64, true),
        ]));
        // 300k rows in uneven batches, with NULLs, quoting and empty strings.
        let mut start = 0i64;
        let batches: Vec<RecordBatch> = (0..70)
            .map(|b| {
                let rows = 1000 + (b % 7) * 1000;
                let ns: Vec<i64> = (start..start + rows).collect();
                start += rows;
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from_iter(ns.iter().map(|&n| (n % 13 != 0).then_some(n)))),
                        Arc::new(StringArray::from_iter(ns.iter().map(|&n| match n % 5 {
                            0 => None,
                            1 => Some(String::new()),
                            2 => Some(format!("a,\"{n}\"")),
                            _ => Some(format!("v{n}")),
                        }))),
                        Arc::new(Float64Array::from_iter(ns.iter().map(|&n| Some(n as f64 / 8.0)))),
                    ],
                )
                .unwrap()
            })
            .collect();
        let r = QueryResult { schema, batches };
        for format in [OutputFormat::Csv, OutputFormat::Tsv] {
            let one = render(&r, format, &FormatOptions::default());
            let three = render(
                &r,
                format,
                &FormatOptions {
                    threads: 3,
                    ..FormatOptions::default()
                },
            );
            assert_eq!(one.lines().count(), start as usize + 1);
            assert!(one == three, "{format:?} differs on three threads");
        }
    }

    #[test]
    fn csv_streams_every_batch_under_one_header() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = |v: Vec<i64>| RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(v))]).unwrap();
        let r = QueryResult {
            schema: schema.clone(),
            batches: vec![batch(vec![1, 2]), batch(vec![]), batch(vec![3])],
        };
        assert_eq!(show(&r, OutputFormat::Csv), "n\n1\n2\n3\n");
        assert_eq!(show(&r, OutputFormat::Ndjson), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
        let empty = QueryResult {
            schema,
            batches: vec![],
        };
        assert_eq!(show(&empty, OutputFormat::Csv), "n\n");
        assert_eq!(show(&empty, OutputFormat::Json), "[]\n");
        assert_eq!(show(&empty, OutputFormat::Ndjson), "");
    }

    #[test]
    fn tsv_escapes_tabs_and_newlines() {
        let r = result(vec![
            ("a", Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef),
            ("b", Arc::new(StringArray::from(vec!["x\ty", "l1\nl2\\"]))),
        ]);
        assert_eq!(show(&r, OutputFormat::Tsv), "a\tb\n1\tx\\ty\n\tl1\\nl2\\\\\n");
    }

    #[test]
    fn json_and_ndjson() {
        assert_eq!(show(&one_x(), OutputFormat::Json), "[{\"a\":1,\"b\":\"x\"}]\n");
        assert_eq!(show(&one_x(), OutputFormat::Ndjson), "{\"a\":1,\"b\":\"x\"}\n");
        assert_eq!(
            show(&typed(), OutputFormat::Ndjson),
            "{\"i\":-7,\"f\":1.0,\"d\":123.40,\"dt\":\"2024-01-02\",\"ts\":\"2024-01-02 03:04:05\",\"ok\":true,\"s\":\"x\"}\n\
             {\"i\":42,\"f\":0.30000000000000004,\"d\":-0.05,\"dt\":\"1970-01-01\",\"ts\":\"2024-01-02 03:04:05.500\",\"ok\":false,\"s\":\"\"}\n\
             {\"i\":null,\"f\":null,\"d\":null,\"dt\":null,\"ts\":null,\"ok\":null,\"s\":null}\n"
        );
    }

    #[test]
    fn markdown_table() {
        assert_eq!(
            show(&one_x(), OutputFormat::Markdown),
            "|   a | b   |\n|----:|-----|\n|   1 | x   |\n"
        );
        let r = result(vec![(
            "s",
            Arc::new(StringArray::from(vec![Some("a|b"), None])) as ArrayRef,
        )]);
        assert_eq!(
            show(&r, OutputFormat::Markdown),
            "| s    |\n|------|\n| a\\|b |\n| NULL |\n"
        );
    }

    #[test]
    fn table_small() {
        assert_eq!(
            show(&one_x(), OutputFormat::Table),
            "┌───────┬─────────┐\n\
             │   a   │    b    │\n\
             │ int64 │ varchar │\n\
             ├───────┼─────────┤\n\
             │     1 │ x       │\n\
             └───────┴─────────┘\n"
        );
    }

    #[test]
    fn table_values_and_nulls() {
        let text = show(&typed(), OutputFormat::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8, "{text}");
        assert!(lines[2].contains("decimal(15,2)"), "{text}");
        assert!(
            lines[4].contains("123.40") && lines[4].contains("2024-01-02 03:04:05 "),
            "{text}"
        );
        assert!(lines[5].contains("2024-01-02 03:04:05.5"), "{text}");
        assert_eq!(lines[6].matches("NULL").count(), 7, "{text}");
        // Numbers are right-aligned: "-7" ends where its column ends.
        assert!(lines[4].starts_with("│    -7 │"), "{text}");
        assert!(lines[5].starts_with("│    42 │"), "{text}");
    }

    #[test]
    fn nulls_are_dim_in_colour() {
        let r = result(vec![(
            "s",
            Arc::new(StringArray::from(vec![Some("NULL"), None])) as ArrayRef,
        )]);
        let opts = FormatOptions {
            colour: true,
            max_width: Some(80),
            ..FormatOptions::default()
        };
        let text = render(&r, OutputFormat::Table, &opts);
        let lines: Vec<&str> = text.lines().collect();
        // The string 'NULL' is plain, the NULL value dim.
        assert_eq!(lines[4], "│ NULL    │", "{text}");
        assert!(lines[5].starts_with("│\x1b[2m NULL"), "{text}");
        // Without colour both read NULL, with no escape codes.
        assert!(!show(&r, OutputFormat::Table).contains('\x1b'));
    }

    #[test]
    fn long_tables_show_head_and_tail() {
        let r = result(vec![(
            "n",
            Arc::new(Int64Array::from((0..100).collect::<Vec<i64>>())) as ArrayRef,
        )]);
        let text = show(&r, OutputFormat::Table);
        let values: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("│"))
            .map(|l| l.trim_end_matches('│').trim())
            .collect();
        let mut expected: Vec<String> = vec!["n".into(), "int64".into()];
        expected.extend((0..20).map(|i| i.to_string()));
        expected.push("⋮".into());
        expected.extend((80..100).map(|i| i.to_string()));
        assert_eq!(values, expected, "{text}");
        assert!(text.ends_with("└───────┘\n100 rows (40 shown)\n"), "{text}");

        let opts = FormatOptions {
            max_rows: 4,
            ..FormatOptions::default()
        };
        let text = render(&r, OutputFormat::Table, &opts);
        assert!(text.contains("│     1 │\n│   ⋮   │\n│    98 │"), "{text}");
        assert!(text.ends_with("100 rows (4 shown)\n"), "{text}");
        // Exactly max_rows rows: nothing is left out.
        let forty = result(vec![(
            "n",
            Arc::new(Int64Array::from((0..40).collect::<Vec<i64>>())) as ArrayRef,
        )]);
        let text = show(&forty, OutputFormat::Table);
        assert!(!text.contains('⋮') && !text.contains("shown"), "{text}");
    }

    #[test]
    fn wide_tables_fit_the_width() {
        let columns: Vec<(String, ArrayRef)> = (0..30)
            .map(|i| {
                (
                    format!("column_{i}"),
                    Arc::new(StringArray::from(vec!["a fairly long value that goes on"])) as ArrayRef,
                )
            })
            .collect();
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let r = QueryResult {
            schema: batch.schema(),
            batches: vec![batch],
        };
        let opts = FormatOptions {
            max_width: Some(80),
            ..FormatOptions::default()
        };
        let text = render(&r, OutputFormat::Table, &opts);
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line}\n{text}");
        }
        assert!(text.contains("column_0"), "{text}");
        assert!(text.contains("column_29"), "{text}");
        assert!(!text.contains("column_15"), "{text}");
        assert!(text.contains("a fairly long value…"), "{text}");
        let footer = text.lines().last().unwrap();
        assert!(
            footer.starts_with("30 columns (") && footer.ends_with(" shown)"),
            "{text}"
        );
        // Unlimited width: every column, untruncated.
        let text = show(&r, OutputFormat::Table);
        assert!(text.contains("column_15") && text.contains("goes on"), "{text}");
    }

    #[test]
    fn format_names_and_extensions() {
        assert_eq!(OutputFormat::from_name("JSONL"), Some(OutputFormat::Ndjson));
        assert_eq!(OutputFormat::from_name("md"), Some(OutputFormat::Markdown));
        assert_eq!(OutputFormat::from_name("xml"), None);
        assert_eq!(
            OutputFormat::from_extension(Path::new("out/x.CSV")),
            Some(OutputFormat::Csv)
        );
        assert_eq!(
            OutputFormat::from_extension(Path::new("x.tsv")),
            Some(OutputFormat::Tsv)
        );
        assert_eq!(OutputFormat::from_extension(Path::new("x.parquet")), None);
        assert_eq!(OutputFormat::from_extension(Path::new("noext")), None);
    }

    #[test]
    fn float32_column() {
        let r = result(vec![("x", Arc::new(Float32Array::from(vec![0.1f32, 2.0])) as ArrayRef)]);
        assert_eq!(show(&r, OutputFormat::Csv), "x\n0.1\n2.0\n");
    }
}
