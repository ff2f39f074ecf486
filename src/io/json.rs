//! JSON sources: newline-delimited objects (split into byte ranges like CSV) or a file
//! holding one top-level array of objects (read whole). The schema is inferred from a
//! sample of the first file; decoding uses Arrow's vectorized JSON decoder, fed line by
//! line so an error can name its line.

use std::io::{BufRead, Cursor, Read};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::json::reader::{infer_json_schema, Decoder};
use arrow::json::ReaderBuilder;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{Error, Result};
use crate::io::input::{lines_before, open_file, open_partition};
use crate::io::source::{FileMeta, FilePartition, PartitionKind};
use crate::physical::plan::BatchStream;

/// How many leading bytes are examined to tell an array file from NDJSON.
const PEEK_BYTES: u64 = 1 << 16;

/// How many files of a glob the schema is inferred from (DuckDB's `maximum_sample_files`).
const SAMPLE_FILES: usize = 32;

/// How many leading bytes of an NDJSON file are scanned for the order of keys.
const KEY_SAMPLE_BYTES: u64 = 1 << 20;

/// The JSON files of a source and their shape.
#[derive(Debug)]
pub struct JsonFiles {
    /// Per file: true when it is one top-level array of objects (never split).
    pub is_array: Vec<bool>,
}

fn starts_with_array(file: &FileMeta) -> Result<bool> {
    let mut head = Vec::new();
    open_file(file)?
        .take(PEEK_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(&file.display_name, e))?;
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    Ok(text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['))
}

/// Rewrites a top-level JSON array as whitespace-separated objects, byte for byte (so
/// line numbers stay right): the outer brackets and the commas between elements become
/// spaces. With `one_per_line`, newlines become spaces and element commas newlines.
fn unwrap_array(bytes: &mut [u8], one_per_line: bool) {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in bytes.iter_mut() {
        if in_string {
            match (*b, escaped) {
                (_, true) => escaped = false,
                (b'\\', false) => escaped = true,
                (b'"', false) => in_string = false,
                _ => {}
            }
            continue;
        }
        match *b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    *b = b' ';
                }
            }
            b']' | b'}' => {
                if depth == 1 {
                    *b = b' ';
                }
                depth = depth.saturating_sub(1);
            }
            b',' if depth == 1 => *b = if one_per_line { b'\n' } else { b' ' },
            b'\n' | b'\r' if one_per_line => *b = b' ',
            _ => {}
        }
    }
}

fn read_array(file: &FileMeta, one_per_line: bool) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_file(file)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&file.display_name, e))?;
    unwrap_array(&mut bytes, one_per_line);
    Ok(bytes)
}

/// The keys of the top-level objects in `bytes`, in order of first appearance (keys with
/// escapes are skipped; their columns go last).
fn key_order(bytes: &[u8]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                while j < bytes.len() && bytes[j] != b'"' {
                    escaped |= bytes[j] == b'\\';
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let next = bytes[(j + 1).min(bytes.len())..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace());
                if depth == 1 && !escaped && next == Some(&b':') {
                    if let Ok(k) = std::str::from_utf8(&bytes[start..j.min(bytes.len())]) {
                        if !keys.iter().any(|x| x == k) {
                            keys.push(k.to_string());
                        }
                    }
                }
                i = j + 1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    keys
}

/// Orders the columns as the keys first appear (Arrow's inference sorts them) and makes
/// all-null columns `Utf8`.
fn normalize(schema: Schema, order: &[String]) -> Schema {
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Null => Field::new(f.name(), DataType::Utf8, true),
            _ => f.as_ref().clone(),
        })
        .collect();
    fields.sort_by_key(|f| order.iter().position(|k| k == f.name()).unwrap_or(usize::MAX));
    Schema::new(fields)
}

/// Infers one file's schema from up to `sample_rows` objects, columns in key order.
fn infer_file(first: &FileMeta, is_array: bool, sample_rows: usize) -> Result<SchemaRef> {
    let sample = if is_array {
        read_array(first, true)?
    } else {
        let mut head = Vec::new();
        open_file(first)?
            .take(KEY_SAMPLE_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(&first.display_name, e))?;
        head
    };
    let order = key_order(&sample);
    let reader: Box<dyn BufRead> = if is_array {
        Box::new(Cursor::new(sample))
    } else {
        open_file(first)?
    };
    let (schema, _) = infer_json_schema(reader, Some(sample_rows.max(1)))
        .map_err(|e| Error::InvalidInput(format!("{}: cannot infer a JSON schema: {e}", first.display_name)))?;
    if schema.fields().is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: no JSON objects found",
            first.display_name
        )));
    }
    Ok(Arc::new(normalize(schema, &order)))
}

impl JsonFiles {
    /// Classifies the files and infers the schema from up to `sample_rows` objects of each
    /// of the first [`SAMPLE_FILES`] files (of every file with `union_by_name`), taking the
    /// union of their keys as DuckDB does (objects are decoded by key, so a key a file
    /// lacks reads as NULL).
    pub fn open(files: &[FileMeta], sample_rows: usize, union: bool) -> Result<(SchemaRef, JsonFiles)> {
        let is_array = files.iter().map(starts_with_array).collect::<Result<Vec<_>>>()?;
        let sampled = if union {
            files.len()
        } else {
            files.len().min(SAMPLE_FILES)
        };
        let schemas = files[..sampled]
            .iter()
            .zip(&is_array)
            .map(|(f, a)| infer_file(f, *a, sample_rows))
            .collect::<Result<Vec<_>>>()?;
        let schema = match schemas.as_slice() {
            [] => return Err(Error::internal("no JSON files")),
            [one] => Arc::clone(one),
            many => crate::io::union::union_by_name(many).0,
        };
        Ok((schema, JsonFiles { is_array }))
    }

    /// Reads one partition, the `projection` columns in that order.
    pub fn scan(
        &self,
        file: &FileMeta,
        partition: &FilePartition,
        schema: &SchemaRef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<BatchStream> {
        let out_schema = Arc::new(Schema::new(
            projection.iter().map(|&i| schema.field(i).clone()).collect::<Vec<_>>(),
        ));
        // With no columns wanted, decode the first one to count rows.
        let decode_schema = if projection.is_empty() {
            Arc::new(Schema::new(vec![schema.field(0).clone()]))
        } else {
            out_schema.clone()
        };
        let is_array = self.is_array.get(partition.file_index).copied().unwrap_or(false);
        let ctx = Arc::new(JsonContext {
            file: file.clone(),
            kind: partition.kind.clone(),
            is_array,
            decode_schema,
            out_schema,
        });
        JsonStream::open(ctx, batch_size, false)
    }
}

struct JsonContext {
    file: FileMeta,
    kind: PartitionKind,
    is_array: bool,
    decode_schema: SchemaRef,
    out_schema: SchemaRef,
}

struct JsonStream {
    ctx: Arc<JsonContext>,
    reader: Box<dyn BufRead + Send>,
    decoder: Decoder,
    data_start: u64,
    line: Vec<u8>,
    line_off: usize,
    line_no: u64,
    /// Re-reading to find the line of an error (batches of one row).
    locating: bool,
    done: bool,
}

impl JsonStream {
    fn open(ctx: Arc<JsonContext>, batch_size: usize, locating: bool) -> Result<BatchStream> {
        let (reader, data_start): (Box<dyn BufRead + Send>, u64) = if ctx.is_array {
            (Box::new(Cursor::new(read_array(&ctx.file, false)?)), 0)
        } else {
            let input = open_partition(&ctx.file, &ctx.kind)?;
            (input.reader, input.data_start)
        };
        let decoder = ReaderBuilder::new(ctx.decode_schema.clone())
            .with_batch_size(batch_size)
            .build_decoder()?;
        Ok(Box::new(JsonStream {
            ctx,
            reader,
            decoder,
            data_start,
            line: Vec::new(),
            line_off: 0,
            line_no: 0,
            locating,
            done: false,
        }))
    }

    /// An error at the current line.
    fn malformed(&self, message: String) -> Error {
        let before = lines_before(&self.ctx.file, self.data_start).unwrap_or(0);
        Error::Malformed {
            file: self.ctx.file.display_name.clone(),
            line: before + self.line_no.max(1),
            column: 1,
            message,
        }
    }

    /// A batch failed to convert: re-read with one-row batches to find the line.
    fn locate_flush_error(&self, err: arrow::error::ArrowError) -> Error {
        if self.locating {
            return self.malformed(err.to_string());
        }
        match JsonStream::open(self.ctx.clone(), 1, true) {
            Ok(stream) => {
                for item in stream {
                    if let Err(e) = item {
                        return e;
                    }
                }
                Error::InvalidInput(format!("{}: {err}", self.ctx.file.display_name))
            }
            Err(e) => e,
        }
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>> {
        let batch = match self.decoder.flush() {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.locate_flush_error(e)),
        };
        if self.ctx.out_schema.fields().is_empty() {
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            return Ok(Some(RecordBatch::try_new_with_options(
                self.ctx.out_schema.clone(),
                vec![],
                &options,
            )?));
        }
        Ok(Some(batch))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.line_off >= self.line.len() {
                self.line.clear();
                self.line_off = 0;
                let n = self
                    .reader
                    .read_until(b'\n', &mut self.line)
                    .map_err(|e| Error::io(&self.ctx.file.display_name, e))?;
                if n == 0 {
                    break;
                }
                self.line_no += 1;
            }
            let consumed = match self.decoder.decode(&self.line[self.line_off..]) {
                Ok(n) => n,
                Err(e) => return Err(self.malformed(format!("invalid JSON: {e}"))),
            };
            self.line_off += consumed;
            if self.line_off < self.line.len() {
                return self.flush();
            }
        }
        if self.decoder.has_partial_record() {
            return Err(self.malformed("incomplete JSON object at the end of the input".into()));
        }
        self.flush()
    }
}

impl Iterator for JsonStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let out = self.next_batch().transpose();
        if !matches!(out, Some(Ok(_))) {
            self.done = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_order_of_appearance() {
        let text = b"{\"b\": {\"z\": 1}, \"a\": \"x:\"}\n{\"c\": [\"q\"], \"a\": 2}";
        assert_eq!(key_order(text), ["b", "a", "c"]);
    }

    #[test]
    fn unwraps_arrays_in_place() {
        let mut text = b"[{\"a\": [1,2], \"s\": \"x,]\\\"\"},\n {\"a\": []}]".to_vec();
        unwrap_array(&mut text, false);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            " {\"a\": [1,2], \"s\": \"x,]\\\"\"} \n {\"a\": []} "
        );
    }
}
