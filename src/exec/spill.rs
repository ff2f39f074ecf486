//! Spilling to disk. Each query gets a [`SpillManager`]: a private directory
//! (`rask-spill-XXXXXX`) created on the first spill under the configured temp directory and
//! removed, with every file in it, when the query ends, fails or is cancelled (the directory
//! lives as long as the last [`SpillFile`] that refers to it). The session's stored tables
//! share one more, whose files live as long as the tables that hold them.
//!
//! Spill files are Arrow IPC streams with LZ4-compressed buffers: an operator that cannot
//! reserve memory writes batches with a [`SpillWriter`] and later streams them back with
//! [`SpillFile::read`]. The bytes on disk count against `max_temp_directory_size`, and every
//! file written is recorded per operator for `EXPLAIN ANALYZE`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow::ipc::CompressionType;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::memory::human_bytes;

/// Spill totals of one operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpillStats {
    /// Files written.
    pub files: u64,
    /// Bytes written to disk (compressed).
    pub bytes: u64,
    /// Rows written.
    pub rows: u64,
}

/// The spill area of one query.
#[derive(Debug)]
pub struct SpillManager {
    base: PathBuf,
    dir: OnceLock<tempfile::TempDir>,
    max_bytes: Option<u64>,
    bytes_on_disk: AtomicU64,
    next_file: AtomicUsize,
    stats: Mutex<BTreeMap<String, SpillStats>>,
    created: std::time::Instant,
    events: Mutex<Vec<SpillEvent>>,
}

/// One spill file written, for traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillEvent {
    /// When it was finished, from the spill area's creation (the query's start).
    pub at: std::time::Duration,
    /// The operator that wrote it (`Sort (stage 2)`).
    pub operator: String,
    /// Bytes on disk.
    pub bytes: u64,
    /// Rows in it.
    pub rows: u64,
}

impl SpillManager {
    /// A spill area under `base` (the system temp directory when `None`), holding at most
    /// `max_bytes` on disk at once when given.
    pub fn new(base: Option<PathBuf>, max_bytes: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            base: base.unwrap_or_else(std::env::temp_dir),
            dir: OnceLock::new(),
            max_bytes,
            bytes_on_disk: AtomicU64::new(0),
            next_file: AtomicUsize::new(0),
            stats: Mutex::new(BTreeMap::new()),
            created: std::time::Instant::now(),
            events: Mutex::new(Vec::new()),
        })
    }

    /// The directory spill files go to, created on first use.
    fn dir(&self) -> Result<&Path> {
        if let Some(dir) = self.dir.get() {
            return Ok(dir.path());
        }
        let created = tempfile::Builder::new()
            .prefix("rask-spill-")
            .tempdir_in(&self.base)
            .map_err(|e| Error::io(self.base.display().to_string(), e))?;
        // Another task may have won the race; its directory is used and ours removed.
        let _ = self.dir.set(created);
        self.dir
            .get()
            .map(|d| d.path())
            .ok_or_else(|| Error::internal("spill directory vanished"))
    }

    /// Starts a spill file for `operator` (the name shown in EXPLAIN ANALYZE).
    pub fn writer(self: &Arc<Self>, operator: &str, schema: &SchemaRef) -> Result<SpillWriter> {
        let id = self.next_file.fetch_add(1, Ordering::Relaxed);
        let path = self.dir()?.join(format!("{id:06}.arrow"));
        let file = File::create(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
        let counter = CountingWriter {
            inner: BufWriter::with_capacity(256 << 10, file),
            written: 0,
        };
        let options = IpcWriteOptions::default().try_with_compression(Some(CompressionType::LZ4_FRAME))?;
        let writer = StreamWriter::try_new_with_options(counter, schema, options)?;
        Ok(SpillWriter {
            manager: Arc::clone(self),
            operator: operator.to_string(),
            schema: Arc::clone(schema),
            file: Some(SpillFile {
                manager: Arc::clone(self),
                path,
                bytes: 0,
                rows: 0,
                schema: Arc::clone(schema),
            }),
            writer: Some(writer),
            accounted: 0,
        })
    }

    /// Writes `batches` to one new spill file.
    pub fn spill(self: &Arc<Self>, operator: &str, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<SpillFile> {
        let mut writer = self.writer(operator, schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()
    }

    /// The directory the spill area is made under.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The cap on bytes on disk, when there is one.
    pub fn max_bytes(&self) -> Option<u64> {
        self.max_bytes
    }

    /// Bytes of spill files on disk right now.
    pub fn bytes_on_disk(&self) -> u64 {
        self.bytes_on_disk.load(Ordering::Relaxed)
    }

    /// Spill totals per operator, by name.
    pub fn stats(&self) -> BTreeMap<String, SpillStats> {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Bytes written to spill files so far, over every operator.
    pub fn total_bytes(&self) -> u64 {
        self.stats
            .lock()
            .map(|s| s.values().map(|v| v.bytes).sum())
            .unwrap_or(0)
    }

    fn add_disk_bytes(&self, bytes: u64) -> Result<()> {
        let now = self.bytes_on_disk.fetch_add(bytes, Ordering::AcqRel) + bytes;
        match self.max_bytes {
            Some(max) if now > max => Err(Error::ResourcesExhausted(format!(
                "spill files would exceed max_temp_directory_size ({} of {} used in '{}'); \
                 raise it with SET max_temp_directory_size = '…' or give the query more memory",
                human_bytes(now as usize),
                human_bytes(max as usize),
                self.base.display()
            ))),
            _ => Ok(()),
        }
    }

    fn record(&self, operator: &str, bytes: u64, rows: u64) {
        if let Ok(mut stats) = self.stats.lock() {
            let s = stats.entry(operator.to_string()).or_default();
            s.files += 1;
            s.bytes += bytes;
            s.rows += rows;
        }
        if let Ok(mut events) = self.events.lock() {
            events.push(SpillEvent {
                at: self.created.elapsed(),
                operator: operator.to_string(),
                bytes,
                rows,
            });
        }
    }

    /// Every spill file written, in order.
    pub fn events(&self) -> Vec<SpillEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// Checks that `dir` can hold spill files (an existing directory) and returns it.
pub fn checked_temp_dir(dir: &Path) -> Result<PathBuf> {
    if dir.is_dir() {
        Ok(dir.to_path_buf())
    } else {
        Err(Error::InvalidInput(format!(
            "temp directory '{}' does not exist or is not a directory",
            dir.display()
        )))
    }
}

/// Counts the bytes that reach the file.
struct CountingWriter {
    inner: BufWriter<File>,
    written: u64,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A spill file being written. Dropped without [`SpillWriter::finish`], the file is removed.
pub struct SpillWriter {
    manager: Arc<SpillManager>,
    operator: String,
    schema: SchemaRef,
    file: Option<SpillFile>,
    writer: Option<StreamWriter<CountingWriter>>,
    accounted: u64,
}

impl std::fmt::Debug for SpillWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpillWriter")
            .field("operator", &self.operator)
            .field("file", &self.file)
            .finish()
    }
}

impl SpillWriter {
    /// Appends `batch` (empty batches are skipped).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let (Some(writer), Some(file)) = (self.writer.as_mut(), self.file.as_mut()) else {
            return Err(Error::internal("write to a finished spill file"));
        };
        writer.write(batch).map_err(|e| spill_io_error(&file.path, e))?;
        file.rows += batch.num_rows() as u64;
        self.account()
    }

    /// The schema of the batches written.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.file.as_ref().map(|f| f.rows).unwrap_or(0)
    }

    /// Counts the bytes that reached the file since the last call against the disk cap.
    fn account(&mut self) -> Result<()> {
        let written = self.writer.as_ref().map(|w| w.get_ref().written).unwrap_or(0);
        let delta = written.saturating_sub(self.accounted);
        self.accounted = written;
        if let Some(file) = self.file.as_mut() {
            file.bytes = written;
        }
        self.manager.add_disk_bytes(delta)
    }

    /// Closes the file and hands it over for reading.
    pub fn finish(mut self) -> Result<SpillFile> {
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| Error::internal("spill file finished twice"))?;
        let path = self.file.as_ref().map(|f| f.path.clone()).unwrap_or_default();
        writer.finish().map_err(|e| spill_io_error(&path, e))?;
        let mut counter = writer.into_inner().map_err(|e| spill_io_error(&path, e))?;
        counter.flush().map_err(|e| Error::io(path.display().to_string(), e))?;
        let written = counter.written;
        let delta = written.saturating_sub(self.accounted);
        self.accounted = written;
        let mut file = self
            .file
            .take()
            .ok_or_else(|| Error::internal("spill file finished twice"))?;
        file.bytes = written;
        self.manager.record(&self.operator, file.bytes, file.rows);
        self.manager.add_disk_bytes(delta)?;
        Ok(file)
    }
}

impl Drop for SpillWriter {
    fn drop(&mut self) {
        // An unfinished file gives its bytes back (the SpillFile's drop removes it).
        if let Some(file) = self.file.as_mut() {
            file.bytes = self.accounted;
        }
    }
}

/// Names the spill file in an Arrow error from writing it (disk full shows up here).
fn spill_io_error(path: &Path, e: arrow::error::ArrowError) -> Error {
    match e {
        arrow::error::ArrowError::IoError(_, source) => {
            Error::ResourcesExhausted(format!("cannot write spill file '{}': {source}", path.display()))
        }
        other => Error::from(other),
    }
}

/// A finished spill file. Removed from disk when dropped.
#[derive(Debug)]
pub struct SpillFile {
    manager: Arc<SpillManager>,
    path: PathBuf,
    bytes: u64,
    rows: u64,
    schema: SchemaRef,
}

impl SpillFile {
    /// Streams the batches back, in the order they were written.
    pub fn read(&self) -> Result<SpillReader> {
        self.read_projected(None)
    }

    /// Streams the batches back keeping only the columns in `projection` (by index; all when
    /// `None`); the other columns are skipped, not decoded.
    pub fn read_projected(&self, projection: Option<Vec<usize>>) -> Result<SpillReader> {
        let file = File::open(&self.path).map_err(|e| Error::io(self.path.display().to_string(), e))?;
        let reader = StreamReader::try_new(BufReader::with_capacity(256 << 10, file), projection)?;
        Ok(SpillReader { reader })
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Rows in the file.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The schema of its batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        self.manager.bytes_on_disk.fetch_sub(
            self.bytes.min(self.manager.bytes_on_disk.load(Ordering::Relaxed)),
            Ordering::AcqRel,
        );
    }
}

/// The batches of a spill file, read one at a time.
pub struct SpillReader {
    reader: StreamReader<BufReader<File>>,
}

impl Iterator for SpillReader {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|r| r.map_err(Error::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("row {i}")))),
            ],
        )
        .unwrap()
    }

    #[test]
    fn round_trips_batches_and_removes_everything_when_dropped() {
        let base = tempfile::tempdir().unwrap();
        let manager = SpillManager::new(Some(base.path().to_path_buf()), None);
        let b = batch(1000);
        let file = manager.spill("Sort", &b.schema(), &[b.clone(), batch(10)]).unwrap();
        assert_eq!(file.rows(), 1010);
        assert!(file.bytes() > 0);
        assert_eq!(manager.bytes_on_disk(), file.bytes());
        let back: Vec<RecordBatch> = file.read().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0], b);
        let stats = manager.stats();
        assert_eq!(stats["Sort"].files, 1);
        assert_eq!(stats["Sort"].rows, 1010);
        drop(file);
        assert_eq!(manager.bytes_on_disk(), 0);
        drop(manager);
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_projected_read_keeps_only_the_chosen_columns() {
        let base = tempfile::tempdir().unwrap();
        let manager = SpillManager::new(Some(base.path().to_path_buf()), None);
        let b = batch(100);
        let file = manager.spill("Table", &b.schema(), std::slice::from_ref(&b)).unwrap();
        let back: Vec<RecordBatch> = file
            .read_projected(Some(vec![1]))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(back, vec![b.project(&[1]).unwrap()]);
        let none: Vec<RecordBatch> = file
            .read_projected(Some(vec![]))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(none[0].num_rows(), 100);
        assert_eq!(none[0].num_columns(), 0);
    }

    #[test]
    fn the_disk_cap_gives_a_clear_error() {
        let base = tempfile::tempdir().unwrap();
        let manager = SpillManager::new(Some(base.path().to_path_buf()), Some(1000));
        let b = batch(10_000);
        let err = manager
            .spill("HashJoin", &b.schema(), std::slice::from_ref(&b))
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_temp_directory_size"), "{err}");
        drop(manager);
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }
}
