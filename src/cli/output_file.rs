//! `-o PATH`: the results go to a file instead of standard output, in the format its
//! extension names (or `--format`). Text formats take every result of the scripts in turn;
//! `.parquet` takes the rows of the one statement that returns rows. Either way the file is
//! written under a temporary name and renamed into place only when every statement
//! succeeded, so a failed run leaves no half-written file (and any previous file as it was).

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::cli::args::Args;
use crate::cli::format::{FormatOptions, OutputFormat};
use crate::cli::run::{fail, render_threads, run_script, run_with, Failure, Printer, Script};
use crate::copy_to::CopyTo;
use crate::error::{Error, Result};
use crate::io::AtomicFile;
use crate::session::{Session, StatementResult};

/// Runs `scripts` with their results written to `path`; errors are reported before returning.
pub fn run_to_file(
    session: &mut Session,
    scripts: &[Script],
    args: &Args,
    path: &Path,
) -> std::result::Result<(), Failure> {
    let is_parquet = args.format.is_none() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet {
        return run_to_parquet(session, scripts, args, path);
    }
    let format = match args.format.or_else(|| OutputFormat::from_extension(path)) {
        Some(f) => f,
        None => {
            let err = Error::InvalidInput(format!(
                "cannot tell the output format from '{}': use a .csv, .tsv, .json, .ndjson, .md or \
                 .parquet name, or --format",
                path.display()
            ));
            return fail(err, None);
        }
    };
    let printer = Printer {
        format,
        opts: FormatOptions {
            header: !args.no_header,
            threads: render_threads(args),
            ..FormatOptions::default()
        },
        timer: args.timer,
    };
    let target = match AtomicFile::create(path, "output file") {
        Ok(t) => t,
        Err(e) => return fail(e, None),
    };
    let display = target.display();
    let file = match target.file() {
        Ok(f) => f,
        Err(e) => return fail(e, None),
    };
    let mut out = BufWriter::new(file);
    for script in scripts {
        if let Err(e) = run_script(session, script, &printer, &mut out) {
            return fail(rename_output_error(e, &display), Some(&script.text));
        }
    }
    if let Err(e) = out.flush() {
        return fail(Error::io(display, e), None);
    }
    target.commit().or_else(|e| fail(e, None))
}

/// `-o x.parquet`: the rows of the one statement that returns rows, streamed into the file.
fn run_to_parquet(
    session: &mut Session,
    scripts: &[Script],
    args: &Args,
    path: &Path,
) -> std::result::Result<(), Failure> {
    // The rows go to a temporary file, renamed into place once every statement succeeded.
    let target = match AtomicFile::create(path, "output file") {
        Ok(t) => t,
        Err(e) => return fail(e, None),
    };
    let copy = match CopyTo::new(
        String::new(),
        target.temp_path().to_path_buf(),
        Some("parquet"),
        true,
        None,
    ) {
        Ok(c) => c,
        Err(e) => return fail(e, None),
    };
    let memory = std::sync::Arc::clone(session.memory());
    let mut written = 0usize;
    for script in scripts {
        let mut write = |result: StatementResult| -> Result<()> {
            let (schema, mut rows): (_, Box<dyn Iterator<Item = Result<_>>>) = match result {
                StatementResult::Stream(s) => (s.schema, s.batches),
                StatementResult::Query(q) => (q.schema, Box::new(q.batches.into_iter().map(Ok))),
                StatementResult::Done { .. } => return Ok(()),
            };
            written += 1;
            if written > 1 {
                return Err(Error::InvalidInput(format!(
                    "'{}' can hold the rows of one statement, and a second one returns rows; \
                     write them with COPY … TO or use a text format",
                    path.display()
                )));
            }
            copy.write(&schema, &mut rows, &memory).map(|_| ())
        };
        if let Err(e) = run_with(session, &script.text, script.language, true, args.timer, &mut write) {
            return fail(e, Some(&script.text));
        }
    }
    if written == 0 {
        return fail(
            Error::InvalidInput(format!("no statement returned rows to write to '{}'", path.display())),
            None,
        );
    }
    target.commit().or_else(|e| fail(e, None))
}

/// Names the output file in write errors (they say `<output>` otherwise).
fn rename_output_error(err: Error, path: &str) -> Error {
    match err {
        Error::Io { path: p, source } if p == "<output>" => Error::io(path, source),
        other => other,
    }
}
