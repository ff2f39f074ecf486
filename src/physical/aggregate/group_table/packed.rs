//! The packed group table: every row's keys packed into one `u128`.
//!
//! Byte 0 holds one NULL flag per key column (so at most 8 columns); the other 15 bytes hold
//! the columns one after another: integers, dates, times and timestamps as their native
//! little-endian bytes, booleans as one byte, strings as a length byte and their UTF-8 bytes
//! in a slot sized from the bytes left over. A NULL's value bytes are zero, so equal keys
//! pack to equal integers. Packing is done column by column over the whole batch; lookups
//! then hash and compare one integer per row.

use std::sync::Arc;

use arrow::array::{
    make_array, Array, ArrayAccessor, ArrayDataBuilder, ArrayRef, AsArray, BooleanArray, DictionaryArray, StringArray,
    StringBuilder,
};
use arrow::buffer::{MutableBuffer, NullBuffer};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type};
use hashbrown::HashTable;

use super::{fold_multiply, group_index};
use crate::error::{Error, Result};

const KEY_BYTES: usize = 16;
/// Byte 0 is the NULL flags.
const FIRST_SLOT: usize = 1;
const MAX_COLUMNS: usize = 8;

/// How one key column is stored in the packed key.
#[derive(Debug, Clone, Copy)]
enum SlotKind {
    /// A fixed-width value of this many bytes.
    Fixed(usize),
    /// A boolean as one byte.
    Bool,
    /// A string of at most this many bytes, after a length byte.
    Str(usize),
}

#[derive(Debug, Clone)]
struct Slot {
    kind: SlotKind,
    /// Byte offset in the key.
    offset: usize,
}

/// A packed key's low and high halves and its group's index.
type Entry24 = (u64, u64, u32);

fn halves(key: u128) -> (u64, u64) {
    (key as u64, (key >> 64) as u64)
}

fn whole(lo: u64, hi: u64) -> u128 {
    u128::from(lo) | (u128::from(hi) << 64)
}

/// Group keys packed into `u128`s.
#[derive(Debug)]
pub struct PackedGroupTable {
    types: Vec<DataType>,
    slots: Vec<Slot>,
    /// Number of groups.
    groups: usize,
    /// Each group's packed key (as two halves: 24-byte entries, where a `u128` would align
    /// them to 32) and index, hashed by the key. The keys live only here: a lookup or a
    /// rehash touches one cache line, and the table is the only per-group copy.
    map: HashTable<Entry24>,
    /// Per-batch scratch: the packed key of each row.
    scratch: Vec<[u8; KEY_BYTES]>,
}

impl PackedGroupTable {
    /// A table for keys of `types`, or `None` when they do not fit in a packed key.
    pub fn try_new(types: &[DataType]) -> Option<Self> {
        if types.is_empty() || types.len() > MAX_COLUMNS {
            return None;
        }
        let mut kinds = Vec::with_capacity(types.len());
        let mut fixed_bytes = FIRST_SLOT;
        let mut strings = 0;
        for t in types {
            let kind = match t {
                DataType::Boolean => SlotKind::Bool,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    strings += 1;
                    SlotKind::Str(0)
                }
                t if t.is_primitive() && !t.is_floating() && !matches!(t, DataType::Decimal256(_, _)) => {
                    SlotKind::Fixed(t.primitive_width()?)
                }
                _ => return None,
            };
            fixed_bytes += match kind {
                SlotKind::Fixed(w) => w,
                SlotKind::Bool => 1,
                SlotKind::Str(_) => 0,
            };
            kinds.push(kind);
        }
        if fixed_bytes > KEY_BYTES {
            return None;
        }
        // Strings share what is left equally: a length byte and at least one data byte each.
        let string_slot = (KEY_BYTES - fixed_bytes).checked_div(strings).unwrap_or(0);
        if strings > 0 && string_slot < 2 {
            return None;
        }
        let mut offset = FIRST_SLOT;
        let slots = kinds
            .into_iter()
            .map(|kind| {
                let (kind, width) = match kind {
                    SlotKind::Str(_) => (SlotKind::Str(string_slot - 1), string_slot),
                    SlotKind::Fixed(w) => (kind, w),
                    SlotKind::Bool => (kind, 1),
                };
                let slot = Slot { kind, offset };
                offset += width;
                slot
            })
            .collect();
        Some(Self {
            types: types.to_vec(),
            slots,
            groups: 0,
            map: HashTable::new(),
            scratch: Vec::new(),
        })
    }

    /// The key types.
    pub fn types(&self) -> &[DataType] {
        &self.types
    }

    /// Number of groups.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.groups
    }

    /// Appends the group index of every row of `keys` to `out`. Returns `false`, having
    /// added nothing, when a string is too long for its slot.
    pub fn intern(&mut self, keys: &[ArrayRef], out: &mut Vec<usize>) -> Result<bool> {
        if keys.len() != self.slots.len() {
            return Err(Error::internal("packed group table: wrong number of key columns"));
        }
        let num_rows = keys.first().map_or(0, |k| k.len());
        self.scratch.clear();
        self.scratch.resize(num_rows, [0; KEY_BYTES]);
        for (column, (key, slot)) in keys.iter().zip(&self.slots).enumerate() {
            if !pack_column(key, slot, 1 << column, &mut self.scratch)? {
                return Ok(false);
            }
        }
        let Self {
            groups, map, scratch, ..
        } = self;
        out.reserve(num_rows);
        // Runs of equal keys (common in sorted or clustered data) skip the lookup.
        let mut previous: Option<(u128, usize)> = None;
        for bytes in scratch.iter() {
            let key = u128::from_le_bytes(*bytes);
            if let Some((k, g)) = previous {
                if k == key {
                    out.push(g);
                    continue;
                }
            }
            let hash = hash_key(key);
            let (lo, hi) = halves(key);
            // A lookup first: `entry` would also make room for an insert on every row.
            let group = match map.find(hash, |&(l, h, _)| l == lo && h == hi) {
                Some(&(_, _, g)) => g,
                None => {
                    let g = group_index(*groups)?;
                    *groups += 1;
                    map.insert_unique(hash, (lo, hi, g), |&(l, h, _)| hash_key(whole(l, h)));
                    g
                }
            };
            out.push(group as usize);
            previous = Some((key, group as usize));
        }
        Ok(true)
    }

    /// Makes room for `groups` more groups.
    pub fn reserve(&mut self, groups: usize) {
        self.map.reserve(groups, |&(l, h, _)| hash_key(whole(l, h)));
    }

    /// The key columns of all groups, in group order; empties the table.
    pub fn emit(&mut self) -> Result<Vec<ArrayRef>> {
        let mut keys: Vec<[u8; KEY_BYTES]> = vec![[0; KEY_BYTES]; self.groups];
        for (lo, hi, group) in std::mem::take(&mut self.map) {
            if let Some(key) = keys.get_mut(group as usize) {
                *key = whole(lo, hi).to_le_bytes();
            }
        }
        self.groups = 0;
        self.slots
            .iter()
            .zip(&self.types)
            .enumerate()
            .map(|(column, (slot, data_type))| unpack_column(&keys, slot, 1 << column, data_type))
            .collect()
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.map.allocation_size() + self.scratch.capacity() * KEY_BYTES
    }
}

/// The hash of a packed key: its two halves folded ([`fold_multiply`]).
fn hash_key(key: u128) -> u64 {
    fold_multiply(key as u64, (key >> 64) as u64)
}

/// Writes column `array` into its slot of every row's key; `false` when a string is too long.
fn pack_column(array: &ArrayRef, slot: &Slot, null_flag: u8, keys: &mut [[u8; KEY_BYTES]]) -> Result<bool> {
    let off = slot.offset;
    match slot.kind {
        SlotKind::Fixed(width) => {
            let data = array.to_data();
            let buffer = data
                .buffers()
                .first()
                .ok_or_else(|| Error::internal("packed group key without a values buffer"))?;
            let start = data.offset() * width;
            let bytes = buffer
                .as_slice()
                .get(start..start + keys.len() * width)
                .ok_or_else(|| Error::internal("packed group key buffer too short"))?;
            match width {
                1 => pack_fixed::<1>(bytes, off, keys),
                2 => pack_fixed::<2>(bytes, off, keys),
                4 => pack_fixed::<4>(bytes, off, keys),
                8 => pack_fixed::<8>(bytes, off, keys),
                16 => pack_fixed::<16>(bytes, off, keys),
                other => return Err(Error::internal(format!("packed group key of width {other}"))),
            }
        }
        SlotKind::Bool => {
            let bools = array
                .as_boolean_opt()
                .ok_or_else(|| Error::internal("boolean group key"))?;
            for (key, value) in keys.iter_mut().zip(bools.values().iter()) {
                key[off] = u8::from(value);
            }
        }
        SlotKind::Str(max_len) => {
            let fitted = match array.data_type() {
                DataType::Utf8 => pack_strings(array.as_string::<i32>(), off, max_len, keys),
                DataType::LargeUtf8 => pack_strings(array.as_string::<i64>(), off, max_len, keys),
                DataType::Utf8View => pack_strings(array.as_string_view(), off, max_len, keys),
                DataType::Dictionary(key, value) if **key == DataType::Int32 && **value == DataType::Utf8 => {
                    pack_dictionary(array.as_dictionary::<Int32Type>(), off, max_len, keys)
                }
                other => return Err(Error::internal(format!("string group key of type {other}"))),
            };
            if !fitted {
                return Ok(false);
            }
        }
    }
    if let Some(nulls) = array.logical_nulls() {
        let width = slot_width(slot);
        for (key, valid) in keys.iter_mut().zip(nulls.iter()) {
            if valid {
                continue;
            }
            key[0] |= null_flag;
            key[off..off + width].fill(0);
        }
    }
    Ok(true)
}

fn slot_width(slot: &Slot) -> usize {
    match slot.kind {
        SlotKind::Fixed(w) => w,
        SlotKind::Bool => 1,
        SlotKind::Str(max_len) => max_len + 1,
    }
}

fn pack_fixed<const W: usize>(bytes: &[u8], off: usize, keys: &mut [[u8; KEY_BYTES]]) {
    for (key, value) in keys.iter_mut().zip(bytes.chunks_exact(W)) {
        key[off..off + W].copy_from_slice(value);
    }
}

/// Writes each row's string (NULL slots included; they are cleared afterwards).
fn pack_strings<'a>(
    strings: impl ArrayAccessor<Item = &'a str>,
    off: usize,
    max_len: usize,
    keys: &mut [[u8; KEY_BYTES]],
) -> bool {
    debug_assert_eq!(keys.len(), strings.len());
    for (i, key) in keys.iter_mut().enumerate() {
        let value = strings.value(i).as_bytes();
        if value.len() > max_len {
            // A long value in a NULL slot would be cleared anyway, but such slots are rare.
            return false;
        }
        key[off] = value.len() as u8;
        key[off + 1..off + 1 + value.len()].copy_from_slice(value);
    }
    true
}

/// Writes each row's string from a dictionary-encoded column: every dictionary value is
/// packed once, and each row ORs its value's packed slot into its key (NULL slots are
/// cleared afterwards). A dictionary larger than the batch is read row by row instead.
fn pack_dictionary(
    dictionary: &DictionaryArray<Int32Type>,
    off: usize,
    max_len: usize,
    keys: &mut [[u8; KEY_BYTES]],
) -> bool {
    debug_assert_eq!(keys.len(), dictionary.len());
    let Some(values) = dictionary.values().as_string_opt::<i32>() else {
        return false;
    };
    if values.len() > dictionary.len() {
        // More values than rows: pack the rows' strings one by one.
        let Some(strings) = dictionary.downcast_dict::<StringArray>() else {
            return false;
        };
        return pack_strings(strings, off, max_len, keys);
    }
    let mut packed = Vec::with_capacity(values.len());
    for value in values.iter() {
        let value = value.unwrap_or_default().as_bytes();
        if value.len() > max_len {
            return false;
        }
        let mut slot = [0u8; KEY_BYTES];
        slot[off] = value.len() as u8;
        slot[off + 1..off + 1 + value.len()].copy_from_slice(value);
        packed.push(u128::from_le_bytes(slot));
    }
    for (key, &index) in keys.iter_mut().zip(dictionary.keys().values().iter()) {
        // A NULL row's index may be anything; its slot is cleared afterwards.
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| packed.get(i))
            .copied()
            .unwrap_or(0);
        *key = (u128::from_le_bytes(*key) | slot).to_le_bytes();
    }
    true
}

/// Reads column `data_type` back out of every group's key.
fn unpack_column(keys: &[[u8; KEY_BYTES]], slot: &Slot, null_flag: u8, data_type: &DataType) -> Result<ArrayRef> {
    let off = slot.offset;
    let nulls = keys
        .iter()
        .any(|k| k[0] & null_flag != 0)
        .then(|| NullBuffer::from_iter(keys.iter().map(|k| k[0] & null_flag == 0)));
    Ok(match slot.kind {
        SlotKind::Fixed(width) => {
            let mut bytes = MutableBuffer::with_capacity(keys.len() * width);
            for key in keys {
                bytes.extend_from_slice(&key[off..off + width]);
            }
            let data = ArrayDataBuilder::new(data_type.clone())
                .len(keys.len())
                .add_buffer(bytes.into())
                .nulls(nulls)
                .build()?;
            make_array(data)
        }
        SlotKind::Bool => Arc::new(BooleanArray::new(keys.iter().map(|k| k[off] != 0).collect(), nulls)),
        SlotKind::Str(_) => {
            let mut builder = StringBuilder::with_capacity(keys.len(), keys.len() * 4);
            for key in keys {
                if key[0] & null_flag != 0 {
                    builder.append_null();
                    continue;
                }
                let len = usize::from(key[off]);
                let value = std::str::from_utf8(&key[off + 1..off + 1 + len])
                    .map_err(|_| Error::internal("packed group key holds invalid UTF-8"))?;
                builder.append_value(value);
            }
            let array: ArrayRef = Arc::new(builder.finish());
            cast(&array, data_type)?
        }
    })
}
