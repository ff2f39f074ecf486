//! Verifying hash join candidates: a candidate pair (build row, probe row) only shares a hash
//! bucket and tag, so its keys are compared before it counts as a match.
//!
//! Integer, date, decimal and string keys are compared in place, reading both sides through
//! the pair indices; other types gather both sides with `take` and compare with Arrow's
//! `eq`. Candidates never hold a NULL key (the table links no build row with one, and probe
//! rows with one get no candidates), so the comparison ignores validity.

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::cmp::eq;
use arrow::compute::{and, take};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};

use crate::error::Result;

/// Per candidate pair: are all its keys equal? `None` when every pair's are.
pub(super) fn keys_equal(
    build_keys: &[ArrayRef],
    probe_keys: &[ArrayRef],
    build_idx: &UInt32Array,
    probe_idx: &UInt32Array,
) -> Result<Option<BooleanArray>> {
    let mut mask: Option<BooleanArray> = None;
    for (build, probe) in build_keys.iter().zip(probe_keys) {
        let equal = match in_place(build, probe, build_idx.values(), probe_idx.values()) {
            Some(bits) => BooleanArray::new(bits, None),
            None => {
                let l = take(build.as_ref(), build_idx, None)?;
                let r = take(probe.as_ref(), probe_idx, None)?;
                eq(&l, &r)?
            }
        };
        mask = Some(match mask {
            None => equal,
            Some(m) => and(&m, &equal)?,
        });
    }
    // `filter` reads NULL as false, and so does `true_count`.
    Ok(mask.filter(|m| m.true_count() < m.len()))
}

/// The pairs' equality read in place, for the key types that allow it; `None` otherwise.
fn in_place(build: &ArrayRef, probe: &ArrayRef, build_idx: &[u32], probe_idx: &[u32]) -> Option<BooleanBuffer> {
    let in_range = |idx: &[u32], len: usize| idx.iter().all(|&i| (i as usize) < len);
    if build.data_type() != probe.data_type() || !in_range(build_idx, build.len()) || !in_range(probe_idx, probe.len())
    {
        return None;
    }
    fn primitive<T: ArrowPrimitiveType>(
        build: &ArrayRef,
        probe: &ArrayRef,
        build_idx: &[u32],
        probe_idx: &[u32],
    ) -> Option<BooleanBuffer> {
        let (b, p) = (
            build.as_primitive_opt::<T>()?.values(),
            probe.as_primitive_opt::<T>()?.values(),
        );
        Some(BooleanBuffer::collect_bool(build_idx.len(), |k| {
            b[build_idx[k] as usize] == p[probe_idx[k] as usize]
        }))
    }
    match build.data_type() {
        DataType::Int64 => primitive::<Int64Type>(build, probe, build_idx, probe_idx),
        DataType::Int32 => primitive::<Int32Type>(build, probe, build_idx, probe_idx),
        DataType::Int16 => primitive::<Int16Type>(build, probe, build_idx, probe_idx),
        DataType::Int8 => primitive::<Int8Type>(build, probe, build_idx, probe_idx),
        DataType::UInt64 => primitive::<UInt64Type>(build, probe, build_idx, probe_idx),
        DataType::UInt32 => primitive::<UInt32Type>(build, probe, build_idx, probe_idx),
        DataType::UInt16 => primitive::<UInt16Type>(build, probe, build_idx, probe_idx),
        DataType::UInt8 => primitive::<UInt8Type>(build, probe, build_idx, probe_idx),
        DataType::Date32 => primitive::<Date32Type>(build, probe, build_idx, probe_idx),
        DataType::Date64 => primitive::<Date64Type>(build, probe, build_idx, probe_idx),
        DataType::Decimal128(_, _) => primitive::<Decimal128Type>(build, probe, build_idx, probe_idx),
        DataType::Utf8 => {
            let (b, p) = (build.as_string_opt::<i32>()?, probe.as_string_opt::<i32>()?);
            Some(BooleanBuffer::collect_bool(build_idx.len(), |k| {
                b.value(build_idx[k] as usize).as_bytes() == p.value(probe_idx[k] as usize).as_bytes()
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};

    use super::*;

    fn idx(v: &[u32]) -> UInt32Array {
        UInt32Array::from(v.to_vec())
    }

    #[test]
    fn in_place_and_gathered_comparisons_agree_over_several_keys() {
        let build: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            Arc::new(StringArray::from(vec!["a", "b", "c", "dd"])),
            Arc::new(Float64Array::from(vec![0.5, 1.5, 2.5, 3.5])),
        ];
        let probe: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![2, 4, 1])),
            Arc::new(StringArray::from(vec!["b", "d", "a"])),
            Arc::new(Float64Array::from(vec![1.5, 3.5, 9.0])),
        ];
        // Pairs: (1,0) all equal; (3,1) string differs; (0,2) float differs; (1,1) int differs.
        let (b, p) = (idx(&[1, 3, 0, 1]), idx(&[0, 1, 2, 1]));
        let mask = keys_equal(&build, &probe, &b, &p).unwrap().unwrap();
        assert_eq!(mask, BooleanArray::from(vec![true, false, false, false]));
        // Only the pair whose keys all agree: every pair matches, no mask.
        assert!(keys_equal(&build, &probe, &idx(&[1]), &idx(&[0])).unwrap().is_none());
    }

    #[test]
    fn unequal_pairs_of_one_integer_key_are_masked() {
        let build: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![7, 8]))];
        let probe: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![8, 7]))];
        let mask = keys_equal(&build, &probe, &idx(&[0, 1]), &idx(&[0, 0]))
            .unwrap()
            .unwrap();
        assert_eq!(mask, BooleanArray::from(vec![false, true]));
    }
}
