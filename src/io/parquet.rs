//! Parquet sources: each file's metadata is read once at open; partitions are groups of
//! row groups (skipping those whose min/max statistics rule out the pushed-down
//! predicates); a scan reads only the projected root columns and normalizes string and
//! dictionary types so the rest of the engine sees plain `Utf8`.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Scalar};
use arrow::compute::cast;
use arrow::compute::kernels::cmp::{gt, gt_eq, lt, lt_eq};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Encoding;

use crate::error::{Error, Result};
use crate::io::parquet_read::{decoding, string_dictionary, FilteredRowGroups, ReadLayout, StagedFilter};
use crate::io::parquet_stats::ColumnStats;
use crate::io::source::{ColumnPredicate, FileMeta, FilePartition, PartitionKind, PredicateOp};
use crate::io::union::{same_columns, union_by_name, FileColumns};
use crate::physical::plan::BatchStream;

/// The Parquet files of a source with their metadata.
#[derive(Debug)]
pub struct ParquetFiles {
    /// Each file's path, display name and metadata, in source order.
    pub files: Vec<(FileMeta, ArrowReaderMetadata)>,
    /// Column ranges and dictionary sizes for estimates, read when planning asks.
    stats: ColumnStats,
}

/// The type rask uses for a Parquet column's Arrow type: strings and binaries become
/// `Utf8`, dictionaries their value type.
pub fn normalize_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8View | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            DataType::Utf8
        }
        DataType::Dictionary(_, value) => normalize_type(value),
        other => other.clone(),
    }
}

fn normalize_schema(schema: &Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), normalize_type(f.data_type()), f.is_nullable()))
            .collect::<Vec<_>>(),
    )
}

/// Asks the reader to decode string columns straight into `Utf8` (instead of views or
/// dictionaries that would be cast afterwards), when the file allows it.
fn decode_strings_as_utf8(meta: ArrowReaderMetadata) -> ArrowReaderMetadata {
    let wanted = |dt: &DataType| match dt {
        DataType::Utf8View | DataType::LargeUtf8 => Some(DataType::Utf8),
        DataType::Dictionary(_, v)
            if matches!(v.as_ref(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) =>
        {
            Some(DataType::Utf8)
        }
        _ => None,
    };
    let schema = meta.schema();
    if !schema.fields().iter().any(|f| wanted(f.data_type()).is_some()) {
        return meta;
    }
    let hint = Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| match wanted(f.data_type()) {
                Some(t) => Arc::new(f.as_ref().clone().with_data_type(t)),
                None => Arc::clone(f),
            })
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    );
    let options = ArrowReaderOptions::new().with_schema(Arc::new(hint));
    ArrowReaderMetadata::try_new(Arc::clone(meta.metadata()), options).unwrap_or(meta)
}

/// `meta` reading the root columns `roots` as `Dictionary(Int32, Utf8)`; `None` when the
/// reader will not.
pub(crate) fn with_dictionaries(meta: &ArrowReaderMetadata, roots: &[usize]) -> Option<ArrowReaderMetadata> {
    let schema = meta.schema();
    let dictionary = string_dictionary();
    let hint = Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if roots.contains(&i) {
                    Arc::new(f.as_ref().clone().with_data_type(dictionary.clone()))
                } else {
                    Arc::clone(f)
                }
            })
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    );
    let options = ArrowReaderOptions::new().with_schema(Arc::new(hint));
    ArrowReaderMetadata::try_new(Arc::clone(meta.metadata()), options).ok()
}

/// Whether the column at root `root` is dictionary-encoded in every data page of the row
/// groups `row_groups`, so that reading it as a dictionary keeps the file's own dictionary.
/// A writer falls back to plain pages once a dictionary grows too big (a column of mostly
/// distinct values); reading those as a dictionary would build one by hashing every value,
/// for a filter that then has as many dictionary values to test as rows. Chunks without
/// encoding statistics are taken to be dictionary-encoded when they have a dictionary page.
pub(crate) fn dictionary_encoded(meta: &ArrowReaderMetadata, root: usize, row_groups: &[usize]) -> bool {
    let Some(leaf) = leaf_of_root(meta, root) else {
        return false;
    };
    row_groups.iter().all(|&group| {
        let Some(chunk) = meta
            .metadata()
            .row_groups()
            .get(group)
            .and_then(|g| g.columns().get(leaf))
        else {
            return false;
        };
        chunk.dictionary_page_offset().is_some()
            && chunk
                .page_encoding_stats_mask()
                .is_none_or(|mask| mask.is_only(Encoding::RLE_DICTIONARY) || mask.is_only(Encoding::PLAIN_DICTIONARY))
    })
}

/// The first leaf (Parquet column chunk index) of root column `root`.
pub(crate) fn leaf_of_root(meta: &ArrowReaderMetadata, root: usize) -> Option<usize> {
    let schema = meta.parquet_schema();
    (0..schema.num_columns()).find(|&leaf| schema.get_column_root_idx(leaf) == root)
}

impl ParquetFiles {
    /// Reads every file's metadata. The schema is the first file's, and every other file
    /// must have its columns (by name; other types are cast to the first file's); with
    /// `union_by_name` it is the union of all files' columns. The mappings are returned
    /// when some file's columns differ from the source's.
    pub fn open(files: &[FileMeta], union: bool) -> Result<(SchemaRef, ParquetFiles, Option<Vec<FileColumns>>)> {
        let mut out: Vec<(FileMeta, ArrowReaderMetadata)> = Vec::with_capacity(files.len());
        let mut schemas: Vec<SchemaRef> = Vec::with_capacity(files.len());
        for file in files {
            let f = File::open(&file.path).map_err(|e| Error::io(&file.display_name, e))?;
            let meta = decoding(&file.display_name, || {
                ArrowReaderMetadata::load(&f, ArrowReaderOptions::new()).map_err(|e| {
                    Error::InvalidInput(format!("{}: not a readable Parquet file: {e}", file.display_name))
                })
            })?;
            let meta = decode_strings_as_utf8(meta);
            schemas.push(Arc::new(normalize_schema(meta.schema())));
            out.push((file.clone(), meta));
        }
        let first = schemas
            .first()
            .cloned()
            .ok_or_else(|| Error::internal("no Parquet files"))?;
        let (schema, columns) = if union && files.len() > 1 {
            let (schema, columns) = union_by_name(&schemas);
            (schema, Some(columns))
        } else {
            (first, same_columns(files, &schemas)?)
        };
        Ok((
            schema,
            ParquetFiles {
                files: out,
                stats: ColumnStats::default(),
            },
            columns,
        ))
    }

    /// Total rows over all files, from the metadata.
    pub fn num_rows(&self) -> u64 {
        self.files
            .iter()
            .map(|(_, m)| u64::try_from(m.metadata().file_metadata().num_rows()).unwrap_or(0))
            .sum()
    }

    /// The fraction of all rows whose column `column` of `schema` satisfies the range
    /// `predicates` (see [`ColumnStats::range_fraction`]).
    pub fn range_fraction(&self, schema: &Schema, column: usize, predicates: &[ColumnPredicate]) -> Option<f64> {
        let field = schema.fields().get(column)?;
        let metas: Vec<&ArrowReaderMetadata> = self.files.iter().map(|(_, meta)| meta).collect();
        self.stats.range_fraction(&metas, field.name(), predicates)
    }

    /// The fraction of all rows whose column `column` of `schema` equals a given value
    /// (see [`ColumnStats::equal_fraction`]).
    pub fn equal_fraction(&self, schema: &Schema, column: usize) -> Option<f64> {
        let field = schema.fields().get(column)?;
        let files: Vec<(&FileMeta, &ArrowReaderMetadata)> = self.files.iter().map(|(f, m)| (f, m)).collect();
        self.stats.equal_fraction(&files, field.name())
    }

    /// Which row groups of a file may hold rows satisfying all `predicates`.
    fn row_groups_to_read(
        &self,
        meta: &ArrowReaderMetadata,
        schema: &Schema,
        predicates: &[ColumnPredicate],
    ) -> Vec<bool> {
        let groups = meta.metadata().row_groups();
        let mut keep = vec![true; groups.len()];
        for pred in predicates {
            let Some(field) = schema.fields().get(pred.column) else {
                continue;
            };
            // A predicate whose statistics cannot be read or compared prunes nothing.
            if let Some(mask) = prune_mask(meta, field.name(), pred) {
                for (k, i) in keep.iter_mut().zip(0..) {
                    *k &= mask.is_null(i) || mask.value(i);
                }
            }
        }
        keep
    }

    /// Partitions of one file: consecutive surviving row groups, about `target_bytes`
    /// (compressed) each, balanced (see [`balanced_runs`]).
    pub fn partitions(
        &self,
        file_index: usize,
        schema: &Schema,
        target_bytes: u64,
        predicates: &[ColumnPredicate],
    ) -> Result<Vec<PartitionKind>> {
        let (_, meta) = self
            .files
            .get(file_index)
            .ok_or_else(|| Error::internal(format!("no Parquet file {file_index}")))?;
        let keep = self.row_groups_to_read(meta, schema, predicates);
        let groups: Vec<(usize, u64)> = meta
            .metadata()
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(i, _)| keep[*i])
            .map(|(i, rg)| (i, u64::try_from(rg.compressed_size()).unwrap_or(0)))
            .collect();
        Ok(balanced_runs(&groups, target_bytes)
            .into_iter()
            .map(PartitionKind::RowGroups)
            .collect())
    }

    /// Reads the row groups of one partition. The string columns at the output positions
    /// `dictionary` come as `Dictionary(Int32, Utf8)` arrays (the file's dictionary pages
    /// kept as they are), the others in `schema`'s types. With a `filter`, only the rows it
    /// keeps come out, its columns decoded before the others (see [`StagedFilter`]).
    pub fn scan(
        &self,
        partition: &FilePartition,
        schema: &SchemaRef,
        projection: &[usize],
        batch_size: usize,
        dictionary: &[usize],
        filter: Option<Arc<dyn StagedFilter>>,
    ) -> Result<BatchStream> {
        let (file, meta) = self
            .files
            .get(partition.file_index)
            .ok_or_else(|| Error::internal(format!("no Parquet file {}", partition.file_index)))?;
        let row_groups = match &partition.kind {
            PartitionKind::RowGroups(rgs) => rgs.clone(),
            PartitionKind::Whole => (0..meta.metadata().num_row_groups()).collect(),
            PartitionKind::ByteRange { .. } => {
                return Err(Error::internal("byte-range partition of a Parquet file"));
            }
        };
        let encoded: Vec<usize> = dictionary
            .iter()
            .filter_map(|&pos| projection.get(pos).copied())
            .filter(|&root| {
                schema
                    .fields()
                    .get(root)
                    .is_some_and(|f| f.data_type() == &DataType::Utf8)
                    && dictionary_encoded(meta, root, &row_groups)
            })
            .collect();
        let encoding = if encoded.is_empty() {
            None
        } else {
            with_dictionaries(meta, &encoded)
        };
        let (meta, encoded) = match encoding {
            Some(m) => (m, encoded),
            None => (meta.clone(), Vec::new()),
        };
        let layout = Arc::new(ReadLayout::new(meta, schema, projection, &encoded));
        let f = File::open(&file.path).map_err(|e| Error::io(&file.display_name, e))?;
        let f = crate::io::parquet_file::ParquetFile::new(f);
        let name = file.display_name.clone();
        if let Some(filter) = filter {
            return Ok(Box::new(FilteredRowGroups::new(
                f, name, layout, batch_size, row_groups, filter,
            )));
        }
        let mut reader = decoding(&name, || {
            Ok(
                ParquetRecordBatchReaderBuilder::new_with_metadata(f, layout.meta.clone())
                    .with_projection(layout.mask())
                    .with_row_groups(row_groups)
                    .with_batch_size(batch_size)
                    .build()?,
            )
        })?;
        let mut failed = false;
        let batches = std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let next = decoding(&name, || Ok(reader.next()))
                .map(|batch| batch.map(|b| b.map_err(|e| Error::InvalidInput(format!("{name}: {e}")))))
                .unwrap_or_else(|e| Some(Err(e)));
            failed = matches!(next, Some(Err(_)));
            next
        });
        Ok(Box::new(batches.map(move |batch| layout.normalize(&batch?))))
    }
}

/// Cuts `(row group, bytes)` pairs, in order, into runs of consecutive groups: as many runs
/// as `target_bytes` goes into their total (rounded, at least one), each group in the run
/// its midpoint falls in, so the runs are about equal instead of full ones followed by a
/// remainder (four groups of 3.4 MB and a 6.8 MB target make two runs of two, not three
/// and one, which would leave one of two threads with three quarters of the work).
fn balanced_runs(groups: &[(usize, u64)], target_bytes: u64) -> Vec<Vec<usize>> {
    let total: u64 = groups.iter().map(|&(_, bytes)| bytes).sum();
    let target = target_bytes.max(1);
    let runs = ((total + target / 2) / target).clamp(1, groups.len().max(1) as u64);
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut before = 0u64;
    for &(group, bytes) in groups {
        let midpoint = u128::from(before) * 2 + u128::from(bytes);
        // The run whose share of the total holds the midpoint (total > 0 when it matters).
        let run = (midpoint * u128::from(runs) / (u128::from(total.max(1)) * 2)).min(u128::from(runs) - 1) as usize;
        before += bytes;
        if run < out.len() {
            if let Some(last) = out.last_mut() {
                last.push(group);
            }
        } else {
            out.push(vec![group]);
        }
    }
    out
}

/// Per row group: may the predicate hold? (null = unknown = keep). `None` when the
/// statistics cannot be read or compared with the constant.
fn prune_mask(meta: &ArrowReaderMetadata, column: &str, pred: &ColumnPredicate) -> Option<BooleanArray> {
    let converter = StatisticsConverter::try_new(column, meta.schema(), meta.parquet_schema()).ok()?;
    let groups = meta.metadata().row_groups();
    let mins = converter.row_group_mins(groups.iter()).ok()?;
    let maxes = converter.row_group_maxes(groups.iter()).ok()?;
    let value = pred.value.to_array_of_size(1).ok()?;
    let value = Scalar::new(cast(&value, mins.data_type()).ok()?);
    let mask = match pred.op {
        PredicateOp::Eq => {
            let lo = lt_eq(&mins, &value).ok()?;
            let hi = gt_eq(&maxes, &value).ok()?;
            arrow::compute::kernels::boolean::and_kleene(&lo, &hi).ok()?
        }
        PredicateOp::Lt => lt(&mins, &value).ok()?,
        PredicateOp::LtEq => lt_eq(&mins, &value).ok()?,
        PredicateOp::Gt => gt(&maxes, &value).ok()?,
        PredicateOp::GtEq => gt_eq(&maxes, &value).ok()?,
    };
    Some(mask)
}

#[cfg(test)]
mod tests {
    use super::balanced_runs;

    #[test]
    fn row_groups_are_cut_into_balanced_runs() {
        let mb = 1 << 20;
        // Four groups of about 3.4 MB for two threads: two and two, not three and one.
        let customer = [(0, 3401 * 1024), (1, 3388 * 1024), (2, 3397 * 1024), (3, 3399 * 1024)];
        assert_eq!(balanced_runs(&customer, 6_792 * 1024), vec![vec![0, 1], vec![2, 3]]);
        // Sixteen groups of 3.9 MB: eight runs of two for a 7.8 MB target; for 8 MiB
        // (7.4 runs' worth) seven runs of two or three, never one of one.
        let orders: Vec<(usize, u64)> = (0..16).map(|i| (i, 3_900_000)).collect();
        let runs = balanced_runs(&orders, 7_800_000);
        assert_eq!(runs.len(), 8);
        assert!(runs.iter().all(|r| r.len() == 2), "{runs:?}");
        let runs = balanced_runs(&orders, 8 * mb);
        assert_eq!(runs.len(), 7);
        assert!(runs.iter().all(|r| (2..=3).contains(&r.len())), "{runs:?}");
        assert_eq!(runs.concat(), (0..16).collect::<Vec<_>>());
        // Pruned groups are skipped, order is kept, a small total is one run.
        assert_eq!(balanced_runs(&[(2, 10), (5, 10), (9, 10)], 8 * mb), vec![vec![2, 5, 9]]);
        assert!(balanced_runs(&[], 8 * mb).is_empty());
        // One huge group among small ones gets a run of its own.
        let runs = balanced_runs(&[(0, mb), (1, 30 * mb), (2, mb), (3, mb)], 8 * mb);
        assert_eq!(runs.concat(), vec![0, 1, 2, 3]);
        assert!(runs.iter().any(|r| r == &vec![1]) || runs.len() <= 2, "{runs:?}");
    }
}
