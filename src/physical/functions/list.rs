//! `list_value(a, b, …)` (the `[a, b, …]` literal): one LIST per row holding the arguments
//! of that row, built by interleaving the argument columns.

use std::sync::Arc;

use arrow::array::{new_empty_array, Array, ArrayRef, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::DataType;

use crate::error::{Error, Result};

/// The LIST column of type `return_type` for `args` (each `rows` long).
pub(super) fn list_value(args: &[ArrayRef], return_type: &DataType, rows: usize) -> Result<ArrayRef> {
    let DataType::List(field) = return_type else {
        return Err(Error::internal(format!("list_value returns {return_type}")));
    };
    let width = args.len();
    let values = if width == 0 {
        new_empty_array(field.data_type())
    } else {
        let sources: Vec<&dyn Array> = args.iter().map(|a| a.as_ref()).collect();
        let indices: Vec<(usize, usize)> = (0..rows).flat_map(|r| (0..width).map(move |a| (a, r))).collect();
        arrow::compute::interleave(&sources, &indices)?
    };
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(width, rows));
    Ok(Arc::new(ListArray::try_new(Arc::clone(field), offsets, values, None)?))
}
