//! Spark SQL's names for rask's (Arrow) types, for casts and typed NULLs in rendered queries.

use arrow::datatypes::{DataType, TimeUnit};

use crate::error::{Error, Result};
use crate::logical::types::sql_type_name;

/// The Spark SQL type that holds every value of `t` (unsigned integers widen to the next
/// signed type; UBIGINT to DECIMAL(20,0)). Types Spark has no counterpart for are refused.
pub fn spark_type(t: &DataType) -> Result<String> {
    Ok(match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 | DataType::UInt8 => "SMALLINT".into(),
        DataType::Int32 | DataType::UInt16 => "INT".into(),
        DataType::Int64 | DataType::UInt32 => "BIGINT".into(),
        DataType::UInt64 => "DECIMAL(20,0)".into(),
        DataType::Float16 | DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *s >= 0 && *p <= 38 => {
            format!("DECIMAL({p},{s})")
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Dictionary(_, value) => return spark_type(value),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BINARY".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP_NTZ".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP".into(),
        DataType::List(f) | DataType::LargeList(f) => format!("ARRAY<{}>", spark_type(f.data_type())?),
        DataType::Struct(fields) => {
            let members = fields
                .iter()
                .map(|f| {
                    Ok(format!(
                        "{}: {}",
                        quote_identifier(f.name()),
                        spark_type(f.data_type())?
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            format!("STRUCT<{}>", members.join(", "))
        }
        DataType::Time32(TimeUnit::Second | TimeUnit::Millisecond) | DataType::Time64(_) => {
            return Err(refused_type(t, "Spark 4.0 has no TIME type"))
        }
        other => return Err(refused_type(other, "Spark has no such type")),
    })
}

fn refused_type(t: &DataType, why: &str) -> Error {
    Error::not_supported(format!(
        "remote mode cannot send a {} value to Spark ({why})",
        sql_type_name(t)
    ))
}

/// `name` as a Spark identifier: in backquotes, with backquotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `text` as a Spark string literal. Spark reads backslash escapes inside string literals,
/// so backslashes are doubled and quotes escaped.
pub fn quote_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_to_spark_names() {
        assert_eq!(spark_type(&DataType::Int32).unwrap(), "INT");
        assert_eq!(spark_type(&DataType::UInt64).unwrap(), "DECIMAL(20,0)");
        assert_eq!(spark_type(&DataType::Decimal128(15, 2)).unwrap(), "DECIMAL(15,2)");
        assert_eq!(
            spark_type(&DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap(),
            "TIMESTAMP_NTZ"
        );
        assert!(spark_type(&DataType::Time64(TimeUnit::Microsecond)).is_err());
    }

    #[test]
    fn strings_and_identifiers_are_escaped() {
        assert_eq!(quote_string(r"it's a \d"), r"'it\'s a \\d'");
        assert_eq!(quote_identifier("a`b"), "`a``b`");
    }
}
