//! SQL that is wrong, and SQL that is merely big.

use std::time::{Duration, Instant};

use crate::harness::Dir;

#[test]
fn sql_syntax_error_points_at_the_position() {
    let dir = Dir::new();
    dir.rask(&["-c", "SELECT a,\n  b FORM t"])
        .fails("sql_syntax_error_points_at_the_position", "Parser Error");
}

#[test]
fn unknown_column_suggests_the_closest() {
    let dir = Dir::new();
    dir.write("people.csv", "name,age\nann,31\n");
    dir.rask(&["-c", "SELECT nmae FROM 'people.csv'"])
        .fails("unknown_column_suggests_the_closest", "Binder Error");
}

#[test]
fn deep_expression_nesting() {
    // 100,000 terms parse into a tree 100,000 deep: refused, not a stack overflow.
    let dir = Dir::new();
    let sql = format!("SELECT {}", vec!["1"; 100_000].join(" + "));
    dir.write("deep.sql", &sql);
    dir.rask(&["-f", "deep.sql"])
        .fails("deep_expression_nesting", "Binder Error");
}

#[test]
fn deep_parentheses() {
    let dir = Dir::new();
    let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    dir.write("parens.sql", &sql);
    dir.rask(&["-f", "parens.sql"])
        .fails("deep_parentheses", "Parser Error");
}

#[test]
fn expression_nesting_within_the_limit_runs() {
    let dir = Dir::new();
    let sql = format!("SELECT {} AS total", vec!["1"; 900].join(" + "));
    dir.write("ok.sql", &sql);
    dir.rask(&["-F", "csv", "-f", "ok.sql"])
        .succeeds("expression_nesting_within_the_limit_runs", "total\n900\n");
}

#[test]
fn enormous_in_list_is_fast() {
    let dir = Dir::new();
    let list: Vec<String> = (0..100_000).map(|i| (i * 3).to_string()).collect();
    let sql = format!(
        "SELECT count(*) AS n FROM range(1000000) WHERE range IN ({})",
        list.join(",")
    );
    dir.write("in.sql", &sql);
    let start = Instant::now();
    dir.rask(&["-F", "csv", "-f", "in.sql"])
        .succeeds("enormous_in_list_is_fast", "n\n100000\n");
    // Not a benchmark: a bound far above the second it takes, far below the minutes a
    // comparison per constant took.
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
}

#[test]
fn integer_overflow_in_arithmetic() {
    let dir = Dir::new();
    dir.rask(&["-c", "SELECT 2147483647::INTEGER + 1"])
        .fails("integer_overflow_in_arithmetic", "Out of Range Error");
}

#[test]
fn invalid_date_literal() {
    let dir = Dir::new();
    dir.rask(&["-c", "SELECT DATE '2024-02-30'"])
        .fails("invalid_date_literal", "Conversion Error");
}

#[test]
fn invalid_cast() {
    let dir = Dir::new();
    dir.rask(&["-c", "SELECT 'abc'::INTEGER"])
        .fails("invalid_cast", "Conversion Error");
}

#[test]
fn dsl_syntax_error_points_at_the_position() {
    let dir = Dir::new();
    dir.write("people.csv", "name,age\nann,31\n");
    dir.rask(&["--dsl", "-c", "read_csv(\"people.csv\").filter(age >)"])
        .fails("dsl_syntax_error_points_at_the_position", "Parser Error");
}
