//! The grace hash join: what a hash join does when the memory pool refuses its build side.
//!
//! The build rows are split into [`FANOUT`] partitions by a hash of the join keys (the
//! shuffle's row hash remixed with a per-level seed, so the partition is independent of the
//! shuffle's bucket `(h >> 32) % n`, of the bits the hash table uses and of the partition
//! at other levels). Partitions stay buffered while the pool allows; when it refuses, the
//! largest buffered partition goes to a spill file and every later row of it follows.
//! The partitions left in memory form one table. The probe side is then streamed: rows of
//! in-memory partitions are joined at once, rows of spilled partitions are written to
//! probe-side partition files. Finally each spilled (build, probe) pair is joined on its
//! own, recursively: its build side may fit, or is partitioned again one level down. A
//! partition that splitting does not shrink (no join keys, or at least 3/4 of its level's
//! rows: a dominant key value) or that is [`MAX_LEVELS`] deep is joined by a block nested
//! loop ([`super::block_nested`]).
//!
//! Rows with equal keys always share a partition, and NULL keys (which match nothing)
//! have a partition like any other, so every join type is evaluated pair by pair with the
//! in-memory algorithm: unmatched build rows come out when their partition's probe side is
//! done, unmatched probe rows as they go.

use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::block_nested::BlockNestedStream;
use super::probe::HashJoinStream;
use super::table::{table_overhead, JoinTable};
use super::JoinSpec;
use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::shuffle::hash_rows;
use crate::exec::spill::{SpillFile, SpillReader, SpillWriter};
use crate::exec::task::TaskContext;
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::BatchStream;

/// Partitions per level.
pub(super) const FANOUT: usize = 16;
/// Partitioning levels before a partition still too big is joined by block nested loop.
const MAX_LEVELS: u32 = 4;
/// Bytes of rows a partition collects (while the pool allows) before they are written as
/// one batch. The spill writers' own I/O buffers are not counted, as for the shuffle's.
const FLUSH_BYTES: usize = 256 << 10;

/// The grace partition of a row whose key hash is `hash`, at recursion `level`.
pub(super) fn partition_of(hash: u64, level: u32) -> usize {
    // splitmix64's finalizer over the hash xor a per-level seed.
    let mut x = hash ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(u64::from(level) + 1);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % FANOUT as u64) as usize
}

/// The grace partition of every row of `batch`.
fn row_partitions(batch: &RecordBatch, keys: &[PhysExprRef], level: u32) -> Result<Vec<usize>> {
    let keys: Vec<ArrayRef> = keys.iter().map(|k| k.evaluate(batch)).collect::<Result<_>>()?;
    let mut hashes = Vec::new();
    hash_rows(&keys, batch.num_rows(), &mut hashes)?;
    Ok(hashes.iter().map(|&h| partition_of(h, level)).collect())
}

/// The rows `idx` of `batch`.
fn take_rows(batch: &RecordBatch, idx: Vec<u32>) -> Result<RecordBatch> {
    if idx.len() == batch.num_rows() {
        Ok(batch.clone())
    } else {
        crate::physical::rows::take_rows(batch, &UInt32Array::from(idx))
    }
}

/// The spill file of one partition; small pieces are collected and written as one batch.
struct PartWriter {
    writer: SpillWriter,
    pending: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
}

impl PartWriter {
    fn open(ctx: &TaskContext, schema: &SchemaRef) -> Result<Self> {
        Ok(Self {
            writer: ctx.spill().writer(&ctx.spill_label("HashJoin"), schema)?,
            pending: Vec::new(),
            rows: 0,
            bytes: 0,
        })
    }

    /// Appends rows: collected while `io` may grow, written at once when it may not.
    fn push(&mut self, batch: RecordBatch, io: &mut MemoryReservation, batch_size: usize) -> Result<()> {
        let size = batch.get_array_memory_size();
        let counted = io.try_grow(size).is_ok();
        if counted {
            self.bytes += size;
        }
        self.rows += batch.num_rows();
        self.pending.push(batch);
        if !counted || self.bytes >= FLUSH_BYTES || self.rows >= batch_size {
            self.flush(io)?;
        }
        Ok(())
    }

    fn flush(&mut self, io: &mut MemoryReservation) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = if self.pending.len() == 1 {
            self.pending.swap_remove(0)
        } else {
            concat_batches(self.writer.schema(), &self.pending)?
        };
        self.pending.clear();
        self.writer.write(&batch)?;
        io.shrink(self.bytes);
        self.bytes = 0;
        self.rows = 0;
        Ok(())
    }

    fn finish(mut self, io: &mut MemoryReservation) -> Result<SpillFile> {
        self.flush(io)?;
        self.writer.finish()
    }
}

/// Finishes every open writer; `None` where a partition has none.
fn finish_all(writers: &mut [Option<PartWriter>], io: &mut MemoryReservation) -> Result<Vec<Option<SpillFile>>> {
    writers
        .iter_mut()
        .map(|w| w.take().map(|w| w.finish(io)).transpose())
        .collect()
}

/// A build side read by [`collect_build`].
pub(super) enum Build {
    /// Everything fit: one table.
    Table(JoinTable),
    /// The build side was partitioned and partly spilled.
    Spilled(SpilledBuild),
}

/// A build side split into grace partitions, some spilled.
pub(super) struct SpilledBuild {
    /// The partitions kept in memory, as one table (possibly empty).
    table: JoinTable,
    /// Per partition: kept in `table`.
    in_memory: Vec<bool>,
    /// Per partition: its spill file, when spilled.
    files: Vec<Option<SpillFile>>,
    /// The partitioning level.
    level: u32,
    /// Build rows over all partitions.
    rows: u64,
}

impl SpilledBuild {
    /// Build rows over all partitions.
    pub(super) fn rows(&self) -> usize {
        self.rows as usize
    }
}

/// Reads a build input: into one table when the pool allows, else into grace partitions
/// of `level`. `consumer` names the operator in reservations and errors; `parallel` builds
/// the table on the whole pool (see [`JoinTable::from_batches`]). `on_table` is called
/// once the input is read in full and will become a table, before the table is built (a
/// shared build lets the exchange it read from drop its copy of the rows then, so the
/// index is not built beside two copies of them).
pub(super) fn collect_build(
    mut input: BatchStream,
    level: u32,
    ctx: &TaskContext,
    spec: &JoinSpec,
    consumer: &str,
    parallel: bool,
    on_table: impl FnOnce(),
) -> Result<Build> {
    let mut reservation = ctx.reservation(format!("{consumer} build side"));
    let mut batches = Vec::new();
    while let Some(batch) = input.next().transpose()? {
        ctx.check_cancelled()?;
        if batch.num_rows() == 0 {
            continue;
        }
        if reservation.try_grow(batch.get_array_memory_size()).is_err() {
            let mut parts = BuildPartitions::start(batches, reservation, level, ctx, spec, consumer)?;
            parts.push(batch)?;
            for batch in input {
                parts.push(batch?)?;
            }
            return Ok(Build::Spilled(parts.finish()?));
        }
        batches.push(batch);
    }
    drop(input);
    let overhead = table_overhead(&batches);
    if overhead > 0 && reservation.try_grow(overhead).is_err() {
        let parts = BuildPartitions::start(batches, reservation, level, ctx, spec, consumer)?;
        return Ok(Build::Spilled(parts.finish()?));
    }
    on_table();
    Ok(Build::Table(JoinTable::from_batches(
        batches,
        reservation,
        spec,
        parallel,
    )?))
}

/// Build rows being split into grace partitions.
struct BuildPartitions<'a> {
    spec: &'a JoinSpec,
    ctx: &'a TaskContext,
    level: u32,
    /// The buffered partitions' rows (and, at the end, their table).
    reservation: MemoryReservation,
    /// Rows waiting to be written.
    io: MemoryReservation,
    buffered: Vec<Vec<RecordBatch>>,
    bytes: Vec<usize>,
    writers: Vec<Option<PartWriter>>,
    rows: u64,
}

impl<'a> BuildPartitions<'a> {
    /// Starts partitioning with the rows buffered so far (held by `held`).
    fn start(
        batches: Vec<RecordBatch>,
        mut held: MemoryReservation,
        level: u32,
        ctx: &'a TaskContext,
        spec: &'a JoinSpec,
        consumer: &str,
    ) -> Result<Self> {
        let mut parts = Self {
            spec,
            ctx,
            level,
            reservation: ctx.reservation(format!("{consumer} build partitions")),
            io: ctx.reservation(format!("{consumer} spill buffers")),
            buffered: vec![Vec::new(); FANOUT],
            bytes: vec![0; FANOUT],
            writers: (0..FANOUT).map(|_| None).collect(),
            rows: 0,
        };
        for batch in batches {
            // Its pieces replace it.
            held.shrink(batch.get_array_memory_size());
            parts.push(batch)?;
        }
        Ok(parts)
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.ctx.check_cancelled()?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        let mut idx = vec![Vec::new(); FANOUT];
        for (row, p) in row_partitions(&batch, &self.spec.left_keys, self.level)?
            .into_iter()
            .enumerate()
        {
            idx[p].push(row as u32);
        }
        for (p, idx) in idx.into_iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let piece = take_rows(&batch, idx)?;
            if self.writers[p].is_none() {
                let size = piece.get_array_memory_size();
                while self.writers[p].is_none() && self.reservation.try_grow(size).is_err() {
                    if !self.spill_largest()? {
                        self.spill(p)?;
                    }
                }
                if self.writers[p].is_none() {
                    self.bytes[p] += size;
                    self.buffered[p].push(piece);
                    continue;
                }
            }
            self.write(p, piece)?;
        }
        Ok(())
    }

    fn write(&mut self, p: usize, piece: RecordBatch) -> Result<()> {
        let batch_size = self.ctx.batch_size().max(1);
        let writer = match &mut self.writers[p] {
            Some(w) => w,
            None => self.writers[p].insert(PartWriter::open(self.ctx, &self.spec.left_schema)?),
        };
        writer.push(piece, &mut self.io, batch_size)
    }

    /// Moves partition `p` to disk; its later rows follow.
    fn spill(&mut self, p: usize) -> Result<()> {
        if self.writers[p].is_none() {
            self.writers[p] = Some(PartWriter::open(self.ctx, &self.spec.left_schema)?);
        }
        // The rows move from the partition's share to the writer's pending rows.
        let batches = std::mem::take(&mut self.buffered[p]);
        self.reservation.shrink(self.bytes[p]);
        self.bytes[p] = 0;
        for batch in batches {
            self.write(p, batch)?;
        }
        Ok(())
    }

    /// Spills the largest buffered partition; false when none holds rows.
    fn spill_largest(&mut self) -> Result<bool> {
        let largest = (0..FANOUT)
            .filter(|&p| self.writers[p].is_none() && self.bytes[p] > 0)
            .max_by_key(|&p| self.bytes[p]);
        match largest {
            Some(p) => self.spill(p).map(|_| true),
            None => Ok(false),
        }
    }

    /// Builds the table of the partitions that stay in memory (spilling more until its
    /// index fits) and closes the spill files.
    fn finish(mut self) -> Result<SpilledBuild> {
        loop {
            let overhead = table_overhead(&self.buffered.concat());
            if overhead == 0 || self.reservation.try_grow(overhead).is_ok() || !self.spill_largest()? {
                break;
            }
        }
        let in_memory: Vec<bool> = self.writers.iter().map(|w| w.is_none()).collect();
        let files = finish_all(&mut self.writers, &mut self.io)?;
        let batches = std::mem::take(&mut self.buffered).concat();
        let table = JoinTable::from_batches(batches, self.reservation, self.spec, false)?;
        Ok(SpilledBuild {
            table,
            in_memory,
            files,
            level: self.level,
            rows: self.rows,
        })
    }
}

/// Splits the probe side like the build side: rows of in-memory partitions are handed to
/// the in-memory join, the others written to per-partition files.
struct ProbeRouter {
    input: BatchStream,
    spec: Arc<JoinSpec>,
    ctx: TaskContext,
    level: u32,
    in_memory: Vec<bool>,
    writers: Vec<Option<PartWriter>>,
    io: MemoryReservation,
    done: bool,
}

impl ProbeRouter {
    /// The next probe rows of in-memory partitions, spilling the others on the way.
    fn next_in_memory(&mut self) -> Result<Option<RecordBatch>> {
        while !self.done {
            let Some(batch) = self.input.next().transpose()? else {
                self.done = true;
                self.input = Box::new(std::iter::empty());
                break;
            };
            self.ctx.check_cancelled()?;
            if batch.num_rows() == 0 {
                continue;
            }
            let mut keep = Vec::new();
            let mut spill = vec![Vec::new(); FANOUT];
            for (row, p) in row_partitions(&batch, &self.spec.right_keys, self.level)?
                .into_iter()
                .enumerate()
            {
                if self.in_memory[p] {
                    keep.push(row as u32);
                } else {
                    spill[p].push(row as u32);
                }
            }
            let batch_size = self.ctx.batch_size().max(1);
            for (p, idx) in spill.into_iter().enumerate() {
                if idx.is_empty() {
                    continue;
                }
                let piece = take_rows(&batch, idx)?;
                let writer = match &mut self.writers[p] {
                    Some(w) => w,
                    None => self.writers[p].insert(PartWriter::open(&self.ctx, &batch.schema())?),
                };
                writer.push(piece, &mut self.io, batch_size)?;
            }
            if !keep.is_empty() {
                return Ok(Some(take_rows(&batch, keep)?));
            }
        }
        Ok(None)
    }

    /// Routes the rest of the probe side (rows of in-memory partitions are done with) and
    /// closes the files.
    fn finish(&mut self) -> Result<Vec<Option<SpillFile>>> {
        while self.next_in_memory()?.is_some() {}
        finish_all(&mut self.writers, &mut self.io)
    }
}

/// The probe input of the in-memory partitions' join.
struct RoutedProbe(Arc<Mutex<ProbeRouter>>);

impl Iterator for RoutedProbe {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.0.lock() {
            Ok(mut router) => router.next_in_memory().transpose(),
            Err(_) => Some(Err(Error::internal("hash join probe router poisoned"))),
        }
    }
}

/// A spill file's batches; the file lives (on disk) as long as the stream.
struct FileStream {
    reader: SpillReader,
    _file: SpillFile,
}

impl Iterator for FileStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next()
    }
}

/// Streams `file` (nothing when `None`), removing it at the end.
fn file_stream(file: Option<SpillFile>) -> Result<BatchStream> {
    Ok(match file {
        None => Box::new(std::iter::empty()),
        Some(file) => Box::new(FileStream {
            reader: file.read()?,
            _file: file,
        }),
    })
}

/// A grace hash join: the in-memory partitions first, then each spilled pair.
pub(super) struct GraceJoinStream {
    spec: Arc<JoinSpec>,
    ctx: TaskContext,
    consumer: String,
    level: u32,
    /// Build rows at this level.
    rows: u64,
    in_memory: Option<HashJoinStream>,
    router: Option<Arc<Mutex<ProbeRouter>>>,
    build_files: Vec<Option<SpillFile>>,
    /// Spilled (build, probe) pairs still to join, last first.
    pending: Vec<(SpillFile, Option<SpillFile>)>,
    current: Option<BatchStream>,
    finished: bool,
}

impl GraceJoinStream {
    /// Joins the partitioned `build` with the `probe` input.
    pub(super) fn new(
        spec: Arc<JoinSpec>,
        build: SpilledBuild,
        probe: BatchStream,
        ctx: &TaskContext,
        consumer: String,
    ) -> Self {
        let SpilledBuild {
            table,
            in_memory,
            files,
            level,
            rows,
        } = build;
        let router = Arc::new(Mutex::new(ProbeRouter {
            input: probe,
            spec: Arc::clone(&spec),
            ctx: ctx.clone(),
            level,
            in_memory,
            writers: (0..FANOUT).map(|_| None).collect(),
            io: ctx.reservation(format!("{consumer} probe spill buffers")),
            done: false,
        }));
        let in_memory = HashJoinStream::new(
            Arc::clone(&spec),
            Arc::new(table),
            Box::new(RoutedProbe(Arc::clone(&router))),
            ctx,
            None,
        );
        Self {
            spec,
            ctx: ctx.clone(),
            consumer,
            level,
            rows,
            in_memory: Some(in_memory),
            router: Some(router),
            build_files: files,
            pending: Vec::new(),
            current: None,
            finished: false,
        }
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(stream) = self.in_memory.as_mut() {
                if let Some(batch) = stream.next().transpose()? {
                    return Ok(Some(batch));
                }
                // Free the in-memory table before the spilled pairs need the memory.
                self.in_memory = None;
                let router = self
                    .router
                    .take()
                    .ok_or_else(|| Error::internal("grace hash join lost its probe router"))?;
                let probe_files = router
                    .lock()
                    .map_err(|_| Error::internal("hash join probe router poisoned"))?
                    .finish()?;
                let build_files = std::mem::take(&mut self.build_files);
                self.pending = build_files
                    .into_iter()
                    .zip(probe_files)
                    .filter_map(|(b, p)| b.map(|b| (b, p)))
                    .collect();
                self.pending.reverse();
                continue;
            }
            if let Some(stream) = self.current.as_mut() {
                if let Some(batch) = stream.next().transpose()? {
                    return Ok(Some(batch));
                }
                self.current = None;
            }
            let Some((build, probe)) = self.pending.pop() else {
                return Ok(None);
            };
            self.current = self.pair_stream(build, probe)?;
        }
    }

    /// The join of one spilled partition pair (`None` when it cannot produce rows).
    fn pair_stream(&self, build: SpillFile, probe: Option<SpillFile>) -> Result<Option<BatchStream>> {
        let probe_rows = probe.as_ref().map_or(0, |p| p.rows());
        if (build.rows() == 0 && !self.spec.emits_unmatched_probe())
            || (probe_rows == 0 && !self.spec.emits_unmatched_build())
        {
            return Ok(None);
        }
        let next_level = self.level + 1;
        // No keys, or a partition with most of its level's rows (one dominant key value):
        // partitioning again would rewrite it to little effect.
        let unsplittable =
            self.spec.left_keys.is_empty() || build.rows().saturating_mul(4) >= self.rows.saturating_mul(3);
        if unsplittable || next_level >= MAX_LEVELS {
            return Ok(Some(Box::new(BlockNestedStream::new(
                Arc::clone(&self.spec),
                build,
                probe,
                &self.ctx,
                self.consumer.clone(),
            )?)));
        }
        let built = collect_build(
            file_stream(Some(build))?,
            next_level,
            &self.ctx,
            &self.spec,
            &self.consumer,
            false,
            || {},
        )?;
        let probe = file_stream(probe)?;
        Ok(Some(match built {
            Build::Table(table) => Box::new(HashJoinStream::new(
                Arc::clone(&self.spec),
                Arc::new(table),
                probe,
                &self.ctx,
                None,
            )),
            Build::Spilled(spilled) => Box::new(GraceJoinStream::new(
                Arc::clone(&self.spec),
                spilled,
                probe,
                &self.ctx,
                self.consumer.clone(),
            )),
        }))
    }
}

impl Iterator for GraceJoinStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            // Ended or failed: drop tables and spill files now.
            self.finished = true;
            self.in_memory = None;
            self.router = None;
            self.build_files.clear();
            self.pending.clear();
            self.current = None;
        }
        out
    }
}
