//! Malformed CSV and JSON text.

use crate::harness::Dir;

#[test]
fn csv_row_with_too_many_fields() {
    let dir = Dir::new();
    dir.write("ragged.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n");
    dir.rask(&["-c", "SELECT * FROM 'ragged.csv'"])
        .fails("csv_row_with_too_many_fields", "Invalid Input Error");
}

#[test]
fn csv_row_with_too_few_fields() {
    let dir = Dir::new();
    dir.write("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    dir.rask(&["-c", "SELECT * FROM 'ragged.csv'"])
        .fails("csv_row_with_too_few_fields", "Invalid Input Error");
}

#[test]
fn csv_declared_delimiter_is_wrong() {
    let dir = Dir::new();
    dir.write("comma.csv", "a,b\n1,2\n3,4\n");
    dir.rask(&[
        "-c",
        "SELECT * FROM read_csv('comma.csv', delim = ';', types = {'a': 'INTEGER', 'b': 'INTEGER'})",
    ])
    .fails("csv_declared_delimiter_is_wrong", "Invalid Input Error");
}

#[test]
fn csv_invalid_utf8() {
    let dir = Dir::new();
    dir.write("latin1.csv", b"id,name\n1,caf\xe9\n2,ok\n");
    dir.rask(&["-c", "SELECT * FROM 'latin1.csv'"])
        .fails("csv_invalid_utf8", "Invalid Input Error");
}

#[test]
fn csv_embedded_nul_is_kept_as_data() {
    // DuckDB reads a NUL byte inside a field as part of the value; so does rask.
    let dir = Dir::new();
    dir.write("nul.csv", b"a,b\n1,x\x00y\n");
    dir.rask(&["-F", "csv", "-c", "SELECT a, length(b) AS n FROM 'nul.csv'"])
        .succeeds("csv_embedded_nul_is_kept_as_data", "a,n\n1,3\n");
}

#[test]
fn csv_quote_never_closed() {
    let dir = Dir::new();
    dir.write("open.csv", "a,b\n1,\"never closed\n2,3\n4,5\n");
    dir.rask(&[
        "-c",
        "SELECT * FROM read_csv('open.csv', quote = '\"', types = {'a': 'INTEGER', 'b': 'VARCHAR'})",
    ])
    .fails("csv_quote_never_closed", "Invalid Input Error");
}

#[test]
fn csv_byte_order_mark_is_skipped() {
    let dir = Dir::new();
    dir.write("bom.csv", b"\xef\xbb\xbfid,name\n1,x\n");
    dir.rask(&["-F", "csv", "-c", "SELECT id + 1 AS next, name FROM 'bom.csv'"])
        .succeeds("csv_byte_order_mark_is_skipped", "next,name\n2,x\n");
}

#[test]
fn csv_mixed_line_endings_are_read() {
    let dir = Dir::new();
    dir.write("mixed.csv", "a,b\r\n1,2\n3,4\r\n5,6\n");
    dir.rask(&[
        "-F",
        "csv",
        "-c",
        "SELECT sum(a) AS a, sum(b) AS b, count(*) AS n FROM 'mixed.csv'",
    ])
    .succeeds("csv_mixed_line_endings_are_read", "a,b,n\n9,12,3\n");
}

#[test]
fn csv_huge_field_is_read_whole() {
    let dir = Dir::new();
    let mut text = String::from("id,blob\n1,");
    text.push_str(&"x".repeat(24 << 20));
    text.push_str("\n2,short\n");
    dir.write("huge.csv", text);
    dir.rask(&[
        "-F",
        "csv",
        "-c",
        "SELECT id, length(blob) AS len FROM 'huge.csv' ORDER BY id",
    ])
    .succeeds("csv_huge_field_is_read_whole", "id,len\n1,25165824\n2,5\n");
}

#[test]
fn csv_empty_file_is_an_empty_table() {
    // As DuckDB: one VARCHAR column named column0 and no rows.
    let dir = Dir::new();
    dir.write("empty.csv", "");
    dir.rask(&["-F", "csv", "-c", "SELECT count(*) AS n FROM 'empty.csv'"])
        .succeeds("csv_empty_file_is_an_empty_table", "n\n0\n");
}

#[test]
fn csv_value_not_of_declared_type() {
    let dir = Dir::new();
    dir.write("typed.csv", "id,qty\n1,10\n2,ten\n");
    dir.rask(&["-c", "SELECT * FROM read_csv('typed.csv', types = {'qty': 'INTEGER'})"])
        .fails("csv_value_not_of_declared_type", "Invalid Input Error");
}

#[test]
fn csv_integer_overflows_its_type() {
    let dir = Dir::new();
    dir.write("big.csv", "id,qty\n1,10\n2,3000000000\n");
    dir.rask(&["-c", "SELECT * FROM read_csv('big.csv', types = {'qty': 'INTEGER'})"])
        .fails("csv_integer_overflows_its_type", "Invalid Input Error");
}

#[test]
fn csv_invalid_date() {
    let dir = Dir::new();
    dir.write("dates.csv", "id,day\n1,2024-02-28\n2,2024-02-30\n");
    dir.rask(&["-c", "SELECT * FROM read_csv('dates.csv', types = {'day': 'DATE'})"])
        .fails("csv_invalid_date", "Invalid Input Error");
}

#[test]
fn csv_gzip_that_is_not_gzip() {
    let dir = Dir::new();
    dir.write("data.csv.gz", b"\x1f\x8b\x08\x00not really gzip at all");
    dir.rask(&["-c", "SELECT * FROM 'data.csv.gz'"])
        .fails("csv_gzip_that_is_not_gzip", "IO Error");
}

#[test]
fn csv_schema_drift_across_a_glob() {
    let dir = Dir::new();
    dir.write("parts/2024-01.csv", "id,amount\n1,10\n");
    dir.write("parts/2024-02.csv", "id,amount,currency\n2,20,EUR\n");
    dir.rask(&["-c", "SELECT * FROM 'parts/*.csv'"])
        .fails("csv_schema_drift_across_a_glob", "Invalid Input Error");
}

#[test]
fn ndjson_line_that_is_not_json() {
    let dir = Dir::new();
    dir.write("events.ndjson", "{\"id\": 1}\n{\"id\": 2\n{\"id\": 3}\n");
    dir.rask(&["-c", "SELECT * FROM 'events.ndjson'"])
        .fails("ndjson_line_that_is_not_json", "Invalid Input Error");
}

#[test]
fn empty_standard_input() {
    let dir = Dir::new();
    dir.rask(&["-F", "csv", "-c", "SELECT count(*) AS n FROM '-'"])
        .succeeds("empty_standard_input", "n\n0\n");
}
