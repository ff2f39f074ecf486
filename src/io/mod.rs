//! Reading and writing files. A [`FileSource`] is a file, a glob or standard input in one
//! format (CSV, Parquet, NDJSON) with its schema inferred once; it cuts itself into
//! partitions (CSV byte ranges split at line ends, Parquet row groups) and scans one
//! partition at a time as a stream of batches, reading only the projected columns.

pub mod atomic;
pub mod csv;
pub mod glob;
pub mod json;
pub mod parquet;
pub mod parquet_file;
pub mod parquet_read;
pub mod parquet_stats;
pub mod source;
pub mod stdin;

pub use atomic::{write_atomically, AtomicFile};
pub use source::{
    ColumnPredicate, CsvOptions, FileFormat, FileMeta, FilePartition, FileSource, PartitionKind, PredicateOp,
    ReadOptions, SourceStatistics,
};
pub mod csv_lenient;
pub mod csv_records;
pub mod csv_sniff;
pub mod hive;
pub mod input;
pub mod skipped;
pub mod union;

#[cfg(test)]
mod tests;
