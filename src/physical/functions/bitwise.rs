//! Bitwise operators on integers of one type: `&`, `|`, `xor`, `~`, and the shifts with
//! DuckDB's checks (`<<` past the type's width, by a negative amount, of a negative number
//! or overflowing is an error; `>>` past the width gives 0).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, PrimitiveArray};
use arrow::compute::kernels::arity::{binary, try_binary, unary};
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow::error::ArrowError;

use super::arg;
use crate::error::{Error, Result};
use crate::logical::functions::ScalarFunc as F;

/// Evaluates a bitwise function over integer arguments of one type.
pub(super) fn evaluate(func: F, args: &[ArrayRef]) -> Result<ArrayRef> {
    let a = arg(args, 0)?;
    macro_rules! typed {
        ($t:ty, $native:ty) => {{
            let a = a.as_primitive::<$t>();
            if func == F::BitNot {
                return Ok(Arc::new(unary::<_, _, $t>(a, |x| !x)));
            }
            let bits = <$native>::BITS as i128;
            let max = <$native>::MAX as i128;
            let out: PrimitiveArray<$t> = match func {
                F::ShiftLeft | F::ShiftRight => {
                    let n = arg(args, 1)?.as_primitive::<Int64Type>();
                    if func == F::ShiftLeft {
                        try_binary(a, n, |x, n| {
                            shift_left(x as i128, n as i128, bits, max).map(|v| v as $native)
                        })
                        .map_err(out_of_range)?
                    } else {
                        binary(a, n, |x, n| shift_right(x as i128, n as i128, bits) as $native)?
                    }
                }
                _ => {
                    let b = arg(args, 1)?.as_primitive::<$t>();
                    match func {
                        F::BitAnd => binary(a, b, |x, y| x & y)?,
                        F::BitOr => binary(a, b, |x, y| x | y)?,
                        _ => binary(a, b, |x, y| x ^ y)?,
                    }
                }
            };
            Ok(Arc::new(out))
        }};
    }
    match a.data_type() {
        DataType::Int8 => typed!(Int8Type, i8),
        DataType::Int16 => typed!(Int16Type, i16),
        DataType::Int32 => typed!(Int32Type, i32),
        DataType::Int64 => typed!(Int64Type, i64),
        DataType::UInt8 => typed!(UInt8Type, u8),
        DataType::UInt16 => typed!(UInt16Type, u16),
        DataType::UInt32 => typed!(UInt32Type, u32),
        DataType::UInt64 => typed!(UInt64Type, u64),
        other => Err(Error::internal(format!("bitwise operator on {other}"))),
    }
}

fn out_of_range(e: ArrowError) -> Error {
    match e {
        ArrowError::ComputeError(m) => Error::execution(format!("Out of Range Error: {m}")),
        other => other.into(),
    }
}

/// `x << n` for a type of `bits` bits whose largest value is `max` (values widened to i128).
fn shift_left(x: i128, n: i128, bits: i128, max: i128) -> std::result::Result<i128, ArrowError> {
    let error = |m: String| Err(ArrowError::ComputeError(m));
    if n < 0 {
        return error(format!("Cannot left-shift by negative number {n}"));
    }
    if x < 0 {
        return error(format!("Cannot left-shift negative number {x}"));
    }
    if n >= bits {
        if x == 0 {
            return Ok(0);
        }
        return error(format!("Left-shift value {n} is out of range"));
    }
    if x > max >> n {
        return error(format!("Overflow in left shift ({x} << {n})"));
    }
    Ok(x << n)
}

/// `x >> n` (0 for shifts past the width or by a negative amount).
fn shift_right(x: i128, n: i128, bits: i128) -> i128 {
    if n < 0 || n >= bits {
        0
    } else {
        x >> n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_like_duckdb() {
        let i8_left = |x, n| shift_left(x, n, 8, 127);
        let i32_left = |x, n| shift_left(x, n, 32, i128::from(i32::MAX));
        assert_eq!(i8_left(1, 6).unwrap(), 64);
        assert!(i8_left(1, 7).is_err());
        assert!(i32_left(1, 31).is_err());
        assert!(i32_left(1, 32).is_err());
        assert!(i32_left(1, -1).is_err());
        assert!(i32_left(-1, 1).is_err());
        assert_eq!(i32_left(0, 40).unwrap(), 0);
        assert_eq!(shift_left(1, 7, 8, 255).unwrap(), 128);
        assert_eq!(shift_right(-8, 1, 32), -4);
        assert_eq!(shift_right(1, 40, 32), 0);
        assert_eq!(shift_right(1, -1, 32), 0);
    }
}
