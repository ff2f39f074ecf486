//! CSV scanning for `ignore_errors = true`: records are split by the quote-aware record
//! scanner, rows with the wrong number of fields are dropped, and each batch's projected
//! text columns are cast to their types with one vectorized cast per column; rows where a
//! non-NULL value did not convert are dropped too (columns not read are not checked, as
//! in DuckDB). Every skipped row is counted in the
//! source's [`SkipLog`], with the earliest one's file, line and column.

use std::io::BufRead;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, StringBuilder};
use arrow::compute::kernels::boolean::{and, not, or};
use arrow::compute::{cast_with_options, filter, is_not_null, is_null, CastOptions};
use arrow::datatypes::{DataType, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::io::csv::{booleans_or_null, CsvLayout};
use crate::io::csv_records::RecordScanner;
use crate::io::csv_sniff::{is_null as is_null_text, sql_type_name};
use crate::io::input::{lines_before, open_partition};
use crate::io::skipped::{SkipLog, SkippedRow};
use crate::io::source::{FileMeta, PartitionKind};
use crate::physical::plan::BatchStream;

/// Scans one partition, skipping (and logging) rows that do not fit the layout.
pub fn scan(
    file: &FileMeta,
    file_index: usize,
    kind: &PartitionKind,
    layout: &CsvLayout,
    projection: Vec<usize>,
    batch_size: usize,
    log: Arc<SkipLog>,
) -> Result<BatchStream> {
    let input = open_partition(file, kind)?;
    let header = layout.header && !matches!(kind, PartitionKind::ByteRange { start, .. } if *start > 0);
    let out_schema = Arc::new(Schema::new(
        projection
            .iter()
            .map(|&i| layout.decode_schema.field(i).clone())
            .collect::<Vec<_>>(),
    ));
    Ok(Box::new(LenientStream {
        scanner: RecordScanner::new(input.reader, layout.dialect),
        data_start: input.data_start,
        line_offset: None,
        skip_header: header,
        file: file.clone(),
        file_index,
        layout: layout.clone(),
        projection,
        out_schema,
        batch_size: batch_size.max(1),
        log,
        done: false,
    }))
}

struct LenientStream {
    scanner: RecordScanner<Box<dyn BufRead + Send>>,
    data_start: u64,
    /// Lines before the partition's first byte (counted when first needed).
    line_offset: Option<u64>,
    skip_header: bool,
    file: FileMeta,
    file_index: usize,
    layout: CsvLayout,
    projection: Vec<usize>,
    out_schema: SchemaRef,
    batch_size: usize,
    log: Arc<SkipLog>,
    done: bool,
}

impl LenientStream {
    fn line(&mut self, relative: u64) -> Result<u64> {
        let offset = match self.line_offset {
            Some(o) => o,
            None => {
                let o = lines_before(&self.file, self.data_start)?;
                self.line_offset = Some(o);
                o
            }
        };
        Ok(offset + relative + 1)
    }

    fn skip(&mut self, relative_line: u64, column: u64, reason: String) -> Result<()> {
        let line = self.line(relative_line)?;
        self.log.record(
            1,
            SkippedRow {
                file_index: self.file_index,
                file: self.file.display_name.clone(),
                line,
                column,
                reason,
            },
        );
        Ok(())
    }

    /// Reads up to a batch of well-formed records as text columns, with each row's line.
    fn read_text(&mut self) -> Result<Option<(Vec<ArrayRef>, Vec<u64>)>> {
        let ncols = self.layout.decode_schema.fields().len();
        let mut builders: Vec<StringBuilder> = (0..ncols).map(|_| StringBuilder::new()).collect();
        let mut lines = Vec::new();
        let null = self.layout.null_string.clone();
        while lines.len() < self.batch_size {
            let Some(rec) = self
                .scanner
                .next_record()
                .map_err(|e| Error::io(&self.file.display_name, e))?
            else {
                self.done = true;
                break;
            };
            if self.skip_header {
                self.skip_header = false;
                continue;
            }
            if rec.fields.len() != ncols {
                let got = rec.fields.len();
                let column = if got < ncols { got + 1 } else { ncols + 1 };
                self.skip(
                    rec.line,
                    column as u64,
                    format!("expected {ncols} fields but found {got}"),
                )?;
                continue;
            }
            for (b, v) in builders.iter_mut().zip(&rec.fields) {
                if is_null_text(v, null.as_deref()) {
                    b.append_null();
                } else {
                    b.append_value(v);
                }
            }
            lines.push(rec.line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let columns = builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        Ok(Some((columns, lines)))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        while !self.done {
            let Some((text, lines)) = self.read_text()? else {
                continue;
            };
            let schema = Arc::clone(&self.layout.decode_schema);
            let options = CastOptions {
                safe: true,
                ..Default::default()
            };
            // Only the columns read are checked, as DuckDB does.
            let mut projected: Vec<ArrayRef> = Vec::with_capacity(self.projection.len());
            let mut bad: Option<BooleanArray> = None;
            let mut first_bad: Option<(usize, usize)> = None;
            for &c in &self.projection {
                let (column, field) = (&text[c], schema.field(c));
                if *field.data_type() == DataType::Utf8 {
                    projected.push(Arc::clone(column));
                    continue;
                }
                let converted = match (field.data_type(), column.as_string_opt::<i32>()) {
                    (DataType::Boolean, Some(text)) => Arc::new(booleans_or_null(text)) as ArrayRef,
                    _ => cast_with_options(column, field.data_type(), &options)?,
                };
                let failed = and(&is_not_null(column)?, &is_null(&converted)?)?;
                if failed.true_count() > 0 {
                    if let Some(row) = (0..failed.len()).find(|&i| failed.value(i)) {
                        if first_bad.is_none_or(|(r, _)| row < r) {
                            first_bad = Some((row, c));
                        }
                    }
                    bad = Some(match bad {
                        Some(b) => or(&b, &failed)?,
                        None => failed,
                    });
                }
                projected.push(converted);
            }
            let rows = lines.len();
            let Some(bad) = bad else {
                return Ok(Some(self.batch(projected, rows)?));
            };
            let n_bad = bad.true_count() as u64;
            if let Some((row, c)) = first_bad {
                let value = text[c]
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .map(|a| a.value(row).to_string())
                    .unwrap_or_default();
                let field = schema.field(c);
                let line = self.line(lines[row])?;
                self.log.record(
                    n_bad,
                    SkippedRow {
                        file_index: self.file_index,
                        file: self.file.display_name.clone(),
                        line,
                        column: c as u64 + 1,
                        reason: format!(
                            "could not convert \"{value}\" to {} in column \"{}\"",
                            sql_type_name(field.data_type()),
                            field.name()
                        ),
                    },
                );
            }
            let keep = not(&bad)?;
            let kept = keep.true_count();
            let columns = projected
                .iter()
                .map(|a| Ok(filter(a, &keep)?))
                .collect::<Result<Vec<_>>>()?;
            if kept > 0 {
                return Ok(Some(self.batch(columns, kept)?));
            }
        }
        Ok(None)
    }

    fn batch(&self, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.out_schema),
            columns,
            &options,
        )?)
    }
}

impl Iterator for LenientStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let out = self.next_batch().transpose();
        if matches!(out, Some(Err(_))) {
            self.done = true;
        }
        out
    }
}
