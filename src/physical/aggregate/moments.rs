//! Statistics from mergeable moments (Welford / Chan): `var_*`, `stddev_*` over one input and
//! `corr`, `covar_*`, `regr_*` over two (`f(y, x)`). The state per group is the count, the
//! means and the sums of squared deviations and of co-deviations, merged with Chan's formulas;
//! inputs are cast to DOUBLE, rows with a NULL argument are skipped. Results follow DuckDB's
//! NULL rules (e.g. `var_samp` of one row is NULL, `regr_r2` is NULL when x is constant).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, UInt32Array};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use super::{as_primitive, check_inputs, for_each_valid_row, GroupsAccumulator};
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;

/// The state columns' names, in order.
pub const STATE_NAMES: [&str; 6] = ["count", "mean_y", "mean_x", "m2_y", "m2_x", "c_xy"];

/// Per-group moments of `y` (the first argument) and `x` (the second, when there is one).
#[derive(Debug)]
pub struct MomentsAccumulator {
    func: AggFunc,
    /// One per group, side by side: a row updates one cache line, not six.
    groups: Vec<Moments>,
}

/// One group's moments.
#[derive(Debug, Default, Clone, Copy)]
struct Moments {
    n: i64,
    mean_y: f64,
    mean_x: f64,
    m2_y: f64,
    m2_x: f64,
    c_xy: f64,
}

impl MomentsAccumulator {
    /// An accumulator for `func` (one of the statistics).
    pub fn new(func: AggFunc) -> Self {
        Self {
            func,
            groups: Vec::new(),
        }
    }

    fn resize(&mut self, total: usize) {
        self.groups.resize(total, Moments::default());
    }

    /// The groups' counts and moments as columns (`n`, then [`STATE_NAMES`]' five others);
    /// empties the accumulator.
    fn take(&mut self) -> (Vec<i64>, [Vec<f64>; 5]) {
        let groups = std::mem::take(&mut self.groups);
        let column = |f: fn(&Moments) -> f64| groups.iter().map(f).collect::<Vec<f64>>();
        let moments = [
            column(|m| m.mean_y),
            column(|m| m.mean_x),
            column(|m| m.m2_y),
            column(|m| m.m2_x),
            column(|m| m.c_xy),
        ];
        (groups.iter().map(|m| m.n).collect(), moments)
    }
}

impl Moments {
    /// Merges a partial group `(n, my, mx, m2y, m2x, cxy)` in (Chan et al.).
    #[allow(clippy::too_many_arguments)]
    fn combine(&mut self, n: i64, my: f64, mx: f64, m2y: f64, m2x: f64, cxy: f64) {
        if n == 0 {
            return;
        }
        let na = self.n as f64;
        let nb = n as f64;
        let total = na + nb;
        let dy = my - self.mean_y;
        let dx = mx - self.mean_x;
        self.mean_y += dy * nb / total;
        self.mean_x += dx * nb / total;
        self.m2_y += m2y + dy * dy * na * nb / total;
        self.m2_x += m2x + dx * dx * na * nb / total;
        self.c_xy += cxy + dx * dy * na * nb / total;
        self.n += n;
    }
}

fn to_f64(array: &ArrayRef) -> Result<Float64Array> {
    let cast = cast(array, &DataType::Float64)?;
    Ok(as_primitive::<Float64Type>(&cast, "moments")?.clone())
}

impl GroupsAccumulator for MomentsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(y) = values.first() else {
            return Err(Error::internal("moments aggregate got no arguments"));
        };
        check_inputs(y.len(), group_indices, opt_filter, total_num_groups)?;
        self.resize(total_num_groups);
        let y = to_f64(y)?;
        let x = values.get(1).map(to_f64).transpose()?;
        let nulls = NullBuffer::union(y.nulls(), x.as_ref().and_then(|x| x.nulls()));
        let yv = y.values();
        let xv = x.as_ref().map(|x| x.values());
        let groups = &mut self.groups;
        for_each_valid_row(group_indices, nulls.as_ref(), opt_filter, |g, row| {
            let m = &mut groups[g];
            m.n += 1;
            let k = m.n as f64;
            let vy = yv[row];
            let dy = vy - m.mean_y;
            m.mean_y += dy / k;
            m.m2_y += dy * (vy - m.mean_y);
            if let Some(xv) = xv {
                let vx = xv[row];
                let dx = vx - m.mean_x;
                m.mean_x += dx / k;
                m.m2_x += dx * (vx - m.mean_x);
                m.c_xy += dx * (vy - m.mean_y);
            }
        });
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let [n, my, mx, m2y, m2x, cxy] = states else {
            return Err(Error::internal("moments merge expects six state columns"));
        };
        let n = as_primitive::<Int64Type>(n, "moments merge")?;
        check_inputs(n.len(), group_indices, None, total_num_groups)?;
        self.resize(total_num_groups);
        let f = |a: &ArrayRef| as_primitive::<Float64Type>(a, "moments merge").map(|a| a.values().clone());
        let (my, mx, m2y, m2x, cxy) = (f(my)?, f(mx)?, f(m2y)?, f(m2x)?, f(cxy)?);
        for (row, &g) in group_indices.iter().enumerate() {
            self.groups[g].combine(n.value(row), my[row], mx[row], m2y[row], m2x[row], cxy[row]);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        use AggFunc::*;
        let (n, [my, mx, m2y, m2x, cxy]) = self.take();
        if self.func == RegrCount {
            return Ok(Arc::new(UInt32Array::from_iter_values(n.iter().map(|&c| c as u32))));
        }
        let pop = |m2: f64, c: i64| if c > 1 { m2 / c as f64 } else { 0.0 };
        let result = (0..n.len()).map(|g| {
            let c = n[g];
            let cf = c as f64;
            if c == 0 {
                return None;
            }
            Some(match self.func {
                VarSamp | StddevSamp | CovarSamp if c < 2 => return None,
                VarSamp => m2y[g] / (cf - 1.0),
                VarPop => pop(m2y[g], c),
                StddevSamp => (m2y[g] / (cf - 1.0)).sqrt(),
                StddevPop => pop(m2y[g], c).sqrt(),
                CovarSamp => cxy[g] / (cf - 1.0),
                CovarPop => cxy[g] / cf,
                Corr => cxy[g] / cf / (pop(m2x[g], c).sqrt() * pop(m2y[g], c).sqrt()),
                RegrSlope => cxy[g] / cf / pop(m2x[g], c),
                RegrIntercept => {
                    let slope = cxy[g] / cf / pop(m2x[g], c);
                    if slope.is_nan() {
                        return None;
                    }
                    my[g] - slope * mx[g]
                }
                RegrR2 => {
                    let (vx, vy) = (pop(m2x[g], c), pop(m2y[g], c));
                    if vx == 0.0 {
                        return None;
                    }
                    if vy == 0.0 {
                        return Some(1.0);
                    }
                    let r = cxy[g] / cf / (vx.sqrt() * vy.sqrt());
                    r * r
                }
                RegrAvgx => mx[g],
                RegrAvgy => my[g],
                RegrSxx => pop(m2x[g], c) * cf,
                RegrSyy => pop(m2y[g], c) * cf,
                RegrSxy => cxy[g],
                _ => return None,
            })
        });
        Ok(Arc::new(result.collect::<Float64Array>()))
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        let (n, moments) = self.take();
        let mut out: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(n))];
        out.extend(moments.into_iter().map(|v| Arc::new(Float64Array::from(v)) as ArrayRef));
        Ok(out)
    }

    fn size(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<Moments>()
    }
}
