//! DataFusion's `arrow_cast(expr, 'Type')`: a cast to an Arrow type named as Arrow prints it
//! (`Int32`, `Utf8View`, `Decimal128(10, 2)`, `Timestamp(Nanosecond, None)`,
//! `Dictionary(Int32, Utf8)`). Types rask keeps in another form map to it: string and binary
//! variants and dictionaries become their plain type, `Float16` becomes FLOAT.

use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::logical::expr::Expr;

/// `arrow_cast(expr, type_name)` as a cast.
pub fn bind(mut args: Vec<Expr>) -> Result<Expr> {
    let (Some(name), Some(expr), None) = (args.pop(), args.pop(), args.pop()) else {
        return Err(Error::plan("arrow_cast takes two arguments: a value and a type name"));
    };
    let Expr::Literal(ScalarValue::Utf8(Some(name))) = name else {
        return Err(Error::plan(
            "arrow_cast needs a constant type name as its second argument",
        ));
    };
    let data_type =
        DataType::from_str(&name).map_err(|e| Error::plan(format!("arrow_cast: unsupported type '{name}': {e}")))?;
    Ok(Expr::Cast {
        expr: Box::new(expr),
        data_type: as_rask_type(&data_type),
        try_cast: false,
    })
}

/// The type rask uses for values of Arrow type `t`.
fn as_rask_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary | DataType::FixedSizeBinary(_) => DataType::Binary,
        DataType::Dictionary(_, v) => as_rask_type(v),
        DataType::Float16 => DataType::Float32,
        DataType::Date64 => DataType::Date32,
        DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::List(f) => {
            DataType::List(Arc::new(Field::new("item", as_rask_type(f.data_type()), true)))
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_arrow_names() {
        let cast = |name: &str| match bind(vec![
            Expr::Literal(ScalarValue::Int32(Some(1))),
            Expr::Literal(ScalarValue::Utf8(Some(name.into()))),
        ]) {
            Ok(Expr::Cast { data_type, .. }) => data_type,
            other => panic!("{other:?}"),
        };
        assert_eq!(cast("Int8"), DataType::Int8);
        assert_eq!(cast("Utf8View"), DataType::Utf8);
        assert_eq!(cast("Dictionary(Int32, Utf8)"), DataType::Utf8);
        assert_eq!(cast("Decimal128(10, 2)"), DataType::Decimal128(10, 2));
        assert!(bind(vec![
            Expr::Literal(ScalarValue::Int32(Some(1))),
            Expr::Literal(ScalarValue::Utf8(Some("Wibble".into()))),
        ])
        .is_err());
    }
}
