//! A window partition too large for memory, computed from its spill file in chunks with
//! state carried from chunk to chunk. Only calls whose value at a row depends on the rows
//! before it and on nothing after it (beyond the row's peers) can be computed this way:
//! `row_number`, `rank`, `dense_rank`, and `count`, `sum` (integers and decimals, which
//! are exact), `min`, `max` over `ROWS`/`RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`.
//! Chunks end at peer-group boundaries when a call needs peers (ranks, RANGE frames), so a
//! peer group must fit in memory. Each chunk is computed as if it were the whole partition,
//! then every call's column is shifted by the carried value of the previous chunk's last row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, Scalar};
use arrow::compute::kernels::cmp::{gt, lt};
use arrow::compute::kernels::numeric::add;
use arrow::compute::kernels::zip::zip;
use arrow::compute::{cast, concat_batches, is_null};
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::{human_bytes, MemoryReservation};
use crate::exec::task::TaskContext;
use crate::logical::aggregate::AggFunc;
use crate::logical::window::{FrameBound, FrameExclusion, FrameUnits, WindowFunc};
use crate::physical::float_zero::canonical;
use crate::physical::ops::sort::batch_memory;
use crate::physical::ops::sort::merge::task_share;
use crate::physical::plan::BatchStream;

use super::stream::groups;
use super::{PhysWindowExpr, WindowCalls};

/// How a call's chunk column is joined to the previous chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carry {
    /// Plus the rows before the chunk (`row_number`, `rank`).
    Rows,
    /// Plus the previous last value (`dense_rank`, `count`, `sum`).
    Add,
    /// The smaller (larger) of the value and the previous last value.
    Min,
    /// See `Min`.
    Max,
}

/// How each call carries over chunks, or `None` when some call needs rows after the current
/// one (then a partition must fit in memory).
fn carries(calls: &WindowCalls, schema: &Schema) -> Option<Vec<Carry>> {
    calls.exprs.iter().map(|e| carry_of(e, schema)).collect()
}

fn carry_of(e: &PhysWindowExpr, schema: &Schema) -> Option<Carry> {
    match e.func {
        WindowFunc::RowNumber | WindowFunc::Rank => Some(Carry::Rows),
        WindowFunc::DenseRank => Some(Carry::Add),
        WindowFunc::Aggregate(agg) => {
            let running = e.frame.start == FrameBound::UnboundedPreceding
                && e.frame.end == FrameBound::CurrentRow
                && e.frame.exclusion == FrameExclusion::NoOthers
                && matches!(e.frame.units, FrameUnits::Rows | FrameUnits::Range)
                && !e.distinct;
            if !running {
                return None;
            }
            match agg {
                AggFunc::Count => Some(Carry::Add),
                AggFunc::Min => Some(Carry::Min),
                AggFunc::Max => Some(Carry::Max),
                AggFunc::Sum => {
                    // Float sums depend on the order of additions: not exact in chunks.
                    let t = e.args.first()?.data_type(schema).ok()?;
                    (t.is_integer() || matches!(t, arrow::datatypes::DataType::Decimal128(_, _))).then_some(Carry::Add)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether chunks must end at peer-group boundaries.
fn needs_peers(calls: &WindowCalls) -> bool {
    calls.exprs.iter().any(|e| {
        matches!(e.func, WindowFunc::Rank | WindowFunc::DenseRank)
            || (matches!(e.func, WindowFunc::Aggregate(_)) && e.frame.units != FrameUnits::Rows)
    })
}

/// Whether a partition of these calls can be computed from disk in chunks.
pub(super) fn streamable(calls: &WindowCalls, input_schema: &Schema) -> bool {
    carries(calls, input_schema).is_some() && (!needs_peers(calls) || !calls.order_keys.is_empty())
}

/// The output of one spilled window partition, computed chunk by chunk.
pub(super) struct SpilledPartition {
    input: BatchStream,
    calls: Arc<WindowCalls>,
    carries: Vec<Carry>,
    needs_peers: bool,
    ctx: TaskContext,
    reservation: MemoryReservation,
    /// The last value of each call so far (one-row arrays).
    last: Vec<Option<ArrayRef>>,
    rows_done: i64,
    /// Rows of the peer group in progress (when chunks end at peer boundaries).
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
    /// The order keys of the last pending row.
    pending_key: Vec<ArrayRef>,
}

impl SpilledPartition {
    /// Computes the partition read from `input` (its rows, in order).
    pub(super) fn new(
        input: BatchStream,
        calls: Arc<WindowCalls>,
        input_schema: &Schema,
        ctx: &TaskContext,
        consumer: &str,
    ) -> Result<Self> {
        let carries = carries(&calls, input_schema)
            .ok_or_else(|| Error::internal("window partition spilled for calls that cannot stream"))?;
        Ok(Self {
            input,
            needs_peers: needs_peers(&calls),
            last: vec![None; calls.exprs.len()],
            calls,
            carries,
            ctx: ctx.clone(),
            reservation: ctx.reservation(format!("{consumer} spilled partition")),
            rows_done: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            pending_key: Vec::new(),
        })
    }

    /// Computes `batches` (whole peer groups following the previous chunks).
    fn chunk(&mut self, batches: Vec<RecordBatch>) -> Result<Option<RecordBatch>> {
        let input = match batches.as_slice() {
            [] => return Ok(None),
            [one] => one.clone(),
            [first, ..] => concat_batches(&first.schema(), &batches)?,
        };
        drop(batches);
        let out = self.calls.compute(&input)?;
        let width = input.num_columns();
        let rows = out.num_rows();
        let mut columns = out.columns().to_vec();
        for (j, carry) in self.carries.iter().enumerate() {
            let col = &columns[width + j];
            let joined = match (carry, &self.last[j]) {
                (Carry::Rows, _) => add(col, &Scalar::new(Int64Array::from(vec![self.rows_done])))?,
                (_, None) => Arc::clone(col),
                // Nothing but NULLs so far: the chunk's own values.
                (_, Some(last)) if last.is_null(0) => Arc::clone(col),
                (Carry::Add, Some(last)) => {
                    let last = Scalar::new(Arc::clone(last));
                    let sum = add(col, &last)?;
                    zip(&is_null(col)?, &last, &sum)?
                }
                (Carry::Min | Carry::Max, Some(last)) => {
                    let last = Scalar::new(Arc::clone(last));
                    let better = if *carry == Carry::Max {
                        gt(col, &last)?
                    } else {
                        lt(col, &last)?
                    };
                    // NULL (no value in the chunk yet) keeps the previous value.
                    let better = match better.nulls() {
                        Some(nulls) => BooleanArray::new(better.values() & nulls.inner(), None),
                        None => better,
                    };
                    zip(&better, col, &last)?
                }
            };
            let joined = if joined.data_type() == col.data_type() {
                joined
            } else {
                cast(&joined, col.data_type())?
            };
            self.last[j] = Some(joined.slice(rows - 1, 1));
            columns[width + j] = joined;
        }
        self.rows_done += rows as i64;
        Ok(Some(RecordBatch::try_new(out.schema(), columns)?))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            self.ctx.check_cancelled()?;
            let Some(batch) = self.input.next().transpose()? else {
                let rest = std::mem::take(&mut self.pending);
                self.reservation.free();
                return self.chunk(rest);
            };
            if batch.num_rows() == 0 {
                continue;
            }
            if !self.needs_peers {
                return self.chunk(vec![batch]);
            }
            let keys = self
                .calls
                .order_keys
                .iter()
                .map(|k| Ok(canonical(&k.expr.evaluate(&batch)?)))
                .collect::<Result<Vec<_>>>()?;
            let (ranges, continues) = groups(&keys, &self.pending_key)?;
            let cut = ranges.last().map_or(0, |r| r.start);
            let last_row = batch.num_rows() - 1;
            let pending_key: Vec<ArrayRef> = keys.iter().map(|k| k.slice(last_row, 1)).collect();
            if cut == 0 && continues {
                self.hold(batch)?;
                self.pending_key = pending_key;
                continue;
            }
            let mut complete = std::mem::take(&mut self.pending);
            if cut > 0 {
                complete.push(batch.slice(0, cut));
            }
            self.reservation.free();
            self.pending_bytes = 0;
            self.hold(batch.slice(cut, batch.num_rows() - cut))?;
            self.pending_key = pending_key;
            if let Some(out) = self.chunk(complete)? {
                return Ok(Some(out));
            }
        }
    }

    /// Keeps rows of the peer group in progress.
    fn hold(&mut self, batch: RecordBatch) -> Result<()> {
        let bytes = 2 * batch_memory(&batch);
        if self.reservation.try_grow(bytes).is_err() {
            if self.pending_bytes + bytes > task_share(&self.ctx) {
                return Err(Error::ResourcesExhausted(format!(
                    "{} cannot hold one group of peer rows (equal ORDER BY keys) of more than {} within \
                     the {} memory limit",
                    self.reservation.consumer(),
                    human_bytes((self.pending_bytes + bytes) / 2),
                    human_bytes(self.ctx.memory().limit()),
                )));
            }
            self.reservation.grow(bytes);
        }
        self.pending_bytes += bytes;
        self.pending.push(batch);
        Ok(())
    }
}

impl Iterator for SpilledPartition {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.input = Box::new(std::iter::empty());
            self.pending.clear();
            self.reservation.free();
        }
        out
    }
}
