//! Opening one partition of a text file (CSV or NDJSON) as a byte stream: the whole file
//! (gunzipped when it ends in `.gz`) or the lines that start inside a byte range.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use crate::error::{Error, Result};
use crate::io::glob::is_gzip;
use crate::io::source::{FileMeta, PartitionKind};

/// A partition's bytes, and where in the file they start.
pub struct PartitionInput {
    /// The bytes of the lines the partition reads.
    pub reader: Box<dyn BufRead + Send>,
    /// File offset of the first byte `reader` yields (0 for whole and gzip files).
    pub data_start: u64,
}

const BUF_SIZE: usize = 1 << 16;

/// Opens the bytes of `file` that partition `kind` reads.
pub fn open_partition(file: &FileMeta, kind: &PartitionKind) -> Result<PartitionInput> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.display_name, e))?;
    match kind {
        PartitionKind::ByteRange { start, end } => {
            let range = RangeReader::new(f, *start, *end).map_err(|e| Error::io(&file.display_name, e))?;
            let data_start = range.pos;
            Ok(PartitionInput {
                reader: Box::new(range),
                data_start,
            })
        }
        _ => Ok(PartitionInput {
            reader: open_whole(f, file),
            data_start: 0,
        }),
    }
}

/// The whole (decompressed) content of `file` as a reader.
pub fn open_whole(f: File, file: &FileMeta) -> Box<dyn BufRead + Send> {
    if is_gzip(&file.path) {
        Box::new(BufReader::with_capacity(BUF_SIZE, flate2::read::MultiGzDecoder::new(f)))
    } else {
        Box::new(BufReader::with_capacity(BUF_SIZE, f))
    }
}

/// Opens the whole (decompressed) file.
pub fn open_file(file: &FileMeta) -> Result<Box<dyn BufRead + Send>> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.display_name, e))?;
    Ok(open_whole(f, file))
}

/// Counts the newlines in the first `offset` bytes of `file` (the line number, 0-based, of
/// a line that starts at `offset`). Used only to report errors in later byte ranges.
pub fn lines_before(file: &FileMeta, offset: u64) -> Result<u64> {
    if offset == 0 {
        return Ok(0);
    }
    let f = File::open(&file.path).map_err(|e| Error::io(&file.display_name, e))?;
    let mut reader = BufReader::with_capacity(BUF_SIZE, f.take(offset));
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(&file.display_name, e))?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += memchr::memchr_iter(b'\n', buf).count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

/// Yields the lines of a file that start in `[start, end)`: skips the partial line at
/// `start` (unless `start` is 0) and reads through the end of the line that crosses `end`.
struct RangeReader {
    inner: BufReader<File>,
    pos: u64,
    end: u64,
    prev_newline: bool,
    done: bool,
}

impl RangeReader {
    fn new(mut f: File, start: u64, end: u64) -> std::io::Result<Self> {
        let mut pos = start;
        if start > 0 {
            f.seek(SeekFrom::Start(start - 1))?;
        }
        let mut inner = BufReader::with_capacity(BUF_SIZE, f);
        if start > 0 {
            let mut skipped = Vec::new();
            pos = start - 1 + inner.read_until(b'\n', &mut skipped)? as u64;
        }
        Ok(Self {
            inner,
            pos,
            end,
            prev_newline: true,
            done: false,
        })
    }

    fn available(&mut self) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let (pos, end, prev_newline) = (self.pos, self.end, self.prev_newline);
        let buf = self.inner.fill_buf()?;
        if pos < end {
            let left = usize::try_from(end - pos).unwrap_or(usize::MAX);
            return Ok(buf.len().min(left));
        }
        if prev_newline {
            self.done = true;
            return Ok(0);
        }
        Ok(memchr::memchr(b'\n', buf).map_or(buf.len(), |i| i + 1))
    }
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.fill_buf()?.len().min(out.len());
        out[..n].copy_from_slice(&self.inner.buffer()[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for RangeReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let n = self.available()?;
        Ok(&self.inner.buffer()[..n])
    }

    fn consume(&mut self, amt: usize) {
        if amt == 0 {
            return;
        }
        self.prev_newline = self.inner.buffer().get(amt - 1) == Some(&b'\n');
        self.inner.consume(amt);
        self.pos += amt as u64;
    }
}

/// Splits a file of `size` bytes into byte ranges of about `target` bytes.
pub fn byte_ranges(size: u64, target: u64) -> Vec<PartitionKind> {
    let target = target.max(1);
    if size <= target {
        return vec![PartitionKind::Whole];
    }
    let n = size.div_ceil(target);
    let step = size.div_ceil(n);
    (0..n)
        .map(|i| PartitionKind::ByteRange {
            start: i * step,
            end: ((i + 1) * step).min(size),
        })
        .filter(|k| matches!(k, PartitionKind::ByteRange { start, end } if start < end))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &std::path::Path) -> FileMeta {
        FileMeta {
            path: path.to_path_buf(),
            display_name: path.display().to_string(),
            size: std::fs::metadata(path).unwrap().len(),
        }
    }

    fn read_range(file: &FileMeta, start: u64, end: u64) -> (String, u64) {
        let mut input = open_partition(file, &PartitionKind::ByteRange { start, end }).unwrap();
        let mut s = String::new();
        input.reader.read_to_string(&mut s).unwrap();
        (s, input.data_start)
    }

    #[test]
    fn ranges_cover_every_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let text = "a\nbb\n\nccc\ndddd\ne";
        std::fs::write(&path, text).unwrap();
        let file = meta(&path);
        for target in 1..=text.len() as u64 {
            let mut all = String::new();
            for kind in byte_ranges(file.size, target) {
                if let PartitionKind::ByteRange { start, end } = kind {
                    all.push_str(&read_range(&file, start, end).0);
                } else {
                    all.push_str(text);
                }
            }
            assert_eq!(all, text, "target {target}");
        }
        assert_eq!(read_range(&file, 2, 3), ("bb\n".to_string(), 2));
        assert_eq!(read_range(&file, 3, 5), (String::new(), 5));
        assert_eq!(lines_before(&file, 5).unwrap(), 2);
    }
}
