//! Hive-style partitioned layouts (`data/year=2024/region=eu/part-0.parquet`): the
//! `key=value` directories of each file become columns appended to the source's schema (by name),
//! typed as DuckDB types them (DATE, TIMESTAMP, BIGINT when every value is one, else
//! VARCHAR; `__HIVE_DEFAULT_PARTITION__` is NULL; values are percent-decoded).

use std::path::Path;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::io::csv_sniff::{is_date_text, is_timestamp_text, TIMESTAMP};
use crate::io::source::FileMeta;

/// The value Hive writes for a NULL partition key.
const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The partition columns of a source and each file's values for them (with
/// `filename = true`, a first column holding the file's name).
#[derive(Debug, Clone)]
pub struct HivePartitions {
    /// The partition columns, ordered by name (as DuckDB does).
    pub fields: Vec<Field>,
    /// Per file (in source order): one value per partition column.
    pub values: Vec<Vec<ScalarValue>>,
}

/// The `key=value` directory components of `path`, in order (values percent-decoded,
/// `None` for the default partition).
pub fn path_keys(path: &Path) -> Vec<(String, Option<String>)> {
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    dir.components()
        .filter_map(|c| {
            let text = c.as_os_str().to_str()?;
            let (key, value) = text.split_once('=')?;
            if key.is_empty() {
                return None;
            }
            let value = percent_decode(value);
            Some((key.to_string(), (value != DEFAULT_PARTITION).then_some(value)))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The type DuckDB gives one partition value.
fn value_type(v: &str) -> DataType {
    if is_date_text(v) {
        DataType::Date32
    } else if is_timestamp_text(v) {
        TIMESTAMP
    } else if v.parse::<i64>().is_ok_and(|i| i.to_string() == v) {
        DataType::Int64
    } else {
        DataType::Utf8
    }
}

fn typed(v: Option<&str>, key: &str, dt: &DataType) -> Result<ScalarValue> {
    let text = ScalarValue::Utf8(v.map(str::to_string));
    if *dt == DataType::Utf8 {
        return Ok(text);
    }
    text.cast_to(dt).map_err(|_| {
        Error::InvalidInput(format!(
            "Unable to cast '{}' (from hive partition column '{key}') to {}",
            v.unwrap_or_default(),
            crate::logical::types::sql_type_name(dt)
        ))
    })
}

/// How partition columns are typed: `hive_types = {'key': 'TYPE'}` fixes some, and
/// `hive_types_autocast = false` makes the others VARCHAR instead of detecting them.
#[derive(Debug, Clone, PartialEq)]
pub struct HiveTypes {
    /// Types given by key.
    pub given: Vec<(String, DataType)>,
    /// Whether the other keys' types are detected from their values.
    pub autocast: bool,
}

impl Default for HiveTypes {
    fn default() -> Self {
        Self {
            given: Vec::new(),
            autocast: true,
        }
    }
}

/// The partition columns of `files`, or `None` when the first file's path has no
/// `key=value` directories. With `required` (`hive_partitioning = true`) every file must
/// have the same keys; when only detected, files that differ turn detection off.
pub fn detect(files: &[FileMeta], required: bool, types: &HiveTypes) -> Result<Option<HivePartitions>> {
    let Some(first) = files.first() else {
        return Ok(None);
    };
    let first_keys: Vec<String> = path_keys(&first.path).into_iter().map(|(k, _)| k).collect();
    if first_keys.is_empty() {
        return if required {
            Err(Error::InvalidInput(format!(
                "hive_partitioning: {} has no key=value directories",
                first.display_name
            )))
        } else {
            Ok(None)
        };
    }
    let mut raw: Vec<Vec<Option<String>>> = Vec::with_capacity(files.len());
    for file in files {
        let keys = path_keys(&file.path);
        let same = keys.len() == first_keys.len() && keys.iter().zip(&first_keys).all(|((k, _), f)| k == f);
        if !same {
            if !required {
                return Ok(None);
            }
            return Err(Error::InvalidInput(format!(
                "hive_partitioning: {} has partition keys ({}) but {} has ({})",
                file.display_name,
                keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "),
                first.display_name,
                first_keys.join(", ")
            )));
        }
        raw.push(keys.into_iter().map(|(_, v)| v).collect());
    }
    // DuckDB orders the partition columns by name.
    let mut order: Vec<usize> = (0..first_keys.len()).collect();
    order.sort_by(|&a, &b| first_keys[a].cmp(&first_keys[b]));
    let raw: Vec<Vec<Option<String>>> = raw
        .into_iter()
        .map(|row| order.iter().map(|&i| row[i].clone()).collect())
        .collect();
    let first_keys: Vec<String> = order.iter().map(|&i| first_keys[i].clone()).collect();
    if let Some((unknown, _)) = types
        .given
        .iter()
        .find(|(k, _)| !first_keys.iter().any(|f| f.eq_ignore_ascii_case(k)))
    {
        return Err(Error::InvalidInput(format!(
            "Unknown hive_type: \"{unknown}\" does not appear to be a partition (the keys: {})",
            first_keys.join(", ")
        )));
    }
    let mut fields = Vec::with_capacity(first_keys.len());
    for (c, key) in first_keys.iter().enumerate() {
        if let Some((_, dt)) = types.given.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            fields.push(Field::new(key, dt.clone(), true));
            continue;
        }
        if !types.autocast {
            fields.push(Field::new(key, DataType::Utf8, true));
            continue;
        }
        let mut common: Option<DataType> = None;
        for row in &raw {
            if let Some(v) = &row[c] {
                let t = value_type(v);
                common = match common {
                    None => Some(t),
                    Some(p) if p == t => Some(p),
                    Some(_) => Some(DataType::Utf8),
                };
            }
        }
        fields.push(Field::new(key, common.unwrap_or(DataType::Utf8), true));
    }
    let values = raw
        .iter()
        .map(|row| {
            row.iter()
                .zip(&fields)
                .map(|(v, f)| typed(v.as_deref(), f.name(), f.data_type()))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(HivePartitions { fields, values }))
}

impl HivePartitions {
    /// Adds a first column `name` holding each file's name as the user's glob matched it
    /// (DuckDB's `filename = true`; it goes before the partition columns).
    pub fn with_file_names(hive: Option<Self>, name: &str, files: &[FileMeta]) -> Self {
        let mut out = hive.unwrap_or_else(|| HivePartitions {
            fields: Vec::new(),
            values: vec![Vec::new(); files.len()],
        });
        out.fields.insert(0, Field::new(name, DataType::Utf8, true));
        for (row, file) in out.values.iter_mut().zip(files) {
            row.insert(0, ScalarValue::Utf8(Some(file.display_name.clone())));
        }
        out
    }

    /// Drops the partition columns whose names the files' own columns already have (the
    /// file's column wins).
    pub fn without_names(mut self, data: &Schema) -> Option<Self> {
        let keep: Vec<bool> = self
            .fields
            .iter()
            .map(|f| data.fields().iter().all(|d| !d.name().eq_ignore_ascii_case(f.name())))
            .collect();
        let mut k = keep.iter();
        self.fields.retain(|_| k.next().copied().unwrap_or(false));
        for row in &mut self.values {
            let mut k = keep.iter();
            row.retain(|_| k.next().copied().unwrap_or(false));
        }
        (!self.fields.is_empty()).then_some(self)
    }

    /// File `file`'s value of partition column `column`, repeated `rows` times.
    pub fn column(&self, file: usize, column: usize, rows: usize) -> Result<ArrayRef> {
        let value = self
            .values
            .get(file)
            .and_then(|r| r.get(column))
            .ok_or_else(|| Error::internal(format!("no partition value {column} for file {file}")))?;
        Ok(value.to_array_of_size(rows)?)
    }

    /// One row per file holding the partition values, laid out as `schema` (columns that
    /// are not partition columns are all NULL): `source_column[i]` is the index of output
    /// column `i` among the partition columns, if it is one. Used to evaluate filters on
    /// partition columns once per file.
    pub fn file_table(&self, schema: &SchemaRef, partition_column: &[Option<usize>]) -> Result<RecordBatch> {
        let rows = self.values.len();
        let columns = schema
            .fields()
            .iter()
            .zip(partition_column)
            .map(|(f, p)| match p {
                Some(c) => {
                    let values = self.values.iter().map(|r| r[*c].clone());
                    let array = ScalarValue::iter_to_array(values)?;
                    Ok(if array.data_type() == f.data_type() {
                        array
                    } else {
                        arrow::compute::cast(&array, f.data_type())?
                    })
                }
                None => Ok(arrow::array::new_null_array(f.data_type(), rows)),
            })
            .collect::<Result<Vec<_>>>()?;
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &options)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(p: &str) -> FileMeta {
        FileMeta {
            path: p.into(),
            display_name: p.into(),
            size: 0,
        }
    }

    #[test]
    fn keys_types_and_values() {
        let files = [
            meta("d/year=2024/day=2024-01-02/r=a%2Fb/n=7/x.parquet"),
            meta("d/year=2025/day=2024-01-03/r=__HIVE_DEFAULT_PARTITION__/n=007/x.parquet"),
        ];
        let h = detect(&files, true, &HiveTypes::default()).unwrap().unwrap();
        let types: Vec<_> = h.fields.iter().map(|f| f.data_type().clone()).collect();
        let names: Vec<_> = h.fields.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["day", "n", "r", "year"]);
        assert_eq!(
            types,
            [DataType::Date32, DataType::Utf8, DataType::Utf8, DataType::Int64]
        );
        assert_eq!(h.values[0][2], ScalarValue::Utf8(Some("a/b".into())));
        assert_eq!(h.values[1][2], ScalarValue::Utf8(None));
        assert_eq!(h.values[1][1], ScalarValue::Utf8(Some("007".into())));
        let auto = HiveTypes::default();
        assert!(detect(&[meta("d/x.csv")], false, &auto).unwrap().is_none());
        assert!(detect(&[meta("d/x.csv")], true, &auto).is_err());
        let mixed = [meta("a=1/x.csv"), meta("b=1/x.csv")];
        assert!(detect(&mixed, false, &auto).unwrap().is_none());
        assert!(detect(&mixed, true, &auto)
            .unwrap_err()
            .to_string()
            .contains("b=1/x.csv"));
        let given = HiveTypes {
            given: vec![("N".into(), DataType::Int32)],
            autocast: false,
        };
        let h = detect(&files[..1], true, &given).unwrap().unwrap();
        assert_eq!(h.fields[1].data_type(), &DataType::Int32);
        assert_eq!(h.fields[3].data_type(), &DataType::Utf8);
        let bad = HiveTypes {
            given: vec![("r".into(), DataType::Int32)],
            autocast: true,
        };
        assert!(detect(&files[..1], true, &bad)
            .unwrap_err()
            .to_string()
            .contains("'a/b'"));
    }
}
