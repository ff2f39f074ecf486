//! Ranking functions over a sorted partition layout: row_number, rank, dense_rank,
//! percent_rank, cume_dist and ntile. They read partition and peer boundaries only.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::datatypes::Int64Type;

use super::frames::Layout;
use crate::error::{Error, Result};
use crate::logical::window::WindowFunc;

/// Evaluates a ranking function; `arg` is ntile's bucket count (BIGINT).
pub fn evaluate(func: WindowFunc, arg: Option<&ArrayRef>, layout: &Layout) -> Result<ArrayRef> {
    let n = layout.rows;
    let ints = |f: &dyn Fn(usize) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values((0..n).map(f))) };
    let floats = |f: &dyn Fn(usize) -> f64| -> ArrayRef { Arc::new(Float64Array::from_iter_values((0..n).map(f))) };
    Ok(match func {
        WindowFunc::RowNumber => ints(&|i| (i - layout.part_start[i] + 1) as i64),
        WindowFunc::Rank => ints(&|i| (layout.peer_start[i] - layout.part_start[i] + 1) as i64),
        WindowFunc::DenseRank => {
            let mut out = vec![0i64; n];
            for part in &layout.partitions {
                let mut rank = 0i64;
                for i in part.clone() {
                    if layout.peer_start[i] == i {
                        rank += 1;
                    }
                    out[i] = rank;
                }
            }
            Arc::new(Int64Array::from(out))
        }
        WindowFunc::PercentRank => floats(&|i| {
            let size = layout.part_end[i] - layout.part_start[i];
            if size <= 1 {
                0.0
            } else {
                (layout.peer_start[i] - layout.part_start[i]) as f64 / (size - 1) as f64
            }
        }),
        WindowFunc::CumeDist => floats(&|i| {
            let size = layout.part_end[i] - layout.part_start[i];
            (layout.peer_end[i] - layout.part_start[i]) as f64 / size as f64
        }),
        WindowFunc::Ntile => {
            let buckets = arg
                .and_then(|a| a.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| Error::internal("ntile needs a BIGINT argument"))?;
            let mut out: Vec<Option<i64>> = Vec::with_capacity(n);
            for i in 0..n {
                if buckets.is_null(i) {
                    out.push(None);
                    continue;
                }
                let k = buckets.value(i);
                if k <= 0 {
                    return Err(Error::execution("Argument for ntile must be greater than zero"));
                }
                // DuckDB's split: the first (size mod k) buckets get one extra row.
                let size = (layout.part_end[i] - layout.part_start[i]) as i64;
                let k = k.min(size);
                let per = size / k;
                let large = size - k * per;
                let small_start = large * (per + 1);
                let row = (i - layout.part_start[i]) as i64;
                out.push(Some(if row < small_start {
                    1 + row / (per + 1)
                } else {
                    1 + large + (row - small_start) / per
                }));
            }
            Arc::new(Int64Array::from(out))
        }
        other => return Err(Error::internal(format!("{} is not a ranking function", other.name()))),
    })
}
