//! `HashJoinExec`: an equi-join with an optional residual predicate. The left input is the
//! build side: it is buffered (with a memory reservation) and indexed in a chained hash
//! table ([`table`]); the right input is streamed against it ([`probe`]).
//!
//! Two modes: `Partitioned` joins left partition p with right partition p (both shuffled by
//! key); `CollectLeft` builds one table from a broadcast left input, shared by every
//! partition of the operator.
//!
//! When the memory pool refuses the build side, the join becomes a grace hash join
//! ([`grace`]): both sides are split by key hash into partitions, the ones that fit stay in
//! memory, the others go to spill files and are joined one pair at a time (re-partitioned
//! when still too big); a partition that cannot be split (one key, or no keys at all) is
//! joined by a block nested loop over chunks of its build side ([`block_nested`]). In
//! `CollectLeft` mode a broadcast build side that does not fit is not shared: every task
//! grace-joins the whole build side with its own probe partition.
//!
//! Join types that emit build rows by whether they matched (Left, Full, LeftSemi,
//! LeftAnti) keep their matches in one bitmap shared by every partition in `CollectLeft`
//! mode, and the last partition to finish emits those rows ([`build_marks`]).

mod block_nested;
pub(crate) mod bloom;
mod build_marks;
mod grace;
mod probe;
mod table;
mod verify;

#[cfg(test)]
mod spill_tests;

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use self::build_marks::{positioned_spec, with_positions, PositionMarkingStream, SharedMarks};
use self::grace::{collect_build, Build, GraceJoinStream, SpilledBuild};
use self::probe::HashJoinStream;
pub(crate) use self::table::key_validity;
use self::table::JoinTable;
use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::logical::join_type::JoinType;
use crate::physical::expr::PhysExprRef;
use crate::physical::join_filter::JoinFilter;
use crate::physical::ops::shuffle_read::ShuffleReadExec;
use crate::physical::ops::sort::expr_label;
use crate::physical::plan::{execute_measured, prepare_measured};
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// How the build side is distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinMode {
    /// Both inputs are hash-partitioned on the keys: partition p joins left p with right p.
    Partitioned,
    /// The left input is broadcast: one hash table, built once, serves every partition.
    CollectLeft,
}

impl fmt::Display for JoinMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JoinMode::Partitioned => "Partitioned",
            JoinMode::CollectLeft => "CollectLeft",
        })
    }
}

/// What the join streams need, shared between partitions.
#[derive(Debug)]
struct JoinSpec {
    left_keys: Vec<PhysExprRef>,
    right_keys: Vec<PhysExprRef>,
    filter: Option<PhysExprRef>,
    join_type: JoinType,
    /// The output schema.
    schema: SchemaRef,
    /// Left fields ++ right fields as the inputs give them: the residual filter's input.
    pair_schema: SchemaRef,
    left_schema: SchemaRef,
}

/// Whether a join of this type tracks which build rows matched.
fn tracks_build(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Left | JoinType::Full | JoinType::LeftSemi | JoinType::LeftAnti
    )
}

impl JoinSpec {
    /// Whether the stream tracks which build rows matched.
    fn tracks_build(&self) -> bool {
        tracks_build(self.join_type)
    }

    /// Whether build rows without a match can produce output (then a partition with no
    /// probe rows still has to be joined).
    fn emits_unmatched_build(&self) -> bool {
        matches!(self.join_type, JoinType::Left | JoinType::Full | JoinType::LeftAnti)
    }

    /// Whether probe rows without a match can produce output.
    fn emits_unmatched_probe(&self) -> bool {
        matches!(self.join_type, JoinType::Right | JoinType::Full | JoinType::RightAnti)
    }

    /// Whether the stream tracks which probe rows matched.
    fn tracks_probe(&self) -> bool {
        matches!(
            self.join_type,
            JoinType::Right | JoinType::Full | JoinType::RightSemi | JoinType::RightAnti
        )
    }
}

/// A hash join of a build (left) and a probe (right) input.
#[derive(Debug)]
pub struct HashJoinExec {
    left: PlanRef,
    right: PlanRef,
    on: Vec<(PhysExprRef, PhysExprRef)>,
    mode: JoinMode,
    spec: Arc<JoinSpec>,
    /// The table built in `CollectLeft` mode, shared by all partitions.
    shared: Arc<Mutex<Option<SharedBuild>>>,
    /// Where the build keys' filter is published for the probe side's scan.
    join_filter: Option<Arc<JoinFilter>>,
}

impl HashJoinExec {
    /// A join of `left` (build) and `right` (probe) on `on` (left key over the left
    /// schema, right key over the right schema, of equal types), with an optional residual
    /// `filter` over the left ++ right schema. With no keys every pair is a candidate (a
    /// cross join, filtered by `filter`).
    pub fn try_new(
        left: PlanRef,
        right: PlanRef,
        on: Vec<(PhysExprRef, PhysExprRef)>,
        filter: Option<PhysExprRef>,
        join_type: JoinType,
        mode: JoinMode,
    ) -> Result<Self> {
        let left_schema = left.schema();
        let right_schema = right.schema();
        for (l, r) in &on {
            let (lt, rt) = (l.data_type(&left_schema)?, r.data_type(&right_schema)?);
            if lt != rt {
                return Err(Error::internal(format!(
                    "hash join keys {} and {} have different types {lt} and {rt}",
                    expr_label(l),
                    expr_label(r)
                )));
            }
        }
        let pair_schema = pair_schema(&left_schema, &right_schema);
        if let Some(f) = &filter {
            let t = f.data_type(&pair_schema)?;
            if t != DataType::Boolean {
                return Err(Error::internal(format!("hash join filter has type {t}, not BOOLEAN")));
            }
        }
        if mode == JoinMode::CollectLeft && right.output_partitions().is_none() && tracks_build(join_type) {
            return Err(Error::internal(format!(
                "a {join_type} join collecting its left side needs a probe side of known partitions"
            )));
        }
        if mode == JoinMode::Partitioned {
            if let (Some(l), Some(r)) = (left.output_partitions(), right.output_partitions()) {
                if l != r {
                    return Err(Error::internal(format!(
                        "partitioned hash join inputs have {l} and {r} partitions"
                    )));
                }
            }
        }
        let schema = output_schema(&left_schema, &right_schema, join_type);
        let spec = JoinSpec {
            left_keys: on.iter().map(|(l, _)| Arc::clone(l)).collect(),
            right_keys: on.iter().map(|(_, r)| Arc::clone(r)).collect(),
            filter,
            join_type,
            schema,
            pair_schema,
            left_schema,
        };
        Ok(Self {
            left,
            right,
            on,
            mode,
            spec: Arc::new(spec),
            shared: Arc::new(Mutex::new(None)),
            join_filter: None,
        })
    }

    /// This join publishing its build keys' filter to `filter` once it has built its
    /// table (`CollectLeft` mode; see [`crate::physical::join_filter`]).
    pub fn with_join_filter(&self, filter: Arc<JoinFilter>) -> Self {
        Self {
            left: Arc::clone(&self.left),
            right: Arc::clone(&self.right),
            on: self.on.clone(),
            mode: self.mode,
            spec: Arc::clone(&self.spec),
            shared: Arc::new(Mutex::new(None)),
            join_filter: Some(filter),
        }
    }

    /// Whether probe rows without a match produce output.
    pub fn emits_unmatched_probe(&self) -> bool {
        self.spec.emits_unmatched_probe()
    }

    /// Where the probe side's columns start in the output; `None` when the output has
    /// only the build side's.
    pub fn probe_column_offset(&self) -> Option<usize> {
        match self.spec.join_type {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                Some(self.left.schema().fields().len())
            }
            JoinType::RightSemi | JoinType::RightAnti => Some(0),
            JoinType::LeftSemi | JoinType::LeftAnti => None,
        }
    }

    /// The join type.
    pub fn join_type(&self) -> JoinType {
        self.spec.join_type
    }

    /// The distribution mode.
    pub fn mode(&self) -> JoinMode {
        self.mode
    }

    /// The (left key, right key) pairs.
    pub fn on(&self) -> &[(PhysExprRef, PhysExprRef)] {
        &self.on
    }

    /// The residual predicate over left ++ right.
    pub fn filter(&self) -> Option<&PhysExprRef> {
        self.spec.filter.as_ref()
    }
}

/// Left ++ right fields as the inputs give them: a residual filter's input.
fn pair_schema(left: &Schema, right: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        left.fields()
            .iter()
            .chain(right.fields().iter())
            .cloned()
            .collect::<Vec<_>>(),
    ))
}

/// Left ++ right fields, the NULL-extended side nullable; one side only for semi/anti joins.
fn output_schema(left: &Schema, right: &Schema, join_type: JoinType) -> SchemaRef {
    let side = |s: &Schema, nullable: bool| -> Vec<Field> {
        s.fields()
            .iter()
            .map(|f| {
                let f = f.as_ref().clone();
                if nullable {
                    f.with_nullable(true)
                } else {
                    f
                }
            })
            .collect()
    };
    let fields = match join_type {
        JoinType::Inner => [side(left, false), side(right, false)].concat(),
        JoinType::Left => [side(left, false), side(right, true)].concat(),
        JoinType::Right => [side(left, true), side(right, false)].concat(),
        JoinType::Full => [side(left, true), side(right, true)].concat(),
        JoinType::LeftSemi | JoinType::LeftAnti => side(left, false),
        JoinType::RightSemi | JoinType::RightAnti => side(right, false),
    };
    Arc::new(Schema::new(fields))
}

impl ExecutionPlan for HashJoinExec {
    fn name(&self) -> &'static str {
        "HashJoin"
    }

    fn details(&self) -> String {
        let on: Vec<String> = self
            .on
            .iter()
            .map(|(l, r)| format!("({}, {})", expr_label(l), expr_label(r)))
            .collect();
        let mut s = format!("{}, mode={}, on=[{}]", self.spec.join_type, self.mode, on.join(", "));
        if let Some(f) = &self.spec.filter {
            s.push_str(&format!(", filter={}", expr_label(f)));
        }
        s
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.spec.schema)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left, &self.right]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [left, right]: [PlanRef; 2] = children
            .try_into()
            .map_err(|c: Vec<PlanRef>| Error::internal(format!("HashJoin takes 2 children, got {}", c.len())))?;
        let mut join = HashJoinExec::try_new(
            left,
            right,
            self.on.clone(),
            self.spec.filter.clone(),
            self.spec.join_type,
            self.mode,
        )?;
        join.join_filter = self.join_filter.clone();
        Ok(Arc::new(join))
    }

    fn output_partitions(&self) -> Option<usize> {
        match self.mode {
            JoinMode::Partitioned => self.right.output_partitions().or(self.left.output_partitions()),
            JoinMode::CollectLeft => self.right.output_partitions(),
        }
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let source = match self.mode {
            JoinMode::Partitioned => TableSource::Own(Arc::clone(&self.left)),
            JoinMode::CollectLeft => TableSource::Shared {
                left: Arc::clone(&self.left),
                slot: Arc::clone(&self.shared),
                partitions: self.output_partitions().unwrap_or(1),
            },
        };
        let probe = execute_measured(&self.right, partition, ctx)?;
        Ok(Box::new(JoinStream {
            spec: Arc::clone(&self.spec),
            source: Some(source),
            probe: Some(probe),
            partition,
            ctx: ctx.clone(),
            inner: None,
            finished: false,
        }))
    }

    /// In `CollectLeft` mode, builds the shared table on the whole pool before any task
    /// probes it (a task that finds the slot empty would build it alone while the others
    /// wait).
    fn prepare(&self, ctx: &TaskContext) -> Result<()> {
        if self.mode == JoinMode::CollectLeft {
            self.build_shared(ctx)?;
        }
        self.children()
            .into_iter()
            .try_for_each(|child| prepare_measured(child, ctx))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl HashJoinExec {
    /// Fills the `CollectLeft` slot from the broadcast left input, building in parallel.
    /// The lock is not held while building: no task of this stage runs yet.
    fn build_shared(&self, ctx: &TaskContext) -> Result<()> {
        if lock_slot(&self.shared)?.is_some() {
            return Ok(());
        }
        let input = execute_measured(&self.left, 0, ctx)?;
        // Every partition probes the shared table: the broadcast rows it is built from are
        // not read again (a build side that spilled is: each task joins its own), so the
        // exchange lets them go before the index is built beside them.
        let release_broadcast = || {
            if let Some(read) = self.left.as_any().downcast_ref::<ShuffleReadExec>() {
                ctx.query.shuffles.release_for_sole_reader(read.stage);
            }
        };
        let build = collect_build(input, 0, ctx, &self.spec, "HashJoin (shared)", true, release_broadcast)?;
        let shared = SharedBuild::of(build, &self.spec, self.output_partitions().unwrap_or(1), ctx);
        if let (Some(filter), Some(table)) = (&self.join_filter, &shared.table) {
            filter.publish(table.key_bloom(filter.build_keys())?);
        }
        lock_slot(&self.shared)?.get_or_insert(shared);
        Ok(())
    }
}

/// What the `CollectLeft` slot holds once the broadcast input was read.
#[derive(Debug)]
struct SharedBuild {
    /// The table every partition probes; `None` when the broadcast build side did not fit
    /// in memory (then each task grace-joins on its own, see `TableSource::acquire`).
    table: Option<Arc<JoinTable>>,
    /// The build rows' matches, for the join types that emit build rows by them.
    marks: Option<Arc<SharedMarks>>,
}

impl SharedBuild {
    /// What the slot keeps of a build read for a join probed by `partitions` partitions.
    fn of(build: Build, spec: &JoinSpec, partitions: usize, ctx: &TaskContext) -> Self {
        let (table, rows) = match build {
            Build::Table(table) => {
                let rows = table.batch.num_rows();
                (Some(Arc::new(table)), rows)
            }
            Build::Spilled(spilled) => (None, spilled.rows()),
        };
        let marks = spec.tracks_build().then(|| {
            Arc::new(SharedMarks::new(
                rows,
                partitions,
                ctx.reservation("HashJoin (shared) matched build rows"),
            ))
        });
        Self { table, marks }
    }
}

/// Locks a `CollectLeft` slot.
fn lock_slot(slot: &Mutex<Option<SharedBuild>>) -> Result<std::sync::MutexGuard<'_, Option<SharedBuild>>> {
    slot.lock()
        .map_err(|_| Error::internal("hash join build lock poisoned by a panicking task"))
}

/// Where a stream gets its build side.
enum TableSource {
    /// Build from this partition of the left input.
    Own(PlanRef),
    /// Build once from the broadcast left input into the shared slot, or reuse it.
    Shared {
        left: PlanRef,
        slot: Arc<Mutex<Option<SharedBuild>>>,
        /// Partitions probing the shared table.
        partitions: usize,
    },
}

/// A build side read: one table, or partitions partly spilled.
enum Acquired {
    /// A table, its build rows' matches shared when other partitions probe it too.
    Table(Arc<JoinTable>, Option<Arc<SharedMarks>>),
    Spilled(Box<SpilledBuild>),
    /// A shared build side too large for memory, of a join that tracks build rows: this
    /// task's own build, its rows' positions appended, joined under `spec` (see
    /// [`build_marks::positioned_spec`]).
    Positioned {
        build: Box<Acquired>,
        spec: Arc<JoinSpec>,
        marks: Arc<SharedMarks>,
        left: PlanRef,
    },
}

impl From<Build> for Acquired {
    fn from(build: Build) -> Self {
        match build {
            Build::Table(t) => Acquired::Table(Arc::new(t), None),
            Build::Spilled(s) => Acquired::Spilled(Box::new(s)),
        }
    }
}

impl TableSource {
    fn acquire(self, partition: usize, ctx: &TaskContext, spec: &JoinSpec) -> Result<Acquired> {
        let consumer = format!("HashJoin[{partition}]");
        let own_build = |left: &PlanRef| -> Result<Acquired> {
            Ok(collect_build(
                execute_measured(left, partition, ctx)?,
                0,
                ctx,
                spec,
                &consumer,
                false,
                || {},
            )?
            .into())
        };
        match self {
            TableSource::Own(left) => own_build(&left),
            TableSource::Shared { left, slot, partitions } => {
                // Holding the lock while building makes the other partitions wait and reuse.
                let mut guard = lock_slot(&slot)?;
                if guard.is_none() {
                    let build = collect_build(
                        execute_measured(&left, partition, ctx)?,
                        0,
                        ctx,
                        spec,
                        &consumer,
                        false,
                        || {},
                    )?;
                    match build {
                        // Too large to share, and no build rows to track: this task joins
                        // the build side it just read (the others read their own).
                        Build::Spilled(spilled) if !spec.tracks_build() => {
                            *guard = Some(SharedBuild {
                                table: None,
                                marks: None,
                            });
                            return Ok(Acquired::Spilled(Box::new(spilled)));
                        }
                        build => *guard = Some(SharedBuild::of(build, spec, partitions, ctx)),
                    }
                }
                let shared = guard
                    .as_ref()
                    .ok_or_else(|| Error::internal("hash join shared build slot is empty"))?;
                if let Some(table) = &shared.table {
                    return Ok(Acquired::Table(Arc::clone(table), shared.marks.clone()));
                }
                let marks = shared.marks.clone();
                drop(guard);
                // Too large to share: every task joins the whole build side with its own
                // probe partition, spilling on its own; build rows are then told apart by
                // their position in the build input.
                let Some(marks) = marks else {
                    return own_build(&left);
                };
                let positioned = Arc::new(positioned_spec(spec)?);
                let input = with_positions(execute_measured(&left, partition, ctx)?, &positioned);
                let build = collect_build(input, 0, ctx, &positioned, &consumer, false, || {})?;
                Ok(Acquired::Positioned {
                    build: Box::new(build.into()),
                    spec: positioned,
                    marks,
                    left,
                })
            }
        }
    }
}

/// The stream of one partition of a [`HashJoinExec`]: reads the build side on the first
/// pull, then joins in memory or, when the build side spilled, as a grace hash join.
struct JoinStream {
    spec: Arc<JoinSpec>,
    source: Option<TableSource>,
    probe: Option<BatchStream>,
    partition: usize,
    ctx: TaskContext,
    inner: Option<BatchStream>,
    finished: bool,
}

impl JoinStream {
    fn start(&mut self) -> Result<BatchStream> {
        let (Some(source), Some(probe)) = (self.source.take(), self.probe.take()) else {
            return Err(Error::internal("hash join stream lost its inputs"));
        };
        let acquired = source.acquire(self.partition, &self.ctx, &self.spec)?;
        self.join(acquired, Arc::clone(&self.spec), probe)
    }

    /// The stream joining an acquired build side under `spec` with `probe`.
    fn join(&self, acquired: Acquired, spec: Arc<JoinSpec>, probe: BatchStream) -> Result<BatchStream> {
        Ok(match acquired {
            Acquired::Table(table, shared_marks) => Box::new(HashJoinStream::with_shared_marks(
                spec,
                table,
                probe,
                &self.ctx,
                None,
                shared_marks,
            )),
            Acquired::Spilled(build) => Box::new(GraceJoinStream::new(
                spec,
                *build,
                probe,
                &self.ctx,
                format!("HashJoin[{}]", self.partition),
            )),
            Acquired::Positioned {
                build,
                spec: positioned,
                marks,
                left,
            } => {
                let joined = self.join(*build, positioned, probe)?;
                Box::new(PositionMarkingStream::new(
                    spec,
                    joined,
                    marks,
                    left,
                    self.partition,
                    &self.ctx,
                ))
            }
        })
    }
}

impl Iterator for JoinStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if self.inner.is_none() {
            match self.start() {
                Ok(inner) => self.inner = Some(inner),
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
        let out = self.inner.as_mut().and_then(|s| s.next());
        if !matches!(out, Some(Ok(_))) {
            // Ended or failed: free the table and spill files now.
            self.finished = true;
            self.inner = None;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, BooleanArray, Int64Array, StringArray};
    use arrow::util::display::array_value_to_string;

    use super::super::limit::testing::{collect, task_ctx, task_ctx_with, TestScan};
    use super::*;
    use crate::physical::expr::PhysicalExpr;

    fn left_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("lk", DataType::Int64, true),
            Field::new("lk2", DataType::Utf8, true),
            Field::new("lv", DataType::Int64, false),
        ]))
    }

    fn right_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("rk", DataType::Int64, true),
            Field::new("rk2", DataType::Utf8, true),
            Field::new("rv", DataType::Int64, false),
            Field::new("ok", DataType::Boolean, true),
        ]))
    }

    /// lv: 10 and 11 share key (1, x); 30 has a NULL key; 40 matches nothing; 50 is (1, w).
    fn left_batches() -> Vec<RecordBatch> {
        let b1 = RecordBatch::try_new(
            left_schema(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), Some(1), Some(2)])),
                Arc::new(StringArray::from(vec!["x", "x", "y"])),
                Arc::new(Int64Array::from(vec![10, 11, 20])),
            ],
        )
        .unwrap();
        let b2 = RecordBatch::try_new(
            left_schema(),
            vec![
                Arc::new(Int64Array::from(vec![None, Some(3), Some(1)])),
                Arc::new(StringArray::from(vec!["x", "z", "w"])),
                Arc::new(Int64Array::from(vec![30, 40, 50])),
            ],
        )
        .unwrap();
        vec![b1, b2]
    }

    /// rv: 100 and 101 share key (1, x); 300 has a NULL key; 400 matches nothing.
    /// ok (for the residual filter): 100 true, 101 NULL, 200 false, 300 true, 400 true.
    fn right_batches() -> Vec<RecordBatch> {
        let b1 = RecordBatch::try_new(
            right_schema(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), Some(1)])),
                Arc::new(StringArray::from(vec!["x", "x"])),
                Arc::new(Int64Array::from(vec![100, 101])),
                Arc::new(BooleanArray::from(vec![Some(true), None])),
            ],
        )
        .unwrap();
        let b2 = RecordBatch::try_new(
            right_schema(),
            vec![
                Arc::new(Int64Array::from(vec![Some(2), None, Some(4)])),
                Arc::new(StringArray::from(vec!["y", "x", "q"])),
                Arc::new(Int64Array::from(vec![200, 300, 400])),
                Arc::new(BooleanArray::from(vec![Some(false), Some(true), Some(true)])),
            ],
        )
        .unwrap();
        vec![b1, b2]
    }

    fn on_k() -> Vec<(PhysExprRef, PhysExprRef)> {
        vec![(PhysicalExpr::column(0, "lk"), PhysicalExpr::column(0, "rk"))]
    }

    fn on_k_k2() -> Vec<(PhysExprRef, PhysExprRef)> {
        vec![
            (PhysicalExpr::column(0, "lk"), PhysicalExpr::column(0, "rk")),
            (PhysicalExpr::column(1, "lk2"), PhysicalExpr::column(1, "rk2")),
        ]
    }

    /// `ok` of the right side, in the left ++ right schema.
    fn ok_filter() -> Option<PhysExprRef> {
        Some(PhysicalExpr::column(6, "ok"))
    }

    /// Output rows as sorted `a|b|c` strings, NULL written as `-`.
    pub(super) fn rows(batches: &[RecordBatch]) -> Vec<String> {
        let mut out: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    b.columns()
                        .iter()
                        .map(|c| {
                            if c.is_null(r) {
                                "-".to_string()
                            } else {
                                array_value_to_string(c, r).unwrap()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
            })
            .collect();
        out.sort();
        out
    }

    fn join(
        on: Vec<(PhysExprRef, PhysExprRef)>,
        filter: Option<PhysExprRef>,
        join_type: JoinType,
    ) -> (Vec<String>, SchemaRef) {
        let left = TestScan::new(left_schema(), vec![left_batches()]);
        let right = TestScan::new(right_schema(), vec![right_batches()]);
        let plan: PlanRef =
            Arc::new(HashJoinExec::try_new(left, right, on, filter, join_type, JoinMode::Partitioned).unwrap());
        let ctx = task_ctx();
        let out = collect(&plan, 0, &ctx);
        assert!(out.iter().all(|b| b.num_rows() > 0 && b.schema() == plan.schema()));
        drop(plan);
        assert_eq!(ctx.memory().used(), 0);
        (
            rows(&out),
            out.first()
                .map(|b| b.schema())
                .unwrap_or_else(|| Arc::new(Schema::empty())),
        )
    }

    fn strs(v: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    const INNER: [&str; 7] = [
        "1|x|10|1|x|100|true",
        "1|x|10|1|x|101|-",
        "1|x|11|1|x|100|true",
        "1|x|11|1|x|101|-",
        "1|w|50|1|x|100|true",
        "1|w|50|1|x|101|-",
        "2|y|20|2|y|200|false",
    ];

    #[test]
    fn inner_join_with_duplicates_and_null_keys() {
        let (rows, schema) = join(on_k(), None, JoinType::Inner);
        assert_eq!(rows, strs(&INNER));
        assert_eq!(schema.fields().len(), 7);
        assert!(!schema.field(2).is_nullable());
        assert!(!schema.field(5).is_nullable());
    }

    #[test]
    fn outer_joins_null_extend_unmatched_rows() {
        let (rows, schema) = join(on_k(), None, JoinType::Left);
        let mut expected = INNER.to_vec();
        expected.extend(["-|x|30|-|-|-|-", "3|z|40|-|-|-|-"]);
        assert_eq!(rows, strs(&expected));
        assert!(schema.field(5).is_nullable() && !schema.field(2).is_nullable());

        let (rows, schema) = join(on_k(), None, JoinType::Right);
        let mut expected = INNER.to_vec();
        expected.extend(["-|-|-|-|x|300|true", "-|-|-|4|q|400|true"]);
        assert_eq!(rows, strs(&expected));
        assert!(schema.field(2).is_nullable() && !schema.field(5).is_nullable());

        let (rows, _) = join(on_k(), None, JoinType::Full);
        let mut expected = INNER.to_vec();
        expected.extend([
            "-|x|30|-|-|-|-",
            "3|z|40|-|-|-|-",
            "-|-|-|-|x|300|true",
            "-|-|-|4|q|400|true",
        ]);
        assert_eq!(rows, strs(&expected));
    }

    #[test]
    fn semi_and_anti_joins() {
        let (rows, schema) = join(on_k(), None, JoinType::LeftSemi);
        assert_eq!(rows, strs(&["1|x|10", "1|x|11", "2|y|20", "1|w|50"]));
        assert_eq!(schema.fields().len(), 3);
        let (rows, _) = join(on_k(), None, JoinType::LeftAnti);
        assert_eq!(rows, strs(&["-|x|30", "3|z|40"]));
        let (rows, schema) = join(on_k(), None, JoinType::RightSemi);
        assert_eq!(rows, strs(&["1|x|100|true", "1|x|101|-", "2|y|200|false"]));
        assert_eq!(schema.fields().len(), 4);
        let (rows, _) = join(on_k(), None, JoinType::RightAnti);
        assert_eq!(rows, strs(&["-|x|300|true", "4|q|400|true"]));
    }

    #[test]
    fn multi_key_join() {
        let (rows, _) = join(on_k_k2(), None, JoinType::Inner);
        assert_eq!(
            rows,
            strs(&[
                "1|x|10|1|x|100|true",
                "1|x|10|1|x|101|-",
                "1|x|11|1|x|100|true",
                "1|x|11|1|x|101|-",
                "2|y|20|2|y|200|false",
            ])
        );
        let (rows, _) = join(on_k_k2(), None, JoinType::LeftAnti);
        assert_eq!(rows, strs(&["-|x|30", "3|z|40", "1|w|50"]));
    }

    #[test]
    fn residual_filter_decides_matches() {
        let (rows, _) = join(on_k(), ok_filter(), JoinType::Inner);
        assert_eq!(
            rows,
            strs(&["1|x|10|1|x|100|true", "1|x|11|1|x|100|true", "1|w|50|1|x|100|true"])
        );

        let (rows, _) = join(on_k(), ok_filter(), JoinType::Left);
        assert_eq!(
            rows,
            strs(&[
                "1|x|10|1|x|100|true",
                "1|x|11|1|x|100|true",
                "1|w|50|1|x|100|true",
                "2|y|20|-|-|-|-",
                "-|x|30|-|-|-|-",
                "3|z|40|-|-|-|-",
            ])
        );
        let (rows, _) = join(on_k(), ok_filter(), JoinType::Full);
        assert_eq!(
            rows,
            strs(&[
                "1|x|10|1|x|100|true",
                "1|x|11|1|x|100|true",
                "1|w|50|1|x|100|true",
                "2|y|20|-|-|-|-",
                "-|x|30|-|-|-|-",
                "3|z|40|-|-|-|-",
                "-|-|-|1|x|101|-",
                "-|-|-|2|y|200|false",
                "-|-|-|-|x|300|true",
                "-|-|-|4|q|400|true",
            ])
        );
        let (rows, _) = join(on_k(), ok_filter(), JoinType::LeftSemi);
        assert_eq!(rows, strs(&["1|x|10", "1|x|11", "1|w|50"]));
        let (rows, _) = join(on_k(), ok_filter(), JoinType::LeftAnti);
        assert_eq!(rows, strs(&["2|y|20", "-|x|30", "3|z|40"]));
        let (rows, _) = join(on_k(), ok_filter(), JoinType::RightSemi);
        assert_eq!(rows, strs(&["1|x|100|true"]));
        let (rows, _) = join(on_k(), ok_filter(), JoinType::RightAnti);
        assert_eq!(
            rows,
            strs(&["1|x|101|-", "2|y|200|false", "-|x|300|true", "4|q|400|true"])
        );
    }

    #[test]
    fn splits_large_candidate_sets_into_batches() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let mk = |v: Vec<i64>| RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from(v))]).unwrap();
        let left = TestScan::new(Arc::clone(&schema), vec![vec![mk(vec![7, 7, 7, 7, 7, 8])]]);
        let right = TestScan::new(Arc::clone(&schema), vec![vec![mk(vec![7, 9, 7, 7])]]);
        let on = vec![(PhysicalExpr::column(0, "k"), PhysicalExpr::column(0, "k"))];
        let plan: PlanRef =
            Arc::new(HashJoinExec::try_new(left, right, on, None, JoinType::Full, JoinMode::Partitioned).unwrap());
        let out = collect(&plan, 0, &task_ctx_with(2, 1 << 30));
        assert!(
            out.iter().all(|b| b.num_rows() <= 2),
            "{:?}",
            out.iter().map(|b| b.num_rows()).collect::<Vec<_>>()
        );
        let rows = rows(&out);
        assert_eq!(rows.iter().filter(|r| r.as_str() == "7|7").count(), 15);
        assert!(rows.contains(&"8|-".to_string()) && rows.contains(&"-|9".to_string()));
        assert_eq!(rows.len(), 17);
    }

    /// Every partition's batches, the partitions run on threads of their own at once.
    fn collect_concurrently(plan: &PlanRef, partitions: usize, ctx: &TaskContext) -> Vec<Vec<RecordBatch>> {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..partitions)
                .map(|p| {
                    let plan = Arc::clone(plan);
                    let ctx = ctx.clone();
                    s.spawn(move || collect(&plan, p, &ctx))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn collect_left_builds_once_for_all_partitions() {
        let left = TestScan::broadcast(left_schema(), left_batches());
        let builds = Arc::clone(&left.executions);
        let rb = right_batches();
        let right = TestScan::new(right_schema(), vec![vec![rb[0].clone()], vec![rb[1].clone()], vec![]]);
        let plan: PlanRef =
            Arc::new(HashJoinExec::try_new(left, right, on_k(), None, JoinType::Right, JoinMode::CollectLeft).unwrap());
        assert_eq!(plan.output_partitions(), Some(3));
        let ctx = task_ctx();
        let parts = collect_concurrently(&plan, 3, &ctx);
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 1);
        let mut expected = INNER.to_vec();
        expected.extend(["-|-|-|-|x|300|true", "-|-|-|4|q|400|true"]);
        assert_eq!(rows(&parts.concat()), strs(&expected));
        assert_eq!(rows(&parts[2]), Vec::<String>::new());
        assert_eq!(plan.details(), "Right, mode=CollectLeft, on=[(lk, rk)]");
    }

    #[test]
    fn collect_left_joins_emit_build_rows_once_from_the_last_partition() {
        let rb = right_batches();
        for (jt, filter) in [JoinType::Left, JoinType::Full, JoinType::LeftSemi, JoinType::LeftAnti]
            .into_iter()
            .flat_map(|jt| [(jt, None), (jt, ok_filter())])
        {
            let (expected, _) = join(on_k(), filter.clone(), jt);
            let left = TestScan::broadcast(left_schema(), left_batches());
            let right = TestScan::new(right_schema(), vec![vec![rb[0].clone()], vec![], vec![rb[1].clone()]]);
            let plan: PlanRef = Arc::new(
                HashJoinExec::try_new(left, right, on_k(), filter.clone(), jt, JoinMode::CollectLeft).unwrap(),
            );
            let ctx = task_ctx();
            plan.prepare(&ctx).unwrap();
            let parts = collect_concurrently(&plan, 3, &ctx);
            assert_eq!(rows(&parts.concat()), expected, "{jt} filter={}", filter.is_some());
            drop(plan);
            assert_eq!(ctx.memory().used(), 0);
        }
    }

    #[test]
    fn rejects_bad_plans_and_reports_memory_exhaustion() {
        let left = || TestScan::broadcast(left_schema(), left_batches()) as PlanRef;
        let right = || TestScan::new(right_schema(), vec![right_batches()]) as PlanRef;
        // Build rows are emitted by the last partition to finish: it must know how many.
        let unknown_partitions = || TestScan::broadcast(right_schema(), right_batches()) as PlanRef;
        for jt in [JoinType::Left, JoinType::Full, JoinType::LeftSemi, JoinType::LeftAnti] {
            assert!(
                HashJoinExec::try_new(left(), unknown_partitions(), on_k(), None, jt, JoinMode::CollectLeft).is_err()
            );
            assert!(HashJoinExec::try_new(left(), right(), on_k(), None, jt, JoinMode::CollectLeft).is_ok());
        }
        let mismatched = vec![(PhysicalExpr::column(0, "lk"), PhysicalExpr::column(1, "rk2"))];
        assert!(HashJoinExec::try_new(
            left(),
            right(),
            mismatched,
            None,
            JoinType::Inner,
            JoinMode::Partitioned
        )
        .is_err());
        let plan = HashJoinExec::try_new(
            left(),
            right(),
            on_k(),
            ok_filter(),
            JoinType::Inner,
            JoinMode::Partitioned,
        )
        .unwrap();
        assert_eq!(plan.details(), "Inner, mode=Partitioned, on=[(lk, rk)], filter=ok");
        let err = plan
            .execute(0, &task_ctx_with(8192, 100))
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap_err();
        assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
    }

    #[test]
    fn no_keys_is_a_filtered_cross_join() {
        let (rows, _) = join(vec![], ok_filter(), JoinType::Inner);
        assert_eq!(rows.len(), 6 * 3);
        assert!(rows.contains(&"3|z|40|4|q|400|true".to_string()));
        assert!(rows.iter().all(|r| r.ends_with("|true")));
        let (rows, _) = join(vec![], ok_filter(), JoinType::RightAnti);
        assert_eq!(rows, strs(&["1|x|101|-", "2|y|200|false"]));
        let (rows, _) = join(vec![], None, JoinType::LeftAnti);
        assert!(rows.is_empty());
        // The keyless joins decorrelated subqueries use: every left row against the right
        // rows the residual keeps (three of five), unmatched left rows kept or dropped.
        let (rows, _) = join(vec![], ok_filter(), JoinType::Left);
        assert_eq!(rows.len(), 6 * 3);
        assert!(rows.iter().all(|r| r.ends_with("|true")));
        let (rows, _) = join(vec![], ok_filter(), JoinType::LeftSemi);
        assert_eq!(rows.len(), 6);
        let (rows, _) = join(vec![], ok_filter(), JoinType::LeftAnti);
        assert!(rows.is_empty());
        let never = Some(PhysicalExpr::literal(datafusion_common::ScalarValue::Boolean(Some(
            false,
        ))));
        let (rows, _) = join(vec![], never.clone(), JoinType::Left);
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.ends_with("|-|-|-|-")));
        let (rows, _) = join(vec![], never, JoinType::LeftAnti);
        assert_eq!(rows.len(), 6);
    }

    #[test]
    fn empty_build_side() {
        let left = TestScan::new(left_schema(), vec![vec![]]);
        let right = TestScan::new(right_schema(), vec![right_batches()]);
        let pulled = Arc::clone(&right.pulled);
        let plan: PlanRef =
            Arc::new(HashJoinExec::try_new(left, right, on_k(), None, JoinType::Inner, JoinMode::Partitioned).unwrap());
        assert!(collect(&plan, 0, &task_ctx()).is_empty());
        assert_eq!(pulled.load(std::sync::atomic::Ordering::SeqCst), 0);

        let left = TestScan::new(left_schema(), vec![vec![]]);
        let right = TestScan::new(right_schema(), vec![right_batches()]);
        let plan: PlanRef = Arc::new(
            HashJoinExec::try_new(left, right, on_k(), None, JoinType::RightAnti, JoinMode::Partitioned).unwrap(),
        );
        assert_eq!(rows(&collect(&plan, 0, &task_ctx())).len(), 5);
    }
}
