//! The dataframe DSL through the session: each verb's rows (checked against the answers DuckDB
//! gives for the equivalent SQL), names shared with SQL, `persist()`, the actions, and the
//! error messages (position, closest name, argument counts). The TPC-H queries in the DSL are
//! in `tests/tpch.rs`, the reference page's examples in `tests/dsl_docs.rs`, and the command
//! line in `tests/cli.rs`.

mod common;

use arrow::record_batch::RecordBatch;
use common::{duckdb_value, test_config};
use rask::error::Location;
use rask::{Session, StatementResult};

fn session() -> Session {
    let mut s = Session::new(test_config(false)).unwrap();
    s.execute(
        "CREATE TABLE emp AS SELECT * FROM (VALUES \
         (1, 'ann', 'eng', 120, NULL), (2, 'bob', 'eng', 100, 1), (3, 'cy', 'ops', 90, 1), \
         (4, 'di', 'ops', NULL, 3), (5, 'ed', NULL, 70, 3)) v(id, name, dept, salary, boss)",
    )
    .unwrap();
    s.execute("CREATE TABLE dept AS SELECT * FROM (VALUES ('eng', 'Engineering'), ('ops', 'Operations'), ('hr', 'People')) v(dept, title)")
        .unwrap();
    s
}

/// The rows of the last result of `script`, one string per row, cells as DuckDB shows them.
fn rows(s: &mut Session, script: &str) -> Vec<String> {
    let results = s.execute_dsl(script).unwrap_or_else(|e| panic!("{script}\n{e}"));
    let batches = last_rows(results).unwrap_or_else(|| panic!("{script}: no rows"));
    render(&batches)
}

fn last_rows(results: Vec<StatementResult>) -> Option<Vec<RecordBatch>> {
    results.into_iter().rev().find_map(|r| match r {
        StatementResult::Query(q) => Some(q.batches),
        StatementResult::Stream(s) => s.collect().ok().map(|q| q.batches),
        StatementResult::Done { .. } => None,
    })
}

fn render(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for row in 0..b.num_rows() {
            let cells: Vec<String> = b.columns().iter().map(|c| duckdb_value(c.as_ref(), row)).collect();
            out.push(cells.join("|"));
        }
    }
    out
}

fn columns(s: &mut Session, script: &str) -> Vec<String> {
    let results = s.execute_dsl(script).unwrap();
    match results.into_iter().last() {
        Some(StatementResult::Query(q)) => q.schema.fields().iter().map(|f| f.name().clone()).collect(),
        other => panic!("{other:?}"),
    }
}

fn error(s: &mut Session, script: &str) -> (String, Option<Location>) {
    let e = s.execute_dsl(script).expect_err(script);
    (e.to_string(), e.location())
}

fn at(line: u64, column: u64) -> Option<Location> {
    Some(Location { line, column })
}

#[test]
fn filter_select_sort_head() {
    let mut s = session();
    assert_eq!(
        rows(
            &mut s,
            "emp.filter(salary >= 90).select(name, salary * 2 AS double).sort(double desc).head(2)"
        ),
        ["ann|240", "bob|200"]
    );
    // Several conditions are ANDed; `=` in filter is a comparison.
    assert_eq!(
        rows(&mut s, "emp.filter(dept = 'ops', salary is null).select(name)"),
        ["di"]
    );
    // head() keeps 5 rows, as in pandas.
    assert_eq!(rows(&mut s, "emp.head()").len(), 5);
    // Keyword items name their column.
    assert_eq!(columns(&mut s, "emp.select(id, who = upper(name))"), ["id", "who"]);
    // NULLs sort last ascending, as in DuckDB; NULLS FIRST is there.
    assert_eq!(rows(&mut s, "emp.sort(salary).select(name)").last().unwrap(), "di");
    assert_eq!(rows(&mut s, "emp.sort(salary nulls first).select(name)")[0], "di");
}

#[test]
fn assign_drop_rename() {
    let mut s = session();
    assert_eq!(
        columns(&mut s, "emp.assign(salary = salary + 1, band = salary // 50)"),
        ["id", "name", "dept", "salary", "boss", "band"]
    );
    // A value may use a name assigned before it in the same call.
    assert_eq!(
        rows(
            &mut s,
            "emp.filter(id = 1).assign(raise = salary * 0.1, new_salary = salary + raise).select(raise, new_salary)"
        ),
        ["12.0|132.0"]
    );
    assert_eq!(columns(&mut s, "emp.drop(boss, dept)"), ["id", "name", "salary"]);
    assert_eq!(
        columns(&mut s, "emp.rename(employee = name, pay = salary)"),
        ["id", "employee", "dept", "pay", "boss"]
    );
    // Window functions work in assign.
    assert_eq!(
        rows(
            &mut s,
            "emp.assign(r = row_number() over (order by id desc)).filter(id <= 2).sort(id).select(id, r)"
        ),
        ["1|5", "2|4"]
    );
}

#[test]
fn groupby_agg() {
    let mut s = session();
    assert_eq!(
        rows(
            &mut s,
            "emp.groupby(dept).agg(n = count(*), total = sum(salary), top = max(salary)).sort(dept)"
        ),
        ["eng|2|220|120", "ops|2|90|90", "NULL|1|70|70"]
    );
    // Named keys, expressions as keys, an aggregate over the whole frame.
    assert_eq!(
        rows(&mut s, "emp.groupby(rich = salary > 95).agg(n = count(*)).sort(rich)"),
        ["false|2", "true|2", "NULL|1"]
    );
    assert_eq!(rows(&mut s, "emp.agg(avg(salary), n = count(boss))"), ["95.0|4"]);
    // Filtering after aggregating (HAVING).
    assert_eq!(
        rows(
            &mut s,
            "emp.groupby(dept).agg(n = count(*)).filter(n > 1).sort(dept).select(dept)"
        ),
        ["eng", "ops"]
    );
}

#[test]
fn joins() {
    let mut s = session();
    assert_eq!(
        rows(&mut s, "emp.join(dept, on = dept).select(name, dept, title).sort(name)"),
        [
            "ann|eng|Engineering",
            "bob|eng|Engineering",
            "cy|ops|Operations",
            "di|ops|Operations"
        ]
    );
    assert_eq!(
        rows(
            &mut s,
            "emp.join(dept, on = dept, how = left).filter(title is null).select(name)"
        ),
        ["ed"]
    );
    assert_eq!(
        rows(
            &mut s,
            "emp.join(dept, on = dept, how = \"right\").filter(name is null).select(dept)"
        ),
        ["hr"]
    );
    assert_eq!(rows(&mut s, "emp.join(dept, on = dept, how = full).count()"), ["6"]);
    assert_eq!(
        rows(&mut s, "dept.join(emp, on = dept, how = anti).select(dept)"),
        ["hr"]
    );
    assert_eq!(
        rows(&mut s, "dept.join(emp, on = dept, how = semi).sort(dept).select(dept)"),
        ["eng", "ops"]
    );
    assert_eq!(rows(&mut s, "emp.join(dept, how = cross).count()"), ["15"]);
    // A condition joins on anything; a chain can be the other side.
    let bosses = "bosses = emp.select(boss_id = id, boss_name = name)\n\
                  emp.join(bosses, on = boss = boss_id).select(name, boss_name).sort(name)";
    assert_eq!(rows(&mut s, bosses), ["bob|ann", "cy|ann", "di|cy", "ed|cy"]);
    assert_eq!(
        rows(&mut s, "emp.join(dept.filter(dept = 'eng'), on = dept).count()"),
        ["2"]
    );
}

#[test]
fn distinct_union_count() {
    let mut s = session();
    assert_eq!(
        rows(
            &mut s,
            "emp.select(dept).distinct().filter(dept is not null).sort(dept)"
        ),
        ["eng", "ops"]
    );
    // union keeps duplicates (UNION ALL), as pandas.concat and Spark's union.
    assert_eq!(rows(&mut s, "emp.select(dept).union(dept.select(dept)).count()"), ["8"]);
    assert_eq!(
        rows(
            &mut s,
            "dept.select(title, dept).union(dept.select(dept), by_name = true).filter(dept = 'hr')"
        ),
        ["People|hr", "NULL|hr"]
    );
    assert_eq!(columns(&mut s, "emp.count()"), ["count"]);
}

#[test]
fn sources_and_sql_interop() {
    let mut s = session();
    // A DSL name is a view to SQL …
    s.execute_dsl("eng = emp.filter(dept = 'eng')").unwrap();
    let results = s.execute("SELECT count(*) FROM eng").unwrap();
    assert_eq!(render(&last_rows(results).unwrap()), ["2"]);
    // … and lazy: it sees rows added later.
    s.execute("INSERT INTO emp VALUES (6, 'fay', 'eng', 110, 1)").unwrap();
    let results = s.execute("SELECT count(*) FROM eng").unwrap();
    assert_eq!(render(&last_rows(results).unwrap()), ["3"]);
    // SQL tables are table("t"); sql("…") is a source.
    assert_eq!(rows(&mut s, "table(\"dept\").count()"), ["3"]);
    assert_eq!(rows(&mut s, "sql(\"SELECT 41 + 1 AS answer\")"), ["42"]);
    // A statement that is only sql("…") may run any SQL statements.
    assert_eq!(
        rows(
            &mut s,
            "sql(\"CREATE TABLE t AS SELECT 1 AS x; INSERT INTO t VALUES (2)\")\nt.agg(sum(x))"
        ),
        ["3"]
    );
    assert_eq!(
        rows(
            &mut s,
            "sql(\"\"\"\nSELECT dept, count(*) AS n\nFROM emp GROUP BY dept\n\"\"\").filter(n > 2)"
        ),
        ["eng|3"]
    );
    // SQL subqueries inside arguments read frames and tables alike.
    assert_eq!(
        rows(
            &mut s,
            "emp.filter(salary > (select avg(salary) from eng)).select(name)"
        ),
        ["ann"]
    );
    // A name bound twice is rebound; a SQL table is not replaced by a frame.
    s.execute_dsl("eng = emp.filter(dept = 'ops')").unwrap();
    assert_eq!(rows(&mut s, "eng.count()"), ["2"]);
    let (msg, loc) = error(&mut s, "dept = emp.head(1)");
    assert!(msg.contains("dept is a SQL table or view"), "{msg}");
    assert_eq!(loc, at(1, 1));
}

#[test]
fn file_sources_and_writers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    std::fs::write(&csv, "k;v\n1;x\n2;y\n3;z\n").unwrap();
    let mut s = session();
    let script = format!(
        "a = read_csv(\"{}\", delim = ';', header = true)\n\
         a.filter(k > 1).to_parquet(\"{dir}/out.parquet\")\n\
         a.to_csv(\"{dir}/out.csv\", header = false)\n\
         a.to_json(\"{dir}/out.json\")",
        csv.display(),
        dir = dir.path().display()
    );
    s.execute_dsl(&script).unwrap();
    assert_eq!(
        rows(
            &mut s,
            &format!("read_parquet(\"{}/out.parquet\").sort(k)", dir.path().display())
        ),
        ["2|y", "3|z"]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "1,x\n2,y\n3,z\n"
    );
    assert_eq!(
        rows(
            &mut s,
            &format!("read_json(\"{}/out.json\").count()", dir.path().display())
        ),
        ["3"]
    );
    // JSON is written one object a line, as DuckDB's COPY does.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
        "{\"k\":1,\"v\":\"x\"}\n{\"k\":2,\"v\":\"y\"}\n{\"k\":3,\"v\":\"z\"}\n"
    );
    // Only the written files are left: no temporary names.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.csv", "out.csv", "out.json", "out.parquet"]);
    // A write into a missing directory fails and names it.
    let (msg, loc) = error(&mut s, "emp.to_csv(\"/nonexistent/dir/x.csv\")");
    assert!(msg.contains("/nonexistent/dir"), "{msg}");
    assert_eq!(loc, at(1, 5));
}

#[test]
fn persist_computes_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("p.csv");
    std::fs::write(&csv, "x\n1\n2\n3\n").unwrap();
    let mut s = session();
    let before = s.memory().used();
    s.execute_dsl(&format!("p = read_csv(\"{}\").filter(x > 1).persist()", csv.display()))
        .unwrap();
    // Its memory is reserved from the pool.
    assert!(s.memory().used() > before);
    // The file changes; the persisted frame keeps the rows it computed.
    std::fs::write(&csv, "x\n10\n20\n30\n40\n").unwrap();
    assert_eq!(rows(&mut s, "p.sort(x)"), ["2", "3"]);
    let explained = s.explain_dsl("p.filter(x > 2)").unwrap().to_string();
    assert!(explained.contains("Scan: persisted"), "{explained}");
    assert!(!explained.contains("p.csv"), "{explained}");
}

#[test]
fn explain_and_visualize() {
    let mut s = session();
    let plan = rows(&mut s, "emp.groupby(dept).agg(n = count(*)).explain()").join("\n");
    assert!(plan.contains("== Optimized plan"), "{plan}");
    assert!(
        plan.contains("Aggregate: groupBy=[dept], aggr=[count_star()]"),
        "{plan}"
    );
    let analyzed = rows(&mut s, "emp.agg(n = count(*)).explain(analyze = true)").join("\n");
    assert!(analyzed.contains("== Analyze =="), "{analyzed}");
    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("g.dot");
    s.execute_dsl(&format!("emp.join(dept, on = dept).visualize(\"{}\")", dot.display()))
        .unwrap();
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph rask {"), "{text}");
    assert!(
        text.contains("subgraph cluster_1") && text.contains("[style=bold]"),
        "{text}"
    );
    let (msg, _) = error(&mut s, &format!("emp.visualize(\"{}/g.txt\")", dir.path().display()));
    assert!(msg.contains("use a .svg, .png, .pdf or .dot file"), "{msg}");
    // SVG is drawn by Graphviz when it is installed, and otherwise the error says so.
    let svg = dir.path().join("g.svg");
    let script = format!("emp.visualize(\"{}\")", svg.display());
    let graphviz = std::process::Command::new("dot").arg("-V").output().is_ok();
    match s.execute_dsl(&script) {
        Ok(_) if graphviz => assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg")),
        Err(e) if !graphviz => {
            assert!(e.to_string().contains("needs Graphviz's dot program"), "{e}");
            assert!(!svg.exists());
        }
        other => panic!("graphviz installed: {graphviz}, visualize gave {other:?}"),
    }
}

#[test]
fn errors_point_at_the_script() {
    let mut s = session();
    // An unknown verb: the closest one, at its position.
    let (msg, loc) = error(&mut s, "x = emp\n  .fitler(salary > 1)");
    assert!(msg.contains("unknown verb fitler; did you mean filter?"), "{msg}");
    assert_eq!(loc, at(2, 4));
    // An unknown column: the closest one, at the column.
    let (msg, loc) = error(&mut s, "emp.filter(salary > 1)\n   .select(nmae)");
    assert!(msg.contains("\"nmae\" not found") && msg.contains("\"name\""), "{msg}");
    assert_eq!(loc, at(2, 12));
    // An unknown frame.
    let (msg, loc) = error(&mut s, "emps.head(1)");
    assert!(
        msg.contains("no frame, table or view named emps; did you mean emp?"),
        "{msg}"
    );
    assert_eq!(loc, at(1, 1));
    // Wrong argument counts say what the verb takes.
    let (msg, _) = error(&mut s, "emp.head(1, 2)");
    assert!(
        msg.contains("head takes at most 1 positional argument, got 2: head(n = 5)"),
        "{msg}"
    );
    let (msg, _) = error(&mut s, "emp.assign()");
    assert!(
        msg.contains("assign needs at least one argument: assign(name = expr, …)"),
        "{msg}"
    );
    let (msg, loc) = error(&mut s, "emp.join(dept, on = dept, hwo = left)");
    assert!(
        msg.contains("join has no argument named hwo; did you mean how?"),
        "{msg}"
    );
    assert_eq!(loc, at(1, 27));
    // SQL syntax errors inside arguments point into the script.
    let (msg, loc) = error(&mut s, "emp\n  .filter(salary >)");
    assert!(msg.starts_with("Parser Error"), "{msg}");
    assert_eq!(loc.map(|l| l.line), Some(2));
    // A syntax error anywhere runs nothing.
    let (_, loc) = error(&mut s, "emp.to_csv(\"never.csv\")\nemp.filter(");
    assert_eq!(loc.map(|l| l.line), Some(2));
    assert!(!std::path::Path::new("never.csv").exists());
    // Misplaced calls.
    let (msg, _) = error(&mut s, "emp.groupby(dept).head(1)");
    assert!(msg.contains("groupby(…) must be followed by .agg("), "{msg}");
    let (msg, _) = error(&mut s, "emp.count().head(1)");
    assert!(msg.contains("count(…) ends a chain"), "{msg}");
    let (msg, _) = error(&mut s, "n = emp.count()");
    assert!(msg.contains("count(…) is an action"), "{msg}");
    let (msg, _) = error(&mut s, "filter(x > 1)");
    assert!(msg.contains("filter is a verb, not a source"), "{msg}");
    let (msg, _) = error(&mut s, "emp.join(dept)");
    assert!(msg.contains("join needs on ="), "{msg}");
    let (msg, _) = error(&mut s, "emp.join(dept, on = dept, how = sideways)");
    assert!(msg.contains("how = \"sideways\" is not a join type"), "{msg}");
    let (msg, _) = error(&mut s, "emp.filter(sum(salary) > 1)");
    assert!(msg.contains("filter cannot contain aggregates"), "{msg}");
    let (msg, _) = error(&mut s, "emp.drop(id, name, dept, salary, boss)");
    assert!(msg.contains("would remove every column"), "{msg}");
    let (msg, _) = error(&mut s, "emp.filter(name = 'x)");
    assert!(msg.contains("unterminated string"), "{msg}");
}

#[test]
fn rename_takes_new_equals_old() {
    let mut s = session();
    // The other order is a common slip: the message says which way round it goes.
    let (msg, loc) = error(&mut s, "emp.rename(salary = pay)");
    assert!(msg.contains("\"pay\" not found"), "{msg}");
    assert!(
        msg.contains("rename takes new_name = old_name: did you mean rename(pay = salary)?"),
        "{msg}"
    );
    assert_eq!(loc, at(1, 21));
    let (msg, _) = error(&mut s, "emp.rename(person = who)");
    assert!(msg.contains("\"who\" not found"), "{msg}");
    assert!(!msg.contains("did you mean rename"), "{msg}");
    // Renaming back and forth is fine.
    assert_eq!(
        columns(&mut s, "emp.rename(pay = salary).rename(salary = pay)"),
        ["id", "name", "dept", "salary", "boss"]
    );
}
