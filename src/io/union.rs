//! Matching the columns of several files: `union_by_name = true` takes the union of their
//! columns (by name, in order of first appearance; a column a file lacks reads as NULL;
//! types unified as DuckDB does), and otherwise every file must have the first file's
//! columns (by name, any order; a different type is cast to the first file's). Each file
//! gets a [`FileColumns`] mapping when its columns differ from the source's.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::io::source::FileMeta;
use crate::logical::types::common_numeric;

/// How one file's columns map onto the source's (data) columns.
#[derive(Debug, Clone)]
pub struct FileColumns {
    /// The file's own columns.
    pub schema: SchemaRef,
    /// Per source column: the index of the file's column holding it (`None`: NULL).
    pub index: Vec<Option<usize>>,
}

fn find(schema: &Schema, name: &str) -> Option<usize> {
    schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(name))
}

/// The type both `a` and `b` values read as: the wider integer, DOUBLE (or a DECIMAL wide
/// enough) for mixed numbers,
/// TIMESTAMP for a date and a timestamp, else VARCHAR.
pub fn unify(a: &DataType, b: &DataType) -> DataType {
    if a == b || *b == DataType::Null {
        return a.clone();
    }
    if *a == DataType::Null {
        return b.clone();
    }
    if let Some(t) = common_numeric(a, b).filter(|_| a.is_numeric() && b.is_numeric()) {
        return t;
    }
    match (a, b) {
        (DataType::Date32, DataType::Timestamp(..)) => b.clone(),
        (DataType::Timestamp(..), DataType::Date32) => a.clone(),
        _ => DataType::Utf8,
    }
}

/// The union of the files' columns and each file's mapping onto it.
pub fn union_by_name(schemas: &[SchemaRef]) -> (SchemaRef, Vec<FileColumns>) {
    let mut fields: Vec<Field> = Vec::new();
    for schema in schemas {
        for f in schema.fields() {
            match fields.iter_mut().find(|g| g.name().eq_ignore_ascii_case(f.name())) {
                Some(g) => *g = Field::new(g.name(), unify(g.data_type(), f.data_type()), true),
                None => fields.push(Field::new(f.name(), f.data_type().clone(), true)),
            }
        }
    }
    let union = Schema::new(fields);
    let columns = schemas
        .iter()
        .map(|s| FileColumns {
            schema: Arc::clone(s),
            index: union.fields().iter().map(|f| find(s, f.name())).collect(),
        })
        .collect();
    (Arc::new(union), columns)
}

/// Checks that every file has the first file's columns (by name). Returns the mappings
/// when some file has them in another order or with other types, `None` when all match.
/// A missing or extra column is an error naming both files and the column.
pub fn same_columns(files: &[FileMeta], schemas: &[SchemaRef]) -> Result<Option<Vec<FileColumns>>> {
    let (Some(first_file), Some(first)) = (files.first(), schemas.first()) else {
        return Ok(None);
    };
    let mut differs = false;
    let mut out = Vec::with_capacity(schemas.len());
    for (file, schema) in files.iter().zip(schemas) {
        let mut index = Vec::with_capacity(first.fields().len());
        for (i, f) in first.fields().iter().enumerate() {
            let Some(j) = find(schema, f.name()) else {
                return Err(mismatch(first_file, file, f.name(), "could not be found in", schema));
            };
            differs |= i != j || schema.field(j).data_type() != f.data_type();
            index.push(Some(j));
        }
        if let Some(extra) = schema.fields().iter().find(|g| find(first, g.name()).is_none()) {
            return Err(mismatch(first_file, file, extra.name(), "is not in", first));
        }
        out.push(FileColumns {
            schema: Arc::clone(schema),
            index,
        });
    }
    Ok(differs.then_some(out))
}

fn mismatch(first: &FileMeta, file: &FileMeta, column: &str, verb: &str, other: &Schema) -> Error {
    let names: Vec<&str> = other.fields().iter().map(|f| f.name().as_str()).collect();
    let message = if verb == "is not in" {
        format!(
            "schema mismatch between files: column \"{column}\" of \"{}\" is not in the first file \"{}\" \
             (its columns: {}); set union_by_name = true to read files with different columns",
            file.display_name,
            first.display_name,
            names.join(", ")
        )
    } else {
        format!(
            "schema mismatch between files: column \"{column}\" of the first file \"{}\" {verb} \"{}\" \
             (its columns: {}); set union_by_name = true to read files with different columns",
            first.display_name,
            file.display_name,
            names.join(", ")
        )
    };
    Error::InvalidInput(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(cols: &[(&str, DataType)]) -> SchemaRef {
        Arc::new(Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn unions_and_unifies() {
        let a = schema(&[("a", DataType::Int32), ("b", DataType::Utf8)]);
        let b = schema(&[("b", DataType::Utf8), ("c", DataType::Float64), ("A", DataType::Int64)]);
        let (u, cols) = union_by_name(&[a, b]);
        let names: Vec<_> = u.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(u.field(0).data_type(), &DataType::Int64);
        assert_eq!(cols[0].index, [Some(0), Some(1), None]);
        assert_eq!(cols[1].index, [Some(2), Some(0), Some(1)]);
        assert_eq!(unify(&DataType::Int64, &DataType::Float64), DataType::Float64);
        assert_eq!(unify(&DataType::Int64, &DataType::Utf8), DataType::Utf8);
    }

    #[test]
    fn mismatch_names_both_files() {
        let f = |p: &str| FileMeta {
            path: p.into(),
            display_name: p.into(),
            size: 0,
        };
        let a = schema(&[("a", DataType::Int64), ("b", DataType::Utf8)]);
        let b = schema(&[("a", DataType::Int64), ("c", DataType::Utf8)]);
        let err = same_columns(&[f("x.csv"), f("y.csv")], &[a.clone(), b])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"b\"") && err.contains("x.csv") && err.contains("y.csv"),
            "{err}"
        );
        let swapped = schema(&[("b", DataType::Utf8), ("a", DataType::Int64)]);
        let cols = same_columns(&[f("x"), f("y")], &[a.clone(), swapped]).unwrap().unwrap();
        assert_eq!(cols[1].index, [Some(1), Some(0)]);
        assert!(same_columns(&[f("x"), f("y")], &[a.clone(), a]).unwrap().is_none());
    }
}
