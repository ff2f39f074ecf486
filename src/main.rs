//! The `rask` binary: parses arguments, runs, maps the outcome to an exit code.

/// mimalloc keeps freed batch buffers for reuse instead of returning them to the system,
/// which with glibc costs a page fault per touched page of every 128 KiB+ batch column.
/// When memory gets tight it returns them promptly instead (`rask::exec::allocator`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rask::cli::run::main());
}
