//! Runs generated queries (see `rask_fuzz::generator`) over the session's small tables:
//! most are valid and reach the executor.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sql = rask_fuzz::generator::query_from_bytes(data);
    rask_fuzz::with_session(|session| rask_fuzz::check("execution", &sql, rask_fuzz::run_all(session, &sql)));
});
