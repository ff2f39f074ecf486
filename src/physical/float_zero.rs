//! DuckDB compares, sorts, groups, joins and hashes `-0.0` as `0.0` (and every NaN as one
//! NaN), while Arrow's kernels order floats by their bits (`-0.0 < 0.0`). [`canonical`]
//! rewrites a float array so that Arrow's kernels see what DuckDB sees; it is applied to
//! comparison operands, sort keys, group keys, join keys and shuffle hash keys. Values that
//! are output keep their sign (DuckDB prints `-0.0`).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};

/// `a` with `-0.0` as `0.0` and every NaN as the canonical NaN when it is a float array;
/// otherwise `a` itself.
pub fn canonical(a: &ArrayRef) -> ArrayRef {
    match a.data_type() {
        DataType::Float64 => {
            let f = a.as_primitive::<Float64Type>();
            if !f
                .values()
                .iter()
                .any(|v| *v == 0.0 && v.is_sign_negative() || v.is_nan())
            {
                return Arc::clone(a);
            }
            Arc::new(f.unary::<_, Float64Type>(|v| if v.is_nan() { f64::NAN } else { v + 0.0 }))
        }
        DataType::Float32 => {
            let f = a.as_primitive::<Float32Type>();
            if !f
                .values()
                .iter()
                .any(|v| *v == 0.0 && v.is_sign_negative() || v.is_nan())
            {
                return Arc::clone(a);
            }
            Arc::new(f.unary::<_, Float32Type>(|v| if v.is_nan() { f32::NAN } else { v + 0.0 }))
        }
        _ => Arc::clone(a),
    }
}

/// `a` with every NaN as the canonical (positive) NaN when it is a float array holding a NaN
/// whose sign bit is set; otherwise `a` itself. Unlike [`canonical`], `-0.0` stays.
pub fn positive_nan(a: ArrayRef) -> ArrayRef {
    match a.data_type() {
        DataType::Float64 => {
            let f = a.as_primitive::<Float64Type>();
            if !f.values().iter().any(|v| v.is_nan() && v.is_sign_negative()) {
                return a;
            }
            Arc::new(f.unary::<_, Float64Type>(|v| if v.is_nan() { f64::NAN } else { v }))
        }
        DataType::Float32 => {
            let f = a.as_primitive::<Float32Type>();
            if !f.values().iter().any(|v| v.is_nan() && v.is_sign_negative()) {
                return a;
            }
            Arc::new(f.unary::<_, Float32Type>(|v| if v.is_nan() { f32::NAN } else { v }))
        }
        _ => a,
    }
}

/// [`canonical`] of each array.
pub fn canonical_all(arrays: &[ArrayRef]) -> Vec<ArrayRef> {
    arrays.iter().map(canonical).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int32Array};

    #[test]
    fn positive_nan_keeps_negative_zero() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(-0.0), Some(-f64::NAN), None]));
        let c = positive_nan(a);
        let c = c.as_primitive::<Float64Type>();
        assert!(c.value(0) == 0.0 && c.value(0).is_sign_negative());
        assert!(c.value(1).is_nan() && c.value(1).is_sign_positive());
        assert!(c.is_null(2));
    }

    #[test]
    fn negative_zero_and_nan_become_canonical() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(-0.0), None, Some(-f64::NAN), Some(1.5)]));
        let c = canonical(&a);
        let c = c.as_primitive::<Float64Type>();
        assert!(c.value(0) == 0.0 && c.value(0).is_sign_positive());
        assert!(c.is_null(1));
        assert!(c.value(2).is_nan() && c.value(2).to_bits() == f64::NAN.to_bits());
        assert_eq!(c.value(3), 1.5);
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        assert!(Arc::ptr_eq(&canonical(&ints), &ints));
    }
}
