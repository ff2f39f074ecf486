//! Group indices for keys whose values fall in a small dense range of slots, looked up
//! directly instead of hashed.
//!
//! A key column's *domain* numbers its values: a dictionary-encoded column's slots are its
//! dictionary keys (as a Parquet scan hands string keys on), an integer column's are its
//! values' offsets in a window of integers. NULL takes the slot after them. Several key
//! columns combine their slots (H2O's `id1, id2` is 101 × 101 slots), up to [`MAX_SLOTS`].
//!
//! Each slot remembers its group once a row has used it. Keys seen for the first time go to
//! the table's hash layout (as one row per new slot, in order of first use), which hands out
//! the group indices and keeps every group's keys, so emitting is unchanged. The slots stay
//! valid while the domains do: a Parquet column chunk hands all its batches the same
//! dictionary, and an integer window only changes when a batch's values leave it (it then
//! grows, at least doubling, or the batch is hashed).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, PrimitiveArray, UInt32Array};
use arrow::datatypes::{
    DataType, Date32Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt8Type,
};

use crate::error::Result;

/// The group of a slot no row has used yet.
const UNUSED: u32 = u32::MAX;

/// A slot being interned (while the new keys of a batch are collected).
const PENDING: u32 = u32::MAX - 1;

/// The most slots (the product of the key columns' domains) looked up directly: 256 KiB of
/// group indices.
const MAX_SLOTS: usize = 1 << 16;

/// How one key column's values are numbered.
#[derive(Debug, Clone)]
enum Domain {
    /// The values of a dictionary (held so that their buffers' addresses are not reused).
    Dictionary(ArrayRef),
    /// The integers `base..base + len`.
    Integers { base: i64, len: usize },
}

impl Domain {
    /// Number of slots, NULL's included.
    fn slots(&self) -> usize {
        match self {
            Domain::Dictionary(values) => values.len() + 1,
            Domain::Integers { len, .. } => len + 1,
        }
    }

    /// Whether two domains number values alike (a Parquet reader wraps the same dictionary
    /// buffers in a new array for every batch).
    fn same_as(&self, other: &Domain) -> bool {
        match (self, other) {
            (Domain::Dictionary(a), Domain::Dictionary(b)) => Arc::ptr_eq(a, b) || a.to_data().ptr_eq(&b.to_data()),
            (Domain::Integers { base: a, len: m }, Domain::Integers { base: b, len: n }) => a == b && m == n,
            _ => false,
        }
    }
}

/// The groups of the slots of the current domains.
#[derive(Debug, Default)]
pub(super) struct SlotGroups {
    /// One per key column; empty before the first batch and after [`SlotGroups::clear`].
    domains: Vec<Domain>,
    /// The group of every slot, [`UNUSED`] until a row uses it.
    groups: Vec<u32>,
    /// Rows looked up since the domains last changed.
    rows_since_reset: usize,
    /// Per-batch scratch: each row's slot.
    slots: Vec<u32>,
}

impl SlotGroups {
    /// Sets `out` to the group of every row of `keys` and returns `true`, or returns `false`
    /// when the keys do not map to slots (a type without a domain, or too many slots). Keys
    /// no row had used before go to `intern_keys`, one row per new slot in order of first
    /// use, which sets their groups.
    pub fn intern(
        &mut self,
        keys: &[ArrayRef],
        out: &mut Vec<usize>,
        intern_keys: impl FnOnce(&[ArrayRef], &mut Vec<usize>) -> Result<()>,
    ) -> Result<bool> {
        let num_rows = keys.first().map_or(0, |k| k.len());
        if !keys.iter().all(|k| has_domain(k.data_type())) {
            return Ok(false);
        }
        let mut domains = Vec::with_capacity(keys.len());
        let mut total_slots = 1usize;
        for (column, key) in keys.iter().enumerate() {
            let Some(domain) = domain_of(key, self.domains.get(column)) else {
                return Ok(false);
            };
            match total_slots.checked_mul(domain.slots()) {
                Some(total) if total <= MAX_SLOTS => total_slots = total,
                _ => return Ok(false),
            }
            domains.push(domain);
        }
        let unchanged =
            domains.len() == self.domains.len() && domains.iter().zip(&self.domains).all(|(a, b)| a.same_as(b));
        if !unchanged {
            // Clearing many slots pays only if they are used for as many rows (a dictionary
            // that changes every batch is hashed instead).
            let first = self.domains.is_empty();
            if !first && total_slots > 4 * num_rows && self.rows_since_reset < total_slots {
                return Ok(false);
            }
            self.domains = domains;
            self.groups.clear();
            self.groups.resize(total_slots, UNUSED);
            self.rows_since_reset = 0;
        }
        if !self.fill_slots(keys, num_rows) {
            return Ok(false);
        }
        self.rows_since_reset += num_rows;
        let groups = &self.groups;
        out.clear();
        out.extend(
            self.slots
                .iter()
                .map(|&slot| groups.get(slot as usize).copied().unwrap_or(UNUSED) as usize),
        );
        // One pass the compiler vectorizes, rather than a flag carried through the lookups.
        let missing = out.iter().fold(false, |missing, &g| missing | (g == UNUSED as usize));
        if missing {
            if let Err(e) = self.intern_new_slots(keys, out, intern_keys) {
                self.clear();
                return Err(e);
            }
        }
        Ok(true)
    }

    /// Sets `self.slots` to every row's slot in the current domains; `false` when a key
    /// column is not of its domain's kind.
    fn fill_slots(&mut self, keys: &[ArrayRef], num_rows: usize) -> bool {
        self.slots.clear();
        self.slots.resize(num_rows, 0);
        let mut stride = 1u32;
        for (key, domain) in keys.iter().zip(&self.domains).rev() {
            if !add_slots(key, domain, stride, &mut self.slots) {
                return false;
            }
            // At most MAX_SLOTS in all, so the product fits.
            stride = stride.saturating_mul(u32::try_from(domain.slots()).unwrap_or(u32::MAX));
        }
        true
    }

    /// The rows of `out` still [`UNUSED`]: their slots' keys are interned, one row per slot.
    fn intern_new_slots(
        &mut self,
        keys: &[ArrayRef],
        out: &mut [usize],
        intern_keys: impl FnOnce(&[ArrayRef], &mut Vec<usize>) -> Result<()>,
    ) -> Result<()> {
        let mut first_rows = Vec::new();
        let mut new_slots = Vec::new();
        for (row, (&slot, &group)) in self.slots.iter().zip(out.iter()).enumerate() {
            if group == UNUSED as usize {
                if let Some(g) = self.groups.get_mut(slot as usize) {
                    if *g == UNUSED {
                        *g = PENDING;
                        first_rows.push(u32::try_from(row).unwrap_or(u32::MAX));
                        new_slots.push(slot as usize);
                    }
                }
            }
        }
        let rows = UInt32Array::from(first_rows);
        let new_keys = keys
            .iter()
            .map(|k| arrow::compute::take(k.as_ref(), &rows, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut new_groups = Vec::with_capacity(new_slots.len());
        intern_keys(&new_keys, &mut new_groups)?;
        for (&slot, &group) in new_slots.iter().zip(&new_groups) {
            self.groups[slot] = u32::try_from(group)
                .ok()
                .filter(|&g| g < PENDING)
                .ok_or_else(super::too_many_groups)?;
        }
        for (group, &slot) in out.iter_mut().zip(&self.slots) {
            if *group == UNUSED as usize {
                *group = self.groups.get(slot as usize).copied().unwrap_or(UNUSED) as usize;
            }
        }
        if out.contains(&(UNUSED as usize)) {
            return Err(crate::error::Error::internal("a group slot was left without a group"));
        }
        Ok(())
    }

    /// Forgets every slot (the table was emptied).
    pub fn clear(&mut self) {
        self.domains.clear();
        self.groups = Vec::new();
        self.rows_since_reset = 0;
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        (self.groups.capacity() + self.slots.capacity()) * std::mem::size_of::<u32>()
    }
}

/// Whether a key column of type `data_type` can be numbered.
fn has_domain(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(key, _) => **key == DataType::Int32,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::Date32 => true,
        _ => false,
    }
}

/// The domain numbering `key`'s values: `current` when it does, else a new one (`None` when
/// there is none small enough).
fn domain_of(key: &ArrayRef, current: Option<&Domain>) -> Option<Domain> {
    if let Some(dictionary) = key.as_dictionary_opt::<Int32Type>() {
        let values = Domain::Dictionary(Arc::clone(dictionary.values()));
        return match current {
            Some(held) if held.same_as(&values) => Some(held.clone()),
            _ => Some(values),
        };
    }
    let (lo, hi) = match key.data_type() {
        DataType::Int8 => min_max::<Int8Type>(key),
        DataType::Int16 => min_max::<Int16Type>(key),
        DataType::Int32 => min_max::<Int32Type>(key),
        DataType::Int64 => min_max::<Int64Type>(key),
        DataType::UInt8 => min_max::<UInt8Type>(key),
        DataType::UInt16 => min_max::<UInt16Type>(key),
        DataType::UInt32 => min_max::<UInt32Type>(key),
        DataType::Date32 => min_max::<Date32Type>(key),
        _ => return None,
    }?;
    let window = match current {
        Some(Domain::Integers { base, len }) if *len > 0 => Some((*base, *len)),
        _ => None,
    };
    let Some((lo, hi)) = lo.zip(hi) else {
        // Only NULLs: any window numbers them.
        return Some(current.cloned().unwrap_or(Domain::Integers { base: 0, len: 0 }));
    };
    integer_window(lo, hi, window).map(|(base, len)| Domain::Integers { base, len })
}

/// The smallest and largest non-null value of an integer column (`None`s when all are NULL),
/// or `None` when it is not of type `T`.
#[allow(clippy::type_complexity)]
fn min_max<T: ArrowPrimitiveType>(key: &ArrayRef) -> Option<(Option<i64>, Option<i64>)>
where
    T::Native: Into<i64>,
{
    let values = key.as_primitive_opt::<T>()?;
    Some((
        arrow::compute::min(values).map(Into::into),
        arrow::compute::max(values).map(Into::into),
    ))
}

/// The window (base, length) of integers to number values `lo..=hi` by: `current` when it
/// holds them; else one covering both, at least twice as long as `current` so that keys that
/// keep rising do not renumber every batch. `None` past [`MAX_SLOTS`].
fn integer_window(lo: i64, hi: i64, current: Option<(i64, usize)>) -> Option<(i64, usize)> {
    let most = MAX_SLOTS as i128 - 1;
    let (lo, hi) = (i128::from(lo), i128::from(hi));
    let (new_lo, new_hi, at_least) = match current {
        Some((base, len)) => {
            let (start, end) = (i128::from(base), i128::from(base) + len as i128);
            if lo >= start && hi < end {
                return current;
            }
            (lo.min(start), hi.max(end - 1), (2 * len as i128).min(most))
        }
        None => (lo, hi, 0),
    };
    let needed = new_hi - new_lo + 1;
    if needed > most {
        return None;
    }
    let len = needed.max(at_least);
    // Grow towards the side the values left by.
    let base = match current {
        Some((base, _)) if new_lo < i128::from(base) => new_hi - len + 1,
        _ => new_lo,
    };
    Some((i64::try_from(base).ok()?, usize::try_from(len).ok()?))
}

/// Adds `stride` times each row's slot in `domain` to `slots`; `false` when `key` is not of
/// the domain's kind.
fn add_slots(key: &ArrayRef, domain: &Domain, stride: u32, slots: &mut [u32]) -> bool {
    let null_slot = u32::try_from(domain.slots() - 1).unwrap_or(u32::MAX);
    match domain {
        Domain::Dictionary(_) => {
            let Some(dictionary) = key.as_dictionary_opt::<Int32Type>() else {
                return false;
            };
            let nulls = dictionary.logical_nulls();
            let indices = dictionary.keys().values();
            // A key outside the values (which validated arrays do not have) counts as NULL.
            let slot = |k: i32| u32::try_from(k).map_or(null_slot, |k| k.min(null_slot));
            match &nulls {
                None => add_each(slots, stride, indices.iter().map(|&k| slot(k))),
                Some(n) => add_each(
                    slots,
                    stride,
                    indices
                        .iter()
                        .zip(n.iter())
                        .map(|(&k, valid)| if valid { slot(k) } else { null_slot }),
                ),
            }
            true
        }
        Domain::Integers { base, .. } => {
            let base = *base;
            match key.data_type() {
                DataType::Int8 => add_integer_slots::<Int8Type>(key, base, null_slot, stride, slots),
                DataType::Int16 => add_integer_slots::<Int16Type>(key, base, null_slot, stride, slots),
                DataType::Int32 => add_integer_slots::<Int32Type>(key, base, null_slot, stride, slots),
                DataType::Int64 => add_integer_slots::<Int64Type>(key, base, null_slot, stride, slots),
                DataType::UInt8 => add_integer_slots::<UInt8Type>(key, base, null_slot, stride, slots),
                DataType::UInt16 => add_integer_slots::<UInt16Type>(key, base, null_slot, stride, slots),
                DataType::UInt32 => add_integer_slots::<UInt32Type>(key, base, null_slot, stride, slots),
                DataType::Date32 => add_integer_slots::<Date32Type>(key, base, null_slot, stride, slots),
                _ => false,
            }
        }
    }
}

/// Adds `stride` times each of `row_slots` to `slots`.
fn add_each(slots: &mut [u32], stride: u32, row_slots: impl Iterator<Item = u32>) {
    for (slot, row_slot) in slots.iter_mut().zip(row_slots) {
        *slot += stride * row_slot;
    }
}

/// [`add_slots`] for an integer column of type `T` numbered from `base`.
fn add_integer_slots<T: ArrowPrimitiveType>(
    key: &ArrayRef,
    base: i64,
    null_slot: u32,
    stride: u32,
    slots: &mut [u32],
) -> bool
where
    T::Native: Into<i64>,
{
    let Some(values): Option<&PrimitiveArray<T>> = key.as_primitive_opt::<T>() else {
        return false;
    };
    // The window holds every value of the batch; the clamp only keeps a slot in range.
    let slot = |v: T::Native| u32::try_from(v.into().wrapping_sub(base)).map_or(null_slot, |s| s.min(null_slot));
    match values.nulls() {
        None => add_each(slots, stride, values.values().iter().map(|&v| slot(v))),
        Some(n) => add_each(
            slots,
            stride,
            values
                .values()
                .iter()
                .zip(n.iter())
                .map(|(&v, valid)| if valid { slot(v) } else { null_slot }),
        ),
    }
    true
}
