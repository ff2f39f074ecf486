//! The `rask` binary: parses arguments, runs, maps the outcome to an exit code.

fn main() {
    std::process::exit(rask::cli::run::main());
}
