//! `COPY (query) TO 'file' [(options)]` and `COPY table TO 'file'`: runs the query and
//! streams its batches into the file as they come (a result larger than memory is read back
//! from spill files, never collected). The format is `FORMAT parquet|csv|tsv|json|ndjson` (JSON
//! is written one object a line, as DuckDB does), or
//! else the file's extension; CSV takes `HEADER` (default true, as in DuckDB) and
//! `DELIMITER`. The file is written under a temporary name in the target directory and
//! renamed into place only when complete, so a failed or cancelled COPY leaves the previous
//! file (or nothing) behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sqlparser::ast::{CopyLegacyOption, CopyOption, CopySource, CopyTarget};

use crate::cli::format::{write_stream, FormatOptions, OutputFormat};
use crate::error::{Error, Result};
use crate::exec::memory::MemoryPool;

/// Rows per Parquet row group (DuckDB's default): bounds the writer's buffered memory.
const PARQUET_ROW_GROUP_ROWS: usize = 122_880;

/// The file formats COPY TO writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Apache Parquet (Snappy-compressed).
    Parquet,
    /// A text format shared with the command line's output.
    Text(OutputFormat),
}

/// A parsed `COPY … TO` statement.
#[derive(Debug, Clone)]
pub struct CopyTo {
    /// The query whose rows are written (`SELECT * FROM table` for `COPY table TO`).
    pub query_sql: String,
    /// The file written.
    pub path: PathBuf,
    /// Its format.
    pub format: CopyFormat,
    /// CSV/TSV: write a header row.
    pub header: bool,
}

impl CopyTo {
    /// Reads the parts of a `COPY … TO` statement.
    pub fn from_statement(
        source: &CopySource,
        target: &CopyTarget,
        options: &[CopyOption],
        legacy_options: &[CopyLegacyOption],
    ) -> Result<Self> {
        let query_sql = match source {
            CopySource::Query(q) => q.to_string(),
            CopySource::Table { table_name, columns } if columns.is_empty() => format!("SELECT * FROM {table_name}"),
            CopySource::Table { table_name, columns } => {
                let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
                format!("SELECT {} FROM {table_name}", names.join(", "))
            }
        };
        let CopyTarget::File { filename } = target else {
            return Err(Error::not_supported(format!("COPY TO {target}")));
        };
        let path = PathBuf::from(filename);
        let mut format_name: Option<String> = None;
        let mut header = true;
        let mut delimiter: Option<char> = None;
        for option in options {
            match option {
                CopyOption::Format(f) => format_name = Some(f.value.to_ascii_lowercase()),
                CopyOption::Header(h) => header = *h,
                CopyOption::Delimiter(c) => delimiter = Some(*c),
                other => return Err(Error::not_supported(format!("COPY TO option {other}"))),
            }
        }
        for option in legacy_options {
            match option {
                CopyLegacyOption::Header => header = true,
                CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                other => return Err(Error::not_supported(format!("COPY TO option {other}"))),
            }
        }
        Self::new(query_sql, path, format_name.as_deref(), header, delimiter)
    }

    /// A COPY of `query_sql` (may be empty when the caller runs a plan itself) into `path`,
    /// in format `format_name` (else from the extension), with CSV's `header` and
    /// `delimiter`.
    pub fn new(
        query_sql: String,
        path: PathBuf,
        format_name: Option<&str>,
        header: bool,
        delimiter: Option<char>,
    ) -> Result<Self> {
        let format_name = format_name.map(|f| f.to_ascii_lowercase());
        let mut format = match format_name.as_deref() {
            Some("parquet") => CopyFormat::Parquet,
            Some(name) => CopyFormat::Text(
                OutputFormat::from_name(name)
                    .filter(|f| crate::cli::format::is_streamable(*f))
                    .ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "COPY TO: unknown FORMAT '{name}' (use parquet, csv, tsv, json or ndjson)"
                        ))
                    })?,
            ),
            None => format_from_extension(&path)?,
        };
        // DuckDB's COPY writes JSON one object a line (its ARRAY option is not supported).
        if format == CopyFormat::Text(OutputFormat::Json) {
            format = CopyFormat::Text(OutputFormat::Ndjson);
        }
        match (delimiter, format) {
            (None, _) | (Some(','), CopyFormat::Text(OutputFormat::Csv)) => {}
            (Some('\t'), CopyFormat::Text(OutputFormat::Csv | OutputFormat::Tsv)) => {
                format = CopyFormat::Text(OutputFormat::Tsv)
            }
            (Some(d), _) => {
                return Err(Error::not_supported(format!(
                    "COPY TO with DELIMITER '{d}' (CSV writes ',' and TSV '\\t')"
                )))
            }
        }
        Ok(Self {
            query_sql,
            path,
            format,
            header,
        })
    }

    /// Writes `batches` to the target file atomically; returns the number of rows written.
    pub fn write(
        &self,
        schema: &SchemaRef,
        batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
        memory: &std::sync::Arc<MemoryPool>,
    ) -> Result<u64> {
        let target = crate::io::AtomicFile::create(&self.path, "COPY TO")?;
        let display = target.display();
        let file = target.file()?;
        let rows = match self.format {
            CopyFormat::Parquet => write_parquet(file, schema, batches, memory, &display)?,
            CopyFormat::Text(format) => {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                let opts = FormatOptions {
                    header: self.header,
                    ..FormatOptions::default()
                };
                let rows =
                    write_stream(schema, batches, format, &mut out, &opts).map_err(|e| name_file(e, &display))?;
                out.flush().map_err(|e| Error::io(&display, e))?;
                rows
            }
        };
        target.commit()?;
        Ok(rows)
    }
}

fn format_from_extension(path: &Path) -> Result<CopyFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "parquet" {
        return Ok(CopyFormat::Parquet);
    }
    OutputFormat::from_extension(path)
        .filter(|f| crate::cli::format::is_streamable(*f))
        .map(CopyFormat::Text)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "COPY TO '{}': cannot tell the format from the extension; add (FORMAT parquet|csv|tsv|json|ndjson)",
                path.display()
            ))
        })
}

/// Streams `batches` into a Parquet file, flushing a row group whenever the writer's
/// buffered bytes cannot be reserved from the pool.
fn write_parquet(
    file: File,
    schema: &SchemaRef,
    batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
    memory: &std::sync::Arc<MemoryPool>,
    display: &str,
) -> Result<u64> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema.clone(), Some(props))
        .map_err(|e| parquet_error(e, display))?;
    let mut reservation = memory.reservation("COPY TO parquet writer");
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| parquet_error(e, display))?;
        if reservation.try_resize(writer.memory_size()).is_err() {
            writer.flush().map_err(|e| parquet_error(e, display))?;
            reservation.resize_unchecked(writer.memory_size());
        }
    }
    writer.close().map_err(|e| parquet_error(e, display))?;
    Ok(rows)
}

fn parquet_error(e: parquet::errors::ParquetError, path: &str) -> Error {
    Error::Execution(format!("writing Parquet file '{path}': {e}"))
}

/// Names the COPY target in write errors (the text writers say `<output>`).
fn name_file(err: Error, path: &str) -> Error {
    match err {
        Error::Io { path: p, source } if p == "<output>" => Error::io(path, source),
        other => other,
    }
}
