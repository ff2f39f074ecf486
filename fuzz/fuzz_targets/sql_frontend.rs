//! Parses, binds, optimizes and plans arbitrary text as SQL (EXPLAIN, without running it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    rask_fuzz::with_session(|session| rask_fuzz::check("sql", sql, session.explain(sql)));
});
