//! `HashJoinExec`: an equi-join that builds a hash table on the left input and streams the
//! right input through it. Candidate pairs found through the table are verified with Arrow
//! equality kernels, the residual (non-equi) filter is applied to the candidate batch, and
//! the output is gathered with `take` — no per-row values are built.
//!
//! `Partitioned` joins partition p of both (hash-shuffled) inputs; `CollectLeft` builds once
//! from a broadcast left input and shares the table across the probe side's partitions.

use std::any::Any;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, BooleanArray, UInt32Array};
use arrow::compute::kernels::{boolean, cmp};
use arrow::compute::{concat_batches, filter as filter_array, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use hashbrown::HashTable;

use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::shuffle::hash_rows;
use crate::exec::task::TaskContext;
use crate::logical::join_type::JoinType;
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// How the build side is distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    /// Both sides hash-partitioned on the keys; partition p joins with partition p.
    Partitioned,
    /// The left side is broadcast; one table serves every probe partition.
    CollectLeft,
}

/// The build side: all left rows, their keys, and a chained hash table over them.
#[derive(Debug)]
struct JoinTable {
    batch: RecordBatch,
    keys: Vec<ArrayRef>,
    /// hash → 1 + index of the first row with that hash.
    heads: HashTable<(u64, u32)>,
    /// 1 + index of the next row with the same hash (0 ends the chain).
    next: Vec<u32>,
    _reservation: MemoryReservation,
}

/// Hash join of two inputs.
#[derive(Debug)]
pub struct HashJoinExec {
    left: PlanRef,
    right: PlanRef,
    on: Vec<(PhysExprRef, PhysExprRef)>,
    filter: Option<PhysExprRef>,
    join_type: JoinType,
    mode: JoinMode,
    schema: SchemaRef,
    shared_table: Mutex<Option<Arc<JoinTable>>>,
}

impl HashJoinExec {
    /// Joins `left` (build) and `right` (probe) on `on` (left expr, right expr) pairs with an
    /// optional residual `filter` over the left++right columns.
    pub fn try_new(
        left: PlanRef,
        right: PlanRef,
        on: Vec<(PhysExprRef, PhysExprRef)>,
        filter: Option<PhysExprRef>,
        join_type: JoinType,
        mode: JoinMode,
    ) -> Result<Self> {
        if mode == JoinMode::CollectLeft
            && !matches!(join_type, JoinType::Inner | JoinType::Right | JoinType::RightSemi | JoinType::RightAnti)
        {
            return Err(Error::internal(format!("a {join_type} join cannot broadcast its left side")));
        }
        let nullable = |s: &SchemaRef| -> Vec<Field> { s.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect() };
        let fields: Vec<Field> = match join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => nullable(&left.schema()),
            JoinType::RightSemi | JoinType::RightAnti => nullable(&right.schema()),
            _ => nullable(&left.schema()).into_iter().chain(nullable(&right.schema())).collect(),
        };
        Ok(Self {
            left,
            right,
            on,
            filter,
            join_type,
            mode,
            schema: Arc::new(Schema::new(fields)),
            shared_table: Mutex::new(None),
        })
    }

    fn build(&self, partition: usize, ctx: &TaskContext) -> Result<Arc<JoinTable>> {
        let mut reservation = ctx.memory().reservation(format!("HashJoin build (stage {})", ctx.stage_id));
        let mut batches = Vec::new();
        for b in self.left.execute(partition, ctx)? {
            ctx.check_cancelled()?;
            let b = b?;
            reservation.try_grow(b.get_array_memory_size())?;
            batches.push(b);
        }
        let batch = concat_batches(&self.left.schema(), &batches)?;
        drop(batches);
        let keys = self.on.iter().map(|(l, _)| l.evaluate(&batch)).collect::<Result<Vec<_>>>()?;
        let n = batch.num_rows();
        let n32 = u32::try_from(n).map_err(|_| Error::ResourcesExhausted(format!("hash join build side has {n} rows (max {})", u32::MAX)))?;
        let mut hashes = Vec::new();
        hash_rows(&keys, n, &mut hashes)?;
        reservation.try_grow(n * (4 + 16))?;
        let valid = all_valid(&keys, n);
        let mut heads: HashTable<(u64, u32)> = HashTable::with_capacity(n);
        let mut next = vec![0u32; n];
        for i in (0..n32).rev() {
            let row = i as usize;
            if valid.as_ref().is_some_and(|v| !v.value(row)) {
                continue;
            }
            let h = hashes[row];
            match heads.find_mut(h, |(eh, _)| *eh == h) {
                Some(entry) => {
                    next[row] = entry.1;
                    entry.1 = i + 1;
                }
                None => {
                    heads.insert_unique(h, (h, i + 1), |(eh, _)| *eh);
                }
            }
        }
        Ok(Arc::new(JoinTable {
            batch,
            keys,
            heads,
            next,
            _reservation: reservation,
        }))
    }

    fn table(&self, partition: usize, ctx: &TaskContext) -> Result<Arc<JoinTable>> {
        if self.mode == JoinMode::Partitioned {
            return self.build(partition, ctx);
        }
        // The first task builds; the others wait on the lock and reuse the table.
        let mut slot = self.shared_table.lock().map_err(|_| Error::internal("join table lock poisoned"))?;
        if let Some(t) = slot.as_ref() {
            return Ok(Arc::clone(t));
        }
        let table = self.build(partition, ctx)?;
        *slot = Some(Arc::clone(&table));
        Ok(table)
    }
}

/// A mask of rows whose keys are all non-NULL (`None` when every row qualifies).
fn all_valid(keys: &[ArrayRef], n: usize) -> Option<BooleanArray> {
    let mut acc: Option<BooleanArray> = None;
    for k in keys {
        if k.null_count() == 0 {
            continue;
        }
        let v = arrow::compute::is_not_null(k).ok()?;
        acc = Some(match acc {
            None => v,
            Some(a) => boolean::and(&a, &v).ok()?,
        });
    }
    let _ = n;
    acc
}

impl ExecutionPlan for HashJoinExec {
    fn name(&self) -> &'static str {
        "HashJoin"
    }
    fn details(&self) -> String {
        let on: Vec<String> = self.on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
        let mut s = format!(
            "{}, mode={}, on=[{}]",
            self.join_type,
            match self.mode {
                JoinMode::Partitioned => "partitioned",
                JoinMode::CollectLeft => "broadcast",
            },
            on.join(", ")
        );
        if let Some(f) = &self.filter {
            s.push_str(&format!(", filter={f}"));
        }
        s
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.left, &self.right]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        let right = children.pop().ok_or_else(|| Error::internal("join needs two inputs"))?;
        let left = children.pop().ok_or_else(|| Error::internal("join needs two inputs"))?;
        Ok(Arc::new(HashJoinExec::try_new(
            left,
            right,
            self.on.clone(),
            self.filter.clone(),
            self.join_type,
            self.mode,
        )?))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.right.output_partitions().or_else(|| self.left.output_partitions())
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let table = self.table(partition, ctx)?;
        let probe = self.right.execute(partition, ctx)?;
        let matched = vec![false; table.batch.num_rows()];
        Ok(Box::new(JoinStream {
            table,
            probe,
            probe_keys: self.on.iter().map(|(_, r)| Arc::clone(r)).collect(),
            filter: self.filter.clone(),
            join_type: self.join_type,
            schema: Arc::clone(&self.schema),
            right_schema: self.right.schema(),
            matched,
            done: false,
            ctx: ctx.clone(),
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct JoinStream {
    table: Arc<JoinTable>,
    probe: BatchStream,
    probe_keys: Vec<PhysExprRef>,
    filter: Option<PhysExprRef>,
    join_type: JoinType,
    schema: SchemaRef,
    right_schema: SchemaRef,
    matched: Vec<bool>,
    done: bool,
    ctx: TaskContext,
}

fn take_all(batch: &RecordBatch, idx: &UInt32Array) -> Result<Vec<ArrayRef>> {
    batch.columns().iter().map(|c| Ok(take(c.as_ref(), idx, None)?)).collect()
}

fn null_columns(schema: &SchemaRef, n: usize) -> Vec<ArrayRef> {
    schema.fields().iter().map(|f| arrow::array::new_null_array(f.data_type(), n)).collect()
}

impl JoinStream {
    fn make_batch(&self, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?)
    }

    /// Matching (build, probe) row pairs of `probe` after key verification and the filter.
    fn matches(&self, probe: &RecordBatch) -> Result<(UInt32Array, UInt32Array)> {
        let keys = self.probe_keys.iter().map(|k| k.evaluate(probe)).collect::<Result<Vec<_>>>()?;
        let n = probe.num_rows();
        let mut hashes = Vec::new();
        hash_rows(&keys, n, &mut hashes)?;
        let valid = all_valid(&keys, n);
        let (mut build_idx, mut probe_idx) = (Vec::new(), Vec::new());
        for (j, h) in hashes.iter().enumerate() {
            if valid.as_ref().is_some_and(|v| !v.value(j)) {
                continue;
            }
            if let Some((_, head)) = self.table.heads.find(*h, |(eh, _)| eh == h) {
                let mut k = *head;
                while k != 0 {
                    build_idx.push(k - 1);
                    probe_idx.push(j as u32);
                    k = self.table.next[(k - 1) as usize];
                }
            }
        }
        let build_idx = UInt32Array::from(build_idx);
        let probe_idx = UInt32Array::from(probe_idx);
        if build_idx.is_empty() {
            return Ok((build_idx, probe_idx));
        }
        // Verify keys (hash collisions) with vectorized equality.
        let mut mask: Option<BooleanArray> = None;
        for (bk, pk) in self.table.keys.iter().zip(&keys) {
            let eq = cmp::eq(&take(bk.as_ref(), &build_idx, None)?, &take(pk.as_ref(), &probe_idx, None)?)?;
            mask = Some(match mask {
                None => eq,
                Some(m) => boolean::and(&m, &eq)?,
            });
        }
        if let Some(f) = &self.filter {
            let candidate = RecordBatch::try_new_with_options(
                Arc::new(Schema::new(
                    self.table
                        .batch
                        .schema()
                        .fields()
                        .iter()
                        .chain(self.right_schema.fields().iter())
                        .map(|f| f.as_ref().clone().with_nullable(true))
                        .collect::<Vec<_>>(),
                )),
                take_all(&self.table.batch, &build_idx)?
                    .into_iter()
                    .chain(take_all(probe, &probe_idx)?)
                    .collect(),
                &RecordBatchOptions::new().with_row_count(Some(build_idx.len())),
            )?;
            let passed = f.evaluate(&candidate)?;
            let passed = passed
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| Error::internal("join filter is not boolean"))?;
            mask = Some(match mask {
                None => passed.clone(),
                Some(m) => boolean::and(&m, passed)?,
            });
        }
        match mask {
            Some(m) if m.true_count() < m.len() => {
                let m = crate::physical::expr::null_as_false(&m);
                let b = filter_array(&build_idx, &m)?;
                let p = filter_array(&probe_idx, &m)?;
                Ok((
                    b.as_any().downcast_ref::<UInt32Array>().cloned().ok_or_else(|| Error::internal("index type"))?,
                    p.as_any().downcast_ref::<UInt32Array>().cloned().ok_or_else(|| Error::internal("index type"))?,
                ))
            }
            _ => Ok((build_idx, probe_idx)),
        }
    }

    fn probe_batch(&mut self, probe: &RecordBatch) -> Result<Option<RecordBatch>> {
        let (build_idx, probe_idx) = self.matches(probe)?;
        if matches!(self.join_type, JoinType::Left | JoinType::Full | JoinType::LeftSemi | JoinType::LeftAnti) {
            for b in build_idx.values().iter() {
                self.matched[*b as usize] = true;
            }
        }
        let mut probe_hit = vec![false; probe.num_rows()];
        for p in probe_idx.values().iter() {
            probe_hit[*p as usize] = true;
        }
        match self.join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => Ok(None),
            JoinType::RightSemi | JoinType::RightAnti => {
                let keep = self.join_type == JoinType::RightSemi;
                let mask = BooleanArray::from(probe_hit.iter().map(|h| *h == keep).collect::<Vec<_>>());
                let out = arrow::compute::filter_record_batch(probe, &mask)?;
                Ok(Some(self.make_batch(out.columns().to_vec(), out.num_rows())?))
            }
            JoinType::Inner | JoinType::Left => {
                let rows = build_idx.len();
                let mut cols = take_all(&self.table.batch, &build_idx)?;
                cols.extend(take_all(probe, &probe_idx)?);
                Ok(Some(self.make_batch(cols, rows)?))
            }
            JoinType::Right | JoinType::Full => {
                // Matches, then probe rows without a match padded with NULLs on the left.
                let unmatched: Vec<u32> = (0..probe.num_rows() as u32).filter(|p| !probe_hit[*p as usize]).collect();
                let mut b: Vec<Option<u32>> = build_idx.values().iter().map(|v| Some(*v)).collect();
                b.extend(unmatched.iter().map(|_| None));
                let mut p: Vec<u32> = probe_idx.values().to_vec();
                p.extend(unmatched);
                let (b, p) = (UInt32Array::from(b), UInt32Array::from(p));
                let rows = p.len();
                let mut cols = take_all(&self.table.batch, &b)?;
                cols.extend(take_all(probe, &p)?);
                Ok(Some(self.make_batch(cols, rows)?))
            }
        }
    }

    /// Rows emitted after the probe side ends: unmatched (or matched, for semi) build rows.
    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        let keep_matched = match self.join_type {
            JoinType::LeftSemi => true,
            JoinType::LeftAnti | JoinType::Left | JoinType::Full => false,
            _ => return Ok(None),
        };
        let idx: Vec<u32> = (0..self.matched.len() as u32).filter(|i| self.matched[*i as usize] == keep_matched).collect();
        if idx.is_empty() {
            return Ok(None);
        }
        let idx = UInt32Array::from(idx);
        let rows = idx.len();
        let mut cols = take_all(&self.table.batch, &idx)?;
        if matches!(self.join_type, JoinType::Left | JoinType::Full) {
            cols.extend(null_columns(&self.right_schema, rows));
        }
        Ok(Some(self.make_batch(cols, rows)?))
    }
}

impl Iterator for JoinStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Err(e) = self.ctx.check_cancelled() {
                self.done = true;
                return Some(Err(e));
            }
            match self.probe.next() {
                Some(Ok(batch)) => match self.probe_batch(&batch) {
                    Ok(Some(out)) if out.num_rows() > 0 => return Some(Ok(out)),
                    Ok(_) => continue,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    return self.finish().transpose();
                }
            }
        }
        None
    }
}
