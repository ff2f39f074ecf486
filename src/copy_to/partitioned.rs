//! The files one task of a directory COPY writes (PARTITION_BY, PER_THREAD_OUTPUT). Each
//! task keeps a writer per partition it has seen (`col=value/data_N.ext`, numbered per
//! directory across tasks, as DuckDB names them); the partition columns are not written
//! inside the files. Writers reserve their buffers from the memory pool: when the pool
//! refuses, the task closes the least recently used half of its other writers (a later row
//! of theirs starts a new file)
//! and, if that is not enough, flushes the writer's row group. At most
//! [`MAX_OPEN_WRITERS`] are open per task (DuckDB's `partitioned_write_max_open_files`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use super::file::{FileSpec, FileWriter};
use super::hive::partition_dir;
use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::plan::BatchStream;

/// Open writers per task at most.
pub const MAX_OPEN_WRITERS: usize = 100;

/// Where and how every task of one COPY writes.
#[derive(Debug)]
pub struct WriteTarget {
    root: PathBuf,
    spec: FileSpec,
    /// The rows' schema (the query's columns).
    schema: SchemaRef,
    /// Indices of the partition columns in `schema`.
    partition_by: Vec<usize>,
    /// The other columns: what the files hold.
    data_columns: Vec<usize>,
    file_schema: SchemaRef,
    /// Next file number per directory.
    numbers: Mutex<HashMap<PathBuf, usize>>,
    files: AtomicUsize,
}

impl WriteTarget {
    /// Files under `root` holding rows of `schema`, split by the columns at `partition_by`.
    pub fn new(root: &Path, spec: FileSpec, schema: SchemaRef, partition_by: Vec<usize>) -> Result<Self> {
        let data_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !partition_by.contains(i))
            .collect();
        let file_schema = Arc::new(schema.project(&data_columns)?);
        Ok(Self {
            root: root.to_path_buf(),
            spec,
            schema,
            partition_by,
            data_columns,
            file_schema,
            numbers: Mutex::new(HashMap::new()),
            files: AtomicUsize::new(0),
        })
    }

    /// The query's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// How many files were started.
    pub fn files(&self) -> usize {
        self.files.load(Ordering::Relaxed)
    }

    /// A new file in `dir` (relative to the root; created when missing): `data_N.ext`.
    fn next_file(&self, dir: &Path) -> Result<PathBuf> {
        let full = self.root.join(dir);
        let n = {
            let mut numbers = self
                .numbers
                .lock()
                .map_err(|_| Error::internal("COPY file numbering lock poisoned"))?;
            let next = numbers.entry(dir.to_path_buf()).or_insert(0);
            // Created under the lock: another task's next file goes into the same directory.
            if *next == 0 {
                std::fs::create_dir_all(&full).map_err(|e| Error::io(full.display().to_string(), e))?;
            }
            *next += 1;
            *next - 1
        };
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(full.join(format!("data_{n}.{}", self.spec.extension())))
    }

    /// Opens a new file in `dir` for the data columns.
    pub fn open(&self, dir: &Path, ctx_memory: &Arc<crate::exec::memory::MemoryPool>) -> Result<FileWriter> {
        let path = self.next_file(dir)?;
        let display = path.display().to_string();
        FileWriter::create(&path, display, &self.file_schema, &self.spec, ctx_memory)
    }

    /// Writes every batch of `input` (one task's rows); returns the number of rows.
    pub fn write_task(&self, input: BatchStream, ctx: &TaskContext) -> Result<u64> {
        let mut writers = TaskWriters::new(self)?;
        for batch in input {
            ctx.check_cancelled()?;
            let batch = crate::session::conform(&batch?, &self.schema)?;
            writers.write(&batch, ctx)?;
        }
        writers.finish()
    }
}

/// One partition a task has seen.
struct Partition {
    dir: PathBuf,
    writer: Option<FileWriter>,
    last_used: u64,
}

/// The writers of one task.
struct TaskWriters<'t> {
    target: &'t WriteTarget,
    converter: Option<RowConverter>,
    keys: HashMap<Vec<u8>, usize>,
    partitions: Vec<Partition>,
    open: usize,
    clock: u64,
    rows: u64,
}

impl<'t> TaskWriters<'t> {
    fn new(target: &'t WriteTarget) -> Result<Self> {
        let converter = if target.partition_by.is_empty() {
            None
        } else {
            let fields = target
                .partition_by
                .iter()
                .map(|&i| SortField::new(target.schema.field(i).data_type().clone()))
                .collect();
            Some(RowConverter::new(fields)?)
        };
        Ok(Self {
            target,
            converter,
            keys: HashMap::new(),
            partitions: Vec::new(),
            open: 0,
            clock: 0,
            rows: 0,
        })
    }

    /// Splits `batch` by partition and appends each part to its partition's file.
    fn write(&mut self, batch: &RecordBatch, ctx: &TaskContext) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let data = batch.project(&self.target.data_columns)?;
        let groups = self.split(batch)?;
        for (partition, rows) in groups {
            let part = match rows {
                None => data.clone(),
                Some(rows) => crate::physical::rows::take_rows(&data, &UInt32Array::from(rows))?,
            };
            self.append(partition, &part, ctx)?;
        }
        Ok(())
    }

    /// The partitions of `batch`'s rows: (partition, its rows; `None` for all of them).
    fn split(&mut self, batch: &RecordBatch) -> Result<Vec<(usize, Option<Vec<u32>>)>> {
        let Some(converter) = &self.converter else {
            if self.partitions.is_empty() {
                self.partitions.push(Partition {
                    dir: PathBuf::new(),
                    writer: None,
                    last_used: 0,
                });
            }
            return Ok(vec![(0, None)]);
        };
        let columns: Vec<ArrayRef> = self
            .target
            .partition_by
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        let rows = converter.convert_columns(&columns)?;
        // Partition index → position in `groups` (u32::MAX: none yet).
        let mut slot_of: Vec<u32> = vec![u32::MAX; self.partitions.len()];
        let mut groups: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut previous: Option<usize> = None;
        for i in 0..batch.num_rows() {
            let key = rows.row(i);
            let same = i > 0 && key == rows.row(i - 1);
            let partition = match (same, previous) {
                (true, Some(p)) => p,
                _ => match self.keys.get(key.as_ref()) {
                    Some(&p) => p,
                    None => {
                        let names = names(&self.target.schema, &self.target.partition_by);
                        let dir = partition_dir(&names, &columns, i)?;
                        self.partitions.push(Partition {
                            dir,
                            writer: None,
                            last_used: 0,
                        });
                        slot_of.push(u32::MAX);
                        let p = self.partitions.len() - 1;
                        self.keys.insert(key.as_ref().to_vec(), p);
                        p
                    }
                },
            };
            previous = Some(partition);
            if slot_of[partition] == u32::MAX {
                slot_of[partition] = groups.len() as u32;
                groups.push((partition, Vec::new()));
            }
            groups[slot_of[partition] as usize].1.push(i as u32);
        }
        if groups.len() == 1 {
            return Ok(groups.into_iter().map(|(p, _)| (p, None)).collect());
        }
        Ok(groups.into_iter().map(|(p, rows)| (p, Some(rows))).collect())
    }

    fn append(&mut self, partition: usize, part: &RecordBatch, ctx: &TaskContext) -> Result<()> {
        self.clock += 1;
        if self.partitions[partition].writer.is_none() {
            if self.open >= MAX_OPEN_WRITERS {
                self.close_least_recent(partition, 1)?;
            }
            let writer = self.target.open(&self.partitions[partition].dir, ctx.memory())?;
            self.partitions[partition].writer = Some(writer);
            self.open += 1;
        }
        let state = &mut self.partitions[partition];
        state.last_used = self.clock;
        let writer = state
            .writer
            .as_mut()
            .ok_or_else(|| Error::internal("COPY partition writer missing"))?;
        writer.write(part)?;
        self.rows += part.num_rows() as u64;
        if writer.try_reserve() {
            return Ok(());
        }
        // The pool refused: close the least recently used half of the other writers, then
        // keep only what this one must hold.
        self.close_least_recent(partition, self.open.div_ceil(2))?;
        if let Some(writer) = self.partitions[partition].writer.as_mut() {
            if !writer.try_reserve() {
                writer.flush_and_reserve()?;
            }
        }
        Ok(())
    }

    /// Closes up to `count` open writers other than `keep`'s, least recently used first.
    fn close_least_recent(&mut self, keep: usize, count: usize) -> Result<()> {
        let mut open: Vec<(u64, usize)> = self
            .partitions
            .iter()
            .enumerate()
            .filter(|(i, p)| *i != keep && p.writer.is_some())
            .map(|(i, p)| (p.last_used, i))
            .collect();
        open.sort_unstable();
        for (_, i) in open.into_iter().take(count) {
            if let Some(w) = self.partitions[i].writer.take() {
                w.finish()?;
                self.open -= 1;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        for p in &mut self.partitions {
            if let Some(w) = p.writer.take() {
                w.finish()?;
            }
        }
        Ok(self.rows)
    }
}

fn names(schema: &Schema, columns: &[usize]) -> Vec<String> {
    columns.iter().map(|&i| schema.field(i).name().clone()).collect()
}
