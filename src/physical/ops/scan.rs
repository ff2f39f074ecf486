//! `ScanExec`: reads files — one partition (CSV byte range, Parquet row groups) per task —
//! projecting the needed columns and applying the predicates pushed into the scan as
//! batches arrive, then the filters joins above publish ([`JoinFilter`]). (In-memory
//! tables are read by `MemoryScanExec`.)

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::io::FileFormat;
use crate::io::{FilePartition, FileSource};
use crate::physical::expr::PhysExprRef;
use crate::physical::join_filter::JoinFilter;
use crate::physical::ops::filter::{conjuncts, decode_dictionaries_except};
use crate::physical::plan::with_column_types;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};
use crate::physical::scan_filter::ScanFilter;

/// What the scan reads.
#[derive(Debug, Clone)]
pub enum ScanSource {
    /// Files, cut into these partitions.
    File(Arc<FileSource>, Vec<FilePartition>),
}

/// Reads a table.
#[derive(Debug)]
pub struct ScanExec {
    name: String,
    source: ScanSource,
    projection: Option<Vec<usize>>,
    predicate: Option<PhysExprRef>,
    /// Number of partitions skipped by statistics, for EXPLAIN.
    pruned: usize,
    /// Number of files skipped by filters on hive partition columns, for EXPLAIN.
    files_pruned: usize,
    /// String columns handed on dictionary-encoded when the file stores them so (their
    /// batches then carry `Dictionary(Int32, Utf8)` where the schema says `Utf8`).
    dictionary_output: Vec<usize>,
    /// Filters joins above publish, each with the output columns holding its keys.
    join_filters: Vec<(Arc<JoinFilter>, Vec<usize>)>,
    /// The predicate and the join filters together, as the reader applies them.
    filter: Option<Arc<ScanFilter>>,
    schema: SchemaRef,
}

impl ScanExec {
    /// A scan of `source` producing `schema` (the projected columns), keeping rows where
    /// `predicate` (over the projected columns) holds.
    pub fn new(
        name: String,
        source: ScanSource,
        projection: Option<Vec<usize>>,
        predicate: Option<PhysExprRef>,
        pruned: usize,
        schema: SchemaRef,
    ) -> Self {
        let filter = shared_filter(&predicate, &[], &schema);
        Self {
            name,
            source,
            projection,
            predicate,
            pruned,
            files_pruned: 0,
            dictionary_output: Vec::new(),
            join_filters: Vec::new(),
            filter,
            schema,
        }
    }

    /// This scan also applying `filters` (each with the output columns holding its keys).
    pub fn with_join_filters(&self, filters: Vec<(Arc<JoinFilter>, Vec<usize>)>) -> ScanExec {
        let mut scan = self.clone_with(self.dictionary_output.clone());
        scan.join_filters.extend(filters);
        scan.filter = shared_filter(&scan.predicate, &scan.join_filters, &scan.schema);
        scan
    }

    /// A copy of this scan handing on `dictionary_output` encoded.
    fn clone_with(&self, dictionary_output: Vec<usize>) -> ScanExec {
        ScanExec {
            name: self.name.clone(),
            source: self.source.clone(),
            projection: self.projection.clone(),
            predicate: self.predicate.clone(),
            pruned: self.pruned,
            files_pruned: self.files_pruned,
            dictionary_output,
            join_filters: self.join_filters.clone(),
            filter: shared_filter(&self.predicate, &self.join_filters, &self.schema),
            schema: Arc::clone(&self.schema),
        }
    }

    /// This scan handing on the string columns `columns` dictionary-encoded where the
    /// Parquet file stores them so, for a consumer that reads such columns (a group table
    /// packs each distinct value once). `None` when the source is not Parquet or none of
    /// `columns` is a string.
    pub fn with_dictionary_output(&self, columns: &[usize]) -> Option<ScanExec> {
        let ScanSource::File(source, _) = &self.source;
        if source.format != FileFormat::Parquet {
            return None;
        }
        let mut output: Vec<usize> = columns.iter().copied().filter(|&i| self.is_string_column(i)).collect();
        output.sort_unstable();
        output.dedup();
        if output.is_empty() {
            return None;
        }
        Some(self.clone_with(output))
    }

    /// Notes that `n` files were skipped (shown by EXPLAIN as `files=read/total`).
    pub fn with_files_pruned(mut self, n: usize) -> Self {
        self.files_pruned = n;
        self
    }
}

/// The filter the tasks of a scan producing `schema` share: `predicate` and `join_filters`
/// (see [`ScanFilter`]); `None` when there is nothing to filter.
fn shared_filter(
    predicate: &Option<PhysExprRef>,
    join_filters: &[(Arc<JoinFilter>, Vec<usize>)],
    schema: &SchemaRef,
) -> Option<Arc<ScanFilter>> {
    ScanFilter::new(predicate.clone(), join_filters.to_vec(), schema.fields().len()).map(Arc::new)
}

impl ScanExec {
    /// Whether output column `i` holds plain strings.
    fn is_string_column(&self, i: usize) -> bool {
        self.schema
            .fields()
            .get(i)
            .is_some_and(|f| f.data_type() == &DataType::Utf8)
    }

    /// The string columns to read dictionary-encoded: those the filter reads alone in some
    /// conjunct (so it compares each distinct value once), and those handed on encoded.
    fn dictionary_columns(&self) -> Vec<usize> {
        let filtered = self.predicate.as_ref().map(conjuncts).unwrap_or_default();
        let mut out: Vec<usize> = filtered
            .iter()
            .filter_map(|c| {
                let columns = c.column_indices();
                match (columns.len(), columns.first()) {
                    (1, Some(&i)) => Some(i),
                    _ => None,
                }
            })
            .filter(|&i| self.is_string_column(i))
            .collect();
        out.extend(&self.dictionary_output);
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl ExecutionPlan for ScanExec {
    fn name(&self) -> &'static str {
        "Scan"
    }
    fn details(&self) -> String {
        let cols: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
        let mut s = format!("{} [{}]", self.name, cols.join(", "));
        if let Some(p) = &self.predicate {
            s.push_str(&format!(", filter={p}"));
        }
        match &self.source {
            ScanSource::File(f, parts) => {
                let total = f.files.len();
                if self.files_pruned > 0 {
                    let read = total.saturating_sub(self.files_pruned);
                    s.push_str(&format!(", files={read}/{total}, partitions={}", parts.len()));
                } else {
                    s.push_str(&format!(", files={total}, partitions={}", parts.len()));
                }
                if self.pruned > 0 {
                    s.push_str(&format!(", pruned={}", self.pruned));
                }
                // After a run (EXPLAIN ANALYZE): row groups read in filter stages.
                if let Some((staged, groups)) = self
                    .filter
                    .as_ref()
                    .map(|f| f.row_groups_in_stages())
                    .filter(|&(_, groups)| groups > 0)
                {
                    s.push_str(&format!(", row_groups_in_stages={staged}/{groups}"));
                }
                if !self.dictionary_output.is_empty() {
                    let names: Vec<&str> = self
                        .dictionary_output
                        .iter()
                        .filter_map(|&i| self.schema.fields().get(i).map(|f| f.name().as_str()))
                        .collect();
                    s.push_str(&format!(", dictionaries=[{}]", names.join(", ")));
                }
            }
        }
        if !self.join_filters.is_empty() {
            let keys: Vec<String> = self
                .join_filters
                .iter()
                .map(|(_, columns)| {
                    let names: Vec<&str> = columns
                        .iter()
                        .filter_map(|&i| self.schema.fields().get(i).map(|f| f.name().as_str()))
                        .collect();
                    names.join("+")
                })
                .collect();
            s.push_str(&format!(", join_filters=[{}]", keys.join(", ")));
        }
        s
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![]
    }
    fn with_new_children(self: Arc<Self>, _children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(self)
    }
    fn output_partitions(&self) -> Option<usize> {
        Some(match &self.source {
            ScanSource::File(_, parts) => parts.len().max(1),
        })
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let encoded = self.dictionary_columns();
        let ScanSource::File(source, parts) = &self.source;
        let Some(part) = parts.get(partition) else {
            if parts.is_empty() {
                return Ok(Box::new(std::iter::empty()));
            }
            return Err(Error::internal(format!("scan has no partition {partition}")));
        };
        let projection = self.projection.as_deref();
        let batch_size = ctx.batch_size();
        let raw: BatchStream = match &self.filter {
            Some(filter) => source.scan_filtered(part, projection, batch_size, &encoded, filter.for_task(ctx))?,
            None => {
                let ctx = ctx.clone();
                Box::new(
                    source
                        .scan_encoded(part, projection, batch_size, &encoded)?
                        .inspect(move |b| {
                            if let Ok(b) = b {
                                ctx.query
                                    .progress
                                    .add_read(b.num_rows() as u64, b.get_array_memory_size() as u64);
                            }
                        }),
                )
            }
        };
        let schema = Arc::clone(&self.schema);
        let dictionary_output = self.dictionary_output.clone();
        let ctx = ctx.clone();
        Ok(Box::new(
            raw.map(move |b| {
                ctx.check_cancelled()?;
                let b = b?;
                // Plan schemas are all-nullable and unqualified by file metadata; strings
                // read dictionary-encoded for the filter are decoded for what passed it,
                // except those handed on encoded.
                let b = decode_dictionaries_except(&b, &dictionary_output)?;
                let columns = b.columns().to_vec();
                let options = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
                Ok(RecordBatch::try_new_with_options(
                    with_column_types(&schema, &columns),
                    columns,
                    &options,
                )?)
            })
            .filter(|b| !matches!(b, Ok(b) if b.num_rows() == 0)),
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
