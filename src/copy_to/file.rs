//! [`FileWriter`]: one output file of a COPY (Parquet, or CSV/TSV/JSON plain, gzip or zstd),
//! written batch by batch, with its buffers reserved from the memory pool.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use flate2::write::GzEncoder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression as ParquetCodec;
use parquet::file::properties::WriterProperties;

use super::compression::TextCompression;
use super::CopyFormat;
use crate::cli::format::{write_stream, FormatOptions, OutputFormat};
use crate::error::{Error, Result};
use crate::exec::memory::{MemoryPool, MemoryReservation};

/// Rows per Parquet row group (DuckDB's default): bounds the writer's buffered memory.
const PARQUET_ROW_GROUP_ROWS: usize = 122_880;

/// Buffer in front of a text file (and its compressor).
const TEXT_BUFFER: usize = 64 * 1024;

/// What a text writer holds besides its buffer: the compressor's state.
fn compressor_bytes(c: TextCompression) -> usize {
    match c {
        TextCompression::None => 0,
        TextCompression::Gzip => 300 * 1024,
        TextCompression::Zstd => 2 << 20,
    }
}

/// How every file of one COPY is written.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// The format.
    pub format: CopyFormat,
    /// CSV/TSV: a header line.
    pub header: bool,
    /// Parquet's codec.
    pub parquet: ParquetCodec,
    /// Text files' compression.
    pub text: TextCompression,
}

impl FileSpec {
    /// The extension DuckDB gives the files it names (`parquet`, `csv.gz`, `json.zst`).
    pub fn extension(&self) -> String {
        match self.format {
            CopyFormat::Parquet => "parquet".to_string(),
            CopyFormat::Text(OutputFormat::Json | OutputFormat::Ndjson) => format!("json{}", self.text.suffix()),
            CopyFormat::Text(_) => format!("csv{}", self.text.suffix()),
        }
    }
}

enum TextOut {
    Plain(BufWriter<File>),
    Gzip(BufWriter<GzEncoder<File>>),
    Zstd(BufWriter<zstd::stream::write::Encoder<'static, File>>),
}

impl TextOut {
    fn as_write(&mut self) -> &mut dyn Write {
        match self {
            Self::Plain(w) => w,
            Self::Gzip(w) => w,
            Self::Zstd(w) => w,
        }
    }

    fn finish(self) -> std::io::Result<()> {
        fn inner<W: Write>(w: BufWriter<W>) -> std::io::Result<W> {
            w.into_inner().map_err(|e| e.into_error())
        }
        match self {
            Self::Plain(w) => inner(w).map(drop),
            Self::Gzip(w) => inner(w)?.finish().map(drop),
            Self::Zstd(w) => inner(w)?.finish().map(drop),
        }
    }
}

enum Sink {
    Parquet(Box<ArrowWriter<BufWriter<File>>>),
    Text {
        out: TextOut,
        format: OutputFormat,
        /// The header is still to be written.
        header: bool,
        schema: SchemaRef,
    },
}

/// One file being written.
pub struct FileWriter {
    sink: Sink,
    reservation: MemoryReservation,
    /// Bytes a text writer holds whatever it writes.
    fixed: usize,
    rows: u64,
    display: String,
}

impl FileWriter {
    /// Creates `path` (its directory must exist) for batches of `schema`.
    pub fn create(
        path: &Path,
        display: String,
        schema: &SchemaRef,
        spec: &FileSpec,
        memory: &Arc<MemoryPool>,
    ) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(&display, e))?;
        Self::from_file(file, display, schema, spec, memory)
    }

    /// Writes into `file`, named `display` in messages.
    pub fn from_file(
        file: File,
        display: String,
        schema: &SchemaRef,
        spec: &FileSpec,
        memory: &Arc<MemoryPool>,
    ) -> Result<Self> {
        let reservation = memory.reservation(format!("COPY TO writer {display}"));
        let (sink, fixed) = match spec.format {
            CopyFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(spec.parquet)
                    .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS))
                    .build();
                let writer = ArrowWriter::try_new(
                    BufWriter::with_capacity(TEXT_BUFFER, file),
                    Arc::clone(schema),
                    Some(props),
                )
                .map_err(|e| parquet_error(e, &display))?;
                (Sink::Parquet(Box::new(writer)), TEXT_BUFFER)
            }
            CopyFormat::Text(format) => {
                let out = match spec.text {
                    TextCompression::None => TextOut::Plain(BufWriter::with_capacity(TEXT_BUFFER, file)),
                    TextCompression::Gzip => TextOut::Gzip(BufWriter::with_capacity(
                        TEXT_BUFFER,
                        GzEncoder::new(file, flate2::Compression::default()),
                    )),
                    TextCompression::Zstd => {
                        let encoder = zstd::stream::write::Encoder::new(file, 0).map_err(|e| Error::io(&display, e))?;
                        TextOut::Zstd(BufWriter::with_capacity(TEXT_BUFFER, encoder))
                    }
                };
                let sink = Sink::Text {
                    out,
                    format,
                    header: spec.header,
                    schema: Arc::clone(schema),
                };
                (sink, TEXT_BUFFER + compressor_bytes(spec.text))
            }
        };
        Ok(Self {
            sink,
            reservation,
            fixed,
            rows: 0,
            display,
        })
    }

    /// Bytes the writer holds now.
    pub fn memory_size(&self) -> usize {
        match &self.sink {
            Sink::Parquet(w) => self.fixed + w.memory_size(),
            Sink::Text { .. } => self.fixed,
        }
    }

    /// Reserves what the writer holds; false when the pool refuses (nothing changes then).
    pub fn try_reserve(&mut self) -> bool {
        self.reservation.try_resize(self.memory_size()).is_ok()
    }

    /// Writes out what can be written (a Parquet row group in progress) and keeps the rest
    /// reserved even beyond the pool's limit: the writer's buffers cannot shrink further.
    pub fn flush_and_reserve(&mut self) -> Result<()> {
        match &mut self.sink {
            Sink::Parquet(w) => w.flush().map_err(|e| parquet_error(e, &self.display))?,
            Sink::Text { out, .. } => out.as_write().flush().map_err(|e| Error::io(&self.display, e))?,
        }
        let size = self.memory_size();
        self.reservation.resize_unchecked(size);
        Ok(())
    }

    /// Appends `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        match &mut self.sink {
            Sink::Parquet(w) => w.write(batch).map_err(|e| parquet_error(e, &self.display)),
            Sink::Text {
                out,
                format,
                header,
                schema,
            } => {
                let opts = FormatOptions {
                    header: std::mem::take(header),
                    ..FormatOptions::default()
                };
                let mut one = std::iter::once(Ok(batch.clone()));
                write_stream(schema, &mut one, *format, out.as_write(), &opts)
                    .map(|_| ())
                    .map_err(|e| name_file(e, &self.display))
            }
        }
    }

    /// Completes the file; returns the rows written.
    pub fn finish(mut self) -> Result<u64> {
        match self.sink {
            Sink::Parquet(w) => {
                let out = w.into_inner().map_err(|e| parquet_error(e, &self.display))?;
                out.into_inner().map_err(|e| Error::io(&self.display, e.into_error()))?;
            }
            Sink::Text {
                mut out,
                format,
                header,
                schema,
            } => {
                if header {
                    let opts = FormatOptions {
                        header,
                        ..FormatOptions::default()
                    };
                    write_stream(&schema, &mut std::iter::empty(), format, out.as_write(), &opts)
                        .map_err(|e| name_file(e, &self.display))?;
                }
                out.finish().map_err(|e| Error::io(&self.display, e))?;
            }
        }
        self.reservation.resize_unchecked(0);
        Ok(self.rows)
    }
}

fn parquet_error(e: parquet::errors::ParquetError, path: &str) -> Error {
    Error::Execution(format!("writing Parquet file '{path}': {e}"))
}

/// Names the COPY target in write errors (the text writers say `<output>`).
fn name_file(err: Error, path: &str) -> Error {
    match err {
        Error::Io { path: p, source } if p == "<output>" => Error::io(path, source),
        other => other,
    }
}
