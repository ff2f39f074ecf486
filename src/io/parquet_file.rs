//! A Parquet file as the Parquet decoder reads it: `File`'s own reader, except that a reader
//! asked again and again for bytes at the end of its file fails. A corrupt page header can
//! make the decoder skip a list whose length is garbage, one empty read per element; over a
//! plain `File` that is millions of system calls (a fuzzed file took two minutes to fail).
//! Honest readers stop at their first empty read, so they never see the difference.

use std::fs::File;
use std::io::{self, BufReader, Read};

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};

/// Consecutive empty reads after which a reader is stuck at the end of the file.
const MAX_EMPTY_READS: u32 = 64;

/// A file for the Parquet decoder (see the module docs).
pub struct ParquetFile(File);

impl ParquetFile {
    /// Wraps an open file.
    pub fn new(file: File) -> Self {
        ParquetFile(file)
    }
}

impl Length for ParquetFile {
    fn len(&self) -> u64 {
        Length::len(&self.0)
    }
}

impl ChunkReader for ParquetFile {
    type T = EndGuard<BufReader<File>>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(EndGuard {
            inner: self.0.get_read(start)?,
            empty_reads: 0,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.0.get_bytes(start, length)
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
    use super::*;

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
