//! Reads arbitrary bytes as a CSV file: with a sniffed schema, with a declared one, with
//! `ignore_errors`, and counted without columns. The session cuts files into 64-byte ranges,
//! so records that cross range boundaries (quoted newlines too) are exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;

const QUERIES: [&str; 5] = [
    "SELECT * FROM read_csv('{path}')",
    "SELECT * FROM read_csv('{path}', header = false, types = {'a': 'INTEGER', 'b': 'VARCHAR', 'c': 'DOUBLE', 'd': 'DATE'})",
    "SELECT * FROM read_csv('{path}', ignore_errors = true)",
    "SELECT count(*) FROM read_csv('{path}', delim = ';', quote = '''', escape = '\\')",
    "SELECT * FROM read_csv('{path}', header = true, types = {'a': 'BIGINT', 'b': 'TIMESTAMP'}, ignore_errors = true)",
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let path = rask_fuzz::scratch_file("input.csv");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let sql = QUERIES[mode as usize % QUERIES.len()].replace("{path}", &path.display().to_string());
    rask_fuzz::with_session(|session| rask_fuzz::check("csv", &sql, rask_fuzz::run_all(session, &sql)));
});
