//! Parses, lowers, optimizes and plans arbitrary text as a DSL script (without running it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else { return };
    rask_fuzz::with_session(|session| rask_fuzz::check("dsl", script, session.explain_dsl(script)));
});
