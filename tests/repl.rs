//! The REPL in a pseudo-terminal, driven as a user would: the prompt, a multi-line
//! statement, tab completion of a table name, `.mode csv`, Ctrl-C on an empty line, on a
//! statement being typed and on a running query (cancelled within a second, the REPL
//! answering after), `.dsl` switching the prompt, and Ctrl-D exiting with code 0.

#![cfg(unix)]

use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{spawn_command, PtySession};

/// Starts the REPL in a pseudo-terminal, in `dir`, with history kept in `dir`.
fn spawn(dir: &std::path::Path, colour: bool) -> PtySession {
    spawn_with(dir, colour, &[])
}

/// Starts the REPL with extra arguments.
fn spawn_with(dir: &std::path::Path, colour: bool, args: &[&str]) -> PtySession {
    // A pseudo-terminal starts 0 columns wide: size it as a terminal window would be.
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "stty cols 100 rows 40 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_rask"),
    ])
    .args(args)
    .current_dir(dir)
    .env("HOME", dir)
    .env("TERM", "xterm")
    .env_remove("NO_COLOR");
    if !colour {
        cmd.env("NO_COLOR", "1");
    }
    spawn_command(cmd, Some(15_000)).expect("spawn rask")
}

/// Sends `line`, waits for the next main prompt and returns what came before it.
fn run(p: &mut PtySession, line: &str) -> String {
    p.send_line(line).unwrap();
    utf8(&p.exp_string("rask> ").unwrap())
}

/// rexpect reads a byte a char: turn its text back into the UTF-8 the terminal got.
fn utf8(read: &str) -> String {
    let bytes: Vec<u8> = read.chars().map(|c| c as u32 as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A needle for rexpect, whose text holds a char per byte.
fn bytes_of(text: &str) -> String {
    text.bytes().map(char::from).collect()
}

#[test]
fn repl_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(dir.path(), false);
    p.exp_string("rask> ").unwrap();

    run(&mut p, "CREATE TABLE numbers AS SELECT * FROM range(5) t(i);");

    // A statement over two lines: the continuation prompt, then the result.
    p.send_line("SELECT sum(i) AS total").unwrap();
    p.exp_string(&bytes_of("·> ")).unwrap();
    let shown = run(&mut p, "  FROM numbers;");
    assert!(shown.contains("total") && shown.contains("10"), "{shown}");

    // Tab completes the table name; the query only works if it did.
    p.send("SELECT count(*) AS how_many FROM numb").unwrap();
    p.flush().unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("numbers").unwrap();
    let shown = run(&mut p, ";");
    assert!(shown.contains("how_many"), "{shown}");
    assert!(!shown.contains("Error"), "{shown}");

    // CSV mode.
    run(&mut p, ".mode csv");
    let shown = run(&mut p, "SELECT 40 + 2 AS answer, 'x' AS s;");
    assert!(shown.contains("answer,s\r\n42,x\r\n"), "{shown:?}");

    // Ctrl-C on an empty line does nothing; on a statement being typed it discards it.
    p.send_control('c').unwrap();
    p.exp_string("rask> ").unwrap();
    p.send_line("SELECT 1 +").unwrap();
    p.exp_string(&bytes_of("·> ")).unwrap();
    p.send_control('c').unwrap();
    p.exp_string("rask> ").unwrap();
    let shown = run(&mut p, "SELECT 7 AS seven;");
    assert!(shown.contains("seven\r\n7\r\n"), "{shown:?}");
    assert!(!shown.contains("Error"), "{shown:?}");

    // Ctrl-C cancels a long query within a second; the REPL goes on.
    p.send_line("SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3;")
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let pressed = Instant::now();
    p.send_control('c').unwrap();
    p.exp_string("Query cancelled").unwrap();
    let took = pressed.elapsed();
    assert!(took < Duration::from_secs(1), "cancelling took {took:?}");
    p.exp_string("rask> ").unwrap();
    let shown = run(&mut p, "SELECT 42 AS answer;");
    assert!(shown.contains("answer\r\n42\r\n"), "{shown:?}");

    // .dsl switches the prompt, .sql back.
    p.send_line(".dsl").unwrap();
    p.exp_string("rask dsl> ").unwrap();
    p.send_line("numbers.count()").unwrap();
    p.exp_string("count\r\n5\r\n").unwrap();
    p.exp_string("rask dsl> ").unwrap();
    run(&mut p, ".sql");

    // Ctrl-D exits with code 0, and the history was written.
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    // nix's WaitStatus, e.g. `Exited(Pid(12), 0)` (rexpect does not re-export the type).
    let status = format!("{:?}", p.process().wait().unwrap());
    assert!(status.starts_with("Exited(") && status.ends_with(", 0)"), "{status}");
    let history = std::fs::read_to_string(dir.path().join(".rask_history")).unwrap();
    assert!(history.contains("SELECT 42 AS answer;"), "{history}");
}

#[test]
fn table_output_and_highlighting_on_a_colour_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(dir.path(), true);
    p.exp_string("rask> ").unwrap();
    // The line is highlighted as it is typed: the keyword in bold blue.
    p.send("SELECT").unwrap();
    p.flush().unwrap();
    p.exp_string("\x1b[1;34mSELECT\x1b[0m").unwrap();
    // A long result shows its first and last rows; NULL is dim; numbers right-aligned.
    p.send_line(" i, NULL AS nothing FROM range(100) t(i);").unwrap();
    let shown = utf8(&p.exp_string("100 rows (40 shown)").unwrap());
    assert!(shown.contains("    99 │"), "{shown}");
    assert!(shown.contains("\x1b[2m    NULL \x1b[0m"), "{shown:?}");
    p.send_line(".quit").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn cancelling_a_spilling_query_removes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let spill_arg = spill.display().to_string();
    let mut p = spawn_with(dir.path(), false, &["--temp-dir", &spill_arg, "-m", "64MB"]);
    p.exp_string("rask> ").unwrap();
    p.send_line("SELECT i % 50000000 AS k, count(*) FROM range(1000000000) t(i) GROUP BY k ORDER BY k LIMIT 3;")
        .unwrap();
    // Wait until the aggregation has spilled.
    let files = |dir: &std::path::Path| -> usize { walk(dir).into_iter().filter(|p| p.is_file()).count() };
    let waited = Instant::now();
    while files(&spill) == 0 {
        assert!(waited.elapsed() < Duration::from_secs(60), "the query never spilled");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pressed = Instant::now();
    p.send_control('c').unwrap();
    // A second Ctrl-C while it stops must not end the REPL.
    p.send_control('c').unwrap();
    p.exp_string("Query cancelled").unwrap();
    let took = pressed.elapsed();
    assert!(took < Duration::from_secs(1), "cancelling took {took:?}");
    p.exp_string("rask> ").unwrap();
    assert_eq!(files(&spill), 0, "spill files left: {:?}", walk(&spill));
    let shown = run(&mut p, "SELECT 42 AS answer;");
    assert!(shown.contains("42"), "{shown}");
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

/// Every path under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}
