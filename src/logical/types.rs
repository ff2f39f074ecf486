//! SQL types: DuckDB's names for Arrow types, parsing SQL type names, and the implicit
//! conversions (which common type two operands meet at).

use arrow::array::new_empty_array;
use arrow::datatypes::{DataType, IntervalUnit, TimeUnit, DECIMAL128_MAX_PRECISION};

use crate::error::{Error, Result};
use crate::logical::expr::BinaryOp;

/// DuckDB's name for an Arrow type (`BIGINT`, `DECIMAL(15,2)`, `VARCHAR`, ...).
pub fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float16 | DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BLOB".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        // TIMETZ travels as Time64(Nanosecond), see `physical::datetime_text::encode_time_tz`.
        DataType::Time64(TimeUnit::Nanosecond) => "TIME WITH TIME ZONE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
        DataType::List(f) | DataType::LargeList(f) => format!("{}[]", sql_type_name(f.data_type())),
        DataType::Dictionary(_, v) => sql_type_name(v),
        other => other.to_string(),
    }
}

/// Parses a SQL type name as written (`INTEGER`, `int8`, `DECIMAL(15, 2)`, `VARCHAR(20)`,
/// `TIMESTAMP`, ...) into an Arrow type.
pub fn parse_sql_type(text: &str) -> Result<DataType> {
    let upper = text.trim().to_ascii_uppercase();
    if let Some(item) = upper.strip_suffix("[]") {
        let item = parse_sql_type(item)?;
        return Ok(DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
            "item", item, true,
        ))));
    }
    let (base, params) = match upper.find('(') {
        Some(i) => (
            upper[..i].trim(),
            Some(upper[i + 1..].trim_end_matches(')').to_string()),
        ),
        None => (upper.as_str(), None),
    };
    let nums: Vec<u32> = params
        .as_deref()
        .map(|p| p.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    let t = base_type(text, base, &nums)?;
    if params.is_some() && (t.is_integer() || t.is_floating() || t == DataType::Boolean) {
        return Err(Error::Parse {
            message: format!("syntax error: type {base} takes no type modifiers"),
            location: None,
        });
    }
    Ok(t)
}

fn base_type(text: &str, base: &str, nums: &[u32]) -> Result<DataType> {
    Ok(match base {
        "BOOLEAN" | "BOOL" | "LOGICAL" => DataType::Boolean,
        "TINYINT" | "INT1" => DataType::Int8,
        "SMALLINT" | "INT2" | "SHORT" => DataType::Int16,
        "INTEGER" | "INT" | "INT4" | "SIGNED" | "INT32" | "MEDIUMINT" => DataType::Int32,
        "BIGINT" | "INT8" | "LONG" | "INT64" => DataType::Int64,
        // Arrow has no 128-bit integers: HUGEINT and UHUGEINT are DECIMAL(38,0).
        "HUGEINT" | "INT128" | "UHUGEINT" | "UINT128" => DataType::Decimal128(38, 0),
        "UTINYINT" | "UINT8" | "TINYINT UNSIGNED" => DataType::UInt8,
        "USMALLINT" | "UINT16" | "SMALLINT UNSIGNED" => DataType::UInt16,
        "UINTEGER" | "UINT32" | "UNSIGNED" | "INT UNSIGNED" | "INTEGER UNSIGNED" | "MEDIUMINT UNSIGNED" => {
            DataType::UInt32
        }
        "UBIGINT" | "UINT64" | "BIGINT UNSIGNED" => DataType::UInt64,
        "FLOAT" | "FLOAT4" | "REAL" => DataType::Float32,
        "DOUBLE" | "FLOAT8" | "DOUBLE PRECISION" | "FLOAT64" => DataType::Float64,
        "DECIMAL" | "NUMERIC" | "DEC" => match nums {
            [] => DataType::Decimal128(18, 3),
            [p] => DataType::Decimal128(decimal_precision(*p)?, 0),
            [_, _, _, ..] => {
                return Err(Error::plan(
                    "DECIMAL type can take at most two type modifiers, width and scale",
                ))
            }
            [p, s] => {
                let p = decimal_precision(*p)?;
                if *s > u32::from(p) {
                    return Err(Error::plan(format!("DECIMAL scale {s} cannot exceed precision {p}")));
                }
                DataType::Decimal128(p, *s as i8)
            }
        },
        "VARCHAR" | "TEXT" | "STRING" | "CHAR" | "BPCHAR" | "NVARCHAR" | "CHARACTER VARYING" | "CHARACTER" => {
            DataType::Utf8
        }
        "BLOB" | "BYTEA" | "BINARY" | "VARBINARY" => DataType::Binary,
        "DATE" => DataType::Date32,
        "TIMESTAMP" | "DATETIME" | "TIMESTAMP WITHOUT TIME ZONE" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "TIMESTAMP_S" => DataType::Timestamp(TimeUnit::Second, None),
        "TIMESTAMP_MS" => DataType::Timestamp(TimeUnit::Millisecond, None),
        "TIMESTAMP_NS" => DataType::Timestamp(TimeUnit::Nanosecond, None),
        "TIME" | "TIME WITHOUT TIME ZONE" => DataType::Time64(TimeUnit::Microsecond),
        "TIMETZ" | "TIME WITH TIME ZONE" => TIMETZ,
        "INTERVAL" => DataType::Interval(IntervalUnit::MonthDayNano),
        _ => return Err(Error::plan(format!("Type with name {text} does not exist!"))),
    })
}

fn decimal_precision(p: u32) -> Result<u8> {
    if (1..=u32::from(DECIMAL128_MAX_PRECISION)).contains(&p) {
        Ok(p as u8)
    } else {
        Err(Error::plan(format!(
            "DECIMAL precision must be between 1 and 38, not {p}"
        )))
    }
}

/// Whether a value of type `from` can be cast to `to` (Arrow's casts plus DuckDB's extras).
pub fn can_cast(from: &DataType, to: &DataType) -> bool {
    matches!(
        (from, to),
        (DataType::Decimal128(_, _), DataType::Boolean) | (DataType::Boolean, DataType::Decimal128(_, _))
    ) || arrow::compute::can_cast_types(from, to)
}

/// True for integer types (signed or not).
pub fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

/// True for string types.
pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// True for date and timestamp types.
pub fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _))
}

/// The decimal type that holds every value of integer type `t` exactly.
fn integer_as_decimal(t: &DataType) -> Option<DataType> {
    Some(match t {
        DataType::Int8 | DataType::UInt8 => DataType::Decimal128(3, 0),
        DataType::Int16 | DataType::UInt16 => DataType::Decimal128(5, 0),
        DataType::Int32 | DataType::UInt32 => DataType::Decimal128(10, 0),
        DataType::Int64 => DataType::Decimal128(19, 0),
        DataType::UInt64 => DataType::Decimal128(20, 0),
        _ => return None,
    })
}

fn integer_rank(t: &DataType) -> Option<u8> {
    Some(match t {
        DataType::Int8 => 1,
        DataType::UInt8 => 2,
        DataType::Int16 => 3,
        DataType::UInt16 => 4,
        DataType::Int32 => 5,
        DataType::UInt32 => 6,
        DataType::Int64 => 7,
        DataType::UInt64 => 8,
        _ => return None,
    })
}

fn common_integer(a: &DataType, b: &DataType) -> Option<DataType> {
    let (ra, rb) = (integer_rank(a)?, integer_rank(b)?);
    let signed = a.is_signed_integer() || b.is_signed_integer();
    let widest = if ra >= rb { a } else { b };
    Some(match (widest, signed) {
        (DataType::UInt8, true) => DataType::Int16,
        (DataType::UInt16, true) => DataType::Int32,
        (DataType::UInt32, true) => DataType::Int64,
        (DataType::UInt64, true) => DataType::Decimal128(20, 0),
        (t, _) => t.clone(),
    })
}

/// The type two numeric operands meet at: the wider integer, a decimal wide enough for both,
/// or DOUBLE when a float is involved.
pub fn common_numeric(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b {
        return Some(a.clone());
    }
    if let Some(t) = common_integer(a, b) {
        return Some(t);
    }
    let is_float = |t: &DataType| matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64);
    if (is_float(a) && b.is_numeric()) || (is_float(b) && a.is_numeric()) {
        if matches!(a, DataType::Float32) && matches!(b, DataType::Float32) {
            return Some(DataType::Float32);
        }
        return Some(DataType::Float64);
    }
    let as_decimal = |t: &DataType| match t {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        other => integer_as_decimal(other).and_then(|d| match d {
            DataType::Decimal128(p, s) => Some((p, s)),
            _ => None,
        }),
    };
    let ((p1, s1), (p2, s2)) = (as_decimal(a)?, as_decimal(b)?);
    let scale = s1.max(s2);
    let int_digits = (p1 as i16 - s1 as i16).max(p2 as i16 - s2 as i16);
    let precision = (int_digits + scale as i16).clamp(1, DECIMAL128_MAX_PRECISION as i16) as u8;
    Some(DataType::Decimal128(precision, scale))
}

/// The type both sides of a comparison are cast to. Strings meet dates, timestamps,
/// numbers and booleans as those types (the string is parsed), dates meet timestamps as
/// timestamps, numbers meet at [`common_numeric`].
pub fn comparison_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Null, t) | (t, Null) => Some(t.clone()),
        (Dictionary(_, v), t) | (t, Dictionary(_, v)) => comparison_type(v, t),
        (x, y) if is_string(x) && is_string(y) => Some(Utf8),
        (s, t) | (t, s)
            if is_string(s) && (t.is_numeric() || is_temporal(t) || *t == Boolean || matches!(t, Interval(_))) =>
        {
            Some(t.clone())
        }
        (List(x), List(y)) => {
            let item = comparison_type(x.data_type(), y.data_type())?;
            Some(List(std::sync::Arc::new(arrow::datatypes::Field::new(
                "item", item, true,
            ))))
        }
        // DuckDB compares booleans with numbers as numbers (`true = 1`, `true = 2` is false).
        (Boolean, t) | (t, Boolean) if t.is_numeric() => Some(t.clone()),
        (Date32, Timestamp(u, tz)) | (Timestamp(u, tz), Date32) => Some(Timestamp(*u, tz.clone())),
        (Timestamp(u1, tz), Timestamp(u2, _)) => Some(Timestamp((*u1).max(*u2), tz.clone())),
        (x, y) if x.is_numeric() && y.is_numeric() => common_numeric(x, y),
        _ => None,
    }
}

/// The type values of types `a` and `b` meet at when one column holds both (CASE results,
/// COALESCE/GREATEST/LEAST, UNION, VALUES): [`comparison_type`], except that two decimals
/// whose common type would need more than 38 digits keep their integer digits and lose
/// scale, as DuckDB does (DECIMAL(9,2) with DECIMAL(38,0) gives DECIMAL(38,0)).
pub fn supertype(a: &DataType, b: &DataType) -> Option<DataType> {
    let t = comparison_type(a, b)?;
    let as_decimal = |t: &DataType| match t {
        DataType::Decimal128(p, s) => Some((*p as i16, *s as i16)),
        other => integer_as_decimal(other).and_then(|d| match d {
            DataType::Decimal128(p, s) => Some((p as i16, s as i16)),
            _ => None,
        }),
    };
    if let (DataType::Decimal128(_, _), Some((p1, s1)), Some((p2, s2))) = (&t, as_decimal(a), as_decimal(b)) {
        let int_digits = (p1 - s1).max(p2 - s2);
        let max = DECIMAL128_MAX_PRECISION as i16;
        if int_digits + s1.max(s2) > max {
            let scale = (max - int_digits).max(0);
            return Some(DataType::Decimal128(DECIMAL128_MAX_PRECISION, scale as i8));
        }
    }
    Some(t)
}

/// The result type of `left op right` for arithmetic after the operands have been cast to
/// the types returned alongside, following DuckDB: integers stay integers (overflow is an
/// error), `/` gives DOUBLE (unless `integer_division`), decimals keep exact scale for + - *,
/// date ± interval gives a timestamp, date − date gives days.
pub fn arithmetic_types(
    op: BinaryOp,
    left: &DataType,
    right: &DataType,
    integer_division: bool,
) -> Result<(DataType, DataType, DataType)> {
    use DataType::*;
    let err = || {
        Error::plan(format!(
            "No operator matches {} {} {}: add explicit casts",
            sql_type_name(left),
            op.symbol(),
            sql_type_name(right)
        ))
    };
    if let Some(types) = temporal_arithmetic_types(op, left, right) {
        return Ok(types);
    }
    let (l, r) = match (left, right) {
        // An untyped NULL takes the other side's type; numbers then follow the rules below
        // (so `NULL / 2` is DOUBLE, as `2 / 2` is).
        (Null, Null) => return arithmetic_types(op, &Int32, &Int32, integer_division),
        (Null, t) | (t, Null) if t.is_numeric() => return arithmetic_types(op, t, t, integer_division),
        (Null, t) => (t.clone(), t.clone()),
        (t, Null) => (t.clone(), t.clone()),
        (Date32, Interval(_)) | (Interval(_), Date32) if matches!(op, BinaryOp::Plus | BinaryOp::Minus) => {
            let ts = Timestamp(TimeUnit::Microsecond, None);
            let iv = Interval(IntervalUnit::MonthDayNano);
            if matches!(left, Date32) {
                (ts, iv)
            } else {
                (iv, ts)
            }
        }
        (Timestamp(_, _), Interval(_)) | (Interval(_), Timestamp(_, _)) => (left.clone(), right.clone()),
        (Date32, Date32) if op == BinaryOp::Minus => return Ok((Int32, Int32, Int64)),
        (Date32, t) | (t, Date32) if t.is_integer() && matches!(op, BinaryOp::Plus | BinaryOp::Minus) => {
            // date ± integer days.
            return Ok((left.clone(), right.clone(), Date32));
        }
        (Interval(_), Interval(_)) => (
            Interval(IntervalUnit::MonthDayNano),
            Interval(IntervalUnit::MonthDayNano),
        ),
        (s, t) | (t, s) if is_string(s) && t.is_numeric() => (t.clone(), t.clone()),
        (x, y) if x.is_numeric() && y.is_numeric() => {
            let common = common_numeric(x, y).ok_or_else(err)?;
            match op {
                BinaryOp::Divide if !integer_division || !common.is_integer() => {
                    return Ok((Float64, Float64, Float64))
                }
                BinaryOp::IntegerDivide if !common.is_integer() => {
                    // DuckDB: `//` on non-integers floors the division.
                    return Ok((Float64, Float64, Float64));
                }
                BinaryOp::Multiply | BinaryOp::Plus | BinaryOp::Minus | BinaryOp::Modulo
                    if matches!(common, Decimal128(_, _)) =>
                {
                    // Keep each side's own scale: arrow aligns scales exactly.
                    let as_dec = |t: &DataType| match t {
                        Decimal128(_, _) => t.clone(),
                        other => integer_as_decimal(other).unwrap_or(Float64),
                    };
                    (as_dec(x), as_dec(y))
                }
                _ => (common.clone(), common),
            }
        }
        _ => return Err(err()),
    };
    let result = arrow_result_type(op, &l, &r).ok_or_else(err)?;
    Ok((l, r, result))
}

const IV: DataType = DataType::Interval(IntervalUnit::MonthDayNano);
/// TIME WITH TIME ZONE (a packed time and offset, see `physical::datetime_text`).
pub const TIMETZ: DataType = DataType::Time64(TimeUnit::Nanosecond);
const TIME: DataType = DataType::Time64(TimeUnit::Microsecond);
const TS: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// For date/time arithmetic done by rask's own kernels (`INTERVAL * n`, `TIME ± INTERVAL`,
/// `TIMESTAMP ± INTERVAL` over DuckDB's whole range, `TIMESTAMP − TIMESTAMP`, `DATE + TIME`; kernels in `physical::temporal_arith`): the types to cast the operands to and the result type.
pub fn temporal_arithmetic_types(
    op: BinaryOp,
    left: &DataType,
    right: &DataType,
) -> Option<(DataType, DataType, DataType)> {
    use BinaryOp::*;
    use DataType::*;
    let factor = |t: &DataType| {
        if t.is_integer() {
            Some(Int64)
        } else if t.is_numeric() {
            Some(Float64)
        } else {
            None
        }
    };
    Some(match (op, left, right) {
        (Multiply | Divide, Interval(_), t) => (IV, factor(t)?, IV),
        (Multiply, t, Interval(_)) => (factor(t)?, IV, IV),
        (Plus | Minus, Time64(TimeUnit::Nanosecond), Interval(_)) => (TIMETZ, IV, TIMETZ),
        (Plus, Interval(_), Time64(TimeUnit::Nanosecond)) => (IV, TIMETZ, TIMETZ),
        (Plus | Minus, Time32(_) | Time64(_), Interval(_)) => (TIME, IV, TIME),
        (Plus, Interval(_), Time32(_) | Time64(_)) => (IV, TIME, TIME),
        (Minus, Timestamp(_, tz), Timestamp(_, _))
        | (Minus, Timestamp(_, tz), Date32)
        | (Minus, Date32, Timestamp(_, tz)) => {
            let ts = Timestamp(TimeUnit::Microsecond, tz.clone());
            (ts.clone(), ts, IV)
        }
        (Plus | Minus, Timestamp(_, tz), Interval(_)) => {
            let ts = Timestamp(TimeUnit::Microsecond, tz.clone());
            (ts.clone(), IV, ts)
        }
        (Plus, Interval(_), Timestamp(_, tz)) => {
            let ts = Timestamp(TimeUnit::Microsecond, tz.clone());
            (IV, ts.clone(), ts)
        }
        (Plus | Minus, Date32, Interval(_)) => (TS, IV, TS),
        (Plus, Interval(_), Date32) => (IV, TS, TS),
        (Plus, Date32, Time32(_) | Time64(_)) => (Date32, TIME, TS),
        (Plus, Time32(_) | Time64(_), Date32) => (TIME, Date32, TS),
        _ => return None,
    })
}

/// Asks Arrow's kernels which type `l op r` produces (so declared and actual types agree).
fn arrow_result_type(op: BinaryOp, l: &DataType, r: &DataType) -> Option<DataType> {
    use arrow::compute::kernels::numeric;
    let (a, b) = (new_empty_array(l), new_empty_array(r));
    let out = match op {
        BinaryOp::Plus => numeric::add(&a, &b),
        BinaryOp::Minus => numeric::sub(&a, &b),
        BinaryOp::Multiply => numeric::mul(&a, &b),
        BinaryOp::Divide | BinaryOp::IntegerDivide => numeric::div(&a, &b),
        BinaryOp::Modulo => numeric::rem(&a, &b),
        _ => return None,
    };
    let t = out.ok()?.data_type().clone();
    Some(match (op, l, r) {
        (BinaryOp::Multiply, DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) => {
            decimal_product_type(*p1, *s1, *p2, *s2)
        }
        _ => t,
    })
}

/// DuckDB's type for `DECIMAL(p1,s1) * DECIMAL(p2,s2)`: scale `s1 + s2` and precision `p1 + p2`
/// (at most 38), except that when both operands fit in 64 bits (precision 18 or less) the
/// product stays DECIMAL(18) if its scale allows; a product that then needs more digits is an
/// overflow error (see `physical::decimal::fit_product`). So `DECIMAL(9,2) * INTEGER` is
/// DECIMAL(18,2) and `DECIMAL(9,2) * BIGINT` (BIGINT being DECIMAL(19,0)) is DECIMAL(28,2).
pub fn decimal_product_type(p1: u8, s1: i8, p2: u8, s2: i8) -> DataType {
    const INT64_DIGITS: u8 = 18;
    let scale = s1.saturating_add(s2);
    let digits = p1.saturating_add(p2).min(DECIMAL128_MAX_PRECISION);
    let fits_int64 = p1.max(p2) <= INT64_DIGITS && scale < INT64_DIGITS as i8;
    let precision = if digits > INT64_DIGITS && fits_int64 {
        INT64_DIGITS
    } else {
        digits
    };
    DataType::Decimal128(precision, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_promotion() {
        assert_eq!(
            common_numeric(&DataType::Int32, &DataType::Int64),
            Some(DataType::Int64)
        );
        assert_eq!(
            common_numeric(&DataType::Int32, &DataType::Float64),
            Some(DataType::Float64)
        );
        assert_eq!(
            common_numeric(&DataType::Decimal128(15, 2), &DataType::Decimal128(3, 2)),
            Some(DataType::Decimal128(15, 2))
        );
        assert_eq!(
            common_numeric(&DataType::Decimal128(15, 2), &DataType::Int32),
            Some(DataType::Decimal128(15, 2))
        );
    }

    #[test]
    fn decimal_supertype_keeps_integer_digits() {
        assert_eq!(
            supertype(&DataType::Decimal128(9, 2), &DataType::Decimal128(38, 0)),
            Some(DataType::Decimal128(38, 0))
        );
        assert_eq!(
            supertype(&DataType::Decimal128(37, 1), &DataType::Decimal128(10, 3)),
            Some(DataType::Decimal128(38, 2))
        );
        assert_eq!(
            supertype(&DataType::Decimal128(30, 2), &DataType::Decimal128(20, 10)),
            Some(DataType::Decimal128(38, 10))
        );
        // Comparisons stay exact.
        assert_eq!(
            comparison_type(&DataType::Decimal128(9, 2), &DataType::Decimal128(38, 0)),
            Some(DataType::Decimal128(38, 2))
        );
    }

    #[test]
    fn integer_division_gives_double() {
        let (_, _, t) = arithmetic_types(BinaryOp::Divide, &DataType::Int32, &DataType::Int32, false).unwrap();
        assert_eq!(t, DataType::Float64);
        let (_, _, t) = arithmetic_types(BinaryOp::Divide, &DataType::Int32, &DataType::Int32, true).unwrap();
        assert_eq!(t, DataType::Int32);
    }

    #[test]
    fn parses_type_names() {
        assert_eq!(parse_sql_type("decimal(15, 2)").unwrap(), DataType::Decimal128(15, 2));
        assert_eq!(parse_sql_type("VARCHAR(10)").unwrap(), DataType::Utf8);
        assert!(parse_sql_type("wibble").is_err());
    }
}
