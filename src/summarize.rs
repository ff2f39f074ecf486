//! `SUMMARIZE table` / `SUMMARIZE SELECT …`: one row per column of the source with DuckDB's
//! columns — column_name, column_type, min, max, approx_unique, avg, std, q25, q50, q75,
//! count, null_percentage. The statistics of every column come from one aggregate query
//! over the source (one pass over the data), whose single row is then turned into one row
//! per column. `approx_unique` and the quartiles are computed exactly (DuckDB estimates
//! them), so on large inputs they can differ from DuckDB's estimates.
//!
//! sqlparser has no SUMMARIZE statement: [`rewrite`] turns it into
//! `CALL __rask_summarize('<source>')` before parsing, and the session runs that call.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::logical::types::sql_type_name;
use crate::physical::expr::cast_array;

/// The procedure name SUMMARIZE is rewritten into.
pub const PROCEDURE: &str = "__rask_summarize";

/// Statistics computed per column, in the order of the aggregate query's columns.
const PER_COLUMN: usize = 9;

/// `sql` with a leading `SUMMARIZE <source>` turned into a call of [`PROCEDURE`], or `None`
/// when the text is not a SUMMARIZE statement.
pub fn rewrite(sql: &str) -> Option<String> {
    let trimmed = sql.trim_start();
    let keyword = trimmed.get(..9)?;
    if !keyword.eq_ignore_ascii_case("summarize") || !trimmed[9..].starts_with(char::is_whitespace) {
        return None;
    }
    let source = trimmed[9..].trim().trim_end_matches(';').trim();
    if source.is_empty() {
        return None;
    }
    Some(format!("CALL {PROCEDURE}('{}')", source.replace('\'', "''")))
}

/// The FROM item for `source`: a table name, file or a parenthesised query.
pub fn source_relation(source: &str) -> String {
    let word = source.split_whitespace().next().unwrap_or_default();
    if ["select", "from", "with", "values", "table"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
    {
        format!("({source})")
    } else {
        source.to_string()
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The single-row aggregate over `relation` that holds every statistic of every column.
pub fn statistics_query(relation: &str, schema: &Schema) -> String {
    let mut items = Vec::new();
    for f in schema.fields() {
        let c = quote(f.name());
        let numeric = is_numeric(f.data_type());
        let ty = sql_type_name(f.data_type());
        items.push(format!("CAST(min({c}) AS VARCHAR)"));
        items.push(format!("CAST(max({c}) AS VARCHAR)"));
        items.push(format!("count(DISTINCT {c})"));
        if numeric {
            items.push(format!("CAST(avg({c}) AS VARCHAR)"));
            items.push(format!("CAST(stddev_samp({c}) AS VARCHAR)"));
            for q in ["0.25", "0.5", "0.75"] {
                items.push(format!("CAST(CAST(quantile_cont({c}, {q}) AS {ty}) AS VARCHAR)"));
            }
        } else {
            items.extend(std::iter::repeat_n("CAST(NULL AS VARCHAR)".to_string(), 5));
        }
        items.push(format!("count({c})"));
    }
    items.push("count(*)".to_string());
    format!("SELECT {} FROM {relation} AS __summarized", items.join(", "))
}

/// The output schema of SUMMARIZE.
pub fn output_schema() -> SchemaRef {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        text("column_name"),
        text("column_type"),
        text("min"),
        text("max"),
        Field::new("approx_unique", DataType::Int64, true),
        text("avg"),
        text("std"),
        text("q25"),
        text("q50"),
        text("q75"),
        Field::new("count", DataType::Int64, true),
        Field::new("null_percentage", DataType::Decimal128(9, 2), true),
    ]))
}

/// One row per column of `schema` from the statistics row in `stats` (see
/// [`statistics_query`]).
pub fn reshape(schema: &Schema, stats: &RecordBatch) -> Result<RecordBatch> {
    if stats.num_rows() != 1 || stats.num_columns() != schema.fields().len() * PER_COLUMN + 1 {
        return Err(Error::internal("SUMMARIZE: unexpected statistics row"));
    }
    let string_at = |i: usize| -> Result<Option<String>> {
        let a = cast_array(stats.column(i), &DataType::Utf8, false)?;
        let s = a
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::internal("SUMMARIZE: not text"))?;
        Ok((!s.is_null(0)).then(|| s.value(0).to_string()))
    };
    let int_at = |i: usize| -> Result<i64> {
        let a = cast_array(stats.column(i), &DataType::Int64, false)?;
        let s = a
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::internal("SUMMARIZE: not a count"))?;
        Ok(if s.is_null(0) { 0 } else { s.value(0) })
    };
    let total = int_at(stats.num_columns() - 1)?;
    let n = schema.fields().len();
    let mut text: Vec<Vec<Option<String>>> = (0..9).map(|_| Vec::with_capacity(n)).collect();
    let mut unique = Vec::with_capacity(n);
    let mut counts = Vec::with_capacity(n);
    let mut null_pct = Vec::with_capacity(n);
    for (k, f) in schema.fields().iter().enumerate() {
        let base = k * PER_COLUMN;
        text[0].push(Some(f.name().clone()));
        text[1].push(Some(sql_type_name(f.data_type())));
        text[2].push(string_at(base)?);
        text[3].push(string_at(base + 1)?);
        unique.push(int_at(base + 2)?);
        for (slot, offset) in (4..9).zip(3..8) {
            text[slot].push(string_at(base + offset)?);
        }
        let non_null = int_at(base + 8)?;
        counts.push(total);
        // Percent with two decimals, rounded half away from zero, as DECIMAL(9,2).
        null_pct.push((total > 0).then(|| {
            let nulls = (total - non_null) as i128;
            (nulls * 20_000 + total as i128) / (2 * total as i128)
        }));
    }
    let strings = |v: &Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(v.clone())) };
    let columns: Vec<ArrayRef> = vec![
        strings(&text[0]),
        strings(&text[1]),
        strings(&text[2]),
        strings(&text[3]),
        Arc::new(Int64Array::from(unique)),
        strings(&text[4]),
        strings(&text[5]),
        strings(&text[6]),
        strings(&text[7]),
        strings(&text[8]),
        Arc::new(Int64Array::from(counts)),
        Arc::new(arrow::array::Decimal128Array::from(null_pct).with_precision_and_scale(9, 2)?),
    ];
    Ok(RecordBatch::try_new(output_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_turns_summarize_into_a_call() {
        assert_eq!(
            rewrite("SUMMARIZE SELECT 'a' AS x;").as_deref(),
            Some("CALL __rask_summarize('SELECT ''a'' AS x')")
        );
        assert_eq!(rewrite("summarize t").as_deref(), Some("CALL __rask_summarize('t')"));
        assert_eq!(rewrite("SELECT 1"), None);
        assert_eq!(rewrite("summarized"), None);
    }

    #[test]
    fn queries_are_parenthesised_and_tables_are_not() {
        assert_eq!(source_relation("SELECT 1"), "(SELECT 1)");
        assert_eq!(source_relation("lineitem"), "lineitem");
        assert_eq!(source_relation("'data/*.csv'"), "'data/*.csv'");
    }
}
