//! `GroupTopKExec`: drops rows that cannot pass `rank <= k` (or `row_number() <= k`) in
//! their window partition, before the window's sort.
//!
//! A query such as `WHERE row_number() OVER (PARTITION BY g ORDER BY v DESC) <= 2` keeps a few
//! rows per group, but the window needs its whole input sorted. This filter streams the
//! input and remembers, per group, the `k` best order keys seen so far (as Arrow row bytes,
//! which compare as the sort orders). A row is dropped when the `k`-th best key of its group
//! is strictly better than its own: `k` rows then rank before it, so its rank (and its row
//! number, which is never below the rank) exceeds `k` whatever else arrives. Rows that tie
//! with the `k`-th best are kept, so ties rank exactly as without the filter. The window and
//! the filter above it still run, and compute the exact answer over the rows that survive.
//!
//! The filter is an optimization only: when the memory pool refuses room for more groups it
//! stops filtering and passes every later row through.

use std::any::Any;
use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray};
use arrow::buffer::BooleanBuffer;
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::task::TaskContext;
use crate::physical::aggregate::group_table::GroupTable;
use crate::physical::expr::PhysExprRef;
use crate::physical::float_zero::canonical;
use crate::physical::ops::sort::PhysSortExpr;
use crate::physical::ops::window::key_labels;
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// The largest `k` worth filtering for: beyond it the per-group state grows large and few
/// rows are dropped.
pub const MAX_TOP_K: usize = 1024;

/// Passes only rows that may rank within the first `k` of their (partition keys) group by
/// the order keys.
#[derive(Debug)]
pub struct GroupTopKExec {
    input: PlanRef,
    partition_keys: Vec<PhysExprRef>,
    order_keys: Vec<PhysSortExpr>,
    k: usize,
}

impl GroupTopKExec {
    /// A filter over `input` keeping rows that may rank `<= k` per group.
    pub fn try_new(
        input: PlanRef,
        partition_keys: Vec<PhysExprRef>,
        order_keys: Vec<PhysSortExpr>,
        k: usize,
    ) -> Result<Self> {
        if k == 0 || k > MAX_TOP_K || order_keys.is_empty() {
            return Err(Error::internal(format!(
                "group top-k needs 1 <= k <= {MAX_TOP_K} and order keys"
            )));
        }
        Ok(Self {
            input,
            partition_keys,
            order_keys,
            k,
        })
    }
}

impl ExecutionPlan for GroupTopKExec {
    fn name(&self) -> &'static str {
        "GroupTopK"
    }

    fn details(&self) -> String {
        let mut parts = key_labels(&self.partition_keys, &self.order_keys);
        parts.push(format!("k={}", self.k));
        parts.join(" ")
    }

    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [input]: [PlanRef; 1] = children
            .try_into()
            .map_err(|c: Vec<PlanRef>| Error::internal(format!("GroupTopK takes 1 child, got {}", c.len())))?;
        Ok(Arc::new(GroupTopKExec::try_new(
            input,
            self.partition_keys.clone(),
            self.order_keys.clone(),
            self.k,
        )?))
    }

    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        let schema = self.input.schema();
        let group_types = self
            .partition_keys
            .iter()
            .map(|k| k.data_type(&schema))
            .collect::<Result<Vec<_>>>()?;
        let order_types = self
            .order_keys
            .iter()
            .map(|k| k.expr.data_type(&schema))
            .collect::<Result<Vec<_>>>()?;
        let order_fields = order_types
            .iter()
            .zip(&self.order_keys)
            .map(|(t, k)| SortField::new_with_options(t.clone(), k.options()))
            .collect();
        Ok(Box::new(GroupTopKStream {
            input,
            ctx: ctx.clone(),
            partition_keys: self.partition_keys.clone(),
            order_keys: self.order_keys.clone(),
            groups: (!group_types.is_empty())
                .then(|| GroupTable::try_new(&group_types))
                .transpose()?,
            converter: RowConverter::new(order_fields)?,
            best: GroupBest::new(self.k, fixed_row_width(&order_types)),
            group_ids: Vec::new(),
            reservation: ctx.reservation(format!("GroupTopK[{partition}]")),
            filtering: true,
            done: false,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An order key as a [`BestKeys`] slot holds it.
trait SlotKey: Default {
    /// The key as it arrives.
    type Borrowed: ?Sized + Ord;
    /// The held key.
    fn borrowed(&self) -> &Self::Borrowed;
    /// Replaces the held key with `key`; returns the bytes held before and after.
    fn assign(&mut self, key: &Self::Borrowed) -> (usize, usize);
}

/// Fixed-width row bytes (at most 16), big-endian in a `u128` so integers order as the bytes.
impl SlotKey for u128 {
    type Borrowed = u128;
    fn borrowed(&self) -> &u128 {
        self
    }
    fn assign(&mut self, key: &u128) -> (usize, usize) {
        *self = *key;
        (0, 0)
    }
}

/// Row bytes of any width.
impl SlotKey for Vec<u8> {
    type Borrowed = [u8];
    fn borrowed(&self) -> &[u8] {
        self
    }
    fn assign(&mut self, key: &[u8]) -> (usize, usize) {
        let before = self.capacity();
        self.clear();
        self.extend_from_slice(key);
        (before, self.capacity())
    }
}

/// The `k` best order keys seen so far in every group, best (smallest) first.
#[derive(Debug)]
struct BestKeys<K> {
    k: usize,
    /// `k` slots per group: the group's keys in `slots[g * k .. g * k + counts[g]]`.
    slots: Vec<K>,
    counts: Vec<u32>,
    /// Bytes held by the keys outside `slots`.
    key_bytes: usize,
}

impl<K: SlotKey> BestKeys<K> {
    fn new(k: usize) -> Self {
        Self {
            k,
            slots: Vec::new(),
            counts: Vec::new(),
            key_bytes: 0,
        }
    }

    /// Makes room for groups `0..groups`.
    fn ensure_groups(&mut self, groups: usize) {
        if groups > self.counts.len() {
            self.counts.resize(groups, 0);
            self.slots.resize_with(groups * self.k, K::default);
        }
    }

    /// Whether a row with order key `key` in group `group` may still rank within `k`;
    /// records the key among the group's best when it is.
    #[inline]
    fn offer(&mut self, group: usize, key: &K::Borrowed) -> bool {
        let k = self.k;
        let count = self.counts[group] as usize;
        let slots = &mut self.slots[group * k..(group + 1) * k];
        if count == k {
            match key.cmp(slots[k - 1].borrowed()) {
                Ordering::Greater => return false,
                Ordering::Equal => return true,
                Ordering::Less => {}
            }
        }
        let position = slots[..count].partition_point(|kept| kept.borrowed() <= key);
        // Reuse the slot leaving the list (the worst key, or the first free slot).
        let last = count.min(k - 1);
        let (before, after) = slots[last].assign(key);
        self.key_bytes = self.key_bytes + after - before;
        slots[position..=last].rotate_right(1);
        if count < k {
            self.counts[group] += 1;
        }
        true
    }

    /// Bytes held, for the memory pool.
    fn size(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<K>() + self.counts.capacity() * 4 + self.key_bytes
    }
}

/// The per-group best keys, in the layout the order keys allow.
#[derive(Debug)]
enum GroupBest {
    /// Order keys whose row bytes have one width of at most 16.
    Fixed(BestKeys<u128>),
    /// Any order keys.
    Bytes(BestKeys<Vec<u8>>),
}

impl GroupBest {
    fn new(k: usize, fixed_width: bool) -> Self {
        if fixed_width {
            GroupBest::Fixed(BestKeys::new(k))
        } else {
            GroupBest::Bytes(BestKeys::new(k))
        }
    }

    fn ensure_groups(&mut self, groups: usize) {
        match self {
            GroupBest::Fixed(b) => b.ensure_groups(groups),
            GroupBest::Bytes(b) => b.ensure_groups(groups),
        }
    }

    /// Offers every row (group `group_ids[i]`, key `encoded.row(i)`); true for those kept.
    fn offer_rows(&mut self, group_ids: &[usize], encoded: &Rows) -> Result<BooleanArray> {
        let rows = group_ids.len();
        if matches!(self, GroupBest::Fixed(_)) && encoded.iter().any(|r| r.as_ref().len() > 16) {
            return Err(Error::internal(
                "group top-k: a fixed-width order key is wider than 16 bytes",
            ));
        }
        Ok(BooleanArray::from(match self {
            GroupBest::Fixed(best) => {
                BooleanBuffer::collect_bool(rows, |i| best.offer(group_ids[i], &big_endian(encoded.row(i).as_ref())))
            }
            GroupBest::Bytes(best) => {
                BooleanBuffer::collect_bool(rows, |i| best.offer(group_ids[i], encoded.row(i).as_ref()))
            }
        }))
    }

    fn size(&self) -> usize {
        match self {
            GroupBest::Fixed(b) => b.size(),
            GroupBest::Bytes(b) => b.size(),
        }
    }
}

/// Up to 16 bytes as a big-endian integer, zero-padded on the right: keys of one width
/// compare as their bytes do.
#[inline]
fn big_endian(bytes: &[u8]) -> u128 {
    let mut buffer = [0u8; 16];
    buffer[..bytes.len()].copy_from_slice(bytes);
    u128::from_be_bytes(buffer)
}

/// Whether Arrow's row format gives every row of these order keys the same width, at most
/// 16 bytes (a validity byte plus the value per fixed-width column).
fn fixed_row_width(types: &[DataType]) -> bool {
    let mut width = 0;
    for t in types {
        let Some(value) = t.primitive_width() else {
            return false;
        };
        width += 1 + value;
    }
    width <= 16
}

/// The stream of one partition of a [`GroupTopKExec`].
struct GroupTopKStream {
    input: BatchStream,
    ctx: TaskContext,
    partition_keys: Vec<PhysExprRef>,
    order_keys: Vec<PhysSortExpr>,
    /// `None` without partition keys: one group.
    groups: Option<GroupTable>,
    converter: RowConverter,
    best: GroupBest,
    group_ids: Vec<usize>,
    reservation: MemoryReservation,
    /// Cleared when the pool refuses memory: every later row passes.
    filtering: bool,
    done: bool,
}

impl GroupTopKStream {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            self.ctx.check_cancelled()?;
            let Some(batch) = self.input.next().transpose()? else {
                return Ok(None);
            };
            if !self.filtering || batch.num_rows() == 0 {
                return Ok(Some(batch));
            }
            let mask = self.mask(&batch)?;
            let kept = mask.true_count();
            if kept == batch.num_rows() {
                return Ok(Some(batch));
            }
            if kept > 0 {
                return Ok(Some(filter_record_batch(&batch, &mask)?));
            }
        }
    }

    /// Which rows of `batch` may rank within `k`, updating the groups' best keys.
    fn mask(&mut self, batch: &RecordBatch) -> Result<BooleanArray> {
        let rows = batch.num_rows();
        match self.groups.as_mut() {
            Some(groups) => {
                let keys = self
                    .partition_keys
                    .iter()
                    .map(|k| k.evaluate(batch))
                    .collect::<Result<Vec<ArrayRef>>>()?;
                groups.intern(&keys, &mut self.group_ids)?;
                self.best.ensure_groups(groups.len());
            }
            None => {
                self.group_ids.clear();
                self.group_ids.resize(rows, 0);
                self.best.ensure_groups(1);
            }
        }
        let order = self
            .order_keys
            .iter()
            .map(|k| Ok(canonical(&k.expr.evaluate(batch)?)))
            .collect::<Result<Vec<_>>>()?;
        let encoded = self.converter.convert_columns(&order)?;
        let mask = self.best.offer_rows(&self.group_ids, &encoded)?;
        let table = self.groups.as_ref().map_or(0, |g| g.size());
        if self.reservation.try_resize(self.best.size() + table).is_err() {
            // Out of room: stop filtering and let the window (which can spill) see the rest.
            self.filtering = false;
            self.groups = None;
            self.best = GroupBest::new(1, false);
            self.reservation.free();
        }
        Ok(mask)
    }
}

impl Iterator for GroupTopKStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_rows_until_k_strictly_better_keys_were_seen() {
        let mut best = BestKeys::<u128>::new(2);
        best.ensure_groups(2);
        // Group 0: 5, 3 fill it; 7 is beaten by two keys; 5 ties the second best; 1 enters.
        let kept: Vec<bool> = [(0, 5), (0, 3), (0, 7), (0, 5), (1, 9), (0, 1), (0, 4), (0, 3)]
            .iter()
            .map(|&(g, key)| best.offer(g, &key))
            .collect();
        assert_eq!(kept, [true, true, false, true, true, true, false, true]);
        assert_eq!(&best.slots[0..2], &[1, 3]);
        assert_eq!(best.counts, [2, 1]);
    }

    #[test]
    fn byte_keys_of_different_lengths_compare_as_bytes() {
        let mut best = BestKeys::<Vec<u8>>::new(1);
        best.ensure_groups(1);
        assert!(best.offer(0, b"ab"));
        assert!(best.offer(0, b"a"));
        assert!(!best.offer(0, b"abc"));
        assert!(best.offer(0, b"a"));
        assert!(best.offer(0, b""));
        assert_eq!(best.slots, [Vec::<u8>::new()]);
    }

    #[test]
    fn fixed_width_keys_order_as_their_bytes() {
        assert!(big_endian(&[1, 0, 0]) < big_endian(&[1, 0, 1]));
        assert!(big_endian(&[0, 255, 255]) < big_endian(&[1, 0, 0]));
        assert!(fixed_row_width(&[DataType::Float64, DataType::Int32]));
        assert!(!fixed_row_width(&[DataType::Float64, DataType::Int64]));
        assert!(!fixed_row_width(&[DataType::Utf8]));
    }
}
