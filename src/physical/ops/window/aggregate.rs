//! Aggregates over window frames. Frame ends never move backwards within a partition, so
//! every kernel slides: count/sum/avg add rows entering the frame and remove rows leaving it
//! (exact in i128 for integers and decimals), min/max keep a monotonic deque of row indices
//! compared with Arrow's comparator (any orderable type). O(rows) per partition.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{
    make_comparator, Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int64Array, PrimitiveArray, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Decimal128Type, Float64Type, Int64Type};

use super::frames::{Frames, Layout};
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::physical::aggregate::AggregateExpr;

/// Evaluates `func` over each row's frame. `arg` is `None` for `count(*)`.
pub fn evaluate(
    func: AggFunc,
    arg: Option<&ArrayRef>,
    return_type: &DataType,
    layout: &Layout,
    frames: &Frames,
) -> Result<ArrayRef> {
    let Some(arg) = arg else {
        let counts: Int64Array = (0..layout.rows)
            .map(|i| Some(frames.segments(i).iter().map(|r| r.len() as i64).sum()))
            .collect();
        return Ok(Arc::new(counts));
    };
    if func == AggFunc::Count {
        let ones: Vec<i64> = vec![1; arg.len()];
        let (_, counts) = slide(&ones, arg, layout, frames, |a, b| a + b, |a, b| a - b, 0i64);
        return Ok(Arc::new(Int64Array::from(counts)));
    }
    if matches!(func, AggFunc::Min | AggFunc::Max) {
        let max = func == AggFunc::Max;
        return if frames.has_exclusion() {
            min_max_sparse(max, arg, frames)
        } else {
            min_max(max, arg, layout, frames)
        };
    }
    if matches!(func, AggFunc::Sum | AggFunc::Avg) {
        return sum_avg(func, arg, return_type, layout, frames);
    }
    Err(Error::internal(format!("no window kernel for {}", func.name())))
}

/// True when [`evaluate`] has a sliding kernel for `func`.
pub fn has_kernel(func: AggFunc) -> bool {
    matches!(
        func,
        AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
    )
}

/// Any aggregate (DISTINCT ones, those without a sliding kernel) through its grouped
/// accumulator: each row's frame is gathered as one group. Costs the total frame size, so
/// rows are fed in chunks of bounded size.
pub fn evaluate_with_accumulator(call: &AggregateExpr, args: &[ArrayRef], frames: &Frames) -> Result<ArrayRef> {
    const CHUNK: usize = 1 << 20;
    let n = frames.start.len();
    let mut outputs: Vec<ArrayRef> = Vec::new();
    let mut row = 0;
    while row < n {
        let mut take_idx: Vec<u32> = Vec::new();
        let mut groups: Vec<usize> = Vec::new();
        let first = row;
        while row < n && (row == first || take_idx.len() < CHUNK) {
            for r in frames.segments(row) {
                take_idx.extend(r.clone().map(|k| k as u32));
                groups.extend(std::iter::repeat_n(row - first, r.len()));
            }
            row += 1;
        }
        let idx = UInt32Array::from(take_idx);
        let values = args
            .iter()
            .map(|a| Ok(take(a.as_ref(), &idx, None)?))
            .collect::<Result<Vec<_>>>()?;
        let mut acc = call.create_accumulator()?;
        acc.update_batch(&values, &groups, None, row - first)?;
        outputs.push(acc.evaluate()?);
    }
    if outputs.is_empty() {
        return Ok(arrow::array::new_empty_array(&call.return_type));
    }
    let refs: Vec<&dyn Array> = outputs.iter().map(|a| a.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
}

/// Sums of `values` (where `arg` is valid) and counts over every frame.
fn slide<T: Copy>(
    values: &[T],
    arg: &ArrayRef,
    layout: &Layout,
    frames: &Frames,
    add: impl Fn(T, T) -> T,
    sub: impl Fn(T, T) -> T,
    zero: T,
) -> (Vec<T>, Vec<i64>) {
    let n = layout.rows;
    let mut sums = vec![zero; n];
    let mut counts = vec![0i64; n];
    let nulls = arg.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|b| b.is_valid(i));
    for part in &layout.partitions {
        let (mut lo, mut hi) = (part.start, part.start);
        let (mut acc, mut cnt) = (zero, 0i64);
        for i in part.clone() {
            let (s, e) = (frames.start[i], frames.end[i]);
            if s >= hi {
                // The frame jumped past everything accumulated: restart (exact for floats).
                acc = zero;
                cnt = 0;
                lo = s;
                hi = s;
            }
            while hi < e {
                if valid(hi) {
                    acc = add(acc, values[hi]);
                    cnt += 1;
                }
                hi += 1;
            }
            while lo < s {
                if valid(lo) {
                    acc = sub(acc, values[lo]);
                    cnt -= 1;
                }
                lo += 1;
            }
            if cnt == 0 {
                acc = zero;
            }
            sums[i] = acc;
            counts[i] = cnt;
        }
    }
    if frames.has_exclusion() {
        remove_holes(&mut sums, &mut counts, values, &valid, frames, &add, &sub, zero);
    }
    (sums, counts)
}

/// Takes the excluded rows (`EXCLUDE`) out of sliding sums: short holes row by row, long ones
/// through prefix sums.
#[allow(clippy::too_many_arguments)]
fn remove_holes<T: Copy>(
    sums: &mut [T],
    counts: &mut [i64],
    values: &[T],
    valid: &dyn Fn(usize) -> bool,
    frames: &Frames,
    add: &dyn Fn(T, T) -> T,
    sub: &dyn Fn(T, T) -> T,
    zero: T,
) {
    const SHORT: usize = 16;
    let mut prefix: Vec<(T, i64)> = Vec::new();
    for i in 0..sums.len() {
        let (a, b) = (frames.hole_start[i], frames.hole_end[i]);
        if a == b {
            continue;
        }
        let (mut hole, mut hole_count) = (zero, 0i64);
        if b - a <= SHORT {
            for (k, &v) in values.iter().enumerate().take(b).skip(a) {
                if valid(k) {
                    hole = add(hole, v);
                    hole_count += 1;
                }
            }
        } else {
            if prefix.is_empty() {
                prefix.reserve(values.len() + 1);
                prefix.push((zero, 0));
                let (mut acc, mut cnt) = (zero, 0i64);
                for (k, &v) in values.iter().enumerate() {
                    if valid(k) {
                        acc = add(acc, v);
                        cnt += 1;
                    }
                    prefix.push((acc, cnt));
                }
            }
            hole = sub(prefix[b].0, prefix[a].0);
            hole_count = prefix[b].1 - prefix[a].1;
        }
        if frames.keep_current && a <= i && i < b && valid(i) {
            hole = sub(hole, values[i]);
            hole_count -= 1;
        }
        counts[i] -= hole_count;
        sums[i] = if counts[i] == 0 { zero } else { sub(sums[i], hole) };
    }
}

fn primitive<T: ArrowPrimitiveType>(a: &ArrayRef) -> Result<&PrimitiveArray<T>> {
    a.as_primitive_opt::<T>()
        .ok_or_else(|| Error::internal(format!("window aggregate input has type {}", a.data_type())))
}

fn sum_avg(
    func: AggFunc,
    arg: &ArrayRef,
    return_type: &DataType,
    layout: &Layout,
    frames: &Frames,
) -> Result<ArrayRef> {
    let avg = func == AggFunc::Avg;
    match arg.data_type() {
        t if t.is_integer() || matches!(t, DataType::Decimal128(_, _)) => {
            let (values, scale): (Vec<i128>, i8) = match t {
                DataType::Decimal128(_, s) => (primitive::<Decimal128Type>(arg)?.values().to_vec(), *s),
                _ => {
                    let wide = cast(arg, &DataType::Int64)?;
                    let v = primitive::<Int64Type>(&wide)?
                        .values()
                        .iter()
                        .map(|&x| x as i128)
                        .collect();
                    (v, 0)
                }
            };
            let (sums, counts) = slide(&values, arg, layout, frames, |a, b| a + b, |a, b| a - b, 0i128);
            if avg {
                let div = 10f64.powi(scale as i32);
                let out: Float64Array = sums
                    .iter()
                    .zip(&counts)
                    .map(|(&s, &c)| (c > 0).then(|| s as f64 / div / c as f64))
                    .collect();
                return Ok(Arc::new(out));
            }
            match return_type {
                DataType::Decimal128(p, s) => {
                    let out: Decimal128Array = sums.iter().zip(&counts).map(|(&s, &c)| (c > 0).then_some(s)).collect();
                    Ok(Arc::new(out.with_precision_and_scale(*p, *s)?))
                }
                _ => {
                    let out = sums
                        .iter()
                        .zip(&counts)
                        .map(|(&s, &c)| {
                            if c == 0 {
                                return Ok(None);
                            }
                            i64::try_from(s)
                                .map(Some)
                                .map_err(|_| Error::execution("Out of Range Error: Overflow in SUM"))
                        })
                        .collect::<Result<Int64Array>>()?;
                    Ok(Arc::new(out))
                }
            }
        }
        _ => {
            let floats = cast(arg, &DataType::Float64)?;
            let values = primitive::<Float64Type>(&floats)?.values().to_vec();
            let (sums, counts) = slide(&values, arg, layout, frames, |a, b| a + b, |a, b| a - b, 0f64);
            let out: Float64Array = sums
                .iter()
                .zip(&counts)
                .map(|(&s, &c)| (c > 0).then(|| if avg { s / c as f64 } else { s }))
                .collect();
            Ok(Arc::new(out))
        }
    }
}

/// min/max over frames with a monotonic deque of row indices (NULLs skipped).
fn min_max(max: bool, arg: &ArrayRef, layout: &Layout, frames: &Frames) -> Result<ArrayRef> {
    let cmp = make_comparator(arg.as_ref(), arg.as_ref(), Default::default())?;
    let nulls = arg.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|b| b.is_valid(i));
    // `a` should be evicted by a newer `b` when b is at least as good.
    let dominated = |a: usize, b: usize| {
        let o = cmp(a, b);
        if max {
            o.is_le()
        } else {
            o.is_ge()
        }
    };
    let mut indices: Vec<Option<u32>> = vec![None; layout.rows];
    let mut deque: VecDeque<usize> = VecDeque::new();
    for part in &layout.partitions {
        deque.clear();
        let mut hi = part.start;
        for i in part.clone() {
            let (s, e) = (frames.start[i], frames.end[i]);
            if s > hi {
                hi = s;
                deque.clear();
            }
            while hi < e {
                if valid(hi) {
                    while deque.back().is_some_and(|&b| dominated(b, hi)) {
                        deque.pop_back();
                    }
                    deque.push_back(hi);
                }
                hi += 1;
            }
            while deque.front().is_some_and(|&f| f < s) {
                deque.pop_front();
            }
            indices[i] = deque.front().map(|&f| f as u32);
        }
    }
    let idx = UInt32Array::from(indices);
    Ok(take(arg.as_ref(), &idx, None)?)
}

/// min/max over frames with holes: a sparse table of best row indices answers any range in
/// O(1); a frame is up to three ranges.
fn min_max_sparse(max: bool, arg: &ArrayRef, frames: &Frames) -> Result<ArrayRef> {
    let cmp = make_comparator(arg.as_ref(), arg.as_ref(), Default::default())?;
    let nulls = arg.logical_nulls();
    let n = arg.len();
    let better = |a: Option<usize>, b: Option<usize>| match (a, b) {
        (Some(x), Some(y)) => {
            let o = cmp(x, y);
            Some(if (max && o.is_lt()) || (!max && o.is_gt()) {
                y
            } else {
                x
            })
        }
        (x, None) => x,
        (None, y) => y,
    };
    let mut levels: Vec<Vec<Option<usize>>> = vec![(0..n)
        .map(|i| nulls.as_ref().is_none_or(|b| b.is_valid(i)).then_some(i))
        .collect()];
    let mut width = 1;
    while width * 2 <= n {
        let prev = &levels[levels.len() - 1];
        let next: Vec<Option<usize>> = (0..=n - width * 2).map(|i| better(prev[i], prev[i + width])).collect();
        levels.push(next);
        width *= 2;
    }
    let query = |r: &std::ops::Range<usize>| -> Option<usize> {
        if r.is_empty() {
            return None;
        }
        let level = (usize::BITS - 1 - r.len().leading_zeros()) as usize;
        let w = 1usize << level;
        better(levels[level][r.start], levels[level][r.end - w])
    };
    let indices: UInt32Array = (0..n)
        .map(|i| {
            frames
                .segments(i)
                .iter()
                .fold(None, |best, r| better(best, query(r)))
                .map(|x| x as u32)
        })
        .collect();
    Ok(take(arg.as_ref(), &indices, None)?)
}
