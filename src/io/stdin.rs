//! Standard input as a file: the first `FROM '-'` copies stdin into a temporary file once
//! per process; later reads of `-` in the same process see the same data. A bare `FROM '-'`
//! finds the format from the content.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::io::source::{FileFormat, FileMeta};

/// The display name of standard input in error messages.
pub const STDIN_NAME: &str = "<stdin>";

struct Spooled {
    path: PathBuf,
    size: u64,
}

static SPOOLED: OnceLock<std::result::Result<Spooled, String>> = OnceLock::new();

fn spool() -> std::result::Result<Spooled, String> {
    let mut file = tempfile::Builder::new()
        .prefix("rask-stdin-")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file for stdin: {e}"))?;
    let mut input = std::io::stdin().lock();
    let size = std::io::copy(&mut input, &mut file).map_err(|e| format!("cannot read stdin: {e}"))?;
    file.flush().map_err(|e| format!("cannot spool stdin: {e}"))?;
    let path = file
        .into_temp_path()
        .keep()
        .map_err(|e| format!("cannot keep the stdin spool file: {e}"))?;
    Ok(Spooled { path, size })
}

/// Standard input spooled to a temporary file (read from stdin on the first call only).
pub fn spooled_stdin() -> Result<FileMeta> {
    match SPOOLED.get_or_init(spool) {
        Ok(s) => Ok(FileMeta {
            path: s.path.clone(),
            display_name: STDIN_NAME.to_string(),
            size: s.size,
        }),
        Err(msg) => Err(Error::io(STDIN_NAME, std::io::Error::other(msg.clone()))),
    }
}

/// Deletes the stdin spool file, if stdin was read. Call once when the process exits.
pub fn remove_spooled_stdin() {
    if let Some(Ok(s)) = SPOOLED.get() {
        // Best effort: the file lives in the temp directory anyway.
        let _ = std::fs::remove_file(&s.path);
    }
}

/// The format of spooled standard input, from its first bytes: Parquet's `PAR1` magic,
/// JSON when the first non-blank byte is `{` or `[`, else CSV (the delimiter, e.g. a tab,
/// is sniffed later).
pub fn sniff_format(file: &FileMeta) -> Result<FileFormat> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(&file.path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| Error::io(&file.display_name, e))?;
    Ok(format_of(&head))
}

fn format_of(head: &[u8]) -> FileFormat {
    if head.starts_with(b"PAR1") {
        return FileFormat::Parquet;
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => FileFormat::Json,
        _ => FileFormat::Csv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_content() {
        assert_eq!(format_of(b"PAR1\x15\x04"), FileFormat::Parquet);
        assert_eq!(format_of(b"  {\"a\": 1}\n"), FileFormat::Json);
        assert_eq!(format_of(b"[{\"a\": 1}]"), FileFormat::Json);
        assert_eq!(format_of(b"a\tb\n1\t2\n"), FileFormat::Csv);
        assert_eq!(format_of(b""), FileFormat::Csv);
    }
}
