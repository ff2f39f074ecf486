//! The [`FileSource`] type and the options that describe how to read it.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::io::csv::{self, CsvLayout};
use crate::io::glob;
use crate::io::input::byte_ranges;
use crate::io::json::JsonFiles;
use crate::io::parquet::ParquetFiles;
use crate::physical::plan::BatchStream;

/// A file format rask reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma (or other delimiter) separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON (one object per line); a top-level JSON array is accepted too.
    Json,
}

/// CSV reading options (`read_csv(glob, header = true, delim = ';')`).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// Whether the first line is a header; `None` detects it (DuckDB's sniffing: the first
    /// line is a header when its fields do not fit the types of the rows below it).
    pub header: Option<bool>,
    /// Field delimiter; `None` detects it from `,`, `\t`, `|`, `;`.
    pub delimiter: Option<u8>,
    /// Quote character.
    pub quote: u8,
    /// Escape character inside quotes (`None`: a doubled quote).
    pub escape: Option<u8>,
    /// The text that reads as NULL (besides the empty field).
    pub null_string: Option<String>,
    /// How many rows type inference samples.
    pub sample_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            header: None,
            delimiter: None,
            quote: b'"',
            escape: None,
            null_string: None,
            sample_rows: 20_480,
        }
    }
}

/// How to read a location: the format (from the extension when not given) and its options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// The format; `None` guesses from the file extension (`.csv`, `.tsv`, `.parquet`,
    /// `.json`, `.ndjson`, `.jsonl`; compressed `.gz` suffixes allowed for CSV/JSON).
    pub format: Option<FileFormat>,
    /// CSV options (ignored for other formats).
    pub csv: CsvOptions,
}

/// One file of a source.
#[derive(Debug, Clone)]
pub struct FileMeta {
    /// Path on disk (stdin is spooled to a temporary file first).
    pub path: PathBuf,
    /// How the user named it (the glob's match, or `<stdin>`), for error messages.
    pub display_name: String,
    /// Size in bytes.
    pub size: u64,
}

/// What part of a file one partition reads.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionKind {
    /// The whole file.
    Whole,
    /// CSV bytes `[start, end)`: the partition reads the lines that *start* in that range.
    ByteRange {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// These Parquet row groups.
    RowGroups(Vec<usize>),
}

/// One partition of a source: a task's worth of input.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePartition {
    /// Index into [`FileSource::files`].
    pub file_index: usize,
    /// Which part of that file.
    pub kind: PartitionKind,
}

/// A comparison of one column with a constant, used to skip Parquet row groups whose
/// statistics rule it out. The scan does not filter rows by it; the Filter above does.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPredicate {
    /// Column index in the source's (full, unprojected) schema.
    pub column: usize,
    /// The comparison.
    pub op: PredicateOp,
    /// The constant, already of the column's type (or a type comparable with it).
    pub value: ScalarValue,
}

/// Comparison operator of a [`ColumnPredicate`] (`column op value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateOp {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// What is known about a source's size before reading it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceStatistics {
    /// Exact row count when known (Parquet metadata).
    pub num_rows: Option<u64>,
    /// Total bytes on disk.
    pub total_bytes: u64,
}

/// Per-format state kept from `open` for partitioning and scanning.
#[derive(Debug)]
pub enum FormatState {
    /// The sniffed CSV layout.
    Csv(CsvLayout),
    /// Each file's Parquet metadata, read once.
    Parquet(ParquetFiles),
    /// Which JSON files are a top-level array (read whole) rather than NDJSON lines.
    Json(JsonFiles),
}

/// A file, glob or stdin in one format, with its schema.
#[derive(Debug)]
pub struct FileSource {
    /// The location as the user wrote it.
    pub location: String,
    /// The matched files, sorted by path.
    pub files: Vec<FileMeta>,
    /// The format.
    pub format: FileFormat,
    /// CSV options with detected values filled in (header, delimiter).
    pub csv: CsvOptions,
    /// The schema (inferred for CSV/JSON, from metadata for Parquet).
    pub schema: SchemaRef,
    /// What `open` learned that scanning needs.
    pub state: FormatState,
}

impl FileSource {
    /// Expands `location` (a path, a glob, `-` or `/dev/stdin`) and infers the schema.
    /// Errors name the location: a missing file, a glob matching nothing, an unreadable file.
    pub fn open(location: &str, options: &ReadOptions) -> Result<Arc<FileSource>> {
        let files = glob::expand(location)?;
        let first = files
            .first()
            .ok_or_else(|| Error::InvalidInput(format!("No files found that match the pattern \"{location}\"")))?;
        let format = match options.format {
            Some(f) => f,
            None if glob::is_stdin(location) => FileFormat::Csv,
            None => glob::format_from_extension(&first.path).unwrap_or(FileFormat::Csv),
        };
        let (csv, schema, state) = match format {
            FileFormat::Csv => {
                let (csv, schema, layout) = csv::sniff(first, &options.csv)?;
                (csv, schema, FormatState::Csv(layout))
            }
            FileFormat::Parquet => {
                if let Some(gz) = files.iter().find(|f| glob::is_gzip(&f.path)) {
                    return Err(Error::InvalidInput(format!(
                        "{}: gzip-compressed Parquet is not supported (Parquet compresses internally)",
                        gz.display_name
                    )));
                }
                let (schema, pq) = ParquetFiles::open(&files)?;
                (options.csv.clone(), schema, FormatState::Parquet(pq))
            }
            FileFormat::Json => {
                let (schema, js) = JsonFiles::open(&files, options.csv.sample_rows)?;
                (options.csv.clone(), schema, FormatState::Json(js))
            }
        };
        Ok(Arc::new(FileSource {
            location: location.to_string(),
            files,
            format,
            csv,
            schema,
            state,
        }))
    }

    /// Cuts the source into partitions of about `target_bytes` each, dropping Parquet row
    /// groups that `predicates` rule out (all predicates must hold: they are ANDed).
    pub fn partitions(&self, target_bytes: u64, predicates: &[ColumnPredicate]) -> Result<Vec<FilePartition>> {
        let mut out = Vec::new();
        for (file_index, file) in self.files.iter().enumerate() {
            let kinds = match &self.state {
                FormatState::Csv(layout) if layout.splittable && !glob::is_gzip(&file.path) => {
                    byte_ranges(file.size, target_bytes)
                }
                FormatState::Json(js) if !js.is_array[file_index] && !glob::is_gzip(&file.path) => {
                    byte_ranges(file.size, target_bytes)
                }
                FormatState::Parquet(pq) => pq.partitions(file_index, &self.schema, target_bytes, predicates)?,
                _ => vec![PartitionKind::Whole],
            };
            out.extend(kinds.into_iter().map(|kind| FilePartition { file_index, kind }));
        }
        Ok(out)
    }

    /// Reads one partition: batches of at most `batch_size` rows holding only the columns in
    /// `projection` (indices into [`FileSource::schema`], in that order; `None` = all).
    /// A CSV value that does not fit its column's type is an error naming file, line, column.
    pub fn scan(
        &self,
        partition: &FilePartition,
        projection: Option<&[usize]>,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let file = self
            .files
            .get(partition.file_index)
            .ok_or_else(|| Error::internal(format!("partition of file {} out of range", partition.file_index)))?;
        let ncols = self.schema.fields().len();
        let projection: Vec<usize> = match projection {
            Some(p) => p.to_vec(),
            None => (0..ncols).collect(),
        };
        if let Some(bad) = projection.iter().find(|&&i| i >= ncols) {
            return Err(Error::internal(format!(
                "projection index {bad} out of range for {ncols} columns"
            )));
        }
        let batch_size = batch_size.max(1);
        match &self.state {
            FormatState::Csv(layout) => csv::scan(file, &partition.kind, layout, projection, batch_size),
            FormatState::Parquet(pq) => pq.scan(partition, &self.schema, &projection, batch_size),
            FormatState::Json(js) => js.scan(file, partition, &self.schema, &projection, batch_size),
        }
    }

    /// Size estimates for planning (broadcast decisions, join order).
    pub fn statistics(&self) -> SourceStatistics {
        SourceStatistics {
            num_rows: match &self.state {
                FormatState::Parquet(pq) => Some(pq.num_rows()),
                _ => None,
            },
            total_bytes: self.files.iter().map(|f| f.size).sum(),
        }
    }
}
