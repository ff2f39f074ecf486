//! Links the `rask` binary as a position-dependent executable: a PIE of this size carries
//! about 100,000 relative relocations that the dynamic loader applies at every start,
//! copying some 2 MB of relocated read-only data into fresh pages. Without PIE they are
//! resolved at link time, which takes about a millisecond off every query's start.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
