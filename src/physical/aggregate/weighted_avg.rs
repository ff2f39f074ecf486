//! `weighted_avg(x, w)` / `wavg`: `sum(x * w) / sum(w)` over the rows where both are
//! non-NULL, as DOUBLE (NULL without such rows; a zero weight sum divides like floats do).
//! The state is the two sums and a row count; merging adds them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use super::{as_primitive, check_inputs, for_each_valid_row, nulls_from, GroupsAccumulator};
use crate::error::{Error, Result};

/// Grouped `weighted_avg`.
#[derive(Debug, Default)]
pub struct WeightedAvgAccumulator {
    sum_xw: Vec<f64>,
    sum_w: Vec<f64>,
    counts: Vec<i64>,
}

fn f64s(array: &ArrayRef) -> Result<Float64Array> {
    let cast = cast(array, &DataType::Float64)?;
    Ok(as_primitive::<Float64Type>(&cast, "weighted_avg")?.clone())
}

impl WeightedAvgAccumulator {
    fn resize(&mut self, total: usize) {
        self.sum_xw.resize(total, 0.0);
        self.sum_w.resize(total, 0.0);
        self.counts.resize(total, 0);
    }
}

impl GroupsAccumulator for WeightedAvgAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let [x, w] = values else {
            return Err(Error::internal("weighted_avg expects two arguments"));
        };
        check_inputs(x.len(), group_indices, opt_filter, total_num_groups)?;
        self.resize(total_num_groups);
        let (x, w) = (f64s(x)?, f64s(w)?);
        let nulls = NullBuffer::union(x.nulls(), w.nulls());
        let (xv, wv) = (x.values(), w.values());
        let Self { sum_xw, sum_w, counts } = self;
        for_each_valid_row(group_indices, nulls.as_ref(), opt_filter, |g, row| {
            sum_xw[g] += xv[row] * wv[row];
            sum_w[g] += wv[row];
            counts[g] += 1;
        });
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let [xw, w, n] = states else {
            return Err(Error::internal("weighted_avg merge expects three state columns"));
        };
        let n = as_primitive::<Int64Type>(n, "weighted_avg merge")?;
        check_inputs(n.len(), group_indices, None, total_num_groups)?;
        self.resize(total_num_groups);
        let xw = as_primitive::<Float64Type>(xw, "weighted_avg merge")?.values();
        let w = as_primitive::<Float64Type>(w, "weighted_avg merge")?.values();
        for (row, &g) in group_indices.iter().enumerate() {
            self.sum_xw[g] += xw[row];
            self.sum_w[g] += w[row];
            self.counts[g] += n.value(row);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        let xw = std::mem::take(&mut self.sum_xw);
        let w = std::mem::take(&mut self.sum_w);
        let counts = std::mem::take(&mut self.counts);
        let values: Vec<f64> = xw.iter().zip(&w).map(|(a, b)| a / b).collect();
        Ok(Arc::new(Float64Array::new(
            values.into(),
            nulls_from(counts.iter().map(|&c| c > 0).collect()),
        )))
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            Arc::new(Float64Array::from(std::mem::take(&mut self.sum_xw))),
            Arc::new(Float64Array::from(std::mem::take(&mut self.sum_w))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.counts))),
        ])
    }

    fn size(&self) -> usize {
        (self.sum_xw.capacity() + self.sum_w.capacity() + self.counts.capacity()) * 8
    }
}
