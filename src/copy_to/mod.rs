//! `COPY (query) TO 'path' [(options)]` and `COPY table TO 'path'`, as DuckDB.
//!
//! - Format: `FORMAT parquet|csv|tsv|json|ndjson` (JSON is written one object a line, as
//!   DuckDB does), else the file's extension (`.csv.gz` is CSV), else CSV. CSV takes `HEADER`
//!   (default true) and `DELIMITER`.
//! - `COMPRESSION`: Parquet's codecs (default Snappy); gzip and zstd for CSV and JSON.
//! - A single file is streamed from the query's result (a result larger than memory is read
//!   back from spill files) and written under a temporary name, renamed into place when
//!   complete (`crate::io::AtomicFile`).
//! - `PARTITION_BY (cols)` or `PER_THREAD_OUTPUT`: the target is a directory; every task of
//!   the result stage writes its own files (`physical::ops::write`, [`partitioned`]), hive
//!   style `col=value/data_N.ext` for PARTITION_BY, into a temporary directory that replaces
//!   the target only when the whole COPY succeeded ([`staging`]). `OVERWRITE` replaces a
//!   non-empty target, `OVERWRITE_OR_IGNORE` adds to it.
//!
//! Options sqlparser cannot parse reach here through [`options::rewrite`].

pub mod compression;
pub mod file;
pub mod hive;
pub mod options;
pub mod partitioned;
pub mod staging;

use std::path::{Path, PathBuf};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use sqlparser::ast::{CopyLegacyOption, CopyOption, CopySource, CopyTarget};

use self::compression::{parquet_codec, TextCompression};
use self::file::{FileSpec, FileWriter};
use self::options::{CopyOptions, ExistingFiles};
use crate::cli::format::OutputFormat;
use crate::error::{Error, Result};
use crate::exec::memory::MemoryPool;

/// The file formats COPY TO writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Apache Parquet.
    Parquet,
    /// A text format shared with the command line's output.
    Text(OutputFormat),
}

/// A parsed `COPY … TO` statement.
#[derive(Debug, Clone)]
pub struct CopyTo {
    /// The query whose rows are written (`SELECT * FROM table` for `COPY table TO`).
    pub query_sql: String,
    /// The file (or directory) written.
    pub path: PathBuf,
    /// Its format.
    pub format: CopyFormat,
    /// CSV/TSV: write a header row.
    pub header: bool,
    /// `COMPRESSION`, lower-cased, as given.
    pub compression: Option<String>,
    /// `PARTITION_BY` columns.
    pub partition_by: Vec<String>,
    /// `PER_THREAD_OUTPUT`.
    pub per_thread_output: bool,
    /// `OVERWRITE` / `OVERWRITE_OR_IGNORE`.
    pub existing: ExistingFiles,
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
        let options = CopyOptions::from_statement(options, legacy_options)?;
        if options.per_thread_output && !options.partition_by.is_empty() {
            return Err(Error::not_supported(
                "Can't combine PER_THREAD_OUTPUT and PARTITIONED BY for COPY",
            ));
        }
        let mut copy = Self::new(
            query_sql,
            PathBuf::from(filename),
            options.format.as_deref(),
            options.header.unwrap_or(true),
            options.delimiter,
        )?;
        copy.compression = options.compression;
        copy.partition_by = options.partition_by;
        copy.per_thread_output = options.per_thread_output;
        copy.existing = options.existing;
        copy.file_spec()?;
        Ok(copy)
    }

    /// A COPY of `query_sql` (may be empty when the caller runs a plan itself) into `path`,
    /// in format `format_name` (else from the extension), with CSV's `header` and
    /// `delimiter`; one file, no compression but what the extension says.
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
            None => format_from_extension(&path),
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
            compression: None,
            partition_by: Vec::new(),
            per_thread_output: false,
            existing: ExistingFiles::default(),
        })
    }

    /// True when the target is a directory of files (PARTITION_BY, PER_THREAD_OUTPUT).
    pub fn writes_directory(&self) -> bool {
        self.per_thread_output || !self.partition_by.is_empty()
    }

    /// How each file is written; checks COMPRESSION against the format as DuckDB does.
    pub fn file_spec(&self) -> Result<FileSpec> {
        let name = self.compression.as_deref();
        let (parquet, text) = match self.format {
            CopyFormat::Parquet => (parquet_codec(name)?, TextCompression::None),
            CopyFormat::Text(_) => {
                // A directory's files are named by rask, so `auto` means none there.
                let from = if self.writes_directory() {
                    Path::new("")
                } else {
                    &self.path
                };
                (
                    parquet::basic::Compression::UNCOMPRESSED,
                    TextCompression::from_name(name, from)?,
                )
            }
        };
        Ok(FileSpec {
            format: self.format,
            header: self.header,
            parquet,
            text,
        })
    }

    /// The indices of the PARTITION_BY columns in `schema` (matched case-insensitively).
    pub fn partition_columns(&self, schema: &Schema) -> Result<Vec<usize>> {
        let mut indices = Vec::new();
        for name in &self.partition_by {
            let i = schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Error::plan(format!(
                        "\"partition_by\" expected to find {name}, but it was not found in the table"
                    ))
                })?;
            if !indices.contains(&i) {
                indices.push(i);
            }
        }
        if !indices.is_empty() && indices.len() == schema.fields().len() {
            return Err(Error::not_supported(
                "No column to write as all columns are specified as partition columns. WRITE_PARTITION_COLUMNS option can be used to write partition columns.",
            ));
        }
        Ok(indices)
    }

    /// Writes `batches` to the target file atomically; returns the number of rows written.
    pub fn write(
        &self,
        schema: &SchemaRef,
        batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
        memory: &std::sync::Arc<MemoryPool>,
    ) -> Result<u64> {
        let spec = self.file_spec()?;
        let target = crate::io::AtomicFile::create(&self.path, "COPY TO")?;
        let mut writer = FileWriter::from_file(target.file()?, target.display(), schema, &spec, memory)?;
        for batch in batches {
            writer.write(&batch?)?;
            if !writer.try_reserve() {
                writer.flush_and_reserve()?;
            }
        }
        let rows = writer.finish()?;
        target.commit()?;
        Ok(rows)
    }
}

/// The format of `path`'s extension (after a `.gz`/`.zst`), CSV when it names none (as
/// DuckDB).
fn format_from_extension(path: &Path) -> CopyFormat {
    let inner = match TextCompression::from_extension(path) {
        TextCompression::None => path.to_path_buf(),
        _ => path.with_extension(""),
    };
    let ext = inner
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "parquet" {
        return CopyFormat::Parquet;
    }
    OutputFormat::from_extension(&inner)
        .filter(|f| crate::cli::format::is_streamable(*f))
        .map(CopyFormat::Text)
        .unwrap_or(CopyFormat::Text(OutputFormat::Csv))
}
