//! The column group table: each key column's group values kept in a growable column of its
//! own (fixed-width values as their native bytes, strings and binaries as offsets and bytes),
//! compared in place with the input's values and handed out as arrays as they are.
//!
//! It takes keys that do not pack into a `u128` when every column is fixed-width or a string
//! (TPC-H q10's seven customer columns, the H2O benchmark's six ids). The row table encodes
//! every input row into Arrow's row format (after decoding dictionaries), copies the new
//! groups' rows and decodes them back on output; here a new group's values are copied once,
//! a row of an existing group is only compared, and the output is the columns themselves.

use std::sync::Arc;

use arrow::array::{make_array, Array, ArrayDataBuilder, ArrayRef, AsArray};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use hashbrown::HashTable;

use super::group_index;
use crate::error::{Error, Result};
use crate::exec::shuffle::hash_rows;

/// Group keys kept column by column.
#[derive(Debug)]
pub struct ColumnGroupTable {
    columns: Vec<GroupColumn>,
    /// Number of groups.
    groups: usize,
    /// (hash, group index).
    map: HashTable<(u64, u32)>,
    hashes: Vec<u64>,
}

impl ColumnGroupTable {
    /// A table for keys of `types`, or `None` when one is neither fixed-width nor a string
    /// or binary.
    pub fn try_new(types: &[DataType]) -> Option<Self> {
        let columns = types.iter().map(GroupColumn::new).collect::<Option<Vec<_>>>()?;
        Some(Self {
            columns,
            groups: 0,
            map: HashTable::new(),
            hashes: Vec::new(),
        })
    }

    /// Appends the group index of every row of `keys` to `out`.
    pub fn intern(&mut self, keys: &[ArrayRef], out: &mut Vec<usize>) -> Result<()> {
        let num_rows = keys.first().map_or(0, |k| k.len());
        let conformed = keys
            .iter()
            .zip(&self.columns)
            .map(|(k, c)| conform(k, &c.data_type))
            .collect::<Result<Vec<_>>>()?;
        let inputs = conformed.iter().map(InputColumn::new).collect::<Result<Vec<_>>>()?;
        hash_rows(&conformed, num_rows, &mut self.hashes)?;
        let Self {
            columns,
            groups,
            map,
            hashes,
        } = self;
        out.reserve(num_rows);
        for (row, &hash) in hashes.iter().enumerate() {
            let same = |g: u32| columns.iter().zip(&inputs).all(|(c, i)| c.equals(g as usize, i, row));
            // A lookup first: `entry` would also make room for an insert on every row.
            let group = match map.find(hash, |&(h, g)| h == hash && same(g)) {
                Some(&(_, g)) => g,
                None => {
                    let g = group_index(*groups)?;
                    for (c, i) in columns.iter_mut().zip(&inputs) {
                        c.push(i, row);
                    }
                    *groups += 1;
                    map.insert_unique(hash, (hash, g), |&(h, _)| h);
                    g
                }
            };
            out.push(group as usize);
        }
        Ok(())
    }

    /// Number of groups.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.groups
    }

    /// Makes room for `groups` more groups.
    pub fn reserve(&mut self, groups: usize) {
        self.map.reserve(groups, |&(h, _)| h);
        for c in &mut self.columns {
            c.valid.reserve(groups);
            if let Some(width) = c.width {
                c.data.reserve(groups * width);
            } else {
                c.offsets.reserve(groups);
            }
        }
    }

    /// The key columns of all groups; empties the table.
    pub fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        self.groups = 0;
        self.map = HashTable::new();
        self.columns.iter_mut().map(GroupColumn::emit).collect()
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.columns.iter().map(GroupColumn::size).sum::<usize>()
            + self.map.allocation_size()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
    }
}

/// `array` as a column of `data_type` or a dictionary of it (anything else is cast).
fn conform(array: &ArrayRef, data_type: &DataType) -> Result<ArrayRef> {
    let fits = match array.data_type() {
        DataType::Dictionary(_, value) => value.as_ref() == data_type,
        t => t == data_type,
    };
    Ok(if fits {
        Arc::clone(array)
    } else {
        cast(array, data_type)?
    })
}

/// One key column's group values.
#[derive(Debug)]
struct GroupColumn {
    data_type: DataType,
    /// The byte width of a fixed-width type; `None` for strings and binaries.
    width: Option<usize>,
    /// The values, one after another (a NULL's fixed-width value is zeros), in a buffer
    /// aligned for any native type.
    data: MutableBuffer,
    /// For strings and binaries: where each group's value ends in `data`.
    offsets: Vec<usize>,
    /// Whether each group's value is not NULL.
    valid: Vec<bool>,
    /// Whether some group's value is NULL.
    any_null: bool,
}

impl GroupColumn {
    /// A column for `data_type`, when the table can hold it.
    fn new(data_type: &DataType) -> Option<Self> {
        let width = match data_type {
            DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary => None,
            DataType::Boolean => return None,
            t if t.is_primitive() => Some(t.primitive_width()?),
            _ => return None,
        };
        Some(Self {
            data_type: data_type.clone(),
            width,
            data: MutableBuffer::new(0),
            offsets: Vec::new(),
            valid: Vec::new(),
            any_null: false,
        })
    }

    /// Group `g`'s value bytes.
    fn value(&self, g: usize) -> &[u8] {
        match self.width {
            Some(w) => &self.data[g * w..(g + 1) * w],
            None => {
                let start = if g == 0 { 0 } else { self.offsets[g - 1] };
                &self.data[start..self.offsets[g]]
            }
        }
    }

    /// Whether group `g` holds row `row` of `input` (NULL equals NULL).
    fn equals(&self, g: usize, input: &InputColumn, row: usize) -> bool {
        let valid = input.is_valid(row);
        if self.valid[g] != valid {
            return false;
        }
        !valid || same_bytes(self.value(g), input.value(row))
    }

    /// Adds row `row` of `input` as a new group's value.
    fn push(&mut self, input: &InputColumn, row: usize) {
        let valid = input.is_valid(row);
        self.valid.push(valid);
        self.any_null |= !valid;
        match self.width {
            Some(w) if !valid => self.data.resize(self.data.len() + w, 0),
            _ if !valid => {}
            _ => self.data.extend_from_slice(input.value(row)),
        }
        if self.width.is_none() {
            self.offsets.push(self.data.len());
        }
    }

    /// The groups' values as an array of the column's type; empties the column.
    fn emit(&mut self) -> Result<ArrayRef> {
        let len = self.valid.len();
        let valid = std::mem::take(&mut self.valid);
        let nulls = std::mem::take(&mut self.any_null).then(|| NullBuffer::from(valid));
        let data: Buffer = std::mem::replace(&mut self.data, MutableBuffer::new(0)).into();
        let offsets = std::mem::take(&mut self.offsets);
        let builder = ArrayDataBuilder::new(self.data_type.clone()).len(len).nulls(nulls);
        let builder = match (self.width, &self.data_type) {
            (Some(_), _) => builder.add_buffer(data),
            (None, DataType::LargeUtf8 | DataType::LargeBinary) => {
                let offsets: Vec<i64> = std::iter::once(0)
                    .chain(offsets)
                    .map(|o| i64::try_from(o).map_err(|_| too_many_key_bytes()))
                    .collect::<Result<_>>()?;
                builder.add_buffer(Buffer::from_vec(offsets)).add_buffer(data)
            }
            (None, _) => {
                let offsets: Vec<i32> = std::iter::once(0)
                    .chain(offsets)
                    .map(|o| i32::try_from(o).map_err(|_| too_many_key_bytes()))
                    .collect::<Result<_>>()?;
                builder.add_buffer(Buffer::from_vec(offsets)).add_buffer(data)
            }
        };
        Ok(make_array(builder.build()?))
    }

    /// Bytes held.
    fn size(&self) -> usize {
        self.data.capacity() + self.offsets.capacity() * std::mem::size_of::<usize>() + self.valid.capacity()
    }
}

/// Whether two values' bytes are equal, comparing common widths as integers.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    match (a.len(), b.len()) {
        (8, 8) => a.first_chunk::<8>() == b.first_chunk::<8>(),
        (4, 4) => a.first_chunk::<4>() == b.first_chunk::<4>(),
        _ => a == b,
    }
}

/// The error of group keys whose strings do not fit a 32-bit offset in one output array.
fn too_many_key_bytes() -> Error {
    Error::execution("group keys hold over 2 GiB of string bytes in one aggregate partition")
}

/// One key column of an input batch, read in place.
struct InputColumn<'a> {
    /// Logical NULLs (a dictionary's NULL keys and NULL values).
    nulls: Option<NullBuffer>,
    values: InputValues<'a>,
}

/// The value bytes of an input column.
enum InputValues<'a> {
    /// Fixed-width values of `width` bytes; row 0 at byte `start` of `buffer`.
    Fixed { buffer: Buffer, start: usize, width: usize },
    /// Strings or binaries with 32-bit offsets.
    Bytes { offsets: &'a [i32], data: &'a [u8] },
    /// Strings or binaries with 64-bit offsets.
    LargeBytes { offsets: &'a [i64], data: &'a [u8] },
    /// A dictionary: each row's index into its values.
    Dictionary {
        keys: Vec<usize>,
        values: Box<InputValues<'a>>,
    },
}

impl<'a> InputColumn<'a> {
    fn new(array: &'a ArrayRef) -> Result<Self> {
        Ok(Self {
            nulls: array.logical_nulls(),
            values: InputValues::new(array)?,
        })
    }

    fn is_valid(&self, row: usize) -> bool {
        self.nulls.as_ref().is_none_or(|n| n.is_valid(row))
    }

    fn value(&self, row: usize) -> &[u8] {
        self.values.value(row)
    }
}

impl<'a> InputValues<'a> {
    fn new(array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Dictionary(_, _) => {
                let dictionary = array
                    .as_any_dictionary_opt()
                    .ok_or_else(|| Error::internal("a dictionary key column is not a dictionary array"))?;
                InputValues::Dictionary {
                    keys: dictionary.normalized_keys(),
                    values: Box::new(InputValues::new(dictionary.values())?),
                }
            }
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                InputValues::Bytes {
                    offsets: a.value_offsets(),
                    data: a.values().as_slice(),
                }
            }
            DataType::Binary => {
                let a = array.as_binary::<i32>();
                InputValues::Bytes {
                    offsets: a.value_offsets(),
                    data: a.values().as_slice(),
                }
            }
            DataType::LargeUtf8 => {
                let a = array.as_string::<i64>();
                InputValues::LargeBytes {
                    offsets: a.value_offsets(),
                    data: a.values().as_slice(),
                }
            }
            DataType::LargeBinary => {
                let a = array.as_binary::<i64>();
                InputValues::LargeBytes {
                    offsets: a.value_offsets(),
                    data: a.values().as_slice(),
                }
            }
            t => {
                let width = t
                    .primitive_width()
                    .ok_or_else(|| Error::internal(format!("no fixed width for group key type {t}")))?;
                let data = array.to_data();
                let buffer = data
                    .buffers()
                    .first()
                    .ok_or_else(|| Error::internal("a fixed-width key column has no values buffer"))?
                    .clone();
                InputValues::Fixed {
                    buffer,
                    start: data.offset() * width,
                    width,
                }
            }
        })
    }

    fn value(&self, row: usize) -> &[u8] {
        match self {
            InputValues::Fixed { buffer, start, width } => {
                &buffer.as_slice()[start + row * width..start + (row + 1) * width]
            }
            InputValues::Bytes { offsets, data } => &data[offsets[row] as usize..offsets[row + 1] as usize],
            InputValues::LargeBytes { offsets, data } => &data[offsets[row] as usize..offsets[row + 1] as usize],
            InputValues::Dictionary { keys, values } => values.value(keys[row]),
        }
    }
}
