//! Every example in `docs/dsl.md` runs here. A ```` ```rask ```` block runs in a fresh session
//! after the page's ```` ```rask prelude ```` block; when a ```` ```text ```` block follows it,
//! that is the output it must print (tables as on a terminal, without a width limit). A
//! ```` ```rask error ```` block must fail, printing the text block (the message and the
//! caret line). The examples run in a temporary directory where `testdata/` is the
//! repository's, so the files they write go there.
//!
//! After a deliberate change, `RASK_UPDATE_DOCS=1 cargo test --test dsl_docs` rewrites the
//! text blocks from what rask prints; review the diff before committing.

mod common;

use std::path::Path;

use rask::cli::format::{FormatOptions, OutputFormat};
use rask::cli::run::{caret_lines, Printer};
use rask::Session;

/// A fenced block of the page: its info string, its text, and the line range it occupies.
struct Block {
    info: String,
    text: String,
    /// Index of the opening fence line.
    open: usize,
    /// Index of the closing fence line.
    close: usize,
}

fn blocks(lines: &[&str]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(info) = lines[i].strip_prefix("```") {
            let open = i;
            let mut close = i + 1;
            while close < lines.len() && lines[close] != "```" {
                close += 1;
            }
            out.push(Block {
                info: info.trim().to_string(),
                text: lines[open + 1..close.min(lines.len())].join("\n"),
                open,
                close,
            });
            i = close + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// What running `script` (after `prelude`) prints, or the error report for `rask error`.
fn run(prelude: &str, script: &str, expect_error: bool) -> Result<String, String> {
    let mut session = Session::new(common::test_config(false)).map_err(|e| e.to_string())?;
    session.execute_dsl(prelude).map_err(|e| format!("prelude: {e}"))?;
    let printer = Printer {
        format: OutputFormat::Table,
        opts: FormatOptions::default(),
        timer: false,
    };
    let mut out: Vec<u8> = Vec::new();
    let outcome = session.run_dsl(script, |result| printer.print(result, &mut out));
    match (outcome, expect_error) {
        (Ok(()), false) => Ok(String::from_utf8_lossy(&out).into_owned()),
        (Err(e), false) => Err(format!("failed: {e}")),
        (Ok(()), true) => Err("succeeded but should fail".into()),
        (Err(e), true) => {
            let mut text = format!("Error: {e}\n");
            if let Some(loc) = e.location() {
                text.push_str(&caret_lines(script, loc.line, loc.column));
            }
            Ok(text)
        }
    }
}

#[test]
fn every_example_in_the_dsl_reference_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = root.join("docs").join("dsl.md");
    let doc = std::fs::read_to_string(&page).expect("docs/dsl.md");
    let lines: Vec<&str> = doc.lines().collect();
    let blocks = blocks(&lines);
    let prelude = blocks
        .iter()
        .find(|b| b.info == "rask prelude")
        .map(|b| b.text.clone())
        .expect("a ```rask prelude block");

    let work = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(root.join("testdata"), work.path().join("testdata")).expect("symlink");
    std::env::set_current_dir(work.path()).expect("cd");

    let update = std::env::var_os("RASK_UPDATE_DOCS").is_some();
    let mut replacements: Vec<(usize, usize, String)> = Vec::new();
    let mut failures = Vec::new();
    let mut examples = 0;
    for (k, block) in blocks.iter().enumerate() {
        let expect_error = match block.info.as_str() {
            "rask" => false,
            "rask error" => true,
            _ => continue,
        };
        examples += 1;
        let expected = blocks.get(k + 1).filter(|next| {
            next.info == "text" && lines[block.close + 1..next.open].iter().all(|l| l.trim().is_empty())
        });
        let line = block.open + 1;
        match run(&prelude, &block.text, expect_error) {
            Err(e) => failures.push(format!("docs/dsl.md:{line}: {e}\n{}", block.text)),
            Ok(printed) => {
                if let Some(expected) = expected {
                    let printed = printed.trim_end().to_string();
                    if update {
                        replacements.push((expected.open, expected.close, printed));
                    } else if printed != expected.text.trim_end() {
                        failures.push(format!(
                            "docs/dsl.md:{line}: the output differs\n--- documented\n{}\n--- printed\n{printed}",
                            expected.text
                        ));
                    }
                }
            }
        }
    }
    if update {
        let mut new_lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for (open, close, text) in replacements.into_iter().rev() {
            new_lines.splice(open + 1..close, text.lines().map(str::to_string));
        }
        std::fs::write(&page, new_lines.join("\n") + "\n").expect("rewrite docs/dsl.md");
    }
    assert!(examples >= 20, "only {examples} examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
