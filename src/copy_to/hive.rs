//! Hive-style partition directories as DuckDB names them: `col=value`, the value as DuckDB
//! casts it to VARCHAR, percent-encoded except for `A-Z a-z 0-9 - . _ ~`; NULL is
//! `__HIVE_DEFAULT_PARTITION__`.

use std::fmt::Write;
use std::path::PathBuf;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::DataType;

use crate::error::{Error, Result};

/// The directory name of a NULL partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The relative directory (`a=1/b=x`) of row `row` of the partition `columns` named `names`.
pub fn partition_dir(names: &[String], columns: &[ArrayRef], row: usize) -> Result<PathBuf> {
    let mut dir = PathBuf::new();
    for (name, column) in names.iter().zip(columns) {
        let value = if column.is_null(row) {
            NULL_PARTITION.to_string()
        } else {
            let text = crate::physical::cast::cast_array(&column.slice(row, 1), &DataType::Utf8, false)?;
            let text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| Error::internal("partition value did not cast to VARCHAR"))?;
            escape(text.value(0))
        };
        dir.push(format!("{}={value}", escape(name)));
    }
    Ok(dir)
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_duckdb() {
        assert_eq!(escape("x/0 =y"), "x%2F0%20%3Dy");
        assert_eq!(escape("é ü"), "%C3%A9%20%C3%BC");
        assert_eq!(escape("-0.25~_"), "-0.25~_");
    }
}
