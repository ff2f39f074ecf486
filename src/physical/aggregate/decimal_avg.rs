//! `decimal_average(x)`: the average of a DECIMAL column as a DECIMAL of the same type,
//! rounded half to even. The sum is exact `i128` (`{name}[sum]`, stored as `DECIMAL(38,s)`
//! even when it needs more digits) with a count (`{name}[count]`); a sum beyond `i128` is
//! DuckDB's "intermediate sum overflowed HUGEINT range" error.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Decimal128Array, Int64Array};
use arrow::datatypes::{DataType, Decimal128Type, Int64Type, DECIMAL128_MAX_PRECISION};

use super::{accumulate, add_to_single_average, as_primitive, check_inputs, nulls_from, single, GroupsAccumulator};
use crate::error::{Error, Result};

/// Grouped `decimal_average` producing `result` (a `DECIMAL(p,s)`).
#[derive(Debug)]
pub struct DecimalAverageAccumulator {
    result: DataType,
    sum_type: DataType,
    sums: Vec<i128>,
    counts: Vec<i64>,
}

impl DecimalAverageAccumulator {
    /// The accumulator for input (and result) type `input`, a DECIMAL.
    pub fn try_new(input: &DataType) -> Result<Self> {
        let DataType::Decimal128(_, s) = input else {
            return Err(Error::internal(format!("decimal_average over {input}")));
        };
        Ok(Self {
            result: input.clone(),
            sum_type: DataType::Decimal128(DECIMAL128_MAX_PRECISION, *s),
            sums: Vec::new(),
            counts: Vec::new(),
        })
    }

    fn add(
        &mut self,
        values: &ArrayRef,
        counts: Option<&Int64Array>,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let values = as_primitive::<Decimal128Type>(values, "decimal_average")?;
        check_inputs(values.len(), group_indices, opt_filter, total_num_groups)?;
        self.sums.resize(total_num_groups, 0);
        self.counts.resize(total_num_groups, 0);
        let (sums, group_counts) = (&mut self.sums, &mut self.counts);
        let mut overflow = false;
        if total_num_groups == 1 {
            overflow = add_to_single_average(values, opt_filter, counts, &mut sums[0], &mut group_counts[0]);
        } else {
            accumulate(group_indices, values, opt_filter, |g, v| {
                let (sum, o) = sums[g].overflowing_add(v);
                sums[g] = sum;
                overflow |= o;
                if counts.is_none() {
                    group_counts[g] += 1;
                }
            });
            if let Some(counts) = counts {
                accumulate(group_indices, counts, None, |g, c| group_counts[g] += c);
            }
        }
        if overflow {
            return Err(Error::execution(
                "Out of Range Error: decimal_average: intermediate sum overflowed HUGEINT range",
            ));
        }
        Ok(())
    }
}

/// `sum / count` rounded half to even (`count > 0`).
fn divide_half_even(sum: i128, count: i64) -> i128 {
    let count = i128::from(count);
    let (q, r) = (sum / count, sum % count);
    let twice = r.unsigned_abs() * 2;
    let count = count.unsigned_abs();
    if twice > count || (twice == count && q % 2 != 0) {
        q + sum.signum()
    } else {
        q
    }
}

impl GroupsAccumulator for DecimalAverageAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let values = single(values, "decimal_average")?;
        self.add(values, None, group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(&mut self, states: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let [sums, counts] = states else {
            return Err(Error::internal("decimal_average merge expects two state columns"));
        };
        let counts = as_primitive::<Int64Type>(counts, "decimal_average merge")?;
        if counts.len() != group_indices.len() {
            return Err(Error::internal("decimal_average merge: state columns differ in length"));
        }
        self.add(sums, Some(counts), group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self) -> Result<ArrayRef> {
        let sums = std::mem::take(&mut self.sums);
        let counts = std::mem::take(&mut self.counts);
        let values: Vec<i128> = sums
            .iter()
            .zip(&counts)
            .map(|(&s, &c)| if c == 0 { 0 } else { divide_half_even(s, c) })
            .collect();
        let nulls = nulls_from(counts.iter().map(|&c| c > 0).collect());
        Ok(Arc::new(
            Decimal128Array::try_new(values.into(), nulls)?.with_data_type(self.result.clone()),
        ))
    }

    fn state(&mut self) -> Result<Vec<ArrayRef>> {
        let sums = std::mem::take(&mut self.sums);
        let counts = std::mem::take(&mut self.counts);
        let nulls = nulls_from(counts.iter().map(|&c| c > 0).collect());
        let sums = Decimal128Array::try_new(sums.into(), nulls)?.with_data_type(self.sum_type.clone());
        Ok(vec![Arc::new(sums), Arc::new(Int64Array::from(counts))])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<i128>() + self.counts.capacity() * std::mem::size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use super::divide_half_even;

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(divide_half_even(7, 2), 4);
        assert_eq!(divide_half_even(5, 2), 2);
        assert_eq!(divide_half_even(-7, 2), -4);
        assert_eq!(divide_half_even(-5, 2), -2);
        assert_eq!(divide_half_even(i128::MIN, 2), i128::MIN / 2);
        assert_eq!(divide_half_even(10, 3), 3);
    }
}
