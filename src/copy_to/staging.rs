//! The atomic target of a COPY that writes a directory (PARTITION_BY, PER_THREAD_OUTPUT):
//! every file is written into a temporary directory next to the target, which replaces the
//! target (or, with OVERWRITE_OR_IGNORE, is merged into it) only when the whole COPY
//! succeeded. Dropped without [`Staging::commit`] (an error, a cancelled query), the
//! temporary directory is removed with everything in it and the target is left as it was.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::options::ExistingFiles;
use crate::error::{Error, Result};

/// A directory being written under a temporary name.
#[derive(Debug)]
pub struct Staging {
    tmp: tempfile::TempDir,
    target: PathBuf,
    existing: ExistingFiles,
}

fn io_message(path: &Path, kind: ErrorKind, message: String) -> Error {
    Error::io(path.display().to_string(), std::io::Error::new(kind, message))
}

impl Staging {
    /// Checks `target` as DuckDB does (a non-empty directory needs OVERWRITE or
    /// OVERWRITE_OR_IGNORE, a file needs OVERWRITE) and creates the temporary directory.
    pub fn create(target: &Path, existing: ExistingFiles) -> Result<Self> {
        let shown = target.display();
        if target.is_file() && existing != ExistingFiles::Overwrite {
            return Err(io_message(
                target,
                ErrorKind::AlreadyExists,
                format!("Cannot write to \"{shown}\" - it exists and is a file, not a directory! Enable OVERWRITE option to overwrite the file"),
            ));
        }
        if existing == ExistingFiles::Error && target.is_dir() {
            let mut entries = std::fs::read_dir(target).map_err(|e| Error::io(shown.to_string(), e))?;
            if entries.next().is_some() {
                return Err(io_message(
                    target,
                    ErrorKind::DirectoryNotEmpty,
                    format!("Directory \"{shown}\" is not empty! Enable OVERWRITE option to overwrite files"),
                ));
            }
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(io_message(
                target,
                ErrorKind::NotFound,
                format!("Failed to create directory \"{shown}\": No such file or directory"),
            ));
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".rask-copy-");
        // An ordinary directory once renamed into place (0777 less the umask), not 0700.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o777));
        }
        let tmp = builder
            .tempdir_in(&parent)
            .map_err(|e| Error::io(parent.display().to_string(), e))?;
        Ok(Self {
            tmp,
            target: target.to_path_buf(),
            existing,
        })
    }

    /// The temporary directory the files go into.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Puts the written files in place.
    pub fn commit(self) -> Result<()> {
        let shown = self.target.display().to_string();
        let io = |e| Error::io(&shown, e);
        if self.existing == ExistingFiles::OverwriteOrIgnore && self.target.is_dir() {
            merge_into(self.tmp.path(), &self.target).map_err(io)?;
            return Ok(());
        }
        if !self.target.exists() || is_empty_dir(&self.target) {
            // rename(2) replaces an empty directory.
            std::fs::rename(self.tmp.path(), &self.target).map_err(io)?;
            let _ = self.tmp.keep();
            return Ok(());
        }
        // OVERWRITE: move the old target aside, put the new one in place, then delete the old.
        let parent = self.tmp.path().parent().unwrap_or(Path::new(".")).to_path_buf();
        let old = tempfile::Builder::new()
            .prefix(".rask-old-")
            .tempdir_in(&parent)
            .map_err(io)?;
        let aside = old.path().join("old");
        std::fs::rename(&self.target, &aside).map_err(io)?;
        if let Err(e) = std::fs::rename(self.tmp.path(), &self.target) {
            let _ = std::fs::rename(&aside, &self.target);
            return Err(io(e));
        }
        let _ = self.tmp.keep();
        if aside.is_dir() {
            std::fs::remove_dir_all(&aside).map_err(io)?;
        }
        // `old` (and a replaced file in it) is removed when dropped.
        drop(old);
        Ok(())
    }
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

/// Moves every file under `from` to the same place under `to`, replacing files there.
fn merge_into(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            merge_into(&entry.path(), &dest)?;
        } else {
            std::fs::rename(entry.path(), dest)?;
        }
    }
    Ok(())
}
