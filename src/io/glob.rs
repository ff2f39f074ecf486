//! Expanding a location (a path, a glob, `-` or `/dev/stdin`) into the sorted list of files
//! it names, and guessing a file's format from its extension.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::source::{FileFormat, FileMeta};
use crate::io::stdin;

/// True when `location` names standard input.
pub fn is_stdin(location: &str) -> bool {
    location == "-" || location == "/dev/stdin"
}

/// True when `location` contains glob metacharacters.
pub fn is_glob(location: &str) -> bool {
    location.contains(['*', '?', '['])
}

fn not_found(location: &str) -> Error {
    Error::InvalidInput(format!("No files found that match the pattern \"{location}\""))
}

/// The files `location` names, sorted by path. A missing file or a glob that matches
/// nothing is an error naming the location.
pub fn expand(location: &str) -> Result<Vec<FileMeta>> {
    if is_stdin(location) {
        return Ok(vec![stdin::spooled_stdin()?]);
    }
    if !is_glob(location) {
        let meta = std::fs::metadata(location).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => not_found(location),
            _ => Error::io(location, e),
        })?;
        if meta.is_dir() {
            return Err(Error::InvalidInput(format!(
                "\"{location}\" is a directory; use a glob such as '{}/*.csv'",
                location.trim_end_matches('/')
            )));
        }
        return Ok(vec![FileMeta {
            path: location.into(),
            display_name: location.to_string(),
            size: meta.len(),
        }]);
    }
    let paths =
        glob::glob(location).map_err(|e| Error::InvalidInput(format!("invalid glob pattern \"{location}\": {e}")))?;
    let mut files = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| {
            let p = e.path().display().to_string();
            Error::io(p, e.into())
        })?;
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
        if meta.is_file() {
            files.push(FileMeta {
                display_name: path.display().to_string(),
                path,
                size: meta.len(),
            });
        }
    }
    if files.is_empty() {
        return Err(not_found(location));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// True when the file name ends in `.gz` (gzip-compressed CSV or JSON).
pub fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The format the extension names (after stripping `.gz`), or `None` when unknown.
pub fn format_from_extension(path: &Path) -> Option<FileFormat> {
    let inner = if is_gzip(path) {
        Path::new(path.file_stem()?)
    } else {
        path
    };
    let ext = inner.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" | "txt" | "tbl" => Some(FileFormat::Csv),
        "parquet" | "pq" => Some(FileFormat::Parquet),
        "json" | "ndjson" | "jsonl" => Some(FileFormat::Json),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_extensions() {
        assert_eq!(format_from_extension(Path::new("a/b.CSV")), Some(FileFormat::Csv));
        assert_eq!(format_from_extension(Path::new("a.tbl")), Some(FileFormat::Csv));
        assert_eq!(format_from_extension(Path::new("a.csv.gz")), Some(FileFormat::Csv));
        assert_eq!(format_from_extension(Path::new("a.jsonl.gz")), Some(FileFormat::Json));
        assert_eq!(format_from_extension(Path::new("a.pq")), Some(FileFormat::Parquet));
        assert_eq!(format_from_extension(Path::new("a.dat")), None);
        assert!(is_gzip(Path::new("x.csv.gz")));
    }

    #[test]
    fn glob_sorted_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.txt"] {
            std::fs::write(dir.path().join(name), "x\n1\n").unwrap();
        }
        let pattern = format!("{}/*.csv", dir.path().display());
        let files = expand(&pattern).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv"]);
        assert_eq!(files[0].size, 4);

        let none = format!("{}/*.parquet", dir.path().display());
        let err = expand(&none).unwrap_err().to_string();
        assert!(
            err.contains("No files found that match the pattern") && err.contains(&none),
            "{err}"
        );
        let missing = format!("{}/nope.csv", dir.path().display());
        let err = expand(&missing).unwrap_err().to_string();
        assert!(err.contains(&missing), "{err}");
    }
}
