//! Output files that appear only when complete: a file is written under a temporary name in
//! its target directory and renamed into place by [`AtomicFile::commit`]; dropped without a
//! commit (an error, a cancelled query), the temporary file is removed and any previous file
//! at the path stays as it was.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file being written under a temporary name next to its final path.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path`; fails clearly when its directory does not exist. `what` names
    /// the writer in messages (`COPY TO`, `visualize`).
    pub fn create(path: &Path, what: &str) -> Result<Self> {
        let display = path.display().to_string();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{what} '{display}': directory '{}' does not exist",
                dir.display()
            )));
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".rask-write-");
        // An ordinary file once renamed: readable as the umask allows, not only by its owner.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&display, e))?;
        Ok(Self {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// A second handle on the temporary file, to write through.
    pub fn file(&self) -> Result<File> {
        self.tmp.reopen().map_err(|e| Error::io(self.display(), e))
    }

    /// The temporary file's path (a writer that makes its own files may write there; the
    /// commit renames whatever is there into place).
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// The final path, for messages.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Renames the temporary file into place.
    pub fn commit(self) -> Result<()> {
        let display = self.display();
        self.tmp.persist(&self.path).map_err(|e| Error::io(display, e.error))?;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    use std::io::Write;
    let file = AtomicFile::create(path, what)?;
    file.file()?
        .write_all(bytes)
        .map_err(|e| Error::io(file.display(), e))?;
    file.commit()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn committed_files_are_readable_by_others_as_the_umask_allows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, b"hi", "test").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hi");
        // The mode of a file written plainly (0666 less the umask), not a temporary file's 0600.
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, b"hi").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain));
    }
}
