//! Numeric functions: rounding, sign, DOUBLE math (sqrt, exp, log, trigonometry, gamma),
//! power, factorial, gcd/lcm, bit_count and the float classification tests.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int8Array};
use arrow::compute::kernels::arity::{binary, try_unary};
use arrow::datatypes::{DataType, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type};

use super::{arg, prim_arg};
use crate::error::{Error, Result};
use crate::logical::functions::{MathFunc, ScalarFunc as F};

/// Evaluates the numeric functions; `None` for other functions.
pub(super) fn evaluate(func: F, args: &[ArrayRef], return_type: &DataType, rows: usize) -> Result<Option<ArrayRef>> {
    let f = |i: usize| prim_arg::<Float64Type>(args, i);
    Ok(Some(match func {
        F::Abs => {
            let a = arg(args, 0)?;
            let zero = datafusion_common::ScalarValue::new_zero(a.data_type())?.to_array_of_size(a.len())?;
            let negative = arrow::compute::kernels::cmp::lt(a, &zero)?;
            let negated = arrow::compute::kernels::numeric::neg(a)?;
            arrow::compute::kernels::zip::zip(&negative, &negated, a)?
        }
        F::Round | F::Floor | F::Ceil | F::Trunc => round(func, arg(args, 0)?, args.get(1), return_type)?,
        F::Sign => Arc::new(f(0)?.unary::<_, Int8Type>(|x| {
            if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            }
        })),
        F::Math(m) => Arc::new(f(0)?.unary::<_, Float64Type>(math(m))),
        F::Power => Arc::new(binary::<_, _, _, Float64Type>(f(0)?, f(1)?, f64::powf)?),
        F::Atan2 => Arc::new(binary::<_, _, _, Float64Type>(f(0)?, f(1)?, f64::atan2)?),
        F::Log if args.len() == 2 => Arc::new(binary::<_, _, _, Float64Type>(f(0)?, f(1)?, |b, x| x.ln() / b.ln())?),
        F::Log => Arc::new(f(0)?.unary::<_, Float64Type>(f64::log10)),
        F::Pi => Arc::new(Float64Array::from(vec![std::f64::consts::PI; rows])),
        F::Random => Arc::new(Float64Array::from_iter_values(random(rows))),
        F::Factorial => {
            let n = prim_arg::<Int64Type>(args, 0)?;
            let out = try_unary::<_, _, Decimal128Type>(n, |n| {
                if n < 0 {
                    return Err(arrow::error::ArrowError::ComputeError(
                        "Out of Range Error: factorial of a negative number is undefined".into(),
                    ));
                }
                (1..=n as i128)
                    .try_fold(1i128, |acc, k| acc.checked_mul(k))
                    .ok_or_else(|| {
                        arrow::error::ArrowError::ComputeError("Out of Range Error: Value out of range".into())
                    })
            })
            .map_err(|e| Error::execution(e.to_string().trim_start_matches("Compute error: ").to_string()))?;
            Arc::new(out.with_precision_and_scale(38, 0)?)
        }
        F::Binom => {
            let (n, k) = (prim_arg::<Int64Type>(args, 0)?, prim_arg::<Int64Type>(args, 1)?);
            let out = arrow::compute::kernels::arity::try_binary::<_, _, _, Decimal128Type>(n, k, binom)
                .map_err(|e| Error::execution(e.to_string().trim_start_matches("Compute error: ").to_string()))?;
            Arc::new(out.with_precision_and_scale(38, 0)?)
        }
        F::Gcd | F::Lcm => {
            let (a, b) = (prim_arg::<Int64Type>(args, 0)?, prim_arg::<Int64Type>(args, 1)?);
            let out = if func == F::Gcd {
                binary::<_, _, _, Int64Type>(a, b, gcd)?
            } else {
                binary::<_, _, _, Int64Type>(a, b, |x, y| {
                    let g = gcd(x, y);
                    if g == 0 {
                        0
                    } else {
                        (x / g).wrapping_mul(y).wrapping_abs()
                    }
                })?
            };
            Arc::new(out)
        }
        F::BitCount => {
            let a = arg(args, 0)?;
            let out: Int8Array = match a.data_type() {
                DataType::Int8 => a.as_primitive::<Int8Type>().unary(|x| x.count_ones() as i8),
                DataType::Int16 => a.as_primitive::<Int16Type>().unary(|x| x.count_ones() as i8),
                DataType::Int32 => a.as_primitive::<Int32Type>().unary(|x| x.count_ones() as i8),
                _ => arrow::compute::cast(a, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .unary(|x| x.count_ones() as i8),
            };
            Arc::new(out)
        }
        F::IsNan | F::IsInf | F::IsFinite => {
            let a = f(0)?;
            let test = match func {
                F::IsNan => f64::is_nan,
                F::IsInf => f64::is_infinite,
                _ => f64::is_finite,
            };
            Arc::new(BooleanArray::from_unary(a, test))
        }
        _ => return Ok(None),
    }))
}

fn math(m: MathFunc) -> fn(f64) -> f64 {
    match m {
        MathFunc::Sqrt => f64::sqrt,
        MathFunc::Cbrt => f64::cbrt,
        MathFunc::Exp => f64::exp,
        MathFunc::Ln => f64::ln,
        MathFunc::Log10 => f64::log10,
        MathFunc::Log2 => f64::log2,
        MathFunc::Degrees => f64::to_degrees,
        MathFunc::Radians => f64::to_radians,
        MathFunc::Sin => f64::sin,
        MathFunc::Cos => f64::cos,
        MathFunc::Tan => f64::tan,
        MathFunc::Asin => f64::asin,
        MathFunc::Acos => f64::acos,
        MathFunc::Atan => f64::atan,
        MathFunc::Cot => |x| 1.0 / x.tan(),
        MathFunc::Gamma => gamma,
        MathFunc::LGamma => lgamma,
        MathFunc::Even => |x| {
            let r = if x >= 0.0 { x.ceil() } else { x.floor() };
            if r % 2.0 != 0.0 {
                r + x.signum()
            } else {
                r
            }
        },
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i64
}

/// Lanczos approximation (g = 7) of ln|Γ(x)| for x ≥ 0.5.
fn ln_gamma_positive(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = C
        .iter()
        .enumerate()
        .skip(1)
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

fn gamma(x: f64) -> f64 {
    if x.is_nan() || (x <= 0.0 && x == x.floor()) {
        return if x == 0.0 { f64::INFINITY.copysign(x) } else { f64::NAN };
    }
    if x == x.floor() && x <= 171.0 {
        return (1..x as u64).fold(1.0, |acc, k| acc * k as f64);
    }
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x))
    } else {
        ln_gamma_positive(x).exp()
    }
}

fn lgamma(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x <= 0.0 && x == x.floor() {
        return f64::INFINITY;
    }
    if x < 0.5 {
        (std::f64::consts::PI / (std::f64::consts::PI * x).sin().abs()).ln() - lgamma(1.0 - x)
    } else {
        ln_gamma_positive(x)
    }
}

/// Uniform values in [0, 1) from a xorshift generator seeded by the clock.
fn random(rows: usize) -> impl Iterator<Item = f64> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut state = seed | 1;
    (0..rows).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// round / floor / ceil / trunc. Floor, ceil and trunc of a DECIMAL give scale 0.
fn round(func: F, a: &ArrayRef, digits: Option<&ArrayRef>, return_type: &DataType) -> Result<ArrayRef> {
    if a.is_empty() {
        // An empty batch: the digits array has no first value to read.
        return Ok(arrow::array::new_empty_array(return_type));
    }
    let places = match digits {
        Some(d) => {
            let d = d.as_primitive::<Int64Type>();
            if d.is_null(0) {
                return Ok(arrow::array::new_null_array(return_type, a.len()));
            }
            d.value(0)
        }
        None => 0,
    };
    let f = |x: f64| -> f64 {
        match func {
            F::Floor => x.floor(),
            F::Ceil => x.ceil(),
            F::Trunc => x.trunc(),
            _ if places >= 0 => {
                let m = 10f64.powi(places.min(308) as i32);
                let r = (x * m).round() / m;
                if r.is_finite() {
                    r
                } else {
                    x
                }
            }
            _ => {
                let m = 10f64.powi((-places).min(308) as i32);
                (x / m).round() * m
            }
        }
    };
    Ok(match a.data_type() {
        DataType::Float64 => Arc::new(a.as_primitive::<Float64Type>().unary::<_, Float64Type>(f)),
        DataType::Float32 => Arc::new(
            a.as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|x| f(x as f64) as f32),
        ),
        DataType::Decimal128(_, s) => {
            let s = *s as i64;
            let keep = if func == F::Round { s - places } else { s };
            let (p_out, s_out) = match return_type {
                DataType::Decimal128(p, s) => (*p, *s),
                _ => return Err(Error::internal("decimal rounding to a non-decimal")),
            };
            let a = a.as_primitive::<Decimal128Type>();
            if keep > 38 {
                return Ok(Arc::new(
                    a.unary::<_, Decimal128Type>(|_| 0)
                        .with_precision_and_scale(p_out, s_out)?,
                ));
            }
            if keep <= 0 {
                return Ok(Arc::new(a.clone().with_precision_and_scale(p_out, s_out)?));
            }
            let step = 10i128.pow(keep as u32);
            let rescale = s_out as i64 != s;
            let out = a.unary::<_, Decimal128Type>(|v| {
                let (q, r) = (v / step, v % step);
                let adj = match func {
                    F::Floor if r < 0 => q - 1,
                    F::Ceil if r > 0 => q + 1,
                    F::Round if r.abs() >= step - r.abs() => q + r.signum(),
                    _ => q,
                };
                if rescale {
                    adj
                } else {
                    adj.saturating_mul(step)
                }
            });
            Arc::new(out.with_precision_and_scale(p_out, s_out)?)
        }
        t if t.is_integer() && func == F::Round && places < 0 => {
            let m = 10i64.checked_pow((-places) as u32);
            let wide = arrow::compute::cast(a, &DataType::Int64)?;
            let out: ArrayRef = Arc::new(wide.as_primitive::<Int64Type>().unary::<_, Int64Type>(|v| match m {
                Some(m) => {
                    let (q, r) = (v / m, v % m);
                    if r.abs() >= m - r.abs() {
                        (q + r.signum()) * m
                    } else {
                        q * m
                    }
                }
                None => 0,
            }));
            arrow::compute::cast(&out, t)?
        }
        t if t.is_integer() => Arc::clone(a),
        other => return Err(Error::plan(format!("{}() of {other}", func.name()))),
    })
}

/// `binom(n, k)`: n choose k, exact; past 38 digits "Value out of range".
fn binom(n: i64, k: i64) -> std::result::Result<i128, arrow::error::ArrowError> {
    let err = |m: &str| arrow::error::ArrowError::ComputeError(format!("Out of Range Error: {m}"));
    if n < 0 || k < 0 {
        return Err(err("binom with negative input is undefined"));
    }
    if k > n {
        return Ok(0);
    }
    let k = k.min(n - k);
    let mut r: i128 = 1;
    for i in 0..i128::from(k) {
        // r * (n - i) / (i + 1) without overflowing early: divide out the common factor.
        let (num, den) = (i128::from(n) - i, i + 1);
        let g = gcd128(r, den);
        r = (r / g)
            .checked_mul(num / (den / g))
            .ok_or_else(|| err("Value out of range"))?;
    }
    if r > 99_999_999_999_999_999_999_999_999_999_999_999_999 {
        return Err(err("Value out of range"));
    }
    Ok(r)
}

fn gcd128(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}
