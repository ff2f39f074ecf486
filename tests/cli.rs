//! End-to-end tests of the `rask` binary: arguments, exit codes, output formats, SQL from
//! `-c`, files and stdin, `-o` files and a closed output pipe.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn rask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rask"))
}

/// Runs `rask args…` and returns its stdout, asserting success and a quiet stderr.
fn stdout_of(args: &[&str]) -> String {
    let out = rask()
        .args(args)
        .write_stdin("")
        .assert()
        .success()
        .stderr("")
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap()
}

const ONE_X: &str = "select 1 as a, 'x' as b";

// ----- no engine needed ------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2() {
    rask()
        .arg("--no-such-flag")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-such-flag"));
    rask().args(["-t", "0", "-c", "select 1"]).assert().code(2);
    rask().args(["-m", "lots", "-c", "select 1"]).assert().code(2);
    rask().args(["-F", "xml", "-c", "select 1"]).assert().code(2);
}

#[test]
fn missing_script_file_names_the_path() {
    rask()
        .arg("/nonexistent/dir/query.sql")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("Error: ").and(predicate::str::contains("/nonexistent/dir/query.sql")));
    rask()
        .args(["-c", "select 1", "-f", "/nonexistent/other.sql"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("/nonexistent/other.sql"));
}

#[test]
fn output_with_unknown_extension_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    rask()
        .current_dir(dir.path())
        .args(["-c", ONE_X, "-o", "out.xyz"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("out.xyz").and(predicate::str::contains("--format")));
    assert!(!dir.path().join("out.xyz").exists());
}

#[test]
fn temp_dir_must_exist() {
    rask()
        .args(["--temp-dir", "/nonexistent/spill", "-c", "select 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/spill"));
}

#[test]
fn help_lists_the_options() {
    rask()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--memory-limit").and(predicate::str::contains("--format")));
}

// ----- need the SQL engine ---------------------------------------------------------------------

#[test]
fn csv_is_the_default_off_a_terminal() {
    assert_eq!(stdout_of(&["-c", ONE_X]), "a,b\n1,x\n");
    assert_eq!(stdout_of(&["--no-header", "-c", ONE_X]), "1,x\n");
}

#[test]
fn formats() {
    assert_eq!(stdout_of(&["-F", "csv", "-c", ONE_X]), "a,b\n1,x\n");
    assert_eq!(stdout_of(&["-F", "tsv", "-c", ONE_X]), "a\tb\n1\tx\n");
    assert_eq!(stdout_of(&["-F", "json", "-c", ONE_X]), "[{\"a\":1,\"b\":\"x\"}]\n");
    assert_eq!(stdout_of(&["-F", "ndjson", "-c", ONE_X]), "{\"a\":1,\"b\":\"x\"}\n");
    assert_eq!(
        stdout_of(&["-F", "markdown", "-c", ONE_X]),
        "|   a | b   |\n|----:|-----|\n|   1 | x   |\n"
    );
    // The literal's integer width is the engine's choice; the box is the same either way.
    let table = stdout_of(&["-F", "table", "-c", ONE_X]).replace("int32", "int64");
    assert_eq!(
        table,
        "┌───────┬─────────┐\n\
         │   a   │    b    │\n\
         │ int64 │ varchar │\n\
         ├───────┼─────────┤\n\
         │     1 │ x       │\n\
         └───────┴─────────┘\n"
    );
}

#[test]
fn repeated_commands_run_in_order() {
    assert_eq!(
        stdout_of(&["-c", "select 1 as a", "-c", "select 'y' as b"]),
        "a\n1\nb\ny\n"
    );
}

#[test]
fn script_from_stdin() {
    rask()
        .write_stdin("select 1 as a;\nselect 2 as a;\n")
        .assert()
        .success()
        .stdout("a\n1\na\n2\n")
        .stderr("");
}

#[test]
fn script_files_and_commands_interleave() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.sql"), "select 1 as n;").unwrap();
    std::fs::write(dir.path().join("three.sql"), "select 3 as n;").unwrap();
    rask()
        .current_dir(dir.path())
        .args(["one.sql", "-c", "select 2 as n", "-f", "three.sql"])
        .assert()
        .success()
        .stdout("n\n1\nn\n2\nn\n3\n");
}

#[test]
fn with_command_stdin_is_data() {
    rask()
        .args(["-c", "select count(*) as n from '-'"])
        .write_stdin("x\n1\n2\n3\n")
        .assert()
        .success()
        .stdout("n\n3\n");
}

fn write_sales(dir: &Path) {
    std::fs::create_dir_all(dir.join("sales")).unwrap();
    std::fs::write(dir.join("sales/a.csv"), "id,region,amount\n1,north,10.5\n2,south,20\n").unwrap();
    std::fs::write(dir.join("sales/b.csv"), "id,region,amount\n3,\"east, far\",7.25\n").unwrap();
}

#[test]
fn csv_over_a_glob() {
    let dir = tempfile::tempdir().unwrap();
    write_sales(dir.path());
    rask()
        .current_dir(dir.path())
        .args(["--format", "csv", "-c", "select * from 'sales/*.csv' order by id"])
        .assert()
        .success()
        .stdout("id,region,amount\n1,north,10.5\n2,south,20.0\n3,\"east, far\",7.25\n")
        .stderr("");
}

#[test]
fn statements_without_rows_print_nothing() {
    assert_eq!(
        stdout_of(&["-c", "create table t as select 1 as a", "-c", "select * from t"]),
        "a\n1\n"
    );
}

#[test]
fn parse_errors_point_at_the_column() {
    let out = rask()
        .args(["-c", "select 1 frm t"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("Error: Parser Error"), "{stderr}");
    // Printed once: one line starts with "Error:".
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("Error:")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("LINE 1: select 1 frm t\n"), "{stderr}");
    assert!(stderr.trim_end().ends_with('^'), "{stderr}");
}

#[test]
fn a_failing_script_stops_at_the_first_error() {
    rask()
        .args(["-c", "select 1 as a; select * from no_such_table; select 2 as b"])
        .assert()
        .code(1)
        .stdout("a\n1\n")
        .stderr(predicate::str::starts_with("Error: ").and(predicate::str::contains("no_such_table")));
}

#[test]
fn closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = String::from("n,s\n");
    for i in 0..200_000 {
        big.push_str(&format!("{i},row number {i}\n"));
    }
    std::fs::write(dir.path().join("big.csv"), big).unwrap();
    let script = format!(
        "set -o pipefail; '{}' -c \"select * from 'big.csv'\" | head -1",
        env!("CARGO_BIN_EXE_rask")
    );
    Command::new("bash")
        .current_dir(dir.path())
        .args(["-c", &script])
        .assert()
        .success()
        .stdout("n,s\n")
        .stderr("");
}

#[test]
fn output_file_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    rask()
        .current_dir(dir.path())
        .args(["-c", ONE_X, "-o", "out.json"])
        .assert()
        .success()
        .stdout("");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
        "[{\"a\":1,\"b\":\"x\"}]\n"
    );
    rask()
        .current_dir(dir.path())
        .args(["-c", ONE_X, "-o", "out.csv", "--no-header"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(dir.path().join("out.csv")).unwrap(), "1,x\n");

    rask()
        .current_dir(dir.path())
        .args(["-c", ONE_X, "-c", "select * from no_such_table", "-o", "failed.csv"])
        .assert()
        .code(1);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, vec!["out.csv", "out.json"]);
}

#[test]
fn timer_reports_on_stderr() {
    rask()
        .args(["--timer", "-c", "select 1 as a"])
        .assert()
        .success()
        .stdout("a\n1\n")
        .stderr(predicate::str::starts_with("Run Time (s): real "));
}

#[test]
fn threads_and_memory_limit_are_accepted() {
    assert_eq!(
        stdout_of(&[
            "-t",
            "1",
            "-m",
            "64MB",
            "--disable-rule",
            "predicate_pushdown",
            "-c",
            ONE_X
        ]),
        "a,b\n1,x\n"
    );
}

#[test]
fn summarize_gives_one_row_per_column() {
    let out = stdout_of(&[
        "-F",
        "csv",
        "-c",
        "SUMMARIZE SELECT * FROM (VALUES (1, 'a', 1.5), (NULL, 'bb', 2.5), (3, 'a', NULL)) t(i, s, d)",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "column_name,column_type,min,max,approx_unique,avg,std,q25,q50,q75,count,null_percentage"
    );
    // Exact statistics (DuckDB's approx_unique and quartiles are estimates; these agree).
    assert!(lines[1].starts_with("i,INTEGER,1,3,2,2.0,1.4142135623730951,"), "{out}");
    assert!(lines[1].ends_with(",3,33.33"), "{out}");
    assert_eq!(lines[2], "s,VARCHAR,a,bb,2,,,,,,3,0.00");
    assert!(lines[3].starts_with("d,\"DECIMAL(2,1)\",1.5,2.5,2,2.0,"), "{out}");
    assert_eq!(lines.len(), 4, "{out}");
}

#[test]
fn ctrl_c_stops_a_spilling_query_and_removes_its_spill_files() {
    let temp = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("big.csv");
    let sql = format!(
        "COPY (SELECT range AS id, repeat('y', 40) || range::VARCHAR AS s FROM range(200000000)) TO '{}'",
        target.display()
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(["-t", "2", "-m", "8MB", "--temp-dir"])
        .arg(temp.path())
        .args(["-c", &sql])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the query has spilled some files.
    let spill_files = |dir: &Path| -> usize {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| std::fs::read_dir(e.path()).map(|f| f.count()).unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    while spill_files(temp.path()) == 0 {
        assert!(started.elapsed().as_secs() < 60, "the query never spilled");
        assert!(child.try_wait().unwrap().is_none(), "the query ended before spilling");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let interrupted = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        interrupted.elapsed().as_secs() < 5,
        "took {:?} to stop",
        interrupted.elapsed()
    );
    assert_eq!(output.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.to_lowercase().contains("cancelled"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
    assert!(!target.exists(), "a partial output was left");
    assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 0);
}

// ----- the dataframe DSL -------------------------------------------------------------------------

#[test]
fn dsl_scripts_run_from_rask_files() {
    let dir = tempfile::tempdir().unwrap();
    write_sales(dir.path());
    let script = dir.path().join("report.rask");
    std::fs::write(
        &script,
        format!(
            "# orders per region\nsales = read_csv(\"{}/sales/*.csv\")\nsales.groupby(region)\n     .agg(n = count(*))\n     .sort(region)\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = stdout_of(&[script.to_str().unwrap()]);
    assert_eq!(out, "region,n\n\"east, far\",1\nnorth,1\nsouth,1\n");
    // -f takes DSL files too, and SQL and DSL scripts share names: `sales` is a view to SQL.
    let sql = dir.path().join("after.sql");
    std::fs::write(&sql, "SELECT count(*) AS rows FROM sales;").unwrap();
    let out = stdout_of(&["-f", script.to_str().unwrap(), sql.to_str().unwrap()]);
    assert!(out.ends_with("rows\n3\n"), "{out}");
}

#[test]
fn dsl_from_the_command_line_and_stdin() {
    let out = stdout_of(&["--dsl", "-c", "sql(\"SELECT 1 AS a UNION ALL SELECT 2\").filter(a > 1)"]);
    assert_eq!(out, "a\n2\n");
    let out = rask()
        .arg("--dsl")
        .write_stdin("x = sql(\"SELECT 42 AS answer\")\nx.show()\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap(), "answer\n42\n");
}

#[test]
fn dsl_errors_show_the_line_and_a_caret() {
    let out = rask()
        .args(["--dsl", "-c", "x = sql(\"SELECT 1 AS a\")\nx.fliter(a > 1)"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "Error: Parser Error: unknown verb fliter; did you mean filter? at line 2, column 3\n\
         LINE 2: x.fliter(a > 1)\n\
         \x20         ^\n"
    );
}

// ----- parameters and scripts ----------------------------------------------------------------------

#[test]
fn params_are_constants_never_sql_text() {
    let out = stdout_of(&[
        "--param",
        "n=2",
        "--param",
        "who=x'; SELECT 666; --",
        "-c",
        "SELECT $who AS who, $n + 1 AS three",
    ]);
    assert_eq!(out, "who,three\nx'; SELECT 666; --,3\n");
    // In the DSL, SQL arguments and string arguments alike.
    let out = stdout_of(&[
        "--dsl",
        "--param",
        "q=SELECT 1 AS a",
        "--param",
        "min=0",
        "-c",
        "sql($q).filter(a > $min)",
    ]);
    assert_eq!(out, "a\n1\n");
    rask()
        .args(["-c", "SELECT $missing"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "parameter $missing has no value: pass --param missing=VALUE",
        ));
    rask()
        .args(["--param", "novalue", "-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--param wants NAME=VALUE"));
}

#[test]
fn a_failing_statement_is_named_by_number_and_line() {
    let out = rask()
        .args(["-c", "SELECT 1 AS a;\n\nSELECT * FROM 'no/such/file.csv';\nSELECT 3;"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "a\n1\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("LINE 3: SELECT * FROM 'no/such/file.csv';"), "{stderr}");
    assert!(
        stderr.contains("(statement 2 of 3, line 3; the statements before it ran)"),
        "{stderr}"
    );
}

#[test]
fn output_to_parquet_is_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.parquet");
    let path = out.to_str().unwrap();
    stdout_of(&[
        "-c",
        "CREATE TABLE t AS SELECT 1 AS a; SELECT a, 'x' AS b FROM t",
        "-o",
        path,
    ]);
    let read_back = format!("SELECT * FROM '{path}'");
    assert_eq!(stdout_of(&["-c", &read_back]), "a,b\n1,x\n");
    // A failing run leaves the previous file as it was, and no temporary file.
    rask()
        .args(["-c", "SELECT 2 AS a; SELECT * FROM 'no/such.csv'", "-o", path])
        .assert()
        .code(1);
    assert_eq!(stdout_of(&["-c", &read_back]), "a,b\n1,x\n");
    // Two statements with rows do not fit one Parquet file.
    rask()
        .args(["-c", "SELECT 1; SELECT 2", "-o", path])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("can hold the rows of one statement"));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("r.parquet")]);
}

#[test]
fn progress_is_never_drawn_off_a_terminal() {
    // stderr is a pipe here: even --progress draws nothing.
    let out = stdout_of(&[
        "--progress",
        "-c",
        "SELECT count(*) AS n FROM range(300000) t(i) WHERE i % 3 = 0",
    ]);
    assert_eq!(out, "n\n100000\n");
    rask()
        .args(["--progress", "--no-progress", "-c", "SELECT 1"])
        .assert()
        .success()
        .stderr("");
}

// ----- data on stdin, warnings ------------------------------------------------------------------

#[test]
fn stdin_data_in_every_format() {
    let run = |stdin: Vec<u8>, sql: &str| -> String {
        let out = rask()
            .args(["-c", sql])
            .write_stdin(stdin)
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        run(b"a,b\n1,x\n2,y\n".to_vec(), "SELECT count(*) AS n FROM '-'"),
        "n\n2\n"
    );
    assert_eq!(
        run(b"a\tb\n1\t2\n3\t4\n".to_vec(), "SELECT sum(a) AS s FROM '-'"),
        "s\n4\n"
    );
    assert_eq!(
        run(
            b"{\"a\":1}\n{\"a\":5}\n".to_vec(),
            "SELECT sum(a) AS s FROM read_json('-')"
        ),
        "s\n6\n"
    );
    // Parquet is spooled to a temporary file first; a bare '-' is told apart by its magic.
    let parquet = std::fs::read("testdata/sales.parquet").unwrap();
    assert_eq!(run(parquet.clone(), "SELECT count(*) AS n FROM '-'"), "n\n90\n");
    assert_eq!(run(parquet, "SELECT count(*) AS n FROM read_parquet('-')"), "n\n90\n");
}

#[test]
fn skipped_rows_are_reported_on_stderr() {
    let out = rask()
        .args([
            "-c",
            "SELECT count(*) AS n FROM read_csv('testdata/etl/bad_rows.csv', ignore_errors = true)",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "n\n5\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("Warning: ")
            && stderr.contains("skipped 2 rows")
            && stderr.contains("bad_rows.csv:4 column 3"),
        "{stderr}"
    );
}
