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

/// Evaluates a value function over evaluated `args` (value first).
pub fn evaluate(func: WindowFunc, args: &[ArrayRef], layout: &Layout, frames: &Frames) -> Result<ArrayRef> {
    let value = args
        .first()
        .ok_or_else(|| Error::internal(format!("{} needs an argument", func.name())))?;
    let n = layout.rows;
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
                let target = i as i64 + off;
                let inside = target >= layout.part_start[i] as i64 && target < layout.part_end[i] as i64;
                indices.push(inside.then_some(target as u32));
                outside.push(!inside);
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
                        if k < r.len() {
                            Some(r.start + k)
                        } else {
                            k -= r.len();
                            None
                        }
                    }),
                    None => segments.iter().rev().find(|r| !r.is_empty()).map(|r| r.end - 1),
                };
                indices.push(pick.map(|x| x as u32));
            }
            Ok(take(value.as_ref(), &UInt32Array::from(indices), None)?)
        }
        other => Err(Error::internal(format!("{} is not a value function", other.name()))),
    }
}
