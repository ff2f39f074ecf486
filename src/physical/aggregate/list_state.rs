//! Partial states made of lists: accumulators that keep rows per group (`DISTINCT` sets,
//! `list`/`string_agg`/quantiles) hand their state out as one `LIST` per group and column, in
//! the order the rows were kept, and take such lists back by expanding them into rows again.
//! The hash aggregate uses this to spill those accumulators and merge them afterwards.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, UInt64Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::take;
use arrow::datatypes::{DataType, Field};

use crate::error::{Error, Result};

/// The state type holding values of `item` per group.
pub fn list_type(item: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item.clone(), true)))
}

/// One list per group of `0..total_num_groups` for each of `columns`, holding the entries
/// whose group (`groups`, one per entry) it is, in entry order.
pub fn group_into_lists(columns: &[ArrayRef], groups: &[usize], total_num_groups: usize) -> Result<Vec<ArrayRef>> {
    let mut offsets = vec![0usize; total_num_groups + 1];
    for &g in groups {
        let slot = offsets
            .get_mut(g + 1)
            .ok_or_else(|| Error::internal(format!("list state: group {g} of {total_num_groups}")))?;
        *slot += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    // A stable counting sort of the entries by group.
    let mut next = offsets.clone();
    let mut order = vec![0u64; groups.len()];
    for (entry, &g) in groups.iter().enumerate() {
        order[next[g]] = entry as u64;
        next[g] += 1;
    }
    let order = UInt64Array::from(order);
    let offsets = offsets
        .iter()
        .map(|&o| i32::try_from(o))
        .collect::<std::result::Result<Vec<i32>, _>>()
        .map_err(|_| Error::execution("aggregate state too large to spill (over 2^31 values)"))?;
    let offsets = OffsetBuffer::new(offsets.into());
    columns
        .iter()
        .map(|column| {
            let values = take(column.as_ref(), &order, None)?;
            let field = Arc::new(Field::new("item", column.data_type().clone(), true));
            Ok(Arc::new(ListArray::try_new(field, offsets.clone(), values, None)?) as ArrayRef)
        })
        .collect()
}

/// The inverse of [`group_into_lists`] for state rows in `group_indices`: the list values of
/// every column, and the group of each value. All `lists` have the same offsets.
pub fn expand_lists(lists: &[ArrayRef], group_indices: &[usize]) -> Result<(Vec<ArrayRef>, Vec<usize>)> {
    let Some(first) = lists.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let first = first
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::internal(format!("list state expected, got {}", first.data_type())))?;
    if first.len() != group_indices.len() {
        return Err(Error::internal("list state: rows and group indices differ in length"));
    }
    let offsets = first.value_offsets();
    let start = offsets.first().map_or(0, |&o| o as usize);
    let end = offsets.last().map_or(0, |&o| o as usize);
    let mut groups = Vec::with_capacity(end - start);
    for (row, &g) in group_indices.iter().enumerate() {
        let len = (offsets[row + 1] - offsets[row]) as usize;
        groups.extend(std::iter::repeat_n(g, len));
    }
    let values = lists
        .iter()
        .map(|l| {
            let l = l
                .as_list_opt::<i32>()
                .ok_or_else(|| Error::internal(format!("list state expected, got {}", l.data_type())))?;
            Ok(l.values().slice(start, end - start))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((values, groups))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;

    #[test]
    fn lists_round_trip_in_entry_order() {
        let values: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]));
        let names: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some("c"),
            Some("d"),
            Some("e"),
        ]));
        let lists = group_into_lists(&[values, names], &[2, 0, 2, 0, 2], 4).unwrap();
        assert_eq!(lists[0].len(), 4);
        assert_eq!(lists[0].data_type(), &list_type(&DataType::Int64));
        let l = lists[0].as_list::<i32>();
        assert_eq!(l.value_offsets(), &[0, 2, 2, 5, 5]);
        // Rows 1 and 3 of the state go to groups 7 and 9.
        let sliced: Vec<ArrayRef> = lists.iter().map(|l| l.slice(1, 3)).collect();
        let (expanded, groups) = expand_lists(&sliced, &[8, 7, 9]).unwrap();
        assert_eq!(groups, vec![7, 7, 7]);
        let v = expanded[0].as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(v.values().to_vec(), vec![1, 3, 5]);
        assert_eq!(expanded[1].len(), 3);
    }
}
