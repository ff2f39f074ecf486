//! The [`FileSource`] type and the options that describe how to read it.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::io::csv::{self, CsvLayout};
use crate::io::glob;
use crate::io::hive::{self, HivePartitions, HiveTypes};
use crate::io::input::byte_ranges;
use crate::io::json::JsonFiles;
use crate::io::parquet::ParquetFiles;
use crate::io::parquet_read::StagedFilter;
use crate::io::skipped::SkipLog;
use crate::io::union::FileColumns;
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
    /// Quote character; `None` detects it from `"` and `'`.
    pub quote: Option<u8>,
    /// Escape character inside quotes (the quote itself: a doubled quote); `None` detects
    /// it from a doubled quote and `\`.
    pub escape: Option<u8>,
    /// The text that reads as NULL (besides the empty field).
    pub null_string: Option<String>,
    /// How many rows type inference samples.
    pub sample_rows: usize,
    /// `ignore_errors = true`: rows with the wrong number of fields or a value that does
    /// not convert to its column's type are skipped (and counted) instead of failing.
    pub ignore_errors: bool,
    /// `types = {'name': 'TYPE'}` / `types = ['TYPE', …]`: column types that replace the
    /// inferred ones, by name or (without names) by position.
    pub types: Vec<(Option<String>, DataType)>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            header: None,
            delimiter: None,
            quote: None,
            escape: None,
            null_string: None,
            sample_rows: 20_480,
            ignore_errors: false,
            types: Vec::new(),
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
    /// `hive_partitioning`: `key=value` directories become columns; `None` detects them
    /// (on when the files' paths all have the same keys).
    pub hive_partitioning: Option<bool>,
    /// `union_by_name = true`: files may have different columns (matched by name).
    pub union_by_name: bool,
    /// `hive_types` / `hive_types_autocast`: how partition columns are typed.
    pub hive_types: HiveTypes,
    /// `filename = true` (or `= 'name'`): a VARCHAR column of that name (`filename`) holds
    /// each row's file.
    pub filename: Option<String>,
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

/// Where an output column of an adapted scan comes from.
enum Origin {
    /// This column of the file's batch.
    File(usize),
    /// A column the file lacks: NULL.
    Missing,
    /// This hive partition column.
    Partition(usize),
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
    /// The sniffed CSV layout: one for all files, or one per file (`union_by_name`).
    Csv(Vec<CsvLayout>),
    /// Each file's Parquet metadata, read once.
    Parquet(ParquetFiles),
    /// Which JSON files are a top-level array (read whole) rather than NDJSON lines.
    Json(JsonFiles),
    /// Files only a Spark cluster can read (remote mode): the schema is the cluster's, and
    /// rask itself reads nothing.
    Remote,
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
    /// How many of [`FileSource::schema`]'s columns the files hold; the rest are the
    /// hive partition columns.
    pub data_columns: usize,
    /// The hive partition columns (and the `filename` column) and each file's values.
    pub hive: Option<HivePartitions>,
    /// Per file, how its columns map onto the source's, when some file's differ.
    pub file_columns: Option<Vec<FileColumns>>,
    /// Rows skipped with `ignore_errors = true`.
    pub skipped: Option<Arc<SkipLog>>,
}

impl FileSource {
    /// Expands `location` (a path, a glob, `-` or `/dev/stdin`) and infers the schema.
    /// Errors name the location: a missing file, a glob matching nothing, an unreadable file,
    /// files whose columns differ (without `union_by_name`).
    pub fn open(location: &str, options: &ReadOptions) -> Result<Arc<FileSource>> {
        Self::open_files(location, glob::expand(location)?, options)
    }

    /// A source over a list of paths or globs (`read_csv(['a.csv', 'b/*.csv'])`), their
    /// files in the order listed.
    pub fn open_list(locations: &[String], options: &ReadOptions) -> Result<Arc<FileSource>> {
        let mut files = Vec::new();
        for location in locations {
            files.extend(glob::expand(location)?);
        }
        let quoted: Vec<String> = locations.iter().map(|l| format!("'{l}'")).collect();
        Self::open_files(&format!("[{}]", quoted.join(", ")), files, options)
    }

    fn open_files(location: &str, files: Vec<FileMeta>, options: &ReadOptions) -> Result<Arc<FileSource>> {
        let first = files
            .first()
            .ok_or_else(|| Error::InvalidInput(format!("No files found that match the pattern \"{location}\"")))?;
        let format = match options.format {
            Some(f) => f,
            None if glob::is_stdin(location) => crate::io::stdin::sniff_format(first)?,
            None => glob::format_from_extension(&first.path).unwrap_or(FileFormat::Csv),
        };
        let hive = match options.hive_partitioning {
            Some(false) => None,
            // Giving partition types asks for partitions.
            Some(true) => hive::detect(&files, true, &options.hive_types)?,
            None => hive::detect(&files, !options.hive_types.given.is_empty(), &options.hive_types)?,
        };
        let union = options.union_by_name;
        let (csv, data_schema, state, file_columns) = match format {
            FileFormat::Csv => {
                let (csv, schema, layouts, columns) = csv::open(&files, &options.csv, union)?;
                (csv, schema, FormatState::Csv(layouts), columns)
            }
            FileFormat::Parquet => {
                if let Some(gz) = files.iter().find(|f| glob::is_gzip(&f.path)) {
                    return Err(Error::InvalidInput(format!(
                        "{}: gzip-compressed Parquet is not supported (Parquet compresses internally)",
                        gz.display_name
                    )));
                }
                let (schema, pq, columns) = ParquetFiles::open(&files, union)?;
                (options.csv.clone(), schema, FormatState::Parquet(pq), columns)
            }
            FileFormat::Json => {
                let (schema, js) = JsonFiles::open(&files, options.csv.sample_rows, union)?;
                (options.csv.clone(), schema, FormatState::Json(js), None)
            }
        };
        let hive = match &options.filename {
            Some(name) => Some(HivePartitions::with_file_names(hive, name, &files)),
            None => hive,
        };
        let hive = hive.and_then(|h| h.without_names(&data_schema));
        let data_columns = data_schema.fields().len();
        let schema = match &hive {
            None => data_schema,
            Some(h) => {
                let mut fields: Vec<_> = data_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.extend(h.fields.iter().cloned());
                Arc::new(Schema::new(fields))
            }
        };
        let skipped = (format == FileFormat::Csv && options.csv.ignore_errors).then(|| Arc::new(SkipLog::default()));
        Ok(Arc::new(FileSource {
            location: location.to_string(),
            files,
            format,
            csv,
            schema,
            state,
            data_columns,
            hive,
            file_columns,
            skipped,
        }))
    }

    /// A source only the cluster can read (remote mode: `s3a://…`, or a path on the
    /// cluster's filesystem), with the schema the cluster reported for it.
    pub fn remote(location: &str, format: FileFormat, schema: SchemaRef) -> Arc<FileSource> {
        Arc::new(FileSource {
            location: location.to_string(),
            files: Vec::new(),
            format,
            csv: CsvOptions::default(),
            data_columns: schema.fields().len(),
            schema,
            state: FormatState::Remote,
            hive: None,
            file_columns: None,
            skipped: None,
        })
    }

    fn remote_only(&self) -> Error {
        Error::InvalidInput(format!(
            "{}: only the Spark cluster can read this source; run the query in remote mode (--remote)",
            self.location
        ))
    }

    /// The warning about rows skipped with `ignore_errors = true` since the last call.
    pub fn take_warning(&self) -> Option<String> {
        self.skipped.as_ref()?.take_warning(&self.location)
    }

    /// Cuts the source into partitions of about `target_bytes` each, dropping Parquet row
    /// groups that `predicates` rule out (all predicates must hold: they are ANDed).
    pub fn partitions(&self, target_bytes: u64, predicates: &[ColumnPredicate]) -> Result<Vec<FilePartition>> {
        self.partitions_of_files(target_bytes, predicates, None)
    }

    /// [`FileSource::partitions`] of the files whose `keep` entry is true (all when `None`).
    pub fn partitions_of_files(
        &self,
        target_bytes: u64,
        predicates: &[ColumnPredicate],
        keep: Option<&[bool]>,
    ) -> Result<Vec<FilePartition>> {
        if matches!(self.state, FormatState::Remote) {
            return Err(self.remote_only());
        }
        let predicates: Vec<ColumnPredicate> = predicates
            .iter()
            .filter(|p| p.column < self.data_columns)
            .cloned()
            .collect();
        let predicates = predicates.as_slice();
        let mut out = Vec::new();
        for (file_index, file) in self.files.iter().enumerate() {
            if keep.is_some_and(|k| !k.get(file_index).copied().unwrap_or(true)) {
                continue;
            }
            let kinds = match &self.state {
                FormatState::Csv(_)
                    if self.csv_layout(file_index).is_some_and(|l| l.splittable) && !glob::is_gzip(&file.path) =>
                {
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

    fn csv_layout(&self, file_index: usize) -> Option<&CsvLayout> {
        match &self.state {
            FormatState::Csv(layouts) => layouts.get(file_index).or_else(|| layouts.first()),
            _ => None,
        }
    }

    /// Reads one partition: batches of at most `batch_size` rows holding only the columns in
    /// `projection` (indices into [`FileSource::schema`], in that order; `None` = all).
    /// A CSV value that does not fit its column's type is an error naming file, line, column
    /// (with `ignore_errors` the row is skipped instead).
    pub fn scan(
        &self,
        partition: &FilePartition,
        projection: Option<&[usize]>,
        batch_size: usize,
    ) -> Result<BatchStream> {
        self.scan_encoded(partition, projection, batch_size, &[])
    }

    /// [`FileSource::scan`], with the string columns at the output positions `dictionary`
    /// left dictionary-encoded where the format stores them so (Parquet): a filter on them
    /// then compares each distinct value once (see `filter_batch`). Other columns, and
    /// sources that cannot, give plain values.
    pub fn scan_encoded(
        &self,
        partition: &FilePartition,
        projection: Option<&[usize]>,
        batch_size: usize,
        dictionary: &[usize],
    ) -> Result<BatchStream> {
        self.scan_with(partition, projection, batch_size, dictionary, None)
    }

    /// [`FileSource::scan_encoded`], keeping the rows `filter` keeps: a Parquet file read
    /// as it is decodes the filter's columns first and the others for the rows it kept;
    /// other sources filter each batch as it is read.
    pub fn scan_filtered(
        &self,
        partition: &FilePartition,
        projection: Option<&[usize]>,
        batch_size: usize,
        dictionary: &[usize],
        filter: Arc<dyn StagedFilter>,
    ) -> Result<BatchStream> {
        self.scan_with(partition, projection, batch_size, dictionary, Some(filter))
    }

    fn scan_with(
        &self,
        partition: &FilePartition,
        projection: Option<&[usize]>,
        batch_size: usize,
        dictionary: &[usize],
        filter: Option<Arc<dyn StagedFilter>>,
    ) -> Result<BatchStream> {
        let file_index = partition.file_index;
        let file = self
            .files
            .get(file_index)
            .ok_or_else(|| Error::internal(format!("partition of file {file_index} out of range")))?;
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
        let mapping = self.file_columns.as_ref().and_then(|m| m.get(file_index));
        let adapt = mapping.is_some() || projection.iter().any(|&i| i >= self.data_columns);
        if !adapt {
            if let FormatState::Parquet(pq) = &self.state {
                return pq.scan(partition, &self.schema, &projection, batch_size, dictionary, filter);
            }
        }
        let batches = self.scan_adapted(partition, file, mapping, projection, batch_size, adapt)?;
        Ok(match filter {
            Some(filter) => Box::new(batches.map(move |b| filter.apply(b?))),
            None => batches,
        })
    }

    /// Reads `projection` of one partition of `file`, its columns mapped to the source's
    /// (`adapt`: some differ in the file, or are hive partition columns).
    fn scan_adapted(
        &self,
        partition: &FilePartition,
        file: &FileMeta,
        mapping: Option<&FileColumns>,
        projection: Vec<usize>,
        batch_size: usize,
        adapt: bool,
    ) -> Result<BatchStream> {
        let file_index = partition.file_index;
        if !adapt {
            return self.scan_file(partition, file, &self.schema, projection, batch_size);
        }
        // The file's own columns to read, and where each output column comes from.
        let mut file_projection: Vec<usize> = Vec::new();
        let mut origin: Vec<Origin> = Vec::with_capacity(projection.len());
        for &i in &projection {
            if i >= self.data_columns {
                origin.push(Origin::Partition(i - self.data_columns));
                continue;
            }
            let in_file = match mapping {
                Some(m) => m.index.get(i).copied().flatten(),
                None => Some(i),
            };
            origin.push(match in_file {
                Some(j) => Origin::File(match file_projection.iter().position(|&k| k == j) {
                    Some(pos) => pos,
                    None => {
                        file_projection.push(j);
                        file_projection.len() - 1
                    }
                }),
                None => Origin::Missing,
            });
        }
        let file_schema = mapping.map_or_else(|| Arc::clone(&self.schema), |m| Arc::clone(&m.schema));
        let raw = self.scan_file(partition, file, &file_schema, file_projection, batch_size)?;
        let out_fields: Vec<_> = projection.iter().map(|&i| self.schema.field(i).clone()).collect();
        let out_schema = Arc::new(Schema::new(out_fields));
        let hive = self.hive.clone();
        Ok(Box::new(raw.map(move |batch| {
            let batch = batch?;
            let rows = batch.num_rows();
            let columns = origin
                .iter()
                .zip(out_schema.fields())
                .map(|(o, field)| -> Result<ArrayRef> {
                    match o {
                        Origin::File(pos) => {
                            let col = batch.column(*pos);
                            Ok(if col.data_type() == field.data_type() {
                                Arc::clone(col)
                            } else {
                                arrow::compute::cast(col, field.data_type())?
                            })
                        }
                        Origin::Missing => Ok(new_null_array(field.data_type(), rows)),
                        Origin::Partition(c) => match &hive {
                            Some(h) => h.column(file_index, *c, rows),
                            None => Err(Error::internal("partition column without hive partitions")),
                        },
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(rows));
            Ok(RecordBatch::try_new_with_options(
                Arc::clone(&out_schema),
                columns,
                &options,
            )?)
        })))
    }

    /// Reads the `projection` columns (indices into `schema`, the file's own columns) of
    /// one partition in the file's format.
    fn scan_file(
        &self,
        partition: &FilePartition,
        file: &FileMeta,
        schema: &SchemaRef,
        projection: Vec<usize>,
        batch_size: usize,
    ) -> Result<BatchStream> {
        match &self.state {
            FormatState::Csv(_) => {
                let layout = self
                    .csv_layout(partition.file_index)
                    .ok_or_else(|| Error::internal("CSV source without a layout"))?;
                match &self.skipped {
                    Some(log) => crate::io::csv_lenient::scan(
                        file,
                        partition.file_index,
                        &partition.kind,
                        layout,
                        projection,
                        batch_size,
                        Arc::clone(log),
                    ),
                    None => csv::scan(file, &partition.kind, layout, projection, batch_size),
                }
            }
            FormatState::Parquet(pq) => pq.scan(partition, schema, &projection, batch_size, &[], None),
            FormatState::Json(js) => js.scan(file, partition, schema, &projection, batch_size),
            FormatState::Remote => Err(self.remote_only()),
        }
    }

    /// The estimated fraction of rows whose column `column` (of the source's schema)
    /// satisfies every range predicate in `predicates`, from Parquet statistics; `None`
    /// for other formats and when the statistics cannot tell.
    pub fn range_fraction(&self, column: usize, predicates: &[ColumnPredicate]) -> Option<f64> {
        match &self.state {
            FormatState::Parquet(pq) if column < self.data_columns => {
                pq.range_fraction(&self.schema, column, predicates)
            }
            _ => None,
        }
    }

    /// The estimated fraction of rows whose column `column` equals a given value, from
    /// Parquet dictionary sizes; `None` for other formats and when they cannot tell.
    pub fn equal_fraction(&self, column: usize) -> Option<f64> {
        match &self.state {
            FormatState::Parquet(pq) if column < self.data_columns => pq.equal_fraction(&self.schema, column),
            _ => None,
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
