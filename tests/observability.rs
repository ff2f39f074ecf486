//! Seeing the work: EXPLAIN ANALYZE's per-stage and per-operator lines, and the `--trace`
//! Chrome trace file (valid JSON, one slice per task that ran, spill events).

use arrow::array::{Array, StringArray};
use assert_cmd::Command;
use rask::exec::profile::trace_file;
use rask::{Session, SessionConfig, StatementResult};

fn session() -> Session {
    let mut config = SessionConfig::default();
    config.exec.threads = 2;
    config.exec.target_partitions = 3;
    Session::new(config).expect("session")
}

/// The `== Analyze ==` part of EXPLAIN ANALYZE's text.
fn explain_analyze(s: &mut Session, sql: &str) -> String {
    match s.execute(&format!("EXPLAIN ANALYZE {sql}")).expect("explain").pop() {
        Some(StatementResult::Query(q)) => q
            .batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<StringArray>().expect("strings");
                (0..a.len()).map(|i| a.value(i).to_string()).collect::<Vec<_>>()
            })
            .skip_while(|l| l != "== Analyze ==")
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn explain_analyze_shows_stages_and_operators() {
    let mut s = session();
    let text = explain_analyze(
        &mut s,
        "SELECT region, count(*) AS n FROM 'testdata/sales/*.csv' GROUP BY region ORDER BY region",
    );
    // Per stage: tasks, wall time and the spread of task times.
    assert!(
        text.lines()
            .any(|l| l.starts_with("Stage 0 (map, 3 tasks) -> exchange hash(") && l.contains("task time min ")),
        "{text}"
    );
    // Per operator: rows in and out, batches, time.
    let scan = text
        .lines()
        .find(|l| l.trim_start().starts_with("Scan: testdata/sales/*.csv"))
        .expect(&text);
    assert!(scan.contains("[rows 90 out in 3 batches, "), "{scan}");
    let partial = text
        .lines()
        .find(|l| l.contains("HashAggregate: mode=Partial"))
        .expect(&text);
    assert!(
        partial.contains("[rows 90 in, 12 out in 3 batches, ") && partial.contains("peak memory"),
        "{partial}"
    );
    let final_agg = text
        .lines()
        .find(|l| l.contains("HashAggregate: mode=Final"))
        .expect(&text);
    assert!(final_agg.contains("[rows 12 in, 4 out in "), "{final_agg}");
}

/// The first line of `text` that starts (after indentation) with `prefix`.
fn line_starting(text: &str, prefix: &str) -> String {
    text.lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

/// A filtered Parquet scan says how many row groups it read in filter stages (late
/// materialization): all three for a filter on one of several columns, none when the
/// filter reads every column the scan outputs (nothing would be decoded for fewer rows).
#[test]
fn explain_analyze_shows_row_groups_read_in_filter_stages() {
    let mut s = session();
    let scan_line = |text: &str| line_starting(text, "Scan: testdata/dictionary_keys.parquet");
    let text = explain_analyze(
        &mut s,
        "SELECT n, big FROM 'testdata/dictionary_keys.parquet' WHERE n % 997 = 3",
    );
    let scan = scan_line(&text);
    assert!(scan.contains(", row_groups_in_stages=3/3"), "{scan}");
    assert!(scan.contains("[rows 16 out in "), "{scan}");
    let text = explain_analyze(
        &mut s,
        "SELECT n FROM 'testdata/dictionary_keys.parquet' WHERE n % 997 = 3",
    );
    let scan = scan_line(&text);
    assert!(scan.contains(", row_groups_in_stages=0/3"), "{scan}");
    // Plain EXPLAIN runs nothing: no count.
    let plan = match s
        .execute("EXPLAIN SELECT n, big FROM 'testdata/dictionary_keys.parquet' WHERE n % 997 = 3")
        .expect("explain")
        .pop()
    {
        Some(StatementResult::Query(q)) => format!("{:?}", q.batches),
        other => panic!("{other:?}"),
    };
    assert!(!plan.contains("row_groups_in_stages"), "{plan}");
}

/// A final aggregate whose table outgrows the caches says how many group states it handed to
/// partitions: 600000 groups from 1200000 partial states, about 200000 groups per final task
/// of 3, past the 131072 at which tables partition; one of 600 groups does not partition.
#[test]
fn explain_analyze_shows_group_states_handed_to_partitions() {
    let mut s = session();
    let final_line = |text: &str| line_starting(text, "HashAggregate: mode=Final, gby=[(i % ");
    let text = explain_analyze(
        &mut s,
        "SELECT count(*) FROM (SELECT i % 600000 AS k, count(*) FROM range(1200000) r(i) GROUP BY k)",
    );
    let line = final_line(&text);
    let states: u64 = line
        .split(", partitioned_states=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    // Each task's table partitions once it holds 131072 groups, and at every 131072 after.
    assert!((3 * 131_072..=1_200_000).contains(&states), "{line}");
    let text = explain_analyze(
        &mut s,
        "SELECT count(*) FROM (SELECT i % 600 AS k, count(*) FROM range(1200000) r(i) GROUP BY k)",
    );
    assert!(!final_line(&text).contains("partitioned_states"), "{text}");
}

#[test]
fn explain_analyze_counts_spill_per_operator() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SessionConfig {
        memory_limit: 4 << 20,
        ..SessionConfig::default()
    };
    config.exec.threads = 2;
    config.exec.target_partitions = 2;
    config.exec.temp_dir = Some(dir.path().to_path_buf());
    let mut s = Session::new(config).unwrap();
    let text = explain_analyze(
        &mut s,
        "SELECT i, repeat('x', 50) AS s FROM range(200000) t(i) ORDER BY i DESC",
    );
    let sort = text
        .lines()
        .find(|l| l.trim_start().starts_with("Sort: "))
        .expect(&text);
    assert!(sort.contains(", spilled ") && sort.contains(" files, "), "{sort}");
}

#[test]
fn trace_has_one_slice_per_task() {
    let mut s = session();
    s.keep_profiles();
    s.execute("SELECT region, count(*) FROM 'testdata/sales/*.csv' GROUP BY region; SELECT 42")
        .unwrap();
    let profiles = s.profiles().to_vec();
    assert_eq!(profiles.len(), 2);
    let text = trace_file(profiles.iter().map(|(_, p)| ("q", p.as_ref())));
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let events = json["traceEvents"].as_array().expect("events");
    for (pid, (_, profile)) in profiles.iter().enumerate() {
        let slices = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == (pid + 1) as u64)
            .count();
        let tasks: usize = profile.stages.iter().map(|s| s.tasks).sum();
        assert_eq!(slices, tasks, "query {pid}");
        assert_eq!(profile.tasks.len(), tasks);
    }
    // Every slice names its stage and partition and carries rows and bytes.
    let slice = events.iter().find(|e| e["ph"] == "X").unwrap();
    for key in ["stage", "partition", "rows", "bytes"] {
        assert!(slice["args"][key].is_u64(), "{slice}");
    }
}

#[test]
fn trace_file_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.json");
    Command::new(env!("CARGO_BIN_EXE_rask"))
        .args([
            "--trace",
            trace.to_str().unwrap(),
            "-c",
            "SELECT count(*) FROM range(1000) t(i)",
        ])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    assert!(events.iter().any(|e| e["ph"] == "X"));
    assert!(events.iter().any(|e| e["ph"] == "M" && e["name"] == "thread_name"));
}

/// `--graph` draws the task graph as Dask does: a cluster per stage, a node per task, every map
/// task to every reduce task for a hash shuffle. With Graphviz installed the DOT must also be
/// accepted by `dot` (CI installs it when it can).
#[test]
fn graph_file_has_a_node_per_task_and_shuffle_edges() {
    let dir = tempfile::tempdir().unwrap();
    let dot_path = dir.path().join("g.dot");
    Command::new(env!("CARGO_BIN_EXE_rask"))
        .args([
            "--threads",
            "2",
            "--graph",
            dot_path.to_str().unwrap(),
            "-c",
            "SELECT region, count(*) FROM 'testdata/sales/*.csv' GROUP BY region",
        ])
        .assert()
        .success();
    let dot = std::fs::read_to_string(&dot_path).unwrap();
    assert!(
        dot.starts_with("digraph rask {") && dot.trim_end().ends_with('}'),
        "{dot}"
    );
    assert!(
        dot.contains("subgraph cluster_0") && dot.contains("label=\"stage 0 (map, 3 tasks)\\nScan → HashAggregate\""),
        "{dot}"
    );
    // 3 map tasks each to both reduce tasks.
    assert_eq!(dot.matches("[style=dashed]").count(), 6, "{dot}");
    assert!(dot.contains("-> result;"), "{dot}");
    match std::process::Command::new("dot").arg("-Tsvg").arg(&dot_path).output() {
        Ok(out) => assert!(
            out.status.success() && out.stdout.starts_with(b"<?xml"),
            "dot rejected the file: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("notice: Graphviz's dot is not installed; the DOT text was checked without it"),
    }
}

#[test]
fn explain_format_json_is_the_same_explanation_as_json() {
    let mut s = session();
    for sql in [
        "EXPLAIN (FORMAT json) SELECT region, count(*) FROM 'testdata/sales/*.csv' GROUP BY region",
        "EXPLAIN FORMAT JSON SELECT region, count(*) FROM 'testdata/sales/*.csv' GROUP BY region",
    ] {
        let text = match s.execute(sql).unwrap().pop() {
            Some(StatementResult::Query(q)) => q.batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0)
                .to_string(),
            other => panic!("{other:?}"),
        };
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(json["logical_plan"]["name"], "Projection", "{json}");
        assert_eq!(json["optimized_plan"]["children"][0]["name"], "Aggregate", "{json}");
        assert_eq!(json["rules_fired"], serde_json::json!(["projection_pushdown"]));
        let stages = json["stages"].as_array().unwrap();
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0]["kind"], "map");
        assert_eq!(stages[0]["tasks"], 3);
        assert_eq!(stages[0]["operators"]["name"], "HashAggregate");
        assert_eq!(stages[1]["inputs"], serde_json::json!([0]));
    }
}

/// `--report` writes one self-contained HTML page: the query, the stage graph and the task
/// timeline as inline SVG, the stage table and the operators' figures; nothing is loaded from
/// elsewhere.
#[test]
fn report_is_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    Command::new(env!("CARGO_BIN_EXE_rask"))
        .args([
            "--threads",
            "2",
            "--report",
            report.to_str().unwrap(),
            "-c",
            "SELECT region, count(*) AS n FROM 'testdata/sales/*.csv' GROUP BY region ORDER BY n",
        ])
        .assert()
        .success();
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("GROUP BY region ORDER BY n"), "the query text");
    assert_eq!(html.matches("<svg").count(), 2, "stage graph and timeline");
    assert!(html.contains("stage 0 (map, 3 tasks)"));
    assert!(html.contains("<th>task min</th>"));
    assert!(html.contains("HashAggregate: mode=Partial"));
    // One timeline bar per task that ran: 3 map + 2 reduce + 1 merge.
    assert_eq!(html.matches("<title>stage ").count(), 6, "{html}");
    for remote in ["http://", "https://", "<script src", "<link"] {
        assert!(
            !html.replace("http://www.w3.org/2000/svg", "").contains(remote),
            "{remote}"
        );
    }
}
