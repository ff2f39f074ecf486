//! Fast `DECIMAL` addition, subtraction and multiplication.
//!
//! Arrow's checked decimal kernels stop at the first overflow and pay for a `Result` on every
//! value. These kernels compute every value with `overflowing_*` arithmetic on `i128`, fold
//! the overflow flags into one bit, and only when that bit is set fall back to Arrow (which
//! then reports the error, or finds that the overflow was in a NULL slot). The result types
//! are exactly Arrow's (Hive rules), so plans and results do not change.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Decimal128Array};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, DECIMAL128_MAX_PRECISION, DECIMAL128_MAX_SCALE};

use crate::error::{Error, Result};
use crate::logical::expr::BinaryOp;
use crate::logical::types::decimal_product_type;

/// One side of a decimal operation: a column or one constant for every row.
enum Side<'a> {
    Array(&'a Decimal128Array),
    Scalar(i128),
}

/// `l op r` for `+`, `-` and `*` on `Decimal128` operands (`*_scalar` tells which is a
/// length-1 constant). `None` when this fast path does not apply (other types, two
/// constants, a NULL constant, an overflow) and Arrow's kernel should run instead.
pub fn arith(op: BinaryOp, l: &ArrayRef, l_scalar: bool, r: &ArrayRef, r_scalar: bool) -> Option<ArrayRef> {
    let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) = (l.data_type(), r.data_type()) else {
        return None;
    };
    if l_scalar && r_scalar {
        return None;
    }
    let (p1, s1, p2, s2) = (*p1, *s1, *p2, *s2);
    let left = side(l, l_scalar)?;
    let right = side(r, r_scalar)?;
    let (precision, scale, values, overflow) = match op {
        BinaryOp::Plus | BinaryOp::Minus => {
            let scale = s1.max(s2);
            let digits = i16::from(scale) + i16::from((p1 as i8 - s1).max(p2 as i8 - s2)) + 1;
            let precision = digits.clamp(1, i16::from(DECIMAL128_MAX_PRECISION)) as u8;
            let l_mul = 10i128.checked_pow(u32::try_from(scale - s1).ok()?)?;
            let r_mul = 10i128.checked_pow(u32::try_from(scale - s2).ok()?)?;
            let sign: i128 = if op == BinaryOp::Minus { -1 } else { 1 };
            let (values, overflow) = if digits <= 18 {
                // Operands, scaled operands and result all fit in i64.
                let (lm, rm) = (l_mul as i64, (sign * r_mul) as i64);
                let values = map2(&left, &right, |a, b| {
                    i128::from((a as i64).wrapping_mul(lm).wrapping_add((b as i64).wrapping_mul(rm)))
                });
                (values, false)
            } else if digits <= 38 {
                // The result has at most 38 digits: i128 cannot overflow.
                let rm = sign * r_mul;
                (
                    map2(&left, &right, |a, b| {
                        a.wrapping_mul(l_mul).wrapping_add(b.wrapping_mul(rm))
                    }),
                    false,
                )
            } else {
                zip_with(&left, &right, |a, b| {
                    let (a, o1) = mul(a, l_mul);
                    let (b, o2) = mul(b, sign * r_mul);
                    let (v, o3) = a.overflowing_add(b);
                    (v, o1 | o2 | o3)
                })
            };
            (precision, scale, values, overflow)
        }
        BinaryOp::Multiply => {
            let scale = s1.checked_add(s2)?;
            if scale > DECIMAL128_MAX_SCALE {
                return None;
            }
            let precision = p1.saturating_add(p2.saturating_add(1)).min(DECIMAL128_MAX_PRECISION);
            let (values, overflow) = if p1 + p2 <= 18 {
                let values = map2(&left, &right, |a, b| i128::from((a as i64).wrapping_mul(b as i64)));
                (values, false)
            } else if p1 <= 18 && p2 <= 18 {
                (
                    map2(&left, &right, |a, b| i128::from(a as i64) * i128::from(b as i64)),
                    false,
                )
            } else if p1 + p2 <= 38 {
                (map2(&left, &right, i128::wrapping_mul), false)
            } else {
                zip_with(&left, &right, mul)
            };
            (precision, scale, values, overflow)
        }
        _ => return None,
    };
    if overflow {
        return None;
    }
    let nulls = match (&left, &right) {
        (Side::Array(a), Side::Array(b)) => NullBuffer::union(a.nulls(), b.nulls()),
        (Side::Array(a), Side::Scalar(_)) | (Side::Scalar(_), Side::Array(a)) => a.nulls().cloned(),
        (Side::Scalar(_), Side::Scalar(_)) => None,
    };
    let array = Decimal128Array::try_new(ScalarBuffer::from(values), nulls)
        .ok()?
        .with_precision_and_scale(precision, scale)
        .ok()?;
    Some(Arc::new(array))
}

/// `a * b` and whether it overflowed. Values that fit in `i64` (every DECIMAL of precision
/// up to 18) multiply with one widening multiplication, which cannot overflow; only wider
/// values pay for `i128`'s overflow check.
#[inline(always)]
fn mul(a: i128, b: i128) -> (i128, bool) {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(x), Ok(y)) => (i128::from(x) * i128::from(y), false),
        _ => a.overflowing_mul(b),
    }
}

fn side(array: &ArrayRef, scalar: bool) -> Option<Side<'_>> {
    let array = array.as_any().downcast_ref::<Decimal128Array>()?;
    if !scalar {
        return Some(Side::Array(array));
    }
    (array.len() == 1 && array.is_valid(0)).then(|| Side::Scalar(array.value(0)))
}

/// Applies `f` row by row, returning the values and whether any row overflowed. Values in
/// NULL slots are computed too: an overflow there is a false alarm that the caller resolves
/// by falling back to Arrow's kernel, which skips NULL slots.
fn zip_with(left: &Side, right: &Side, f: impl Fn(i128, i128) -> (i128, bool)) -> (Vec<i128>, bool) {
    let mut overflow = false;
    let values = map2(left, right, |a, b| {
        let (v, o) = f(a, b);
        overflow |= o;
        v
    });
    (values, overflow)
}

/// Applies `f` row by row (NULL slots included; their values are ignored).
fn map2(left: &Side, right: &Side, mut f: impl FnMut(i128, i128) -> i128) -> Vec<i128> {
    match (left, right) {
        (Side::Array(a), Side::Array(b)) => a
            .values()
            .iter()
            .zip(b.values().iter())
            .map(|(&a, &b)| f(a, b))
            .collect(),
        (Side::Array(a), Side::Scalar(b)) => a.values().iter().map(|&a| f(a, *b)).collect(),
        (Side::Scalar(a), Side::Array(b)) => b.values().iter().map(|&b| f(*a, b)).collect(),
        (Side::Scalar(a), Side::Scalar(b)) => vec![f(*a, *b)],
    }
}

/// Gives the result of a decimal multiplication `product` DuckDB's type for it
/// (`logical::types::decimal_product_type`), which can be narrower than the kernel's: when the
/// type is capped at DECIMAL(18), every value must fit in 18 digits, else this is DuckDB's
/// overflow error. Other products pass through unchanged.
pub fn fit_product(product: ArrayRef, l: &DataType, r: &DataType) -> Result<ArrayRef> {
    let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) = (l, r) else {
        return Ok(product);
    };
    let DataType::Decimal128(precision, scale) = decimal_product_type(*p1, *s1, *p2, *s2) else {
        return Ok(product);
    };
    if product.data_type() == &DataType::Decimal128(precision, scale) {
        return Ok(product);
    }
    let Some(values) = product.as_any().downcast_ref::<Decimal128Array>() else {
        return Ok(product);
    };
    let DataType::Decimal128(_, actual_scale) = values.data_type() else {
        return Ok(product);
    };
    if *actual_scale != scale {
        return Ok(product);
    }
    if precision < p1.saturating_add(*p2) {
        let bound = 10i128.pow(u32::from(precision));
        if values.iter().flatten().any(|v| v.unsigned_abs() >= bound as u128) {
            return Err(Error::execution(format!(
                "Out of Range Error: Overflow in multiplication of DECIMAL({precision}). \
                 You might want to add an explicit cast to a bigger decimal."
            )));
        }
    }
    Ok(Arc::new(values.clone().with_precision_and_scale(precision, scale)?))
}

/// Writes a number with an exponent (`1.5e3`, `-.1e-1`) in plain decimal notation (`1500`,
/// `-0.01`); `None` when `text` is not such a number. Exponents far below any scale give 0.
pub fn expand_exponent(text: &str) -> Option<String> {
    let t = text.trim();
    let (mantissa, exp) = t.split_once(['e', 'E'])?;
    let exp: i64 = exp.parse().ok()?;
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())) || int.len() + frac.len() == 0 {
        return None;
    }
    if exp < -100 {
        return Some("0".into());
    }
    if exp > 100 {
        return None;
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exp;
    let (whole, fraction) = if point <= 0 {
        (String::from("0"), format!("{}{digits}", "0".repeat((-point) as usize)))
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    Some(if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    })
}

#[cfg(test)]
mod tests {
    use arrow::compute::kernels::numeric;

    use super::*;

    fn dec(values: Vec<Option<i128>>, p: u8, s: i8) -> ArrayRef {
        Arc::new(Decimal128Array::from(values).with_precision_and_scale(p, s).unwrap())
    }

    #[test]
    fn matches_arrow_types_and_values() {
        // Type pairs that take each path: i64, widening / wrapping i128, and overflow-checked.
        for ((p1, s1), (p2, s2)) in [
            ((15, 2), (10, 0)),
            ((9, 3), (8, 1)),
            ((30, 2), (6, 0)),
            ((38, 0), (38, 2)),
        ] {
            let l = dec(vec![Some(1234), None, Some(-5), Some(99)], p1, s1);
            let r = dec(vec![Some(7), Some(3), Some(100), Some(-1)], p2, s2);
            for (op, expected) in [
                (BinaryOp::Plus, numeric::add(&l, &r).unwrap()),
                (BinaryOp::Minus, numeric::sub(&l, &r).unwrap()),
                (BinaryOp::Multiply, numeric::mul(&l, &r).unwrap()),
            ] {
                let got = arith(op, &l, false, &r, false).unwrap();
                assert_eq!(got.data_type(), expected.data_type(), "{op:?} {p1},{s1} {p2},{s2}");
                assert_eq!(got.as_ref(), expected.as_ref(), "{op:?} {p1},{s1} {p2},{s2}");
            }
        }
    }

    #[test]
    fn scalar_operand() {
        let one = dec(vec![Some(1)], 10, 0);
        let r = dec(vec![Some(4), Some(10)], 15, 2);
        let got = arith(BinaryOp::Minus, &one, true, &r, false).unwrap();
        assert_eq!(got.data_type(), &DataType::Decimal128(16, 2));
        let got = got.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(got.values().to_vec(), vec![96, 90]);
    }

    #[test]
    fn wide_products_are_exact() {
        let l = dec(vec![Some(i128::from(i64::MAX) * 3), Some(-7)], 38, 0);
        let r = dec(vec![Some(-5), Some(i128::from(i64::MIN))], 38, 0);
        let got = arith(BinaryOp::Multiply, &l, false, &r, false).unwrap();
        assert_eq!(got.as_ref(), numeric::mul(&l, &r).unwrap().as_ref());
    }

    #[test]
    fn overflow_defers_to_arrow() {
        let big = dec(vec![Some(i128::MAX / 2), Some(1)], 38, 0);
        assert!(arith(BinaryOp::Multiply, &big, false, &big, false).is_none());
        assert!(numeric::mul(&big, &big).is_err());
    }
}
