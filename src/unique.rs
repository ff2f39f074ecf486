//! The UNIQUE-index constraint: no two rows whose indexed columns are all non-NULL may agree
//! on them. Keys are compared in Arrow's row format (one byte string per row's key), built
//! batch by batch.

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef};
use arrow::compute::is_not_null;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use arrow::util::display::array_value_to_string;

use crate::error::{Error, Result};

/// The key columns of `batch` and which rows have no NULL among them.
fn keys(batch: &RecordBatch, columns: &[usize]) -> Result<(Vec<ArrayRef>, Vec<bool>)> {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|&c| std::sync::Arc::clone(batch.column(c)))
        .collect();
    let mut complete = vec![true; batch.num_rows()];
    for a in &arrays {
        if a.null_count() > 0 {
            let valid = is_not_null(a.as_ref())?;
            for (row, keep) in complete.iter_mut().enumerate() {
                *keep &= valid.value(row);
            }
        }
    }
    Ok((arrays, complete))
}

fn converter(batches: &[RecordBatch], columns: &[usize]) -> Result<Option<RowConverter>> {
    let Some(first) = batches.first() else { return Ok(None) };
    let fields = columns
        .iter()
        .map(|&c| SortField::new(first.schema().field(c).data_type().clone()))
        .collect();
    Ok(Some(RowConverter::new(fields)?))
}

/// Fails when `rows` hold two rows with the same complete key (CREATE UNIQUE INDEX).
pub fn check_unique(rows: &[RecordBatch], columns: &[usize]) -> Result<()> {
    let Some(conv) = converter(rows, columns)? else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    for b in rows {
        let (arrays, complete) = keys(b, columns)?;
        let encoded = conv.convert_columns(&arrays)?;
        for (row, ok) in complete.iter().enumerate() {
            if *ok && !seen.insert(encoded.row(row).as_ref().to_vec()) {
                return Err(Error::Constraint(
                    "Data contains duplicates on indexed column(s)".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Fails when a row of `new` repeats the complete key of a row of `existing` or of an
/// earlier row of `new` (INSERT into a table with a UNIQUE index). `names` are the key
/// columns' names, for DuckDB's message.
pub fn check_insert(existing: &[RecordBatch], new: &[RecordBatch], columns: &[usize], names: &[String]) -> Result<()> {
    let all: Vec<RecordBatch> = existing.iter().chain(new).cloned().collect();
    let Some(conv) = converter(&all, columns)? else {
        return Ok(());
    };
    let mut old = HashSet::new();
    for b in existing {
        let (arrays, complete) = keys(b, columns)?;
        let encoded = conv.convert_columns(&arrays)?;
        for (row, ok) in complete.iter().enumerate() {
            if *ok {
                old.insert(encoded.row(row).as_ref().to_vec());
            }
        }
    }
    let mut added = HashSet::new();
    for b in new {
        let (arrays, complete) = keys(b, columns)?;
        let encoded = conv.convert_columns(&arrays)?;
        for (row, ok) in complete.iter().enumerate() {
            if !*ok {
                continue;
            }
            let key = encoded.row(row).as_ref().to_vec();
            let values = || {
                arrays
                    .iter()
                    .map(|a| array_value_to_string(a.as_ref(), row))
                    .collect::<std::result::Result<Vec<_>, _>>()
            };
            if old.contains(&key) {
                let values = values()?;
                let pairs: Vec<String> = names.iter().zip(&values).map(|(n, v)| format!("{n}: {v}")).collect();
                return Err(Error::Constraint(format!(
                    "Duplicate key \"{}\" violates unique constraint.",
                    pairs.join(", ")
                )));
            }
            if !added.insert(key) {
                let values = values()?;
                return Err(Error::Constraint(format!(
                    "PRIMARY KEY or UNIQUE constraint violation: duplicate key \"{}\"",
                    values.join(", ")
                )));
            }
        }
    }
    Ok(())
}
