//! The data of stored tables (CREATE TABLE, INSERT, UPDATE/DELETE, recursive CTE rounds,
//! persisted frames). A table is a few partitions (scanned in parallel); each partition is a
//! list of chunks, read in order: batches held in memory, their bytes reserved from the
//! pool, or a spill file on disk (LZ4 Arrow IPC) streamed back when scanned.
//!
//! [`TableWriter`] fills partitions round-robin from a stream of batches, one batch at a
//! time. While the pool grants their bytes the batches stay in memory; when it refuses one,
//! the writer moves what it holds in memory to one spill file per partition and writes
//! every later batch there too, so a table may be larger than memory.
//!
//! Chunks are shared (`Arc`) between a table and the tables made from it by appending
//! (INSERT, the rows of a recursive CTE so far), so their memory is counted once and a spill
//! file is removed when the last table holding it goes.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::{MemoryPool, MemoryReservation};
use crate::exec::spill::{SpillFile, SpillManager, SpillReader, SpillStats, SpillWriter};

/// Batches kept in memory, with the reservation that accounts for them (none for inputs
/// built by tests and tools outside the pool).
#[derive(Debug)]
pub struct MemoryChunk {
    batches: Vec<RecordBatch>,
    rows: usize,
    _reservation: Option<MemoryReservation>,
}

/// A piece of a table partition.
#[derive(Debug, Clone)]
pub enum TableChunk {
    /// Batches in memory.
    Memory(Arc<MemoryChunk>),
    /// Batches in a spill file.
    Spilled(Arc<SpillFile>),
}

impl TableChunk {
    /// Rows in the chunk (known without reading a file).
    pub fn num_rows(&self) -> usize {
        match self {
            TableChunk::Memory(m) => m.rows,
            TableChunk::Spilled(f) => f.rows() as usize,
        }
    }
}

/// One partition of a stored table: its chunks, in order.
#[derive(Debug, Clone, Default)]
pub struct TablePartition {
    chunks: Vec<TableChunk>,
}

impl TablePartition {
    /// A partition of `batches` held in memory outside the pool (tests, tools).
    pub fn unreserved(batches: Vec<RecordBatch>) -> Self {
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        Self {
            chunks: vec![TableChunk::Memory(Arc::new(MemoryChunk {
                batches,
                rows,
                _reservation: None,
            }))],
        }
    }

    /// Its chunks, in order.
    pub fn chunks(&self) -> &[TableChunk] {
        &self.chunks
    }

    /// Rows in the partition.
    pub fn num_rows(&self) -> usize {
        self.chunks.iter().map(TableChunk::num_rows).sum()
    }

    /// Whether any of its rows are on disk.
    pub fn is_spilled(&self) -> bool {
        self.chunks.iter().any(|c| matches!(c, TableChunk::Spilled(_)))
    }

    /// The batches in memory (the batches of spilled chunks are not included).
    pub fn memory_batches(&self) -> impl Iterator<Item = &RecordBatch> {
        self.chunks.iter().flat_map(|c| match c {
            TableChunk::Memory(m) => m.batches.as_slice(),
            TableChunk::Spilled(_) => &[],
        })
    }

    /// Streams the partition's batches in order, keeping the columns in `projection` (all
    /// when `None`). Spill files are read one batch at a time, never loaded whole.
    pub fn read(&self, projection: Option<Vec<usize>>) -> PartitionReader {
        PartitionReader {
            chunks: self.chunks.clone().into_iter(),
            projection,
            current: None,
        }
    }
}

/// The chunk a [`PartitionReader`] is in.
enum Current {
    Memory(Arc<MemoryChunk>, usize),
    Spilled {
        reader: Box<SpillReader>,
        /// Held so the file stays on disk while it is read.
        _file: Arc<SpillFile>,
    },
}

/// The batches of one partition, read one at a time (see [`TablePartition::read`]).
pub struct PartitionReader {
    chunks: std::vec::IntoIter<TableChunk>,
    projection: Option<Vec<usize>>,
    current: Option<Current>,
}

impl Iterator for PartitionReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.current.as_mut() {
                Some(Current::Memory(chunk, next)) => {
                    if let Some(batch) = chunk.batches.get(*next) {
                        *next += 1;
                        return Some(match &self.projection {
                            Some(p) => batch.project(p).map_err(Error::from),
                            None => Ok(batch.clone()),
                        });
                    }
                }
                Some(Current::Spilled { reader, .. }) => {
                    if let Some(item) = reader.next() {
                        return Some(item);
                    }
                }
                None => {}
            }
            self.current = match self.chunks.next()? {
                TableChunk::Memory(chunk) => Some(Current::Memory(chunk, 0)),
                TableChunk::Spilled(file) => match file.read_projected(self.projection.clone()) {
                    Ok(reader) => Some(Current::Spilled {
                        reader: Box::new(reader),
                        _file: file,
                    }),
                    Err(e) => {
                        self.chunks = Vec::new().into_iter();
                        return Some(Err(e));
                    }
                },
            };
        }
    }
}

/// The new rows of one partition while a [`TableWriter`] runs: in memory, or (once the
/// writer spills) in a spill file.
#[derive(Debug, Default)]
struct Pending {
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
    writer: Option<SpillWriter>,
}

/// Builds a stored table's partitions from batches pushed one at a time (see the module
/// documentation).
#[derive(Debug)]
pub struct TableWriter {
    schema: SchemaRef,
    /// Chunks the table had before (when appending).
    partitions: Vec<TablePartition>,
    pending: Vec<Pending>,
    /// Batches go round-robin over this many partitions.
    fan_out: usize,
    next: usize,
    reservation: MemoryReservation,
    spill: Arc<SpillManager>,
    label: String,
    spilling: bool,
}

/// What a [`TableWriter`] made.
#[derive(Debug)]
pub struct WrittenTable {
    /// The partitions (at least one).
    pub partitions: Vec<TablePartition>,
    /// The partition the next appended batch goes to.
    pub next_partition: usize,
    /// The spill files written (none when everything fit in memory).
    pub spilled: SpillStats,
}

impl TableWriter {
    /// A writer of batches of `schema` into `partitions` partitions (round-robin), reserving
    /// from `memory` and spilling to `spill` under the name `label`.
    pub fn new(
        schema: SchemaRef,
        partitions: usize,
        memory: &Arc<MemoryPool>,
        spill: Arc<SpillManager>,
        label: &str,
    ) -> Self {
        Self {
            schema,
            partitions: Vec::new(),
            pending: Vec::new(),
            fan_out: partitions.max(1),
            next: 0,
            reservation: memory.reservation(label),
            spill,
            label: label.to_string(),
            spilling: false,
        }
    }

    /// Starts from the partitions of an existing table (sharing its chunks): new batches
    /// are appended after them, continuing its round-robin at `next_partition`.
    pub fn appending_to(mut self, partitions: &[TablePartition], next_partition: usize) -> Self {
        self.partitions = partitions.to_vec();
        self.fan_out = self.fan_out.max(partitions.len());
        self.next = next_partition % self.fan_out;
        self
    }

    /// Adds `batch` (relabelled with the table's schema; its columns must have its types).
    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = if batch.schema() == self.schema {
            batch
        } else {
            RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())?
        };
        let part = self.next;
        self.next = (self.next + 1) % self.fan_out;
        if self.pending.len() <= part {
            self.pending.resize_with(part + 1, Pending::default);
        }
        if !self.spilling {
            let bytes = batch.get_array_memory_size();
            if self.reservation.try_grow(bytes).is_ok() {
                let pending = &mut self.pending[part];
                pending.rows += batch.num_rows();
                pending.bytes += bytes;
                pending.batches.push(batch);
                return Ok(());
            }
            self.spill_all()?;
        }
        self.write(part, &batch)
    }

    /// Moves every partition's batches in memory to its spill file; later batches go
    /// straight to the files.
    fn spill_all(&mut self) -> Result<()> {
        self.spilling = true;
        for part in 0..self.pending.len() {
            let batches = std::mem::take(&mut self.pending[part].batches);
            for batch in &batches {
                self.write(part, batch)?;
            }
            let pending = &mut self.pending[part];
            pending.rows = 0;
            self.reservation.shrink(std::mem::take(&mut pending.bytes));
        }
        Ok(())
    }

    fn write(&mut self, part: usize, batch: &RecordBatch) -> Result<()> {
        let pending = self
            .pending
            .get_mut(part)
            .ok_or_else(|| Error::internal(format!("table writer has no partition {part}")))?;
        let writer = match pending.writer.as_mut() {
            Some(w) => w,
            None => pending.writer.insert(self.spill.writer(&self.label, &self.schema)?),
        };
        writer.write(batch)
    }

    /// Closes the spill files and hands over the partitions.
    pub fn finish(mut self) -> Result<WrittenTable> {
        let mut partitions = std::mem::take(&mut self.partitions);
        let mut spilled = SpillStats::default();
        for (part, pending) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            if partitions.len() <= part {
                partitions.resize_with(part + 1, TablePartition::default);
            }
            let chunks = &mut partitions[part].chunks;
            if let Some(writer) = pending.writer {
                let file = writer.finish()?;
                spilled.files += 1;
                spilled.bytes += file.bytes();
                spilled.rows += file.rows();
                chunks.push(TableChunk::Spilled(Arc::new(file)));
            }
            if !pending.batches.is_empty() {
                chunks.push(TableChunk::Memory(Arc::new(MemoryChunk {
                    batches: pending.batches,
                    rows: pending.rows,
                    _reservation: Some(self.reservation.split(pending.bytes)),
                })));
            }
        }
        if partitions.is_empty() {
            partitions.push(TablePartition::default());
        }
        Ok(WrittenTable {
            partitions,
            next_partition: self.next,
            spilled,
        })
    }
}

/// Partition `i` of the result holds the chunks of partition `i` of `first`, then those of
/// partition `i` of `second` (nothing is copied).
pub fn concat_partitions(first: &[TablePartition], second: &[TablePartition]) -> Vec<TablePartition> {
    let n = first.len().max(second.len());
    (0..n)
        .map(|i| {
            let chunks = [first.get(i), second.get(i)]
                .into_iter()
                .flatten()
                .flat_map(|p| p.chunks.iter().cloned())
                .collect();
            TablePartition { chunks }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(from..from + n)),
                Arc::new(Int64Array::from_iter_values((from..from + n).map(|i| i * 2))),
            ],
        )
        .unwrap()
    }

    fn read_all(partitions: &[TablePartition], projection: Option<Vec<usize>>) -> Vec<i64> {
        let mut out = Vec::new();
        for p in partitions {
            for b in p.read(projection.clone()) {
                let b = b.unwrap();
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                out.extend(a.values().iter().copied());
            }
        }
        out.sort_unstable();
        out
    }

    fn write(pool: &Arc<MemoryPool>, spill: &Arc<SpillManager>, batches: usize) -> WrittenTable {
        let schema = batch(0, 1).schema();
        let mut w = TableWriter::new(schema, 3, pool, Arc::clone(spill), "Table");
        for i in 0..batches {
            w.push(batch(i as i64 * 1000, 1000)).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn batches_that_fit_stay_in_memory_round_robin() {
        let pool = MemoryPool::new(1 << 30);
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillManager::new(Some(dir.path().to_path_buf()), None);
        let t = write(&pool, &spill, 5);
        assert_eq!(t.partitions.len(), 3);
        assert_eq!(t.next_partition, 2);
        assert_eq!(t.spilled, SpillStats::default());
        assert!(t.partitions.iter().all(|p| !p.is_spilled()));
        assert_eq!(t.partitions.iter().map(|p| p.num_rows()).sum::<usize>(), 5000);
        assert!(pool.used() > 0);
        assert_eq!(read_all(&t.partitions, None), (0..5000).collect::<Vec<_>>());
        drop(t);
        assert_eq!(pool.used(), 0);
    }

    #[test]
    fn a_refused_batch_spills_everything_and_the_files_go_with_the_table() {
        let pool = MemoryPool::new(40_000);
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillManager::new(Some(dir.path().to_path_buf()), None);
        let t = write(&pool, &spill, 10);
        assert_eq!(pool.used(), 0, "spilled rows still reserved");
        assert_eq!(t.spilled.files, 3);
        assert_eq!(t.spilled.rows, 10_000);
        assert!(t.partitions.iter().all(|p| p.is_spilled()));
        assert_eq!(t.partitions.iter().map(|p| p.num_rows()).sum::<usize>(), 10_000);
        assert_eq!(read_all(&t.partitions, None), (0..10_000).collect::<Vec<_>>());
        assert_eq!(read_all(&t.partitions, Some(vec![0])), (0..10_000).collect::<Vec<_>>());
        drop(spill);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(t);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn appending_shares_the_old_chunks_and_continues_the_round_robin() {
        let pool = MemoryPool::new(1 << 30);
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillManager::new(Some(dir.path().to_path_buf()), None);
        let old = write(&pool, &spill, 2);
        assert_eq!(old.partitions.len(), 2);
        let used = pool.used();
        let mut w = TableWriter::new(batch(0, 1).schema(), 3, &pool, spill, "Table")
            .appending_to(&old.partitions, old.next_partition);
        w.push(batch(5000, 10)).unwrap();
        let new = w.finish().unwrap();
        assert_eq!(new.partitions.len(), 3);
        assert_eq!(new.partitions[2].num_rows(), 10);
        drop(old);
        assert!(pool.used() > used, "the old chunks are still held by the new table");
        let mut expected: Vec<i64> = (0..2000).collect();
        expected.extend(5000..5010);
        assert_eq!(read_all(&new.partitions, None), expected);
        let both = concat_partitions(&new.partitions, &new.partitions);
        assert_eq!(both.iter().map(|p| p.num_rows()).sum::<usize>(), 4020);
    }
}
