//! How one key column's values are numbered into slots for [`super::slots`]: a
//! dictionary-encoded column by codes that outlive its dictionaries, an integer column by
//! its values' offsets in a window.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, PrimitiveArray};
use arrow::datatypes::{
    DataType, Date32Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt8Type,
};

use super::Layout;
use crate::error::Result;

/// Evaluates `$body` with `$T` the Arrow type of a key column numbered by an integer window
/// (integers up to 32 bits unsigned or 64 signed, and dates), or `$other` for any other type:
/// the one list of those types.
macro_rules! with_window_type {
    ($data_type:expr, $T:ident => $body:expr, _ => $other:expr) => {
        with_window_type!(@arms $data_type, $T, $body, $other;
            Int8 Int8Type, Int16 Int16Type, Int32 Int32Type, Int64 Int64Type,
            UInt8 UInt8Type, UInt16 UInt16Type, UInt32 UInt32Type, Date32 Date32Type)
    };
    (@arms $data_type:expr, $T:ident, $body:expr, $other:expr; $($variant:ident $arrow_type:ident),*) => {
        match $data_type {
            $(DataType::$variant => {
                type $T = $arrow_type;
                $body
            })*
            _ => $other,
        }
    };
}

/// How one key column's values are numbered. NULL takes the slot after the values'.
#[derive(Debug)]
pub(super) enum Domain {
    /// A dictionary-encoded column.
    Dictionary(DictionaryCodes),
    /// An integer column: the integers `base..base + len` (no window yet while `len` is 0).
    Integers { base: i64, len: usize },
}

/// The slots a domain takes for a batch: what [`Domain::fit`] asks for and
/// [`Domain::adopt`] settles on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Room for this many dictionary codes.
    Codes(usize),
    /// The integers `base..base + len`.
    Window { base: i64, len: usize },
}

impl Shape {
    /// Number of slots, NULL's included.
    pub fn slots(self) -> usize {
        match self {
            Shape::Codes(capacity) => capacity + 1,
            Shape::Window { len, .. } => len + 1,
        }
    }
}

/// Codes for the values of a dictionary-encoded column, kept across its dictionaries: every
/// Parquet row group brings a new dictionary, usually of the same values, and the values'
/// codes (so the slots' groups) stay as they were.
#[derive(Debug)]
pub(super) struct DictionaryCodes {
    /// Every value seen in any of the column's dictionaries, numbered in order of first sight.
    known: Layout,
    /// The dictionary `codes` are for (held so that its buffers' addresses are not reused).
    values: Option<ArrayRef>,
    /// The code of each value of `values`.
    codes: Vec<u32>,
    /// Codes the slots have room for.
    capacity: usize,
}

impl Domain {
    /// The domain of a key column of type `data_type`; `None` when it has none.
    pub fn try_new(data_type: &DataType) -> Result<Option<Domain>> {
        Ok(match data_type {
            DataType::Dictionary(key, value) if **key == DataType::Int32 => Some(Domain::Dictionary(DictionaryCodes {
                known: Layout::try_new(std::slice::from_ref(value.as_ref()))?,
                values: None,
                codes: Vec::new(),
                capacity: 0,
            })),
            other => with_window_type!(other, _T => Some(Domain::Integers { base: 0, len: 0 }), _ => None),
        })
    }

    /// The slots the domain takes now.
    pub fn shape(&self) -> Shape {
        match self {
            Domain::Dictionary(d) => Shape::Codes(d.capacity),
            Domain::Integers { base, len } => Shape::Window { base: *base, len: *len },
        }
    }

    /// The shape that numbers every value of `key`: the current one when it does, else a
    /// larger one (at least twice as large, so that values that keep arriving do not
    /// renumber every batch), or `None` past `max_slots`. A dictionary's new values get
    /// their codes here.
    pub fn fit(&mut self, key: &ArrayRef, max_slots: usize) -> Result<Option<Shape>> {
        match self {
            Domain::Dictionary(codes) => {
                let Some(dictionary) = key.as_dictionary_opt::<Int32Type>() else {
                    return Ok(None);
                };
                // A column with too many values for slots stops learning them.
                if codes.known.len() >= max_slots || dictionary.values().len() >= max_slots {
                    return Ok(None);
                }
                codes.learn(dictionary.values())?;
                let known = codes.known.len();
                let capacity = if known > codes.capacity {
                    known.max(2 * codes.capacity)
                } else {
                    codes.capacity
                };
                Ok((capacity < max_slots).then_some(Shape::Codes(capacity)))
            }
            Domain::Integers { base, len } => {
                let current = (*len > 0).then_some((*base, *len));
                let Some((lo, hi)) = integer_range(key) else {
                    return Ok(None);
                };
                let Some((lo, hi)) = lo.zip(hi) else {
                    // Only NULLs: any window numbers them.
                    return Ok(Some(self.shape()));
                };
                Ok(integer_window(lo, hi, current, max_slots).map(|(base, len)| Shape::Window { base, len }))
            }
        }
    }

    /// Takes `shape` (one [`Domain::fit`] gave).
    pub fn adopt(&mut self, shape: Shape) {
        match (self, shape) {
            (Domain::Dictionary(codes), Shape::Codes(capacity)) => codes.capacity = capacity,
            (Domain::Integers { base, len }, Shape::Window { base: b, len: l }) => (*base, *len) = (b, l),
            _ => {}
        }
    }

    /// Hands each row's slot, in row order, to `sink`; `false` when `key` is not of the
    /// domain's kind.
    pub fn visit_slots(&self, key: &ArrayRef, sink: impl SlotSink) -> bool {
        let null_slot = u32::try_from(self.shape().slots() - 1).unwrap_or(u32::MAX);
        match self {
            Domain::Dictionary(codes) => {
                let Some(dictionary) = key.as_dictionary_opt::<Int32Type>() else {
                    return false;
                };
                let nulls = dictionary.logical_nulls();
                let indices = dictionary.keys().values();
                let codes = &codes.codes;
                // A key outside the values (which validated arrays do not have) counts as NULL.
                let slot = |k: i32| {
                    usize::try_from(k)
                        .ok()
                        .and_then(|k| codes.get(k))
                        .map_or(null_slot, |&c| c.min(null_slot))
                };
                match &nulls {
                    None => sink.accept(indices.iter().map(|&k| slot(k))),
                    Some(n) => sink.accept(
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
                with_window_type!(key.data_type(), T => visit_integer_slots::<T>(key, base, null_slot, sink), _ => false)
            }
        }
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        match self {
            Domain::Dictionary(codes) => codes.known.size() + codes.codes.capacity() * std::mem::size_of::<u32>(),
            Domain::Integers { .. } => 0,
        }
    }
}

impl DictionaryCodes {
    /// Makes `values` the current dictionary, coding the values not seen before.
    fn learn(&mut self, values: &ArrayRef) -> Result<()> {
        let same = self
            .values
            .as_ref()
            .is_some_and(|held| Arc::ptr_eq(held, values) || held.to_data().ptr_eq(&values.to_data()));
        if same {
            return Ok(());
        }
        let mut codes = Vec::with_capacity(values.len());
        self.known.intern(std::slice::from_ref(values), &mut codes)?;
        self.codes.clear();
        self.codes
            .extend(codes.into_iter().map(|c| u32::try_from(c).unwrap_or(u32::MAX)));
        self.values = Some(Arc::clone(values));
        Ok(())
    }
}

/// The smallest and largest non-null value of an integer column (`None`s when all are
/// NULL), or `None` when it is not an integer column.
#[allow(clippy::type_complexity)]
fn integer_range(key: &ArrayRef) -> Option<(Option<i64>, Option<i64>)> {
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
    with_window_type!(key.data_type(), T => min_max::<T>(key), _ => None)
}

/// The window (base, length) of integers to number values `lo..=hi` by: `current` when it
/// holds them; else one covering both, at least twice as long as `current`. `None` when it
/// would take `max_slots` or more.
fn integer_window(lo: i64, hi: i64, current: Option<(i64, usize)>, max_slots: usize) -> Option<(i64, usize)> {
    let most = max_slots as i128 - 1;
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

/// Where [`Domain::visit_slots`] sends the rows' slots.
pub(super) trait SlotSink {
    /// Takes every row's slot, in row order.
    fn accept(self, row_slots: impl Iterator<Item = u32>);
}

/// Adds `stride` times each row's slot to the row's entry (the slots of several key columns
/// combined).
pub(super) struct AddSlots<'a> {
    pub slots: &'a mut [u32],
    pub stride: u32,
}

impl SlotSink for AddSlots<'_> {
    fn accept(self, row_slots: impl Iterator<Item = u32>) {
        for (slot, row_slot) in self.slots.iter_mut().zip(row_slots) {
            *slot += self.stride * row_slot;
        }
    }
}

/// [`Domain::visit_slots`] for an integer column of type `T` numbered from `base`.
fn visit_integer_slots<T: ArrowPrimitiveType>(key: &ArrayRef, base: i64, null_slot: u32, sink: impl SlotSink) -> bool
where
    T::Native: Into<i64>,
{
    let Some(values): Option<&PrimitiveArray<T>> = key.as_primitive_opt::<T>() else {
        return false;
    };
    // The window holds every value of the batch; the clamp only keeps a slot in range.
    let slot = |v: T::Native| u32::try_from(v.into().wrapping_sub(base)).map_or(null_slot, |s| s.min(null_slot));
    match values.nulls() {
        None => sink.accept(values.values().iter().map(|&v| slot(v))),
        Some(n) => sink.accept(
            values
                .values()
                .iter()
                .zip(n.iter())
                .map(|(&v, valid)| if valid { slot(v) } else { null_slot }),
        ),
    }
    true
}
