//! Group indices for keys whose values fall in a small dense range of slots, looked up
//! directly instead of hashed.
//!
//! Each key column's [`Domain`] numbers its values: a dictionary-encoded column (as a Parquet
//! scan hands string keys on) by codes for its distinct values, an integer column by its
//! values' offsets in a window. NULL takes the slot after them. Several key columns combine
//! their slots (H2O's `id1, id2` is 101 × 101 slots), up to [`MAX_SLOTS`].
//!
//! Each slot remembers its group once a row has used it. Keys seen for the first time go to
//! the table's hash layout (as one row per new slot, in order of first use), which hands out
//! the group indices and keeps every group's keys, so emitting is unchanged. The slots are
//! renumbered (their groups forgotten) only when a domain outgrows its room: a dictionary
//! brings more distinct values than there are codes, or an integer batch leaves its window.
//! Room at least doubles each time; a batch that would need more than [`MAX_SLOTS`] is
//! hashed instead, and so is one whose slots would take more memory than the hash layout
//! holds (or [`MIN_BUDGET`]): the slots are a shortcut to groups, never most of their memory.

use arrow::array::{ArrayRef, UInt32Array};

use super::domain::{AddSlots, Domain, SlotSink};
use crate::error::Result;

/// The group of a slot no row has used yet.
const UNUSED: u32 = u32::MAX;

/// A slot being interned (while the new keys of a batch are collected).
const PENDING: u32 = u32::MAX - 1;

/// The most slots (the product of the key columns' domains) looked up directly: 256 KiB of
/// group indices.
const MAX_SLOTS: usize = 1 << 16;

/// Bytes of slots allowed whatever the hash layout holds: 4096 slots.
const MIN_BUDGET: usize = 16 * 1024;

/// The groups of the slots of the current domains.
#[derive(Debug, Default)]
pub(super) struct SlotGroups {
    /// One per key column; empty before the first batch.
    domains: Vec<Domain>,
    /// The group of every slot, [`UNUSED`] until a row uses it; empty before the first
    /// batch and after [`SlotGroups::clear`].
    groups: Vec<u32>,
    /// Rows looked up since the slots were last renumbered.
    pub(super) rows_since_reset: usize,
    /// Per-batch scratch: each row's slot.
    slots: Vec<u32>,
}

impl SlotGroups {
    /// Sets `out` to the group of every row of `keys` and returns `true`, or returns `false`
    /// when the keys do not map to slots (a type without a domain, or too many slots for
    /// [`MAX_SLOTS`] or for the hash layout's `layout_size` bytes). Keys no row had used
    /// before go to `intern_keys`, one row per new slot in order of first use, which sets
    /// their groups.
    pub fn intern(
        &mut self,
        layout_size: usize,
        keys: &[ArrayRef],
        out: &mut Vec<usize>,
        intern_keys: impl FnOnce(&[ArrayRef], &mut Vec<usize>) -> Result<()>,
    ) -> Result<bool> {
        let num_rows = keys.first().map_or(0, |k| k.len());
        if self.domains.len() != keys.len() {
            let domains = keys
                .iter()
                .map(|k| Domain::try_new(k.data_type()))
                .collect::<Result<Option<Vec<_>>>>()?;
            let Some(domains) = domains else {
                return Ok(false);
            };
            self.domains = domains;
            self.groups = Vec::new();
        }
        let mut shapes = Vec::with_capacity(keys.len());
        let mut total_slots = 1usize;
        for (domain, key) in self.domains.iter_mut().zip(keys) {
            let Some(shape) = domain.fit(key, MAX_SLOTS)? else {
                return Ok(false);
            };
            match total_slots.checked_mul(shape.slots()) {
                Some(total) if total <= MAX_SLOTS => total_slots = total,
                _ => return Ok(false),
            }
            shapes.push(shape);
        }
        let first = self.groups.is_empty();
        if first || self.domains.iter().zip(&shapes).any(|(d, &s)| d.shape() != s) {
            // The slots may not take more memory than the groups' hash layout does (or
            // MIN_BUDGET): a few groups with spread keys are hashed (a spilled aggregate's
            // partition of two groups holds no 256 KiB of slots). Clearing many slots pays
            // only if they are used for as many rows.
            let bytes = total_slots * std::mem::size_of::<u32>();
            if bytes > layout_size.max(MIN_BUDGET)
                || (!first && total_slots > 4 * num_rows && self.rows_since_reset < total_slots)
            {
                return Ok(false);
            }
            for (domain, &shape) in self.domains.iter_mut().zip(&shapes) {
                domain.adopt(shape);
            }
            self.groups.clear();
            self.groups.resize(total_slots, UNUSED);
            self.rows_since_reset = 0;
        }
        out.clear();
        let single = match (keys, self.domains.as_slice()) {
            // One key: each row's slot goes straight to its group, in one pass.
            ([key], [domain]) => {
                let sink = GroupsOfSlots {
                    groups: &self.groups,
                    out: &mut *out,
                };
                if !domain.visit_slots(key, sink) {
                    return Ok(false);
                }
                true
            }
            _ => {
                if !self.fill_slots(keys, num_rows) {
                    return Ok(false);
                }
                GroupsOfSlots {
                    groups: &self.groups,
                    out: &mut *out,
                }
                .accept(self.slots.iter().copied());
                false
            }
        };
        self.rows_since_reset += num_rows;
        // One pass the compiler vectorizes, rather than a flag carried through the lookups.
        let missing = out.iter().fold(false, |missing, &g| missing | (g == UNUSED as usize));
        if missing {
            if single && !self.fill_slots(keys, num_rows) {
                return Err(crate::error::Error::internal(
                    "a key column changed kind within a batch",
                ));
            }
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
            let sink = AddSlots {
                slots: &mut self.slots,
                stride,
            };
            if !domain.visit_slots(key, sink) {
                return false;
            }
            // At most MAX_SLOTS in all, so the product fits.
            let slots = domain.shape().slots();
            stride = stride.saturating_mul(u32::try_from(slots).unwrap_or(u32::MAX));
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

    /// Forgets every slot's group (the table was emptied); the domains stay.
    pub fn clear(&mut self) {
        self.groups = Vec::new();
        self.rows_since_reset = 0;
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        let domains: usize = self.domains.iter().map(Domain::size).sum();
        domains + (self.groups.capacity() + self.slots.capacity()) * std::mem::size_of::<u32>()
    }
}

/// Appends the group of each row's slot ([`UNUSED`] for a slot without one) to `out`.
struct GroupsOfSlots<'a> {
    groups: &'a [u32],
    out: &'a mut Vec<usize>,
}

impl SlotSink for GroupsOfSlots<'_> {
    fn accept(self, row_slots: impl Iterator<Item = u32>) {
        let groups = self.groups;
        self.out
            .extend(row_slots.map(|slot| groups.get(slot as usize).copied().unwrap_or(UNUSED) as usize));
    }
}
