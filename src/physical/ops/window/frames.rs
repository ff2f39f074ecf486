//! The shape of a sorted window input: partition ranges, peer groups (rows equal on the
//! ORDER BY keys) and, per row, the frame `[start, end)` as absolute row indices. Within a
//! partition both frame ends are non-decreasing, which the aggregate kernels rely on.

use std::ops::Range;

use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::compute::{cast, partition};
use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::logical::window::{FrameBound, FrameExclusion, FrameUnits, WindowFrame};

/// Partitions and peer groups of a batch sorted by (partition keys, order keys).
pub struct Layout {
    /// Row count.
    pub rows: usize,
    /// Partition ranges, in order.
    pub partitions: Vec<Range<usize>>,
    /// For each row, the first row of its partition.
    pub part_start: Vec<usize>,
    /// For each row, one past the last row of its partition.
    pub part_end: Vec<usize>,
    /// For each row, the first row of its peer group.
    pub peer_start: Vec<usize>,
    /// For each row, one past the last row of its peer group.
    pub peer_end: Vec<usize>,
    /// Peer group ranges, in order.
    pub peers: Vec<Range<usize>>,
    /// For each row, the index of its peer group in `peers`.
    pub peer_index: Vec<usize>,
}

fn ranges_of(keys: &[ArrayRef], rows: usize) -> Result<Vec<Range<usize>>> {
    if rows == 0 {
        return Ok(vec![]);
    }
    if keys.is_empty() {
        return Ok(std::iter::once(0..rows).collect());
    }
    Ok(partition(keys)?.ranges())
}

fn spread(ranges: &[Range<usize>], rows: usize) -> (Vec<usize>, Vec<usize>) {
    let mut starts = vec![0; rows];
    let mut ends = vec![0; rows];
    for r in ranges {
        starts[r.clone()].fill(r.start);
        ends[r.clone()].fill(r.end);
    }
    (starts, ends)
}

impl Layout {
    /// The layout of `rows` rows with evaluated partition and order keys.
    pub fn new(rows: usize, partition_keys: &[ArrayRef], order_keys: &[ArrayRef]) -> Result<Self> {
        let partitions = ranges_of(partition_keys, rows)?;
        let all: Vec<ArrayRef> = partition_keys.iter().chain(order_keys).cloned().collect();
        let peers = ranges_of(&all, rows)?;
        let (part_start, part_end) = spread(&partitions, rows);
        let (peer_start, peer_end) = spread(&peers, rows);
        let mut peer_index = vec![0; rows];
        for (g, r) in peers.iter().enumerate() {
            peer_index[r.clone()].fill(g);
        }
        Ok(Layout {
            peers,
            peer_index,
            rows,
            partitions,
            part_start,
            part_end,
            peer_start,
            peer_end,
        })
    }
}

/// Per-row frame bounds, absolute row indices; `start[i] <= end[i]`.
pub struct Frames {
    /// First row of each frame.
    pub start: Vec<usize>,
    /// One past the last row of each frame.
    pub end: Vec<usize>,
    /// Rows excluded from each frame (`EXCLUDE`), `[hole_start, hole_end)` inside the frame;
    /// empty vectors when nothing is excluded.
    pub hole_start: Vec<usize>,
    /// See `hole_start`.
    pub hole_end: Vec<usize>,
    /// `EXCLUDE TIES`: the current row stays even though it lies in the hole.
    pub keep_current: bool,
}

impl Frames {
    /// True when frames have holes.
    pub fn has_exclusion(&self) -> bool {
        !self.hole_start.is_empty()
    }

    /// The rows of row `i`'s frame as up to three ordered ranges (some possibly empty).
    pub fn segments(&self, i: usize) -> [Range<usize>; 3] {
        let (s, e) = (self.start[i], self.end[i]);
        if !self.has_exclusion() {
            return [s..e, e..e, e..e];
        }
        let (a, b) = (self.hole_start[i], self.hole_end[i]);
        let kept = if self.keep_current && a <= i && i < b {
            i..i + 1
        } else {
            b..b
        };
        [s..a, kept, b..e]
    }

    fn exclude(&mut self, exclusion: FrameExclusion, layout: &Layout) {
        if exclusion == FrameExclusion::NoOthers {
            return;
        }
        let holes = |i: usize| match exclusion {
            FrameExclusion::CurrentRow => (i, i + 1),
            _ => (layout.peer_start[i], layout.peer_end[i]),
        };
        let keep_current = exclusion == FrameExclusion::Ties;
        let n = self.start.len();
        self.hole_start = Vec::with_capacity(n);
        self.hole_end = Vec::with_capacity(n);
        for i in 0..n {
            let (s, e) = (self.start[i], self.end[i]);
            let (a, b) = holes(i);
            let a = a.clamp(s, e);
            let b = b.clamp(a, e);
            self.hole_start.push(a);
            self.hole_end.push(b);
        }
        self.keep_current = keep_current;
    }
}

/// The ORDER BY key of a RANGE frame with offsets, as numbers, with its direction.
pub struct RangeKey {
    /// Key values (dates as days, timestamps in their unit), NULL where the key is NULL.
    pub values: Float64Array,
    /// Sorted descending.
    pub descending: bool,
    /// The key's type (for reading offsets).
    pub data_type: DataType,
}

impl RangeKey {
    /// Converts an order key for RANGE offset arithmetic.
    pub fn new(key: &ArrayRef, descending: bool) -> Result<Self> {
        let numeric = match key.data_type() {
            DataType::Date32 => cast(key, &DataType::Int32)?,
            DataType::Date64 | DataType::Timestamp(_, _) | DataType::Time64(_) => cast(key, &DataType::Int64)?,
            t if t.is_numeric() => key.clone(),
            other => {
                return Err(Error::not_supported(format!(
                    "RANGE window frame with an offset over {other}"
                )))
            }
        };
        let values = cast(&numeric, &DataType::Float64)?;
        let values = values
            .as_any()
            .downcast_ref::<Float64Array>()
            .cloned()
            .ok_or_else(|| Error::internal("RANGE key is not a double"))?;
        Ok(RangeKey {
            values,
            descending,
            data_type: key.data_type().clone(),
        })
    }

    /// An offset in the key's units.
    fn offset(&self, v: &ScalarValue) -> Result<f64> {
        if let ScalarValue::IntervalMonthDayNano(Some(i)) = v {
            if i.months != 0 {
                return Err(Error::not_supported("RANGE window frame offsets in months"));
            }
            let nanos = i.days as f64 * 86_400e9 + i.nanoseconds as f64;
            return Ok(match &self.data_type {
                DataType::Date32 => nanos / 86_400e9,
                DataType::Date64 => nanos / 1e6,
                DataType::Timestamp(unit, _) | DataType::Time64(unit) => match unit {
                    arrow::datatypes::TimeUnit::Second => nanos / 1e9,
                    arrow::datatypes::TimeUnit::Millisecond => nanos / 1e6,
                    arrow::datatypes::TimeUnit::Microsecond => nanos / 1e3,
                    arrow::datatypes::TimeUnit::Nanosecond => nanos,
                },
                other => {
                    return Err(Error::plan(format!(
                        "an INTERVAL RANGE offset needs a date or timestamp ORDER BY key, not {other}"
                    )))
                }
            });
        }
        match v.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(x)) => Ok(x),
            _ => Err(Error::plan(format!("invalid RANGE offset {v}"))),
        }
    }
}

/// Computes the frame of every row.
pub fn frames(frame: &WindowFrame, layout: &Layout, key: Option<&RangeKey>) -> Result<Frames> {
    let n = layout.rows;
    let mut start = vec![0; n];
    let mut end = vec![0; n];
    let rows_offset = |v: &ScalarValue| -> Result<usize> {
        match v.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(x)) if x >= 0 => Ok(usize::try_from(x).unwrap_or(usize::MAX)),
            _ => Err(Error::plan(format!("invalid ROWS offset {v}"))),
        }
    };
    match frame.units {
        FrameUnits::Rows => {
            for i in 0..n {
                let (ps, pe) = (layout.part_start[i], layout.part_end[i]);
                let s = match &frame.start {
                    FrameBound::UnboundedPreceding => ps,
                    FrameBound::Preceding(v) => i.saturating_sub(rows_offset(v)?).max(ps),
                    FrameBound::CurrentRow => i,
                    FrameBound::Following(v) => i.saturating_add(rows_offset(v)?).min(pe),
                    FrameBound::UnboundedFollowing => pe,
                };
                let e = match &frame.end {
                    FrameBound::UnboundedPreceding => ps,
                    FrameBound::Preceding(v) => (i + 1).saturating_sub(rows_offset(v)?).max(ps),
                    FrameBound::CurrentRow => i + 1,
                    FrameBound::Following(v) => i.saturating_add(rows_offset(v)?).saturating_add(1).min(pe),
                    FrameBound::UnboundedFollowing => pe,
                };
                start[i] = s;
                end[i] = e.max(s);
            }
        }
        FrameUnits::Groups => {
            for i in 0..n {
                let (ps, pe) = (layout.part_start[i], layout.part_end[i]);
                let s = groups_bound(&frame.start, i, ps, pe, layout, true, &rows_offset)?;
                let e = groups_bound(&frame.end, i, ps, pe, layout, false, &rows_offset)?;
                start[i] = s;
                end[i] = e.max(s);
            }
        }
        FrameUnits::Range => {
            let needs_key = |b: &FrameBound| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_));
            let offsets = match (needs_key(&frame.start) || needs_key(&frame.end), key) {
                (false, _) => None,
                (true, Some(k)) => Some(k),
                (true, None) => return Err(Error::internal("RANGE offset frame without an ORDER BY key")),
            };
            for i in 0..n {
                let (ps, pe) = (layout.part_start[i], layout.part_end[i]);
                let s = range_bound(&frame.start, i, ps, pe, layout, offsets, true)?;
                let e = range_bound(&frame.end, i, ps, pe, layout, offsets, false)?;
                start[i] = s;
                end[i] = e.max(s);
            }
        }
    }
    let mut out = Frames {
        start,
        end,
        hole_start: vec![],
        hole_end: vec![],
        keep_current: false,
    };
    out.exclude(frame.exclusion, layout);
    Ok(out)
}

/// One end of a GROUPS frame for row `i` of partition `[ps, pe)`: offsets count peer groups.
fn groups_bound(
    bound: &FrameBound,
    i: usize,
    ps: usize,
    pe: usize,
    layout: &Layout,
    is_start: bool,
    offset: &dyn Fn(&ScalarValue) -> Result<usize>,
) -> Result<usize> {
    let g = layout.peer_index[i];
    let (first, last) = (layout.peer_index[ps], layout.peer_index[pe - 1]);
    let target = match bound {
        FrameBound::UnboundedPreceding => return Ok(ps),
        FrameBound::UnboundedFollowing => return Ok(pe),
        FrameBound::CurrentRow => Some(g),
        FrameBound::Preceding(v) => g.checked_sub(offset(v)?).filter(|&t| t >= first),
        FrameBound::Following(v) => g.checked_add(offset(v)?).filter(|&t| t <= last),
    };
    Ok(match target {
        Some(t) if is_start => layout.peers[t].start,
        Some(t) => layout.peers[t].end,
        // Before the first group: the partition start; after the last: its end.
        None if matches!(bound, FrameBound::Preceding(_)) => ps,
        None => pe,
    })
}

/// One end of a RANGE frame for row `i` of partition `[ps, pe)`.
fn range_bound(
    bound: &FrameBound,
    i: usize,
    ps: usize,
    pe: usize,
    layout: &Layout,
    key: Option<&RangeKey>,
    is_start: bool,
) -> Result<usize> {
    let (offset, preceding) = match bound {
        FrameBound::UnboundedPreceding => return Ok(ps),
        FrameBound::UnboundedFollowing => return Ok(pe),
        FrameBound::CurrentRow => {
            return Ok(if is_start {
                layout.peer_start[i]
            } else {
                layout.peer_end[i]
            })
        }
        FrameBound::Preceding(v) => (v, true),
        FrameBound::Following(v) => (v, false),
    };
    let Some(key) = key else {
        return Err(Error::internal("RANGE offset frame without an ORDER BY key"));
    };
    let values = &key.values;
    if values.is_null(i) {
        // NULL keys are only peers of each other.
        return Ok(if is_start {
            layout.peer_start[i]
        } else {
            layout.peer_end[i]
        });
    }
    let delta = key.offset(offset)?;
    let v = values.value(i);
    // The target value moves toward smaller keys for PRECEDING in ascending order.
    let toward_smaller = preceding != key.descending;
    let target = if toward_smaller { v - delta } else { v + delta };
    // Non-null rows of the partition: the NULL peer group sits at one end.
    let (mut lo, mut hi) = (ps, pe);
    if values.is_null(ps) {
        lo = layout.peer_end[ps];
    }
    if pe > lo && values.is_null(pe - 1) {
        hi = layout.peer_start[pe - 1];
    }
    let slice = lo..hi;
    // Position of the first row that is "after" target in sort order (for an end) or not
    // "before" it (for a start).
    let before = |x: f64| {
        if key.descending {
            if is_start {
                x > target
            } else {
                x >= target
            }
        } else if is_start {
            x < target
        } else {
            x <= target
        }
    };
    let (mut a, mut b) = (slice.start, slice.end);
    while a < b {
        let mid = a + (b - a) / 2;
        if before(values.value(mid)) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    Ok(a)
}
