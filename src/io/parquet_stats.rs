//! How many rows of a Parquet source a filter keeps, estimated from the file's metadata.
//!
//! - A range (`x >= a AND x < b`) from the row groups' min/max statistics. Within a row
//!   group values are taken as spread evenly between its minimum and maximum, so a filter
//!   on a sorted column counts whole row groups in or out and one on an unsorted column
//!   scales by the part of the range it covers: TPC-H's `l_shipdate` in one month of its
//!   seven years keeps 1.2% of lineitem, not the fixed third a comparison is otherwise
//!   assumed to keep.
//! - An equality (`x = a`) from the size of each row group's dictionary: a row group whose
//!   column holds `d` distinct values keeps `1/d` of its rows (`n_name = 'FRANCE'` keeps
//!   one nation of 25, `c_mktsegment = 'BUILDING'` one customer in 5), where a fixed tenth
//!   is otherwise assumed.
//!
//! Both are read once per column and kept (planning asks for them again and again).

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::column::page::{Page, PageReader};
use parquet::file::serialized_reader::SerializedPageReader;

use crate::io::parquet::{dictionary_encoded, leaf_of_root};
use crate::io::parquet_file::ParquetFile;
use crate::io::source::{ColumnPredicate, FileMeta, PredicateOp};

/// One column's per-row-group minimum, maximum and row count, over every file.
#[derive(Debug)]
struct ColumnRanges {
    /// `(min, max, rows)` per row group, as numbers on the column's own scale.
    groups: Vec<(f64, f64, f64)>,
    /// The Arrow type of the statistics (constants are cast to it before comparing).
    stats_type: DataType,
}

/// What was read so far, by column name (`None`: a column without usable statistics).
#[derive(Debug, Default)]
pub struct ColumnStats {
    ranges: Mutex<HashMap<String, Option<Arc<ColumnRanges>>>>,
    equal_fractions: Mutex<HashMap<String, Option<f64>>>,
}

impl ColumnStats {
    /// The fraction of rows, over `files`, whose `column` satisfies every predicate of
    /// `predicates` (all on that column, none an equality). `None` when a file lacks the
    /// column's statistics or they are not numbers, dates or times.
    pub fn range_fraction(
        &self,
        files: &[&ArrowReaderMetadata],
        column: &str,
        predicates: &[ColumnPredicate],
    ) -> Option<f64> {
        let ranges = self.ranges(files, column)?;
        let (mut low, mut high) = (f64::NEG_INFINITY, f64::INFINITY);
        for p in predicates {
            let value = p.value.to_array_of_size(1).ok()?;
            let value = as_numbers(&cast(&value, &ranges.stats_type).ok()?)?;
            if value.is_null(0) {
                return None;
            }
            let v = value.value(0);
            match p.op {
                PredicateOp::Gt | PredicateOp::GtEq => low = low.max(v),
                PredicateOp::Lt | PredicateOp::LtEq => high = high.min(v),
                PredicateOp::Eq => return None,
            }
        }
        let (mut kept, mut total) = (0.0, 0.0);
        for &(min, max, rows) in &ranges.groups {
            total += rows;
            kept += rows * covered(min, max, low, high);
        }
        (total > 0.0).then(|| kept / total)
    }

    /// The fraction of rows, over `files`, whose `column` equals one given value: each row
    /// group's share is one over its number of distinct values. `None` when some row group
    /// of the column is not wholly dictionary-encoded.
    pub fn equal_fraction(&self, files: &[(&FileMeta, &ArrowReaderMetadata)], column: &str) -> Option<f64> {
        let mut cache = self.equal_fractions.lock().ok()?;
        *cache
            .entry(column.to_string())
            .or_insert_with(|| read_equal_fraction(files, column))
    }

    fn ranges(&self, files: &[&ArrowReaderMetadata], column: &str) -> Option<Arc<ColumnRanges>> {
        let mut cache = self.ranges.lock().ok()?;
        cache
            .entry(column.to_string())
            .or_insert_with(|| read_ranges(files, column).map(Arc::new))
            .clone()
    }
}

fn read_equal_fraction(files: &[(&FileMeta, &ArrowReaderMetadata)], column: &str) -> Option<f64> {
    let (mut kept, mut total) = (0.0, 0.0);
    for (file, meta) in files {
        let root = meta.schema().index_of(column).ok()?;
        let leaf = leaf_of_root(meta, root)?;
        let groups = meta.metadata().row_groups();
        let all: Vec<usize> = (0..groups.len()).collect();
        if !dictionary_encoded(meta, root, &all) {
            return None;
        }
        let data = Arc::new(ParquetFile::new(File::open(&file.path).ok()?));
        for group in groups {
            let rows = group.num_rows() as f64;
            let chunk = group.columns().get(leaf)?;
            let mut pages =
                SerializedPageReader::new(Arc::clone(&data), chunk, group.num_rows() as usize, None).ok()?;
            let distinct = match pages.get_next_page().ok()?? {
                Page::DictionaryPage { num_values, .. } => f64::from(num_values.max(1)),
                _ => return None,
            };
            kept += rows / distinct;
            total += rows;
        }
    }
    (total > 0.0).then(|| kept / total)
}

/// The part of `[min, max]` inside `[low, high]`, values spread evenly.
fn covered(min: f64, max: f64, low: f64, high: f64) -> f64 {
    if max > min {
        ((high.min(max) - low.max(min)) / (max - min)).clamp(0.0, 1.0)
    } else if low <= min && min <= high {
        1.0
    } else {
        0.0
    }
}

fn read_ranges(files: &[&ArrowReaderMetadata], column: &str) -> Option<ColumnRanges> {
    let mut groups = Vec::new();
    let mut stats_type = None;
    for meta in files {
        let converter = StatisticsConverter::try_new(column, meta.schema(), meta.parquet_schema()).ok()?;
        let row_groups = meta.metadata().row_groups();
        let mins = converter.row_group_mins(row_groups.iter()).ok()?;
        let maxes = converter.row_group_maxes(row_groups.iter()).ok()?;
        if *stats_type.get_or_insert_with(|| mins.data_type().clone()) != *mins.data_type() {
            return None;
        }
        let (mins, maxes) = (as_numbers(&mins)?, as_numbers(&maxes)?);
        for (i, rg) in row_groups.iter().enumerate() {
            if mins.is_null(i) || maxes.is_null(i) {
                return None;
            }
            groups.push((mins.value(i), maxes.value(i), rg.num_rows() as f64));
        }
    }
    Some(ColumnRanges {
        groups,
        stats_type: stats_type?,
    })
}

/// Numbers, dates and times as `f64` on their own scale (days, units of the timestamp,
/// decimal values); `None` for other types.
fn as_numbers(array: &ArrayRef) -> Option<Float64Array> {
    let through = match array.data_type() {
        DataType::Date32 | DataType::Time32(_) => Some(DataType::Int32),
        DataType::Date64 | DataType::Time64(_) | DataType::Timestamp(_, _) => Some(DataType::Int64),
        dt if dt.is_numeric() => None,
        _ => return None,
    };
    let array = match through {
        Some(t) => cast(array, &t).ok()?,
        None => Arc::clone(array),
    };
    let numbers = cast(&array, &DataType::Float64).ok()?;
    numbers.as_any().downcast_ref::<Float64Array>().cloned()
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn a_range_covers_its_share_of_a_row_group() {
        // One month of a seven-year spread of days.
        let share = covered(8035.0, 10591.0, 9374.0, 9404.0);
        assert!((share - 30.0 / 2556.0).abs() < 1e-9, "{share}");
        assert_eq!(covered(0.0, 10.0, 20.0, f64::INFINITY), 0.0);
        assert_eq!(covered(0.0, 10.0, f64::NEG_INFINITY, 20.0), 1.0);
        assert_eq!(covered(5.0, 5.0, 5.0, 5.0), 1.0);
        assert_eq!(covered(5.0, 5.0, 6.0, 9.0), 0.0);
    }
}
