//! Where the REPL writes results: the terminal, or the file named by `.output FILE`. A file
//! is written under a temporary name and renamed into place when `.output` switches back (or
//! to another file, or the REPL ends), so it appears whole or not at all.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::AtomicFile;

/// The REPL's result sink.
pub struct Output {
    file: Option<(AtomicFile, BufWriter<File>)>,
    terminal: Box<dyn Write>,
    terminal_is_tty: bool,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("file", &self.file.as_ref().map(|(a, _)| a.display()))
            .finish()
    }
}

impl Output {
    /// Results go to standard output.
    pub fn stdout() -> Self {
        Self {
            file: None,
            terminal: Box::new(std::io::stdout()),
            terminal_is_tty: std::io::stdout().is_terminal(),
        }
    }

    /// Results go to `writer` when no file is open (for tests).
    pub fn to_writer(writer: Box<dyn Write>) -> Self {
        Self {
            file: None,
            terminal: writer,
            terminal_is_tty: false,
        }
    }

    /// Sends results to `path` from now on, closing the file written so far.
    pub fn redirect(&mut self, path: &Path) -> Result<()> {
        self.close()?;
        let atomic = AtomicFile::create(path, ".output")?;
        let writer = BufWriter::new(atomic.file()?);
        self.file = Some((atomic, writer));
        Ok(())
    }

    /// Finishes the file being written (it appears under its name) and sends results to the
    /// terminal again; returns the file's name, if one was open.
    pub fn close(&mut self) -> Result<Option<String>> {
        let Some((atomic, mut writer)) = self.file.take() else {
            return Ok(None);
        };
        let name = atomic.display();
        writer.flush().map_err(|e| Error::io(&name, e))?;
        drop(writer);
        atomic.commit()?;
        Ok(Some(name))
    }

    /// The file results go to, if any.
    pub fn file_name(&self) -> Option<String> {
        self.file.as_ref().map(|(a, _)| a.display())
    }

    /// Whether results go to a terminal (fit to its width, in colour).
    pub fn is_terminal(&self) -> bool {
        self.file.is_none() && self.terminal_is_tty
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some((_, w)) => w.write(buf),
            None => self.terminal.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some((_, w)) => w.flush(),
            None => self.terminal.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_when_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut out = Output::to_writer(Box::new(std::io::sink()));
        out.redirect(&path).unwrap();
        assert_eq!(out.file_name(), Some(path.display().to_string()));
        out.write_all(b"a\n1\n").unwrap();
        out.flush().unwrap();
        assert!(!path.exists());
        assert_eq!(out.close().unwrap(), Some(path.display().to_string()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n1\n");
        assert_eq!(out.close().unwrap(), None);
        assert!(out.redirect(&dir.path().join("missing/x.csv")).is_err());
    }
}
