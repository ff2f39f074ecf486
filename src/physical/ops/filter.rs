//! `FilterExec`: keeps the rows where a predicate is true (NULL counts as false).

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, Int32Array, UInt32Array};
use arrow::compute::{and, cast, filter_record_batch, take};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::logical::expr::BinaryOp;
use crate::physical::expr::{PhysExprRef, PhysicalExpr};
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Filters its input.
#[derive(Debug)]
pub struct FilterExec {
    input: PlanRef,
    predicate: PhysExprRef,
}

impl FilterExec {
    /// Keeps rows of `input` where `predicate` holds.
    pub fn new(input: PlanRef, predicate: PhysExprRef) -> Self {
        Self { input, predicate }
    }
}

/// Applies `predicate` to `batch`. Its conjuncts are evaluated one at a time, cheapest
/// first (see [`PhysicalExpr::evaluation_cost`]), and once fewer than half the rows are
/// left the batch is cut down to them, so the costly conjuncts (string comparisons,
/// patterns) only see the rows the cheap ones kept. A conjunct never fails on a row an
/// earlier one rejected (as in DuckDB, `WHERE s <> 'x' AND CAST(s AS INT) > 0` is fine).
pub fn filter_batch(batch: &RecordBatch, predicate: &PhysExprRef) -> Result<RecordBatch> {
    let mut conjuncts = conjuncts(predicate);
    let schema = batch.schema();
    conjuncts.sort_by_cached_key(|c| c.evaluation_cost(&schema));
    let mut current = batch.clone();
    // A mask over `current` not applied yet (it keeps more than half the rows).
    let mut pending: Option<BooleanArray> = None;
    for conjunct in conjuncts {
        let result = match evaluate_conjunct(&conjunct, &current) {
            Ok(result) => result,
            // Rows an earlier conjunct rejected must not fail the query: retry on the rest.
            Err(e) => match pending.take() {
                Some(mask) => {
                    current = filter_record_batch(&current, &mask)?;
                    evaluate_conjunct(&conjunct, &current)?
                }
                None => return Err(e),
            },
        };
        let mask = result
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| Error::internal("filter predicate is not boolean"))?;
        let mask = if mask.null_count() == 0 {
            mask.clone()
        } else {
            crate::physical::expr::null_as_false(mask)
        };
        let mask = match pending.take() {
            Some(p) => and(&p, &mask)?,
            None => mask,
        };
        let kept = mask.true_count();
        if kept == current.num_rows() {
            continue;
        }
        if kept * 2 <= current.num_rows() {
            current = filter_record_batch(&current, &mask)?;
            if kept == 0 {
                return Ok(current);
            }
        } else {
            pending = Some(mask);
        }
    }
    match pending {
        Some(mask) => Ok(filter_record_batch(&current, &mask)?),
        None => Ok(current),
    }
}

/// Which rows of `batch` `predicate` keeps, with [`filter_batch`]'s evaluation order and its
/// guarantee that no conjunct fails on a row an earlier one rejected.
pub fn filter_mask(batch: &RecordBatch, predicate: &PhysExprRef) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    let row_numbers = u32::try_from(rows).map_err(|_| Error::internal("batch too large to filter"))?;
    // The rows kept come out with their numbers, in a column the predicate does not read.
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("row", DataType::UInt32, false));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(UInt32Array::from_iter_values(0..row_numbers)));
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let numbered = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)?;
    let kept = filter_batch(&numbered, predicate)?;
    let kept = kept
        .columns()
        .last()
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| Error::internal("filter lost its row numbers"))?;
    let mut mask = BooleanBufferBuilder::new(rows);
    mask.append_n(rows, false);
    for &row in kept.values() {
        mask.set_bit(row as usize, true);
    }
    Ok(BooleanArray::new(mask.finish(), None))
}

/// Evaluates one conjunct on `batch`. One that reads a single dictionary-encoded string
/// column (a Parquet scan reads filtered string columns that way) is evaluated once per
/// distinct value, and once on NULL for the rows with a NULL key (`s IS NULL` holds there),
/// and mapped to the rows through the keys; should that fail (a value no remaining row has
/// may not convert), on the decoded column instead.
fn evaluate_conjunct(conjunct: &PhysExprRef, batch: &RecordBatch) -> Result<ArrayRef> {
    let columns = conjunct.column_indices();
    let only = match (columns.len(), columns.first()) {
        (1, Some(&c)) => c,
        // Scalar kernels take plain strings: decode the dictionaries this conjunct reads.
        _ if columns.iter().any(|&c| is_dictionary(batch.column(c))) => {
            return conjunct.evaluate(&decode_dictionaries(batch)?)
        }
        _ => return conjunct.evaluate(batch),
    };
    let Some(dictionary) = batch.column(only).as_dictionary_opt::<Int32Type>() else {
        return conjunct.evaluate(batch);
    };
    // Testing each distinct value once only pays when there are fewer values than rows.
    if !conjunct.is_volatile() && dictionary.values().len() < dictionary.len() {
        if let Some(on_values) = conjunct.with_columns_mapped(&|i| (i == only).then_some(0)) {
            let keys = dictionary.keys();
            let mut values = Arc::clone(dictionary.values());
            let mut null_keys_filled = None;
            if keys.null_count() > 0 {
                // One more value, NULL, at index `n`, which the NULL keys point to.
                let n = i32::try_from(values.len()).map_err(|_| Error::internal("dictionary too large"))?;
                let null = arrow::array::new_null_array(values.data_type(), 1);
                values = arrow::compute::concat(&[values.as_ref(), null.as_ref()])?;
                null_keys_filled = Some(Int32Array::from_iter_values(keys.iter().map(|k| k.unwrap_or(n))));
            }
            let field = Field::new("value", values.data_type().clone(), true);
            let values_batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![values])?;
            if let Ok(per_value) = on_values.evaluate(&values_batch) {
                let keys = null_keys_filled.as_ref().unwrap_or(keys);
                return Ok(take(per_value.as_ref(), keys, None)?);
            }
        }
    }
    let decoded = decode_dictionaries(batch)?;
    conjunct.evaluate(&decoded)
}

fn is_dictionary(column: &ArrayRef) -> bool {
    matches!(column.data_type(), DataType::Dictionary(_, _))
}

/// `batch` with its dictionary-encoded columns cast to their value type.
pub fn decode_dictionaries(batch: &RecordBatch) -> Result<RecordBatch> {
    decode_dictionaries_except(batch, &[])
}

/// `batch` with its dictionary-encoded columns, except those at positions `keep`, cast to
/// their value type.
pub fn decode_dictionaries_except(batch: &RecordBatch, keep: &[usize]) -> Result<RecordBatch> {
    let decoded = |(i, c): (usize, &ArrayRef)| is_dictionary(c) && !keep.contains(&i);
    if !batch.columns().iter().enumerate().any(decoded) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (i, (field, column)) in batch.schema().fields().iter().zip(batch.columns()).enumerate() {
        match column.data_type() {
            DataType::Dictionary(_, value) if !keep.contains(&i) => {
                fields.push(field.as_ref().clone().with_data_type(value.as_ref().clone()));
                columns.push(cast(column, value)?);
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(Arc::clone(column));
            }
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &options,
    )?)
}

/// The top-level AND operands of `e`, in order.
pub fn conjuncts(e: &PhysExprRef) -> Vec<PhysExprRef> {
    let mut out = Vec::new();
    split_and(e, &mut out);
    out
}

fn split_and(e: &PhysExprRef, out: &mut Vec<PhysExprRef>) {
    match e.as_ref() {
        PhysicalExpr::Binary {
            left,
            op: BinaryOp::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        _ => out.push(Arc::clone(e)),
    }
}

impl ExecutionPlan for FilterExec {
    fn name(&self) -> &'static str {
        "Filter"
    }
    fn details(&self) -> String {
        self.predicate.to_string()
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(FilterExec::new(
            children.remove(0),
            Arc::clone(&self.predicate),
        )))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        let predicate = Arc::clone(&self.predicate);
        Ok(Box::new(
            input
                .map(move |b| b.and_then(|b| filter_batch(&b, &predicate)))
                .filter(|b| !matches!(b, Ok(b) if b.num_rows() == 0)),
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{DictionaryArray, Int32Array, Int64Array, StringArray};
    use datafusion_common::ScalarValue;

    use super::*;

    fn binary(left: PhysExprRef, op: BinaryOp, right: PhysExprRef) -> PhysExprRef {
        Arc::new(PhysicalExpr::Binary { left, op, right })
    }

    /// Rows: (s, n) with s dictionary-encoded over ["1", "x", "2", "junk"]; "junk" is in the
    /// dictionary but no row has it.
    fn batch() -> RecordBatch {
        let keys = Int32Array::from(vec![Some(0), Some(1), None, Some(2), Some(0), Some(1)]);
        let values = Arc::new(StringArray::from(vec!["1", "x", "2", "junk"]));
        let s = DictionaryArray::<Int32Type>::try_new(keys, values).unwrap();
        let n = Int64Array::from(vec![1, 2, 3, 4, 5, 6]);
        let schema = Schema::new(vec![
            Field::new("s", s.data_type().clone(), true),
            Field::new("n", DataType::Int64, false),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(s), Arc::new(n)]).unwrap()
    }

    fn n_values(batch: &RecordBatch) -> Vec<i64> {
        batch
            .column(1)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn a_dictionary_column_is_filtered_by_its_distinct_values() {
        // s = 'x' AND n > 1: rows 2 and 6.
        let predicate = binary(
            binary(
                PhysicalExpr::column(0, "s"),
                BinaryOp::Eq,
                PhysicalExpr::literal(ScalarValue::Utf8(Some("x".into()))),
            ),
            BinaryOp::And,
            binary(
                PhysicalExpr::column(1, "n"),
                BinaryOp::Gt,
                PhysicalExpr::literal(ScalarValue::Int64(Some(1))),
            ),
        );
        let out = filter_batch(&batch(), &predicate).unwrap();
        assert_eq!(n_values(&out), vec![2, 6]);
        let decoded = decode_dictionaries(&out).unwrap();
        assert_eq!(decoded.column(0).as_string::<i32>().value(0), "x");
    }

    #[test]
    fn a_value_that_fails_only_on_rows_already_filtered_out_is_no_error() {
        // n <> 2 AND n <> 6 AND CAST(s AS BIGINT) > 0: the rows left hold "1", NULL and "2"
        // ("x" is in the dictionary and in rows 2 and 6, which the cheaper conjuncts drop;
        // "junk" is in no row), so the cast succeeds row by row: rows 1, 4 and 5.
        let not_n = |v: i64| {
            binary(
                PhysicalExpr::column(1, "n"),
                BinaryOp::NotEq,
                PhysicalExpr::literal(ScalarValue::Int64(Some(v))),
            )
        };
        let cast_s = Arc::new(PhysicalExpr::Cast {
            expr: PhysicalExpr::column(0, "s"),
            to: DataType::Int64,
            try_cast: false,
        });
        let positive = binary(cast_s, BinaryOp::Gt, PhysicalExpr::literal(ScalarValue::Int64(Some(0))));
        let predicate = binary(binary(not_n(2), BinaryOp::And, not_n(6)), BinaryOp::And, positive);
        let out = filter_batch(&batch(), &predicate).unwrap();
        assert_eq!(n_values(&out), vec![1, 4, 5]);
    }
}
