//! Gathering rows of `RecordBatch`es by index (`take`, `interleave`), for batches with columns
//! and for batches without any: a join, EXISTS or `count(*)` input that only carries a row
//! count. Arrow's `take_record_batch` and `interleave_record_batch` refuse the latter (a batch
//! with no columns needs an explicit row count), so every operator gathers rows through here.

use arrow::array::UInt32Array;
use arrow::compute::{interleave_record_batch, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::Result;

/// The rows of `batch` at `indices`, in that order.
pub fn take_rows(batch: &RecordBatch, indices: &UInt32Array) -> Result<RecordBatch> {
    if batch.num_columns() == 0 {
        return without_columns(batch.schema(), indices.len());
    }
    Ok(take_record_batch(batch, indices)?)
}

/// The rows `(batch, row)` of `batches` at `indices`, in that order.
pub fn interleave_rows(batches: &[&RecordBatch], indices: &[(usize, usize)]) -> Result<RecordBatch> {
    match batches.first() {
        Some(first) if first.num_columns() == 0 => without_columns(first.schema(), indices.len()),
        _ => Ok(interleave_record_batch(batches, indices)?),
    }
}

fn without_columns(schema: SchemaRef, rows: usize) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(schema, vec![], &options)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn no_columns(rows: usize) -> RecordBatch {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options).unwrap()
    }

    #[test]
    fn batches_without_columns_keep_their_row_count() {
        let batch = no_columns(3);
        assert_eq!(
            take_rows(&batch, &UInt32Array::from(vec![2, 0, 0, 1]))
                .unwrap()
                .num_rows(),
            4
        );
        let other = no_columns(2);
        let out = interleave_rows(&[&batch, &other], &[(0, 1), (1, 1), (1, 0)]).unwrap();
        assert_eq!(out.num_rows(), 3);
    }

    #[test]
    fn batches_with_columns_gather_values() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let a = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
        let b = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![3]))]).unwrap();
        let taken = take_rows(&a, &UInt32Array::from(vec![1, 0])).unwrap();
        assert_eq!(taken.column(0).as_ref(), &Int64Array::from(vec![2, 1]) as &dyn Array);
        let mixed = interleave_rows(&[&a, &b], &[(1, 0), (0, 0)]).unwrap();
        assert_eq!(mixed.column(0).as_ref(), &Int64Array::from(vec![3, 1]) as &dyn Array);
    }
}
