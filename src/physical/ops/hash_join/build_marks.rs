//! Which build rows matched, for a `CollectLeft` join whose type emits build rows by it
//! (Left, Full, LeftSemi, LeftAnti). Every partition probes the one shared table and sets
//! bits in one shared bitmap ([`SharedMarks`]); the partition whose probe side ends last
//! emits the build rows: the unmatched ones (Left, Full, LeftAnti) or the matched ones
//! (LeftSemi). A partition that never finishes its probe side (a LIMIT above it stopped
//! reading, having what it needed) never emits them, and neither does any other: whatever
//! the limit kept is then still a valid answer.
//!
//! When the broadcast build side does not fit in memory, each task grace-joins all of it
//! with its own probe partition, as for the other join types. Its build rows then carry
//! their position in the build input as one more column ([`positioned_spec`],
//! [`with_positions`]), so that [`PositionMarkingStream`] can set the shared bits by
//! position; the last task reads the build input again to emit the rows.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{new_null_array, Array, ArrayRef, UInt32Array, UInt64Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use super::table::batch_of;
use super::{output_schema, pair_schema, JoinSpec};
use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::task::TaskContext;
use crate::logical::join_type::JoinType;
use crate::physical::plan::{execute_measured, BatchStream, PlanRef};

/// A matched bit per build row, set by every partition of a `CollectLeft` join.
#[derive(Debug)]
pub(super) struct SharedMarks {
    words: Vec<AtomicU64>,
    /// Partitions whose probe side has not ended yet.
    probing: AtomicUsize,
    /// The bitmap's memory (bookkeeping the pool cannot refuse: a bit per row).
    _reservation: Mutex<MemoryReservation>,
}

impl SharedMarks {
    /// Marks for `rows` build rows, none matched, probed by `partitions` partitions.
    pub(super) fn new(rows: usize, partitions: usize, mut reservation: MemoryReservation) -> Self {
        let words = rows.div_ceil(64);
        reservation.grow(words * 8);
        Self {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            probing: AtomicUsize::new(partitions),
            _reservation: Mutex::new(reservation),
        }
    }

    /// Marks build row `row` matched.
    pub(super) fn set(&self, row: usize) {
        if let Some(word) = self.words.get(row / 64) {
            let bit = 1u64 << (row % 64);
            // Most rows of a hot build row's word are set already: read before writing.
            if word.load(Ordering::Relaxed) & bit == 0 {
                word.fetch_or(bit, Ordering::Relaxed);
            }
        }
    }

    /// Whether build row `row` matched.
    pub(super) fn get(&self, row: usize) -> bool {
        self.words
            .get(row / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) >> (row % 64) & 1 == 1)
    }

    /// Records that one partition's probe side ended. True for the last one: it then sees
    /// every partition's marks and emits the build rows.
    pub(super) fn probe_done(&self) -> bool {
        self.probing.fetch_sub(1, Ordering::AcqRel) == 1
    }
}

/// The rows from `first` on (at most `limit`) of a build side of `rows` rows whose matched
/// flag is what the join emits after its probe side; returns them and the row to go on at.
pub(super) fn rows_to_emit(
    spec: &JoinSpec,
    rows: usize,
    first: usize,
    limit: usize,
    matched: impl Fn(usize) -> bool,
) -> (Vec<u32>, usize) {
    let want_matched = spec.join_type == JoinType::LeftSemi;
    let mut idx = Vec::with_capacity(limit.min(rows.saturating_sub(first)));
    let mut row = first;
    while row < rows && idx.len() < limit {
        if matched(row) == want_matched {
            idx.push(row as u32);
        }
        row += 1;
    }
    (idx, row)
}

/// The output rows for build rows `idx` of `build` emitted after the probe side: the rows
/// themselves, NULL-extended on the probe side for Left and Full joins.
pub(super) fn build_rows_output(spec: &JoinSpec, build: &RecordBatch, idx: &UInt32Array) -> Result<RecordBatch> {
    let mut columns = Vec::with_capacity(spec.schema.fields().len());
    for c in build.columns().iter().take(spec.left_schema.fields().len()) {
        columns.push(take(c.as_ref(), idx, None)?);
    }
    if matches!(spec.join_type, JoinType::Left | JoinType::Full) {
        for f in &spec.pair_schema.fields()[spec.left_schema.fields().len()..] {
            columns.push(new_null_array(f.data_type(), idx.len()));
        }
    }
    batch_of(&spec.schema, columns, idx.len())
}

/// The join each task runs when the shared build side was too large: the build side gets
/// its row positions as a last column, and the join only emits pairs (Left becomes Inner,
/// Full becomes Right) or, for semi and anti joins, the matched build rows (LeftSemi), so
/// the positions in its output say which build rows matched.
pub(super) fn positioned_spec(spec: &JoinSpec) -> Result<JoinSpec> {
    let left_width = spec.left_schema.fields().len();
    let mut left_fields: Vec<Field> = spec.left_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    left_fields.push(Field::new("__build_row", DataType::UInt64, false));
    let left_schema = Arc::new(Schema::new(left_fields));
    let right_schema = Schema::new(spec.pair_schema.fields()[left_width..].to_vec());
    let pair_schema = pair_schema(&left_schema, &right_schema);
    // The residual filter's probe columns move one place right.
    let filter = spec
        .filter
        .as_ref()
        .map(|f| {
            f.with_columns_mapped(&|i| Some(if i < left_width { i } else { i + 1 }))
                .ok_or_else(|| Error::internal("hash join filter columns could not be remapped"))
        })
        .transpose()?;
    let join_type = match spec.join_type {
        JoinType::Left => JoinType::Inner,
        JoinType::Full => JoinType::Right,
        JoinType::LeftSemi | JoinType::LeftAnti => JoinType::LeftSemi,
        other => return Err(Error::internal(format!("a {other} join does not track build rows"))),
    };
    Ok(JoinSpec {
        left_keys: spec.left_keys.clone(),
        right_keys: spec.right_keys.clone(),
        filter,
        join_type,
        schema: output_schema(&left_schema, &right_schema, join_type),
        pair_schema,
        left_schema,
    })
}

/// The build input with each row's position (from 0) appended as a UInt64 column.
pub(super) fn with_positions(input: BatchStream, spec: &JoinSpec) -> BatchStream {
    let schema = Arc::clone(&spec.left_schema);
    let mut next = 0u64;
    Box::new(input.map(move |batch| {
        let batch = batch?;
        let rows = batch.num_rows() as u64;
        let positions: ArrayRef = Arc::new(UInt64Array::from_iter_values(next..next + rows));
        next += rows;
        let mut columns = batch.columns().to_vec();
        columns.push(positions);
        Ok(RecordBatch::try_new(Arc::clone(&schema), columns)?)
    }))
}

enum Phase {
    /// Passing on the positioned join's pairs, marking their build rows.
    Joining(BatchStream),
    /// The last partition: reading the build input again, from this row position on.
    Emitting(BatchStream, usize),
    Done,
}

/// Runs a task's positioned join (see [`positioned_spec`]): marks the build rows it
/// matched in the shared bitmap, passes its pairs on without the position column, and
/// in the last partition to finish emits the build rows by their marks.
pub(super) struct PositionMarkingStream {
    spec: Arc<JoinSpec>,
    marks: Arc<SharedMarks>,
    left: PlanRef,
    partition: usize,
    ctx: TaskContext,
    phase: Phase,
}

impl PositionMarkingStream {
    /// Wraps `joined`, the output of the positioned join of `spec`'s join; `left` is the
    /// broadcast build input, read again by the last partition.
    pub(super) fn new(
        spec: Arc<JoinSpec>,
        joined: BatchStream,
        marks: Arc<SharedMarks>,
        left: PlanRef,
        partition: usize,
        ctx: &TaskContext,
    ) -> Self {
        Self {
            spec,
            marks,
            left,
            partition,
            ctx: ctx.clone(),
            phase: Phase::Joining(joined),
        }
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let left_width = self.spec.left_schema.fields().len();
        loop {
            match &mut self.phase {
                Phase::Done => return Ok(None),
                Phase::Joining(joined) => {
                    let Some(batch) = joined.next().transpose()? else {
                        self.phase = if self.marks.probe_done() {
                            Phase::Emitting(execute_measured(&self.left, self.partition, &self.ctx)?, 0)
                        } else {
                            Phase::Done
                        };
                        continue;
                    };
                    let positions = batch
                        .column(left_width)
                        .as_any()
                        .downcast_ref::<UInt64Array>()
                        .ok_or_else(|| Error::internal("hash join build positions are not UInt64"))?;
                    // Unmatched probe rows of a Full join have no build row (NULL).
                    for p in positions.iter().flatten() {
                        self.marks.set(p as usize);
                    }
                    if matches!(self.spec.join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
                        continue;
                    }
                    let mut columns = batch.columns().to_vec();
                    columns.remove(left_width);
                    return Ok(Some(batch_of(&self.spec.schema, columns, batch.num_rows())?));
                }
                Phase::Emitting(build, offset) => {
                    let Some(batch) = build.next().transpose()? else {
                        self.phase = Phase::Done;
                        continue;
                    };
                    self.ctx.check_cancelled()?;
                    let first = *offset;
                    *offset += batch.num_rows();
                    let marks = &self.marks;
                    let (idx, _) = rows_to_emit(&self.spec, batch.num_rows(), 0, batch.num_rows(), |r| {
                        marks.get(first + r)
                    });
                    if !idx.is_empty() {
                        return Ok(Some(build_rows_output(&self.spec, &batch, &UInt32Array::from(idx))?));
                    }
                }
            }
        }
    }
}

impl Iterator for PositionMarkingStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.phase = Phase::Done;
        }
        out
    }
}
