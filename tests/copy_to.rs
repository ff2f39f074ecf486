//! `COPY … TO` with DuckDB's options: FORMAT, COMPRESSION, PARTITION_BY, OVERWRITE,
//! OVERWRITE_OR_IGNORE, PER_THREAD_OUTPUT. File layouts, names and messages are what DuckDB
//! 2.0 writes for the same statements (listed from its output); files are read back and
//! compared; a COPY that fails or is cancelled midway leaves the previous output (or
//! nothing) and no temporary files.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use rask::session::StatementResult;
use rask::Session;

fn session() -> Session {
    Session::new(common::test_config(false)).expect("session")
}

fn run(s: &mut Session, sql: &str) -> Option<u64> {
    match s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).pop() {
        Some(StatementResult::Done { rows, .. }) => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

fn error(s: &mut Session, sql: &str) -> String {
    match s.execute(sql) {
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
        Err(e) => e.to_string(),
    }
}

fn query(s: &mut Session, sql: &str) -> String {
    match s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).pop() {
        Some(StatementResult::Query(q)) => text(&q.batches),
        other => panic!("{sql}: no rows: {other:?}"),
    }
}

fn text(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = common::spill::files_under(dir)
        .into_iter()
        .map(|f| Path::new(&f).strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

/// Entries of `dir` (not recursive), sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

const TABLE: &str = "CREATE TABLE t AS SELECT i, i % 3 AS a, \
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'x/' || (i % 2) || ' =y' END AS b, i * 1.5 AS d FROM range(100) t(i)";

#[test]
fn partition_by_writes_duckdbs_hive_layout_without_the_partition_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(TABLE).unwrap();
    let out = dir.path().join("p2");
    let sql = format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a, b))", out.display());
    assert_eq!(run(&mut s, &sql), Some(100));
    // DuckDB: COPY t TO 'p2' (FORMAT parquet, PARTITION_BY (a, b)).
    let expected: Vec<String> = [
        "a=0/b=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
        "a=0/b=x%2F0%20%3Dy/data_0.parquet",
        "a=0/b=x%2F1%20%3Dy/data_0.parquet",
        "a=1/b=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
        "a=1/b=x%2F0%20%3Dy/data_0.parquet",
        "a=1/b=x%2F1%20%3Dy/data_0.parquet",
        "a=2/b=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
        "a=2/b=x%2F0%20%3Dy/data_0.parquet",
        "a=2/b=x%2F1%20%3Dy/data_0.parquet",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(files(&out), expected);
    // The files hold the other columns only.
    let one = out.join("a=0/b=__HIVE_DEFAULT_PARTITION__/data_0.parquet");
    // (Without hive_partitioning = false the path's a=/b= would be read back as columns.)
    let described = query(
        &mut s,
        &format!(
            "DESCRIBE SELECT * FROM read_parquet('{}', hive_partitioning = false)",
            one.display()
        ),
    );
    assert!(described.contains("| i ") && described.contains("| d "), "{described}");
    assert!(
        !described.contains("| a ") && !described.contains("| b "),
        "{described}"
    );
    // DuckDB's count, sum(i), sum(d) per partition, read back with hive_partitioning.
    let per_partition = [
        ("a=0/b=x%2F0%20%3Dy", "13 | 636 | 954.0"),
        ("a=0/b=x%2F1%20%3Dy", "14 | 732 | 1098.0"),
        ("a=0/b=__HIVE_DEFAULT_PARTITION__", "7 | 315 | 472.5"),
        ("a=1/b=x%2F0%20%3Dy", "13 | 664 | 996.0"),
        ("a=1/b=x%2F1%20%3Dy", "14 | 668 | 1002.0"),
        ("a=1/b=__HIVE_DEFAULT_PARTITION__", "6 | 285 | 427.5"),
        ("a=2/b=x%2F0%20%3Dy", "14 | 700 | 1050.0"),
        ("a=2/b=x%2F1%20%3Dy", "12 | 600 | 900.0"),
        ("a=2/b=__HIVE_DEFAULT_PARTITION__", "7 | 350 | 525.0"),
    ];
    for (part, want) in per_partition {
        let got = query(
            &mut s,
            &format!(
                "SELECT count(*), sum(i), sum(d) FROM '{}/data_0.parquet'",
                out.join(part).display()
            ),
        );
        let row = got.lines().nth(3).unwrap();
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.join(" | "), want, "{part}");
    }
}

#[test]
fn partition_values_are_named_as_duckdb_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(
        "CREATE TABLE v AS SELECT * FROM (VALUES \
         (1, '', DATE '2020-01-02', true, 1.5::DOUBLE, 'a#b?c&d:e*f\"g<h>i|j\\k', 10::DECIMAL(5,2), TIMESTAMP '2020-01-01 10:11:12', 'é ü'), \
         (2, 'x', NULL, false, -0.25, '%25+~!@$^()[]{},;''', -3.5, NULL, 'Z')) v(k, s, dt, bo, f, w, dec, ts, u)",
    )
    .unwrap();
    // DuckDB: COPY (SELECT k, <col> FROM v) TO 'q' (FORMAT csv, PARTITION_BY (<col>)).
    let cases: [(&str, [&str; 2]); 8] = [
        ("s", ["s=/data_0.csv", "s=x/data_0.csv"]),
        (
            "dt",
            ["dt=2020-01-02/data_0.csv", "dt=__HIVE_DEFAULT_PARTITION__/data_0.csv"],
        ),
        ("bo", ["bo=false/data_0.csv", "bo=true/data_0.csv"]),
        ("f", ["f=-0.25/data_0.csv", "f=1.5/data_0.csv"]),
        (
            "w",
            [
                "w=%2525%2B~%21%40%24%5E%28%29%5B%5D%7B%7D%2C%3B%27/data_0.csv",
                "w=a%23b%3Fc%26d%3Ae%2Af%22g%3Ch%3Ei%7Cj%5Ck/data_0.csv",
            ],
        ),
        ("dec", ["dec=-3.50/data_0.csv", "dec=10.00/data_0.csv"]),
        (
            "ts",
            [
                "ts=2020-01-01%2010%3A11%3A12/data_0.csv",
                "ts=__HIVE_DEFAULT_PARTITION__/data_0.csv",
            ],
        ),
        ("u", ["u=%C3%A9%20%C3%BC/data_0.csv", "u=Z/data_0.csv"]),
    ];
    for (col, want) in cases {
        let out = dir.path().join(format!("q_{col}"));
        run(
            &mut s,
            &format!(
                "COPY (SELECT k, {col} FROM v) TO '{}' (FORMAT csv, PARTITION_BY ({col}))",
                out.display()
            ),
        );
        assert_eq!(files(&out), want.map(String::from).to_vec(), "{col}");
    }
    // The partition column's name is the query's, whatever case PARTITION_BY uses;
    // `PARTITION_BY col` without parentheses works too. CSV files keep their header.
    let out = dir.path().join("r8");
    run(
        &mut s,
        &format!(
            "COPY v TO '{}' (FORMAT csv, PARTITION_BY (K), HEADER false)",
            out.display()
        ),
    );
    assert_eq!(files(&out), ["k=1/data_0.csv", "k=2/data_0.csv"]);
    let out = dir.path().join("r7");
    run(
        &mut s,
        &format!(
            "COPY (SELECT k, s FROM v) TO '{}' (FORMAT csv, PARTITION_BY k)",
            out.display()
        ),
    );
    assert_eq!(
        std::fs::read_to_string(out.join("k=1/data_0.csv")).unwrap(),
        "s\n\"\"\n"
    );
}

#[test]
fn compressed_csv_and_json_files_get_duckdbs_names_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(TABLE).unwrap();
    // DuckDB: ['a=0/data_0.csv.gz', 'a=1/data_0.csv.gz', 'a=2/data_0.csv.gz'].
    let gz = dir.path().join("p4");
    run(
        &mut s,
        &format!(
            "COPY t TO '{}' (FORMAT csv, COMPRESSION gzip, PARTITION_BY (a))",
            gz.display()
        ),
    );
    assert_eq!(
        files(&gz),
        ["a=0/data_0.csv.gz", "a=1/data_0.csv.gz", "a=2/data_0.csv.gz"]
    );
    let got = query(
        &mut s,
        &format!("SELECT count(*), sum(i) FROM read_csv('{}/*/*.csv.gz')", gz.display()),
    );
    assert!(got.contains("| 100 ") && got.contains("| 4950 "), "{got}");
    // DuckDB: ['data_0.csv.zst'], whose text is the CSV with its header.
    let zst = dir.path().join("p5");
    run(
        &mut s,
        &format!(
            "COPY (SELECT i, 'q' AS s FROM range(3) t(i)) TO '{}' (FORMAT csv, COMPRESSION zstd, PER_THREAD_OUTPUT)",
            zst.display()
        ),
    );
    assert_eq!(files(&zst), ["data_0.csv.zst"]);
    let bytes = std::fs::read(zst.join("data_0.csv.zst")).unwrap();
    assert_eq!(zstd::decode_all(&bytes[..]).unwrap(), b"i,s\n0,q\n1,q\n2,q\n");
    // JSON: one object a line, without the partition column (DuckDB: '{"i":0}\n{"i":3}\n{"i":6}\n').
    let json = dir.path().join("j");
    run(
        &mut s,
        &format!(
            "COPY (SELECT i, i % 3 AS a FROM range(7) t(i)) TO '{}' (FORMAT json, PARTITION_BY (a))",
            json.display()
        ),
    );
    assert_eq!(files(&json), ["a=0/data_0.json", "a=1/data_0.json", "a=2/data_0.json"]);
    assert_eq!(
        std::fs::read_to_string(json.join("a=0/data_0.json")).unwrap(),
        "{\"i\":0}\n{\"i\":3}\n{\"i\":6}\n"
    );
    // Single files: `.csv.gz` is gzip CSV; COMPRESSION zstd on `x.csv` keeps the name.
    let single = dir.path().join("p8.csv.gz");
    assert_eq!(run(&mut s, &format!("COPY t TO '{}'", single.display())), Some(100));
    assert_eq!(&std::fs::read(&single).unwrap()[..2], &[0x1f, 0x8b]);
    let got = query(
        &mut s,
        &format!("SELECT count(*), sum(i) FROM read_csv('{}')", single.display()),
    );
    assert!(got.contains("| 100 ") && got.contains("| 4950 "), "{got}");
    let single = dir.path().join("r9.csv");
    run(
        &mut s,
        &format!("COPY (SELECT 1 AS x) TO '{}' (COMPRESSION zstd)", single.display()),
    );
    let bytes = std::fs::read(&single).unwrap();
    assert_eq!(zstd::decode_all(&bytes[..]).unwrap(), b"x\n1\n");
    let single = dir.path().join("r10.json");
    run(
        &mut s,
        &format!("COPY (SELECT 1 AS x) TO '{}' (COMPRESSION gzip)", single.display()),
    );
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&single).unwrap()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, "{\"x\":1}\n");
}

#[test]
fn parquet_codecs_are_written_and_read_back() {
    use parquet::file::reader::FileReader;
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(TABLE).unwrap();
    for (name, codec) in [
        ("uncompressed", "UNCOMPRESSED"),
        ("snappy", "SNAPPY"),
        ("gzip", "GZIP"),
        ("zstd", "ZSTD"),
        ("lz4", "LZ4_RAW"),
        ("brotli", "BROTLI"),
    ] {
        let out = dir.path().join(format!("{name}.parquet"));
        assert_eq!(
            run(&mut s, &format!("COPY t TO '{}' (COMPRESSION {name})", out.display())),
            Some(100)
        );
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&out).unwrap()).unwrap();
        let got = reader.metadata().row_group(0).column(0).compression().to_string();
        assert!(got.starts_with(codec), "{name}: {got}");
        let back = query(
            &mut s,
            &format!("SELECT count(*), sum(i), count(b) FROM '{}'", out.display()),
        );
        assert!(
            back.contains("| 100 ") && back.contains("| 4950 ") && back.contains("| 80 "),
            "{back}"
        );
    }
    // Partitioned Parquet takes the codec too.
    let out = dir.path().join("z");
    run(
        &mut s,
        &format!(
            "COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a), COMPRESSION zstd)",
            out.display()
        ),
    );
    assert_eq!(
        files(&out),
        ["a=0/data_0.parquet", "a=1/data_0.parquet", "a=2/data_0.parquet"]
    );
}

#[test]
fn errors_are_duckdbs() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(TABLE).unwrap();
    let at = |name: &str| dir.path().join(name).display().to_string();
    let cases = [
        (
            format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (zz))", at("e1")),
            "Binder Error: \"partition_by\" expected to find zz, but it was not found in the table",
        ),
        (
            format!("COPY (SELECT 1 AS x) TO '{}' (FORMAT parquet, PARTITION_BY (x))", at("e2")),
            "No column to write as all columns are specified as partition columns",
        ),
        (
            format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a), PER_THREAD_OUTPUT)", at("e3")),
            "Can't combine PER_THREAD_OUTPUT and PARTITIONED BY for COPY",
        ),
        (
            format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a), OVERWRITE, OVERWRITE_OR_IGNORE)", at("e4")),
            "Binder Error: Can only set one of OVERWRITE_OR_IGNORE, OVERWRITE or APPEND",
        ),
        (
            format!("COPY t TO '{}' (COMPRESSION bogus)", at("e5.parquet")),
            "Binder Error: Expected \"compression\" argument to be any of [uncompressed, brotli, gzip, snappy, lz4, lz4_raw or zstd]",
        ),
        (
            format!("COPY t TO '{}' (COMPRESSION snappy)", at("e6.csv")),
            "Attempting to open a compressed file, but the compression type is not supported (compression type \"snappy\")",
        ),
        (
            format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a))", at("no/such/dir")),
            "No such file or directory",
        ),
        (
            format!("COPY t TO '{}' (FORMAT parquet, BOGUS_OPTION 3)", at("e7")),
            "Not implemented: COPY TO option BOGUS_OPTION",
        ),
    ];
    for (sql, want) in cases {
        let got = error(&mut s, &sql);
        assert!(got.contains(want), "{sql}\n  got: {got}\n want: {want}");
    }
    // Nothing was created, not even temporary directories.
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    // A non-empty directory needs OVERWRITE; a file in the way too.
    let out = dir.path().join("p1");
    let sql = format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a))", out.display());
    run(&mut s, &sql);
    let got = error(&mut s, &sql);
    assert!(
        got.contains(&format!(
            "Directory \"{}\" is not empty! Enable OVERWRITE option to overwrite files",
            out.display()
        )),
        "{got}"
    );
    let file = dir.path().join("r3");
    std::fs::write(&file, "x").unwrap();
    let got = error(
        &mut s,
        &format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a))", file.display()),
    );
    assert!(
        got.contains("it exists and is a file, not a directory! Enable OVERWRITE option to overwrite the file"),
        "{got}"
    );
    // OVERWRITE replaces the file by the directory.
    run(
        &mut s,
        &format!(
            "COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a), OVERWRITE)",
            file.display()
        ),
    );
    assert_eq!(files(&file).len(), 3);
    // An empty directory is fine without OVERWRITE.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    run(
        &mut s,
        &format!("COPY t TO '{}' (FORMAT csv, PER_THREAD_OUTPUT)", empty.display()),
    );
    assert_eq!(files(&empty), ["data_0.csv"]);
    assert!(
        entries(dir.path()).iter().all(|e| !e.starts_with(".rask")),
        "{:?}",
        entries(dir.path())
    );
}

#[test]
fn overwrite_replaces_and_overwrite_or_ignore_adds() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute("CREATE TABLE t AS SELECT i, i % 3 AS a FROM range(10) t(i)")
        .unwrap();
    // OVERWRITE: the old directory goes, stray files included (DuckDB lists the 3 new files).
    let out = dir.path().join("n7");
    std::fs::create_dir_all(out.join("a=0")).unwrap();
    std::fs::write(out.join("a=0/data_0.parquet"), "junk").unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    run(
        &mut s,
        &format!(
            "COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a), OVERWRITE)",
            out.display()
        ),
    );
    assert_eq!(
        files(&out),
        ["a=0/data_0.parquet", "a=1/data_0.parquet", "a=2/data_0.parquet"]
    );
    // OVERWRITE_OR_IGNORE: same-named files are replaced, others kept (DuckDB: 4 files, 14 rows).
    let out = dir.path().join("n6");
    run(
        &mut s,
        &format!("COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a))", out.display()),
    );
    run(
        &mut s,
        &format!(
            "COPY (SELECT i, i % 3 + 1 AS a FROM range(10) t(i)) TO '{}' (FORMAT parquet, PARTITION_BY (a), OVERWRITE_OR_IGNORE)",
            out.display()
        ),
    );
    assert_eq!(
        files(&out),
        [
            "a=0/data_0.parquet",
            "a=1/data_0.parquet",
            "a=2/data_0.parquet",
            "a=3/data_0.parquet"
        ]
    );
    let got = query(&mut s, &format!("SELECT count(*) FROM '{}/*/*.parquet'", out.display()));
    assert!(got.contains("| 14 "), "{got}");
    // A single file is replaced, with or without OVERWRITE.
    let single = dir.path().join("r5.csv");
    std::fs::write(&single, "old").unwrap();
    run(
        &mut s,
        &format!("COPY (SELECT 1 AS x) TO '{}' (OVERWRITE)", single.display()),
    );
    assert_eq!(std::fs::read_to_string(&single).unwrap(), "x\n1\n");
    assert!(
        entries(dir.path()).iter().all(|e| !e.starts_with(".rask")),
        "{:?}",
        entries(dir.path())
    );
}

#[test]
fn empty_results_write_what_duckdb_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    // PER_THREAD_OUTPUT: one file with the header; PARTITION_BY: an empty directory.
    let out = dir.path().join("b5");
    let sql = "SELECT i, i % 3 AS a FROM range(30) t(i) WHERE false";
    assert_eq!(
        run(
            &mut s,
            &format!("COPY ({sql}) TO '{}' (FORMAT csv, PER_THREAD_OUTPUT)", out.display())
        ),
        Some(0)
    );
    assert_eq!(files(&out), ["data_0.csv"]);
    assert_eq!(std::fs::read_to_string(out.join("data_0.csv")).unwrap(), "i,a\n");
    let out = dir.path().join("b6");
    run(
        &mut s,
        &format!("COPY ({sql}) TO '{}' (FORMAT csv, PARTITION_BY (a))", out.display()),
    );
    assert!(out.is_dir() && files(&out).is_empty());
    // No FORMAT and no extension: CSV, as DuckDB.
    let out = dir.path().join("n1");
    run(
        &mut s,
        &format!("COPY (SELECT 1 AS i, 2 AS a) TO '{}' (PARTITION_BY (a))", out.display()),
    );
    assert_eq!(files(&out), ["a=2/data_0.csv"]);
}

#[test]
fn tasks_write_in_parallel_and_every_row_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    let source = "SELECT i, i % 7 AS a, 'v' || i AS s FROM range(300000) t(i)";
    let out = dir.path().join("pt");
    assert_eq!(
        run(
            &mut s,
            &format!(
                "COPY ({source}) TO '{}' (FORMAT parquet, PER_THREAD_OUTPUT)",
                out.display()
            )
        ),
        Some(300000)
    );
    let names = files(&out);
    assert!(names.len() >= 2, "one file per task: {names:?}");
    for (n, name) in names.iter().enumerate() {
        assert_eq!(name, &format!("data_{n}.parquet"));
    }
    let want = query(
        &mut s,
        &format!("SELECT count(*), sum(i), count(DISTINCT s) FROM ({source})"),
    );
    let got = query(
        &mut s,
        &format!(
            "SELECT count(*), sum(i), count(DISTINCT s) FROM '{}/*.parquet'",
            out.display()
        ),
    );
    assert_eq!(got, want);
    let out = dir.path().join("pp");
    run(
        &mut s,
        &format!(
            "COPY ({source}) TO '{}' (FORMAT parquet, PARTITION_BY (a))",
            out.display()
        ),
    );
    let dirs = entries(&out);
    assert_eq!(dirs, (0..7).map(|a| format!("a={a}")).collect::<Vec<_>>());
    for a in 0..7 {
        let want = query(
            &mut s,
            &format!("SELECT count(*), sum(i) FROM ({source}) WHERE a = {a}"),
        );
        let got = query(
            &mut s,
            &format!("SELECT count(*), sum(i) FROM '{}/a={a}/*.parquet'", out.display()),
        );
        assert_eq!(got, want, "a={a}");
    }
}

#[test]
fn writers_stay_within_a_small_memory_pool() {
    let dir = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let mut s = Session::new(common::spill::spill_config(6 << 20, temp.path(), 1024)).unwrap();
    // 60 partitions in each of two tasks, each writer wanting its buffers: the pool cannot
    // hold them all, so writers are closed and reopened (a partition then has several files).
    let source = "SELECT i, i % 60 AS a, repeat('x', 20) || i AS s FROM range(100000) t(i)";
    let out = dir.path().join("m");
    assert_eq!(
        run(
            &mut s,
            &format!("COPY ({source}) TO '{}' (FORMAT csv, PARTITION_BY (a))", out.display())
        ),
        Some(100000)
    );
    let names = files(&out);
    assert!(
        names.iter().any(|n| n.ends_with("data_1.csv")),
        "no writer was ever closed early"
    );
    let got = query(
        &mut s,
        &format!("SELECT count(*), sum(i) FROM read_csv('{}/*/*.csv')", out.display()),
    );
    assert!(got.contains("| 100000 ") && got.contains("| 4999950000 "), "{got}");
    let stats = s.last_stats().lock().unwrap().clone();
    assert!(stats.peak_memory <= stats.memory_limit, "{stats:?}");
    assert!(entries(temp.path()).is_empty());
}

/// A query whose last rows fail: the cast of 'boom' raises an error late in the run.
const FAILS_LATE: &str =
    "SELECT (CASE WHEN i = 290000 THEN 'boom' ELSE i::VARCHAR END)::INTEGER AS i, i % 3 AS a FROM range(300000) t(i)";

#[test]
fn a_failing_copy_leaves_the_previous_output_and_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    let out = dir.path().join("keep");
    run(
        &mut s,
        &format!(
            "COPY (SELECT i, i % 3 AS a FROM range(30) t(i)) TO '{}' (FORMAT parquet, PARTITION_BY (a))",
            out.display()
        ),
    );
    let before: Vec<(String, Vec<u8>)> = files(&out)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap()))
        .collect();
    for options in [
        "FORMAT parquet, PARTITION_BY (a), OVERWRITE",
        "FORMAT csv, PARTITION_BY (a), OVERWRITE_OR_IGNORE",
        "FORMAT csv, PER_THREAD_OUTPUT, OVERWRITE",
    ] {
        let got = error(
            &mut s,
            &format!("COPY ({FAILS_LATE}) TO '{}' ({options})", out.display()),
        );
        assert!(got.contains("boom"), "{got}");
        let after: Vec<(String, Vec<u8>)> = files(&out)
            .into_iter()
            .map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap()))
            .collect();
        assert!(after == before, "{options}: the previous output changed");
        assert_eq!(entries(dir.path()), ["keep"], "{options}");
    }
    // A new target: nothing is left at all.
    for target in ["new_dir", "new.parquet", "new.csv.gz"] {
        let path = dir.path().join(target);
        let options = if target == "new_dir" {
            " (FORMAT parquet, PARTITION_BY (a))"
        } else {
            ""
        };
        error(&mut s, &format!("COPY ({FAILS_LATE}) TO '{}'{options}", path.display()));
        assert_eq!(entries(dir.path()), ["keep"], "{target}");
    }
}

#[test]
fn a_cancelled_copy_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    let cancel = s.cancel_flag();
    for (target, options) in [("big", "FORMAT parquet, PARTITION_BY (a)"), ("big.csv", "FORMAT csv")] {
        let path = dir.path().join(target);
        let done = Arc::new(AtomicBool::new(false));
        // Keep raising the flag: the session lowers it when the query starts.
        let canceller = {
            let (cancel, done) = (Arc::clone(&cancel), Arc::clone(&done));
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                while !done.load(Ordering::Relaxed) {
                    cancel.store(true, Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            })
        };
        let sql = format!(
            "COPY (SELECT i, i % 5 AS a FROM range(2000000000) t(i)) TO '{}' ({options})",
            path.display()
        );
        let started = std::time::Instant::now();
        let result = s.execute(&sql);
        done.store(true, Ordering::Relaxed);
        canceller.join().unwrap();
        let err = result.expect_err("the COPY was cancelled").to_string();
        assert!(err.contains("cancelled"), "{err}");
        assert!(started.elapsed().as_secs() < 60, "cancel took {:?}", started.elapsed());
        assert!(entries(dir.path()).is_empty(), "{target}: {:?}", entries(dir.path()));
        cancel.store(false, Ordering::Relaxed);
    }
}

#[test]
fn duckdb_reads_what_rask_partitioned() {
    // Cross-check with DuckDB itself where it is installed (python3 -c "import duckdb").
    let has_duckdb = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_duckdb {
        eprintln!("skipped: python3 with duckdb is not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    s.execute(TABLE).unwrap();
    let ours = dir.path().join("ours");
    run(
        &mut s,
        &format!(
            "COPY t TO '{}' (FORMAT parquet, PARTITION_BY (a, b), COMPRESSION zstd)",
            ours.display()
        ),
    );
    let script = format!(
        "import duckdb\n\
         c = duckdb.connect()\n\
         c.execute(\"{TABLE}\")\n\
         print(c.execute(\"select a, b, count(*), sum(i), sum(d) from read_parquet('{}/*/*/*.parquet', hive_partitioning=true) group by all order by all\").fetchall() == \
               c.execute(\"select a, b, count(*), sum(i), sum(d) from t group by all order by all\").fetchall())",
        ours.display()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn option_spellings_of_postgres_and_duckdb_both_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session();
    let at = |name: &str| dir.path().join(name).display().to_string();
    // One script: the second statement needs the pre-pass, so all three go through it.
    let script = format!(
        "COPY (SELECT 1 AS x, 'a' AS y) TO '{}' (FORMAT csv, HEADER); \
         COPY (SELECT 1 AS x) TO '{}' WITH (FORMAT 'csv', DELIMITER ',', HEADER false); \
         COPY (SELECT 1 AS x, 2 AS y) TO '{}' (DELIMITER '\\t')",
        at("h1.csv"),
        at("h2.csv"),
        at("h3.tsv")
    );
    s.execute(&script).unwrap();
    assert_eq!(std::fs::read_to_string(at("h1.csv")).unwrap(), "x,y\n1,a\n");
    assert_eq!(std::fs::read_to_string(at("h2.csv")).unwrap(), "1\n");
    assert_eq!(std::fs::read_to_string(at("h3.tsv")).unwrap(), "x\ty\n1\t2\n");
}
