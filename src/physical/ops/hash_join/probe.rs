//! Probing a hash join table: per probe batch, candidate (build, probe) index pairs are
//! collected from the table, their keys verified (`verify`), the residual
//! filter applied to the candidate rows, and the output gathered with `take`. Unmatched
//! probe rows are emitted per probe batch, unmatched build rows after the probe side.
//!
//! The same stream joins the in-memory table, every grace partition and every chunk of a
//! block nested loop; in the last case [`ProbeMarks`] carry the probe rows' matched flags
//! from one chunk's pass to the next.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, BooleanArray, UInt32Array};
use arrow::compute::{filter, filter_record_batch, take};
use arrow::record_batch::RecordBatch;

use super::build_marks::{build_rows_output, rows_to_emit, SharedMarks};
use super::table::{batch_of, key_validity, JoinTable};
use super::verify::keys_equal;
use super::JoinSpec;
use crate::error::{Error, Result};
use crate::exec::shuffle::hash_rows;
use crate::exec::task::TaskContext;
use crate::logical::join_type::JoinType;
use crate::physical::plan::BatchStream;

/// Which probe rows matched in earlier passes over the same probe input (a block nested
/// loop joins each build chunk with the whole probe side): a bit per probe row, by
/// position in the probe input.
pub(super) struct ProbeMarks {
    bits: Vec<u64>,
    /// Position of the next probe batch's first row.
    offset: usize,
    /// The pass with the last build chunk: unmatched probe rows are emitted in it.
    last: bool,
}

impl ProbeMarks {
    /// Marks for `rows` probe rows, none matched.
    pub(super) fn new(rows: usize) -> Self {
        Self {
            bits: vec![0; rows.div_ceil(64)],
            offset: 0,
            last: false,
        }
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bits.capacity() * 8
    }

    /// Starts a pass over the probe input; `last` when its build chunk is the last one.
    pub(super) fn start_pass(&mut self, last: bool) {
        self.offset = 0;
        self.last = last;
    }

    fn get(&self, row: usize) -> bool {
        self.bits.get(row / 64).is_some_and(|w| w >> (row % 64) & 1 == 1)
    }

    fn set(&mut self, row: usize) {
        if let Some(w) = self.bits.get_mut(row / 64) {
            *w |= 1 << (row % 64);
        }
    }
}

/// A probe batch being joined.
struct ProbeBatch {
    batch: RecordBatch,
    keys: Vec<ArrayRef>,
    hashes: Vec<u64>,
    /// Per row, its first candidate build row (1-based; 0 when none).
    firsts: Vec<u32>,
    /// The probe row whose candidates are collected next.
    row: usize,
    /// 1-based build row to continue `row`'s chain at (0: start from the table).
    chain: u32,
    /// Per probe row: has it a match (when the join type needs to know).
    matched: Vec<bool>,
}

enum Phase {
    /// Streaming the probe side.
    Probe,
    /// Emitting build rows by their matched flag, from this row on.
    BuildRows(usize),
    Done,
}

/// Joins one in-memory table with a probe stream.
pub(super) struct HashJoinStream {
    spec: Arc<JoinSpec>,
    table: Option<Arc<JoinTable>>,
    probe_input: BatchStream,
    current: Option<ProbeBatch>,
    /// Per build row: has it a match (when the join type needs to know and the table is
    /// this stream's alone).
    build_matched: Vec<bool>,
    /// The matched bits of a table every partition probes (see [`SharedMarks`]).
    shared_marks: Option<Arc<SharedMarks>>,
    marks: Option<ProbeMarks>,
    phase: Phase,
    ctx: TaskContext,
    finished: bool,
}

impl HashJoinStream {
    /// Joins `table` with `probe`; `marks` when the probe input is passed over once per
    /// build chunk (see [`ProbeMarks`]).
    pub(super) fn new(
        spec: Arc<JoinSpec>,
        table: Arc<JoinTable>,
        probe: BatchStream,
        ctx: &TaskContext,
        marks: Option<ProbeMarks>,
    ) -> Self {
        Self::with_shared_marks(spec, table, probe, ctx, marks, None)
    }

    /// As [`Self::new`], the build rows' matches kept in `shared_marks` when the table is
    /// shared by every partition (then only the last partition to finish emits build rows).
    pub(super) fn with_shared_marks(
        spec: Arc<JoinSpec>,
        table: Arc<JoinTable>,
        probe: BatchStream,
        ctx: &TaskContext,
        marks: Option<ProbeMarks>,
        shared_marks: Option<Arc<SharedMarks>>,
    ) -> Self {
        let build_matched = if spec.tracks_build() && shared_marks.is_none() {
            vec![false; table.batch.num_rows()]
        } else {
            Vec::new()
        };
        // With no build rows only unmatched probe rows can come out: the probe side is not
        // even read unless the join emits those.
        let empty_result = table.batch.num_rows() == 0
            && !matches!(spec.join_type, JoinType::Right | JoinType::Full | JoinType::RightAnti);
        Self {
            spec,
            table: Some(table),
            probe_input: probe,
            current: None,
            build_matched,
            shared_marks,
            marks,
            phase: if empty_result { Phase::Done } else { Phase::Probe },
            ctx: ctx.clone(),
            finished: false,
        }
    }

    /// The probe marks, after the stream has ended.
    pub(super) fn take_marks(&mut self) -> Option<ProbeMarks> {
        self.marks.take()
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let table = match &self.table {
            Some(t) => Arc::clone(t),
            None => return Ok(None),
        };
        loop {
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::BuildRows(from) => {
                    let out = self.build_rows(&table, from)?;
                    if out.is_none() {
                        self.phase = Phase::Done;
                    }
                    return Ok(out);
                }
                Phase::Probe => {}
            }
            let Some(current) = self.current.as_mut() else {
                match self.probe_input.next().transpose()? {
                    Some(batch) => {
                        self.ctx.check_cancelled()?;
                        if batch.num_rows() > 0 {
                            self.current = Some(self.prepare_probe(&table, batch)?);
                        }
                    }
                    None => {
                        let emits_build_rows = match &self.shared_marks {
                            Some(shared) => shared.probe_done(),
                            None => self.spec.tracks_build(),
                        };
                        self.phase = if emits_build_rows {
                            Phase::BuildRows(0)
                        } else {
                            Phase::Done
                        };
                    }
                }
                continue;
            };
            if current.row < current.batch.num_rows() {
                let limit = self.ctx.batch_size().max(1);
                let (build_idx, probe_idx) = collect_candidates(&table, current, limit);
                if build_idx.is_empty() {
                    continue;
                }
                let out = self.join_pairs(&table, build_idx, probe_idx)?;
                if out.is_some() {
                    return Ok(out);
                }
            } else {
                let out = self.finish_probe_batch()?;
                self.current = None;
                if out.is_some() {
                    return Ok(out);
                }
            }
        }
    }

    fn prepare_probe(&self, table: &JoinTable, batch: RecordBatch) -> Result<ProbeBatch> {
        let keys: Vec<ArrayRef> = self
            .spec
            .right_keys
            .iter()
            .map(|k| Ok(crate::physical::float_zero::canonical(&k.evaluate(&batch)?)))
            .collect::<Result<_>>()?;
        let mut hashes = Vec::new();
        hash_rows(&keys, batch.num_rows(), &mut hashes)?;
        let firsts = table.first_candidates(&hashes, key_validity(&keys).as_ref());
        let matched = if self.spec.tracks_probe() {
            vec![false; batch.num_rows()]
        } else {
            Vec::new()
        };
        Ok(ProbeBatch {
            batch,
            keys,
            hashes,
            firsts,
            row: 0,
            chain: 0,
            matched,
        })
    }

    /// Verifies candidate pairs, applies the residual filter, records matches and returns
    /// the joined rows (for the join types that emit pairs).
    fn join_pairs(
        &mut self,
        table: &JoinTable,
        build_idx: Vec<u32>,
        probe_idx: Vec<u32>,
    ) -> Result<Option<RecordBatch>> {
        let current = self
            .current
            .as_mut()
            .ok_or_else(|| Error::internal("hash join lost its probe batch"))?;
        let mut build_idx = UInt32Array::from(build_idx);
        let mut probe_idx = UInt32Array::from(probe_idx);

        // Keys equal, all of them (hashes may collide).
        if let Some(mask) = keys_equal(&table.keys, &current.keys, &build_idx, &probe_idx)? {
            build_idx = downcast_u32(filter(&build_idx, &mask)?)?;
            probe_idx = downcast_u32(filter(&probe_idx, &mask)?)?;
        }

        let emits_pairs = matches!(
            self.spec.join_type,
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full
        );
        let mut pairs = None;
        if emits_pairs || self.spec.filter.is_some() {
            let mut columns = Vec::with_capacity(self.spec.pair_schema.fields().len());
            for c in table.batch.columns() {
                columns.push(take(c.as_ref(), &build_idx, None)?);
            }
            // Every probe row matched once, in order (a foreign key probing its whole
            // primary-key side): the probe columns come out as they are.
            let identity = probe_idx.len() == current.batch.num_rows()
                && probe_idx.values().iter().enumerate().all(|(i, &p)| p as usize == i);
            for c in current.batch.columns() {
                columns.push(if identity {
                    Arc::clone(c)
                } else {
                    take(c.as_ref(), &probe_idx, None)?
                });
            }
            let mut batch = batch_of(&self.spec.pair_schema, columns, probe_idx.len())?;
            if let Some(predicate) = &self.spec.filter {
                let result = predicate.evaluate(&batch)?;
                let keep = result
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| Error::internal("hash join filter did not give booleans"))?;
                if keep.true_count() < keep.len() {
                    build_idx = downcast_u32(filter(&build_idx, keep)?)?;
                    probe_idx = downcast_u32(filter(&probe_idx, keep)?)?;
                    batch = filter_record_batch(&batch, keep)?;
                }
            }
            pairs = Some(batch);
        }

        if let Some(shared) = &self.shared_marks {
            for &b in build_idx.values() {
                shared.set(b as usize);
            }
        } else if !self.build_matched.is_empty() {
            for &b in build_idx.values() {
                self.build_matched[b as usize] = true;
            }
        }
        if !current.matched.is_empty() {
            for &p in probe_idx.values() {
                current.matched[p as usize] = true;
            }
        }
        match pairs {
            Some(batch) if emits_pairs && batch.num_rows() > 0 => Ok(Some(batch_of(
                &self.spec.schema,
                batch.columns().to_vec(),
                batch.num_rows(),
            )?)),
            _ => Ok(None),
        }
    }

    /// After the last candidate of a probe batch: its unmatched rows (Right, Full,
    /// RightAnti) or matched rows (RightSemi).
    fn finish_probe_batch(&mut self) -> Result<Option<RecordBatch>> {
        let Some(current) = self.current.as_ref() else {
            return Ok(None);
        };
        let want_matched = match self.spec.join_type {
            JoinType::Right | JoinType::Full | JoinType::RightAnti => false,
            JoinType::RightSemi => true,
            _ => return Ok(None),
        };
        let idx: Vec<u32> = match self.marks.as_mut() {
            None => (0..current.matched.len() as u32)
                .filter(|&i| current.matched[i as usize] == want_matched)
                .collect(),
            Some(marks) => {
                // Matched rows come out in the first pass that matches them, unmatched ones
                // in the last pass if no pass matched them.
                let mut idx = Vec::new();
                for (i, &now) in current.matched.iter().enumerate() {
                    let row = marks.offset + i;
                    let before = marks.get(row);
                    let emit = if want_matched {
                        now && !before
                    } else {
                        marks.last && !now && !before
                    };
                    if emit {
                        idx.push(i as u32);
                    }
                    if now {
                        marks.set(row);
                    }
                }
                marks.offset += current.matched.len();
                idx
            }
        };
        if idx.is_empty() {
            return Ok(None);
        }
        let idx = UInt32Array::from(idx);
        let mut columns = Vec::with_capacity(self.spec.schema.fields().len());
        if matches!(self.spec.join_type, JoinType::Right | JoinType::Full) {
            for f in self.spec.left_schema.fields() {
                columns.push(new_null_array(f.data_type(), idx.len()));
            }
        }
        for c in current.batch.columns() {
            columns.push(take(c.as_ref(), &idx, None)?);
        }
        Ok(Some(batch_of(&self.spec.schema, columns, idx.len())?))
    }

    /// After the probe side: up to `batch_size` build rows from row `from` on that matched
    /// (LeftSemi) or did not (Left, Full, LeftAnti).
    fn build_rows(&mut self, table: &JoinTable, from: usize) -> Result<Option<RecordBatch>> {
        let limit = self.ctx.batch_size().max(1);
        let rows = table.batch.num_rows();
        let (idx, next) = match &self.shared_marks {
            Some(shared) => rows_to_emit(&self.spec, rows, from, limit, |r| shared.get(r)),
            None => rows_to_emit(&self.spec, rows, from, limit, |r| self.build_matched[r]),
        };
        self.phase = Phase::BuildRows(next);
        if idx.is_empty() {
            return Ok(None);
        }
        self.ctx.check_cancelled()?;
        Ok(Some(build_rows_output(
            &self.spec,
            &table.batch,
            &UInt32Array::from(idx),
        )?))
    }
}

/// Collects up to `limit` candidate (build row, probe row) pairs with equal key hashes,
/// resuming where the previous call stopped.
fn collect_candidates(table: &JoinTable, probe: &mut ProbeBatch, limit: usize) -> (Vec<u32>, Vec<u32>) {
    let mut build_idx = Vec::with_capacity(limit);
    let mut probe_idx = Vec::with_capacity(limit);
    let rows = probe.batch.num_rows();
    while probe.row < rows && build_idx.len() < limit {
        let row = probe.row;
        let hash = probe.hashes[row];
        let mut at = probe.chain;
        if at == 0 {
            at = probe.firsts[row];
            if at == 0 {
                probe.row += 1;
                continue;
            }
        }
        while at != 0 && build_idx.len() < limit {
            build_idx.push(at - 1);
            probe_idx.push(row as u32);
            at = table.after(at, hash);
        }
        probe.chain = at;
        if at == 0 {
            probe.row += 1;
        }
    }
    (build_idx, probe_idx)
}

fn downcast_u32(array: ArrayRef) -> Result<UInt32Array> {
    array
        .as_any()
        .downcast_ref::<UInt32Array>()
        .cloned()
        .ok_or_else(|| Error::internal("filtered join indices are not UInt32"))
}

impl Iterator for HashJoinStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.finished = true;
            self.phase = Phase::Done;
            self.current = None;
            self.table = None;
        }
        out
    }
}
