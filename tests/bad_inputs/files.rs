//! Files that are not what they claim, paths that lead nowhere, and outputs that cannot be
//! written.

use crate::harness::Dir;

/// A valid Parquet file of 50,000 rows (`a` BIGINT, `b` VARCHAR) written by rask.
fn valid_parquet(dir: &Dir) -> Vec<u8> {
    let out = dir
        .command(&[
            "-c",
            "COPY (SELECT range AS a, 'v' || range AS b FROM range(50000)) TO 'valid.parquet'",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(dir.path().join("valid.parquet")).unwrap();
    std::fs::remove_file(dir.path().join("valid.parquet")).unwrap();
    bytes
}

#[test]
fn parquet_truncated() {
    let dir = Dir::new();
    let bytes = valid_parquet(&dir);
    dir.write("cut.parquet", &bytes[..bytes.len() / 2]);
    dir.rask(&["-c", "SELECT count(*) FROM 'cut.parquet'"])
        .fails("parquet_truncated", "Invalid Input Error");
}

#[test]
fn parquet_without_its_magic_number() {
    let dir = Dir::new();
    let mut bytes = valid_parquet(&dir);
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(b"JUNK");
    dir.write("nomagic.parquet", &bytes);
    dir.rask(&["-c", "SELECT count(*) FROM 'nomagic.parquet'"])
        .fails("parquet_without_its_magic_number", "Invalid Input Error");
}

#[test]
fn parquet_with_a_corrupt_data_page() {
    let dir = Dir::new();
    let mut bytes = valid_parquet(&dir);
    for i in (64..bytes.len() / 2).step_by(7) {
        bytes[i] ^= 0x5a;
    }
    dir.write("corrupt.parquet", &bytes);
    dir.rask(&["-c", "SELECT sum(a), max(b) FROM 'corrupt.parquet'"])
        .fails("parquet_with_a_corrupt_data_page", "Invalid Input Error");
}

/// Found by the parquet_reader fuzz target: a corrupt page header made the decoder skip a
/// list of garbage length at the end of the file, one empty read per element (two minutes of
/// system calls before it failed). The reader now fails at once.
#[test]
fn parquet_header_that_skips_past_the_end() {
    let dir = Dir::new();
    let input = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/regressions/parquet_reader/timeout-skip-past-the-end-848dba6c"
    );
    dir.write(
        "skips.parquet",
        std::fs::read(input).expect("the fuzz regression input"),
    );
    // Reads the pages: `count(*)` alone would be answered from the row counts in the footer.
    dir.rask(&["-c", "SELECT * FROM 'skips.parquet'"])
        .fails("parquet_header_that_skips_past_the_end", "Invalid Input Error");
}

#[test]
fn parquet_empty_file() {
    let dir = Dir::new();
    dir.write("empty.parquet", "");
    dir.rask(&["-c", "SELECT * FROM 'empty.parquet'"])
        .fails("parquet_empty_file", "Invalid Input Error");
}

#[test]
fn parquet_schema_drift_across_a_glob() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    for (name, query) in [
        ("parts/1.parquet", "SELECT 1 AS id, 'x' AS name"),
        ("parts/2.parquet", "SELECT 'two' AS id, 2 AS score"),
    ] {
        let out = dir
            .command(&["-c", &format!("COPY ({query}) TO '{name}'")])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    dir.rask(&["-c", "SELECT * FROM 'parts/*.parquet'"])
        .fails("parquet_schema_drift_across_a_glob", "Invalid Input Error");
}

#[test]
fn glob_matching_nothing() {
    let dir = Dir::new();
    dir.write("data/a.csv", "x\n1\n");
    dir.rask(&["-c", "SELECT * FROM 'data/*.parquet'"])
        .fails("glob_matching_nothing", "Invalid Input Error");
}

#[test]
fn missing_file() {
    let dir = Dir::new();
    dir.rask(&["-c", "SELECT * FROM 'orders.csv'"])
        .fails("missing_file", "Invalid Input Error");
}

#[test]
fn directory_where_a_file_is_expected() {
    let dir = Dir::new();
    dir.write("orders/part-0.csv", "x\n1\n");
    dir.rask(&["-c", "SELECT * FROM 'orders'"])
        .fails("directory_where_a_file_is_expected", "Invalid Input Error");
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let path = dir.write("secret.csv", "x\n1\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file whatever its mode: run rask as nobody then (setpriv, util-linux).
    let as_root = std::fs::read(&path).is_ok();
    let args = ["-c", "SELECT * FROM 'secret.csv'"];
    let run = if as_root {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let before = dir.listing();
        let cmd = dir.command(&args);
        let program = cmd.get_program().to_owned();
        let all: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
        let output = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program)
            .args(all)
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("setpriv (util-linux) runs rask as nobody when the tests run as root");
        crate::harness::Run::new(&dir, before, output)
    } else {
        dir.rask(&args)
    };
    run.fails("unreadable_file", "IO Error");
}

#[test]
fn output_into_a_directory_that_does_not_exist() {
    let dir = Dir::new();
    dir.rask(&["-c", "SELECT 1 AS x", "-o", "reports/2024/out.csv"])
        .fails("output_into_a_directory_that_does_not_exist", "Invalid Input Error");
}

#[test]
fn copy_into_a_directory_that_does_not_exist() {
    let dir = Dir::new();
    dir.rask(&["-c", "COPY (SELECT 1 AS x) TO 'reports/2024/out.parquet'"])
        .fails("copy_into_a_directory_that_does_not_exist", "Invalid Input Error");
}

#[test]
fn output_path_is_a_directory() {
    let dir = Dir::new();
    dir.write("out.csv/keep.txt", "not to be touched\n");
    dir.rask(&["-c", "SELECT 1 AS x", "-o", "out.csv"])
        .fails("output_path_is_a_directory", "IO Error");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv/keep.txt")).unwrap(),
        "not to be touched\n"
    );
}

#[test]
fn failed_query_keeps_the_previous_output_file() {
    let dir = Dir::new();
    dir.write("data.csv", "id,qty\n1,10\n2,ten\n");
    dir.write("out.csv", "previous result\n");
    dir.rask(&[
        "-c",
        "SELECT * FROM read_csv('data.csv', types = {'qty': 'INTEGER'})",
        "-o",
        "out.csv",
    ])
    .fails("failed_query_keeps_the_previous_output_file", "Invalid Input Error");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "previous result\n"
    );
}
