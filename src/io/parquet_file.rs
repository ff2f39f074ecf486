//! A Parquet file as the Parquet decoder reads it.
//!
//! The file is memory-mapped when it can be: pages are then decompressed and decoded
//! straight from the page cache, without a `read` call that copies every page into a fresh
//! buffer first (the copy and the zeroing of the fresh pages were a tenth of a TPC-H scan).
//! Files that cannot be mapped are read with `File`'s own reader.
//!
//! Either way, a reader asked again and again for bytes at the end of its file fails. A
//! corrupt page header can make the decoder skip a list whose length is garbage, one empty
//! read per element; over a plain `File` that is millions of system calls (a fuzzed file
//! took two minutes to fail). Honest readers stop at their first empty read, so they never
//! see the difference.
//!
//! A mapped file that another process truncates while a query reads it ends the process
//! (`SIGBUS`), as with any memory-mapped reader (Polars, Arrow's IPC reader); rask's own
//! outputs are written to a temporary name and renamed, so they never change under a reader.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// Consecutive empty reads after which a reader is stuck at the end of the file.
const MAX_EMPTY_READS: u32 = 64;

/// A file for the Parquet decoder (see the module docs). Clones share the mapping or the
/// open file, so every row group can have a reader of its own.
#[derive(Clone)]
pub enum ParquetFile {
    /// The whole file, memory-mapped.
    Mapped(Bytes),
    /// The file, read with system calls.
    Read(Arc<File>),
}

impl ParquetFile {
    /// Maps an open file, or reads it when it cannot be mapped.
    pub fn new(file: File) -> Self {
        // SAFETY: the mapping is read-only and lives as long as the `Bytes` that own it. The
        // file must not be truncated while it is mapped (see the module docs).
        match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) if !map.is_empty() => ParquetFile::Mapped(Bytes::from_owner(map)),
            _ => ParquetFile::Read(Arc::new(file)),
        }
    }
}

impl Length for ParquetFile {
    fn len(&self) -> u64 {
        match self {
            ParquetFile::Mapped(bytes) => bytes.len() as u64,
            ParquetFile::Read(file) => Length::len(file.as_ref()),
        }
    }
}

/// A reader of a [`ParquetFile`] from some offset on.
pub enum ParquetFileReader {
    /// Over the mapped bytes.
    Mapped(bytes::buf::Reader<Bytes>),
    /// Over the file.
    Read(BufReader<File>),
}

impl Read for ParquetFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ParquetFileReader::Mapped(r) => r.read(buf),
            ParquetFileReader::Read(r) => r.read(buf),
        }
    }
}

/// The error of a read past the end of a mapped file.
fn past_the_end(start: u64, length: usize, file_len: usize) -> ParquetError {
    ParquetError::EOF(format!(
        "corrupt Parquet data: {length} bytes at offset {start} lie past the end of the file ({file_len} bytes)"
    ))
}

impl ChunkReader for ParquetFile {
    type T = EndGuard<ParquetFileReader>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let inner = match self {
            ParquetFile::Mapped(bytes) => {
                let start = usize::try_from(start)
                    .ok()
                    .filter(|&s| s <= bytes.len())
                    .ok_or_else(|| past_the_end(start, 0, bytes.len()))?;
                ParquetFileReader::Mapped(bytes.slice(start..).reader())
            }
            ParquetFile::Read(file) => ParquetFileReader::Read(file.get_read(start)?),
        };
        Ok(EndGuard { inner, empty_reads: 0 })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            ParquetFile::Mapped(bytes) => {
                let range = usize::try_from(start)
                    .ok()
                    .and_then(|s| Some(s..s.checked_add(length)?))
                    .filter(|r| r.end <= bytes.len())
                    .ok_or_else(|| past_the_end(start, length, bytes.len()))?;
                Ok(bytes.slice(range))
            }
            ParquetFile::Read(file) => file.get_bytes(start, length),
        }
    }
}

/// A reader that fails once it has returned nothing [`MAX_EMPTY_READS`] times in a row.
pub struct EndGuard<R> {
    inner: R,
    empty_reads: u32,
}

impl<R: Read> Read for EndGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 || buf.is_empty() {
            self.empty_reads = 0;
        } else {
            self.empty_reads += 1;
            if self.empty_reads > MAX_EMPTY_READS {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "corrupt Parquet data: read past the end of the file",
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_mapped_file_reads_like_the_file_and_refuses_ranges_past_its_end() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(b"0123456789").unwrap();
        let mapped = ParquetFile::new(File::open(tmp.path()).unwrap());
        assert!(matches!(mapped, ParquetFile::Mapped(_)));
        let read = ParquetFile::Read(Arc::new(File::open(tmp.path()).unwrap()));
        for file in [&mapped, &read] {
            assert_eq!(file.len(), 10);
            assert_eq!(&file.get_bytes(2, 3).unwrap()[..], b"234");
            let mut rest = Vec::new();
            file.get_read(7).unwrap().read_to_end(&mut rest).unwrap();
            assert_eq!(rest, b"789");
            assert!(file.get_bytes(8, 3).is_err());
        }
        assert!(mapped.get_bytes(u64::MAX, 1).is_err());
        assert!(mapped.get_read(11).is_err());
        // An empty file cannot be mapped; it is read.
        let empty = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            ParquetFile::new(File::open(empty.path()).unwrap()),
            ParquetFile::Read(_)
        ));
    }

    #[test]
    fn one_empty_read_is_fine_but_spinning_at_the_end_fails() {
        let mut guard = EndGuard {
            inner: &b"ab"[..],
            empty_reads: 0,
        };
        let mut all = Vec::new();
        guard.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"ab");
        let mut buf = [0u8; 4];
        let spun = (0..1000).map(|_| guard.read(&mut buf)).find(|r| r.is_err());
        let err = spun.expect("a stuck reader fails").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
