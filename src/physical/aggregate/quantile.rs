//! `median` and `quantile_cont` by selection: the values are bucketed by group (a counting
//! sort on the dense group ids) and each group's one or two order statistics are found with
//! `select_nth_unstable`, in time linear in the rows, instead of sorting every row by
//! (group, value).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, PrimitiveArray, UInt32Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Decimal128Type, Float64Type};

use super::as_primitive;
use crate::error::Result;

/// The continuous quantile `q` of each of `total` groups: `values[i]` belongs to group
/// `groups[i]` (no NULLs among the values). Decimals stay decimals; other numbers are
/// computed as DOUBLE. A group without values is NULL.
pub(super) fn quantile_cont_by_group(
    values: &ArrayRef,
    groups: &UInt32Array,
    total: usize,
    q: f64,
) -> Result<ArrayRef> {
    if let DataType::Decimal128(..) = values.data_type() {
        let v = as_primitive::<Decimal128Type>(values, "quantile")?;
        let out: PrimitiveArray<Decimal128Type> = by_group(v.values(), groups, total, q, |a, b, frac| {
            a + ((b - a) as f64 * frac) as i128
        })
        .into_iter()
        .collect();
        return Ok(Arc::new(out.with_data_type(values.data_type().clone())));
    }
    let f = cast(values, &DataType::Float64)?;
    let v = as_primitive::<Float64Type>(&f, "quantile")?;
    let out: Float64Array = by_group(v.values(), groups, total, q, lerp_f64).into_iter().collect();
    Ok(Arc::new(out))
}

/// Totally ordered values (floats by `total_cmp`, so NaN sorts last as in a sort).
trait Ordered: Copy + Default {
    fn order(&self, other: &Self) -> std::cmp::Ordering;
}

impl Ordered for f64 {
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.total_cmp(other)
    }
}

impl Ordered for i128 {
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.cmp(other)
    }
}

/// DuckDB's interpolation between two order statistics: `a` itself at an exact position,
/// else `a * (1 - frac) + b * frac` (so two infinities of one sign give that infinity).
fn lerp_f64(a: f64, b: f64, frac: f64) -> f64 {
    if frac == 0.0 {
        a
    } else {
        a * (1.0 - frac) + b * frac
    }
}

/// Per group, the interpolation `lerp(a, b, frac)` between the order statistics around
/// position `q · (n − 1)`.
fn by_group<T: Ordered>(
    values: &[T],
    groups: &UInt32Array,
    total: usize,
    q: f64,
    lerp: impl Fn(T, T, f64) -> T,
) -> Vec<Option<T>> {
    let mut offsets = vec![0usize; total + 1];
    for &g in groups.values().iter() {
        offsets[g as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let mut cursor = offsets.clone();
    let mut bucketed = vec![T::default(); values.len()];
    for (&g, &v) in groups.values().iter().zip(values) {
        let slot = &mut cursor[g as usize];
        bucketed[*slot] = v;
        *slot += 1;
    }
    offsets
        .windows(2)
        .map(|w| {
            let run = &mut bucketed[w[0]..w[1]];
            if run.is_empty() {
                return None;
            }
            let rn = q * (run.len() - 1) as f64;
            let lo = rn.floor() as usize;
            let (_, &mut a, above) = run.select_nth_unstable_by(lo, T::order);
            let b = if rn.ceil() as usize > lo {
                above.iter().copied().min_by(T::order).unwrap_or(a)
            } else {
                a
            };
            Some(lerp(a, b, rn - lo as f64))
        })
        .collect()
}
