//! Value functions: lag/lead (a row at an offset in the partition, else a default) and
//! first_value/last_value/nth_value (a row of the frame). Each computes one index per row
//! and gathers with `take`.

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt32Array};
use arrow::compute::kernels::zip::zip;
use arrow::compute::take;
use arrow::datatypes::Int64Type;

use super::frames::{Frames, Layout};
use crate::error::{Error, Result};
use crate::logical::window::WindowFunc;

fn int_arg<'a>(args: &'a [ArrayRef], i: usize, what: &str) -> Result<Option<&'a arrow::array::Int64Array>> {
    match args.get(i) {
        None => Ok(None),
        Some(a) => a
            .as_primitive_opt::<Int64Type>()
            .map(Some)
            .ok_or_else(|| Error::internal(format!("{what} must be BIGINT"))),
    }
}

/// Rows with a non-NULL value, for IGNORE NULLS: `before[k]` counts them in `[0, k)`,
/// `rows[j]` is the j-th.
struct NonNull {
    before: Vec<usize>,
    rows: Vec<usize>,
}

impl NonNull {
    fn new(value: &ArrayRef, ignore_nulls: bool) -> Self {
        let n = value.len();
        let nulls = value.logical_nulls();
        let valid = |i: usize| !ignore_nulls || nulls.as_ref().is_none_or(|b| b.is_valid(i));
        let mut before = Vec::with_capacity(n + 1);
        let mut rows = Vec::new();
        before.push(0);
        for i in 0..n {
            if valid(i) {
                rows.push(i);
            }
            before.push(rows.len());
        }
        NonNull { before, rows }
    }

    /// The row `off` counted rows after (positive) or before (negative) row `i`, inside `[ps, pe)`.
    fn step(&self, i: usize, off: i64, ps: usize, pe: usize) -> Option<usize> {
        if off == 0 {
            return Some(i);
        }
        let rank = if off < 0 {
            (self.before[i] as i64) + off
        } else {
            (self.before[i + 1] as i64) + off - 1
        };
        let (lo, hi) = (self.before[ps] as i64, self.before[pe] as i64);
        (rank >= lo && rank < hi).then(|| self.rows[rank as usize])
    }

    /// Counted rows in `r`.
    fn count(&self, r: &std::ops::Range<usize>) -> usize {
        self.before[r.end] - self.before[r.start]
    }
}

/// Evaluates a value function over evaluated `args` (value first); with `ignore_nulls`,
/// rows whose value is NULL are skipped.
pub fn evaluate(
    func: WindowFunc,
    args: &[ArrayRef],
    layout: &Layout,
    frames: &Frames,
    ignore_nulls: bool,
) -> Result<ArrayRef> {
    let value = args
        .first()
        .ok_or_else(|| Error::internal(format!("{} needs an argument", func.name())))?;
    let n = layout.rows;
    let counted = NonNull::new(value, ignore_nulls);
    let mut indices: Vec<Option<u32>> = Vec::with_capacity(n);
    match func {
        WindowFunc::Lag | WindowFunc::Lead => {
            let offsets = int_arg(args, 1, "the lag/lead offset")?;
            // Rows whose target lies outside the partition take the default.
            let mut outside = Vec::with_capacity(n);
            for i in 0..n {
                let off = match offsets {
                    Some(o) if o.is_null(i) => {
                        indices.push(None);
                        outside.push(false);
                        continue;
                    }
                    Some(o) => o.value(i),
                    None => 1,
                };
                let off = if func == WindowFunc::Lag { -off } else { off };
                let target = counted.step(i, off, layout.part_start[i], layout.part_end[i]);
                indices.push(target.map(|t| t as u32));
                outside.push(target.is_none());
            }
            let taken = take(value.as_ref(), &UInt32Array::from(indices), None)?;
            match args.get(2) {
                Some(default) => Ok(zip(&BooleanArray::from(outside), default, &taken)?),
                None => Ok(taken),
            }
        }
        WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
            let nth = int_arg(args, 1, "the nth_value position")?;
            for i in 0..n {
                let segments = frames.segments(i);
                let k = match func {
                    WindowFunc::FirstValue => Some(0),
                    WindowFunc::LastValue => None,
                    // A position below one selects nothing (DuckDB gives NULL).
                    _ => match nth {
                        Some(k) if k.is_valid(i) && k.value(i) > 0 => Some(k.value(i) as usize - 1),
                        _ => {
                            indices.push(None);
                            continue;
                        }
                    },
                };
                let pick = match k {
                    Some(mut k) => segments.iter().find_map(|r| {
                        let c = counted.count(r);
                        if k < c {
                            Some(counted.rows[counted.before[r.start] + k])
                        } else {
                            k -= c;
                            None
                        }
                    }),
                    None => segments
                        .iter()
                        .rev()
                        .find(|r| counted.count(r) > 0)
                        .map(|r| counted.rows[counted.before[r.end] - 1]),
                };
                indices.push(pick.map(|x| x as u32));
            }
            Ok(take(value.as_ref(), &UInt32Array::from(indices), None)?)
        }
        other => Err(Error::internal(format!("{} is not a value function", other.name()))),
    }
}
