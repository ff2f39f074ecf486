//! Remote mode against a real Spark Connect server: TPC-H q1–q22 at scale factor 0.1 run
//! through `SET remote` must give rask's local answers, and Spark's errors, refusals and
//! connection failures must read as the README says.
//!
//! ```text
//! tests/remote/spark_connect_server.sh install && tests/remote/spark_connect_server.sh start
//! RASK_SPARK_REMOTE=sc://127.0.0.1:15002 cargo test --features spark --test remote
//! tests/remote/spark_connect_server.sh stop
//! ```
//!
//! The server reads the same Parquet files rask does (a shared filesystem: the test runs on
//! the server's machine). Without `RASK_SPARK_REMOTE` the tests that need a server fail
//! with a message saying how to start one; `.ci/run` always starts one.

mod common;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use common::tpch_data::{data_dir, generate, tpch_session};
use common::{duckdb_value, test_config};
use libtest_mimic::{Arguments, Failed, Trial};
use rask::{Session, StatementResult};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let args = Arguments::from_args();
    let data = data_dir();
    let generated = if args.list { Ok(()) } else { generate(&data) };
    let mut trials = Vec::new();
    for q in 1..=22 {
        let name = format!("tpch_q{q:02}");
        let query = root.join("queries").join("tpch").join(format!("q{q:02}.sql"));
        let (data, generated) = (data.clone(), generated.clone());
        trials.push(Trial::test(name, move || {
            generated.map_err(|e| Failed::from(format!("generating TPC-H data failed: {e}")))?;
            let sql = std::fs::read_to_string(&query).map_err(|e| e.to_string())?;
            remote_matches_local(&data, &sql)
        }));
    }
    trials.push(Trial::test(
        "spark_errors_keep_their_class",
        spark_errors_keep_their_class,
    ));
    trials.push(Trial::test(
        "csv_sources_become_temporary_views",
        csv_sources_become_temporary_views,
    ));
    trials.push(Trial::test("copy_writes_on_the_cluster", copy_writes_on_the_cluster));
    trials.push(Trial::test(
        "unreachable_endpoints_are_named",
        unreachable_endpoints_are_named,
    ));
    let (data_dsl, generated_dsl) = (data.clone(), generated.clone());
    trials.push(Trial::test("dsl_queries_run_remotely", move || {
        generated_dsl.map_err(|e| Failed::from(format!("generating TPC-H data failed: {e}")))?;
        dsl_queries_run_remotely(&data_dsl)
    }));
    let (data_uri, generated_uri) = (data.clone(), generated.clone());
    trials.push(Trial::test("files_only_the_cluster_reads_get_its_schema", move || {
        generated_uri.map_err(|e| Failed::from(format!("generating TPC-H data failed: {e}")))?;
        files_only_the_cluster_reads_get_its_schema(&data_uri)
    }));
    libtest_mimic::run(&args, trials).exit_code()
}

/// The endpoint of the server under test.
fn endpoint() -> Result<String, Failed> {
    std::env::var("RASK_SPARK_REMOTE").map_err(|_| {
        Failed::from(
            "RASK_SPARK_REMOTE is not set: start a server with tests/remote/spark_connect_server.sh start \
             and set RASK_SPARK_REMOTE=sc://127.0.0.1:15002",
        )
    })
}

fn session(data: &Path, remote: Option<&str>) -> Result<Session, Failed> {
    let mut session = tpch_session(data)?;
    if let Some(endpoint) = remote {
        session
            .execute(&format!("SET remote = '{endpoint}'"))
            .map_err(|e| e.to_string())?;
    }
    Ok(session)
}

/// The header and rows of the last query result, as DuckDB would print them.
fn rows(results: Vec<StatementResult>) -> Result<(Vec<String>, Vec<Vec<String>>), Failed> {
    let result = results
        .into_iter()
        .filter_map(|r| match r {
            StatementResult::Query(q) => Some(q),
            _ => None,
        })
        .next_back()
        .ok_or("the query returned no rows")?;
    let header = result.schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut out = Vec::new();
    for batch in &result.batches {
        for row in 0..batch.num_rows() {
            out.push(batch.columns().iter().map(|c| duckdb_value(c.as_ref(), row)).collect());
        }
    }
    Ok((header, out))
}

fn remote_matches_local(data: &Path, sql: &str) -> Result<(), Failed> {
    let endpoint = endpoint()?;
    let local = rows(session(data, None)?.execute(sql).map_err(|e| e.to_string())?)?;
    let started = Instant::now();
    let remote = rows(
        session(data, Some(&endpoint))?
            .execute(sql)
            .map_err(|e| format!("remote: {e}"))?,
    )?;
    eprintln!("remote run: {:.2}s", started.elapsed().as_secs_f64());
    if local.0 != remote.0 {
        return Err(format!("columns: local {:?}, remote {:?}", local.0, remote.0).into());
    }
    if local.1.len() != remote.1.len() {
        return Err(format!("local has {} rows, remote {}", local.1.len(), remote.1.len()).into());
    }
    for (i, (l, r)) in local.1.iter().zip(&remote.1).enumerate() {
        if !l.iter().zip(r).all(|(a, b)| same_value(a, b)) {
            return Err(format!("row {}: local {l:?}, remote {r:?}", i + 1).into());
        }
    }
    if local.1.is_empty() {
        return Err("the query gave no rows, so it proves nothing".into());
    }
    Ok(())
}

/// Equal text, or numbers within a relative 1e-12 (a DOUBLE summed in another order).
fn same_value(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
        _ => false,
    }
}

fn remote_session() -> Result<Session, Failed> {
    let mut session = Session::new(test_config(false)).map_err(|e| e.to_string())?;
    session
        .execute(&format!("SET remote = '{}'", endpoint()?))
        .map_err(|e| e.to_string())?;
    Ok(session)
}

fn spark_errors_keep_their_class() -> Result<(), Failed> {
    let mut session = remote_session()?;
    let err = session
        .execute("SELECT x + 1 FROM (VALUES (2147483647)) v(x)")
        .expect_err("integer overflow is an error on Spark (ANSI mode)")
        .to_string();
    assert!(err.starts_with("Spark Error: [ARITHMETIC_OVERFLOW]"), "{err}");
    // Refused here, before anything is sent: Spark has no gamma().
    let err = session
        .execute("SELECT gamma(x + 0.5) FROM range(3) t(x)")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("remote mode: gamma() cannot run on Spark"), "{err}");
    // Division keeps DuckDB's results: IEEE for doubles, NULL for integer division by zero.
    let (_, got) = rows(
        session
            .execute("SELECT 1 / 0 AS a, -1 / 0 AS b, 7 // 0 AS c, 7 % 0 AS d, -7 // 2 AS e")
            .map_err(|e| e.to_string())?,
    )?;
    assert_eq!(got, vec![vec!["inf", "-inf", "NULL", "NULL", "-3"]]);
    Ok(())
}

fn csv_sources_become_temporary_views() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "name;age;note\nAna;31;it's \\ fine\nBo;;\n").map_err(|e| e.to_string())?;
    let sql = format!(
        "SELECT name, age + 1 AS next, note, note LIKE '%\\%' AS has_backslash FROM read_csv('{}', delim = ';') ORDER BY name",
        csv.display()
    );
    let local = rows(
        Session::new(test_config(false))
            .map_err(|e| e.to_string())?
            .execute(&sql)
            .map_err(|e| e.to_string())?,
    )?;
    let remote = rows(remote_session()?.execute(&sql).map_err(|e| e.to_string())?)?;
    assert_eq!(local, remote);
    assert_eq!(remote.1[0], vec!["Ana", "32", "it's \\ fine", "true"]);
    Ok(())
}

fn copy_writes_on_the_cluster() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("squares");
    let mut session = remote_session()?;
    session
        .execute(&format!(
            "COPY (SELECT x, x * x AS sq FROM range(5) t(x)) TO '{}' (FORMAT parquet)",
            out.display()
        ))
        .map_err(|e| e.to_string())?;
    // Spark writes a directory of part files; rask reads it back locally.
    let mut local = Session::new(test_config(false)).map_err(|e| e.to_string())?;
    let (_, got) = rows(
        local
            .execute(&format!("SELECT sum(sq) FROM '{}/*.parquet'", out.display()))
            .map_err(|e| e.to_string())?,
    )?;
    assert_eq!(got, vec![vec!["30"]]);
    Ok(())
}

fn unreachable_endpoints_are_named() -> Result<(), Failed> {
    let mut session = Session::new(test_config(false)).map_err(|e| e.to_string())?;
    session
        .execute("SET remote = 'sc://127.0.0.1:9'")
        .map_err(|e| e.to_string())?;
    let err = session
        .execute("SELECT 1")
        .expect_err("nothing listens there")
        .to_string();
    assert!(
        err.starts_with("Connection Error: cannot reach the Spark Connect server at sc://127.0.0.1:9"),
        "{err}"
    );
    Ok(())
}

fn dsl_queries_run_remotely(data: &Path) -> Result<(), Failed> {
    let script = "table(\"lineitem\").filter(l_quantity > 45).groupby(l_returnflag).agg(n = count(*), q = sum(l_quantity)).sort(l_returnflag)";
    let local = rows(session(data, None)?.execute_dsl(script).map_err(|e| e.to_string())?)?;
    let remote = rows(
        session(data, Some(&endpoint()?))?
            .execute_dsl(script)
            .map_err(|e| e.to_string())?,
    )?;
    assert_eq!(local, remote);
    assert_eq!(remote.1.len(), 3, "{remote:?}");
    Ok(())
}

/// A `file://` URI is a path rask does not open but Spark does: its schema comes from the
/// cluster, and the query runs there.
fn files_only_the_cluster_reads_get_its_schema(data: &Path) -> Result<(), Failed> {
    let uri = format!("file://{}", data.join("nation.parquet").display());
    let mut session = remote_session()?;
    let (header, got) = rows(
        session
            .execute(&format!(
                "SELECT n_regionkey, count(*) AS n FROM '{uri}' GROUP BY ALL ORDER BY 1"
            ))
            .map_err(|e| e.to_string())?,
    )?;
    assert_eq!(header, vec!["n_regionkey", "n"]);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|r| r[1] == "5"), "{got:?}");
    let err = session
        .execute("SELECT * FROM 'file:///no/such/dir/x.parquet'")
        .expect_err("missing everywhere")
        .to_string();
    assert!(
        err.contains("nor could the cluster: Spark Error: [PATH_NOT_FOUND]"),
        "{err}"
    );
    Ok(())
}
