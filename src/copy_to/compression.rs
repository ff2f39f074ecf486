//! `COPY … (COMPRESSION …)`: which codecs each format takes (as DuckDB: Parquet's own
//! codecs; gzip and zstd for CSV and JSON) and the suffix written files get.

use std::path::Path;

use parquet::basic::{BrotliLevel, Compression as ParquetCodec, GzipLevel, ZstdLevel};

use crate::error::{Error, Result};

/// How a text file (CSV, JSON) is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextCompression {
    /// Plain text.
    #[default]
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl TextCompression {
    /// The codec named by `COMPRESSION name` (`auto` reads the file's extension).
    pub fn from_name(name: Option<&str>, path: &Path) -> Result<Self> {
        match name.unwrap_or("auto") {
            "auto" => Ok(Self::from_extension(path)),
            "none" | "uncompressed" => Ok(Self::None),
            "gzip" => Ok(Self::Gzip),
            "zstd" => Ok(Self::Zstd),
            other => Err(Error::not_supported(format!(
                "Attempting to open a compressed file, but the compression type is not supported (compression type \"{other}\")"
            ))),
        }
    }

    /// gzip for `.gz`, zstd for `.zst`, else none.
    pub fn from_extension(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("gz" | "gzip") => Self::Gzip,
            Some("zst" | "zstd") => Self::Zstd,
            _ => Self::None,
        }
    }

    /// The suffix DuckDB appends to the files it names (`.gz`, `.zst`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gzip => ".gz",
            Self::Zstd => ".zst",
        }
    }
}

/// The Parquet codec named by `COMPRESSION name` (default Snappy, as DuckDB).
pub fn parquet_codec(name: Option<&str>) -> Result<ParquetCodec> {
    Ok(match name.unwrap_or("snappy") {
        "uncompressed" | "none" => ParquetCodec::UNCOMPRESSED,
        "snappy" => ParquetCodec::SNAPPY,
        "gzip" => ParquetCodec::GZIP(GzipLevel::default()),
        "zstd" => ParquetCodec::ZSTD(ZstdLevel::default()),
        "brotli" => ParquetCodec::BROTLI(BrotliLevel::default()),
        "lz4" | "lz4_raw" => ParquetCodec::LZ4_RAW,
        _ => return Err(Error::plan(
            "Expected \"compression\" argument to be any of [uncompressed, brotli, gzip, snappy, lz4, lz4_raw or zstd]",
        )),
    })
}
