//! Reads mutated Parquet files (the corpus starts from valid files rask wrote): every
//! column, a filtered scan that uses row-group statistics, and a count.
#![no_main]

use libfuzzer_sys::fuzz_target;

const QUERIES: [&str; 3] = [
    "SELECT * FROM read_parquet('{path}')",
    "SELECT * FROM read_parquet('{path}') WHERE a > 1 AND b <> 'x'",
    "SELECT count(*), min(a) FROM read_parquet('{path}')",
];

fuzz_target!(|data: &[u8]| {
    let path = rask_fuzz::scratch_file("input.parquet");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let path = path.display().to_string();
    rask_fuzz::with_session(|session| {
        for query in QUERIES {
            let sql = query.replace("{path}", &path);
            rask_fuzz::check("parquet", &sql, rask_fuzz::run_all(session, &sql));
        }
    });
});
