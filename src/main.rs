//! The `rask` binary: parses arguments, runs, maps the outcome to an exit code.

/// mimalloc keeps freed batch buffers for reuse instead of returning them to the system,
/// which with glibc costs a page fault per touched page of every 128 KiB+ batch column.
/// When memory gets tight it returns them promptly instead (`rask::exec::allocator`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stack of the thread that parses, binds and plans: generous, so that expressions up to
/// the depth limit (and the drop of a deeper syntax tree that was refused) fit with room
/// to spare. Only the pages used are ever touched.
const MAIN_STACK_BYTES: usize = 256 << 20;

/// Exit code when rask itself panicked (a bug; Rust's own code for it).
const EXIT_PANIC: i32 = 101;

fn main() {
    rask::exec::allocator::keep_freed_memory_for_reuse();
    // Panics that rask catches (a task's, becoming the query's error; a corrupt file's,
    // becoming an error naming it) print nothing of their own; with RUST_BACKTRACE set
    // every panic is reported as Rust does by default.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let code = std::thread::Builder::new()
        .name("rask-main".into())
        .stack_size(MAIN_STACK_BYTES)
        .spawn(rask::cli::run::main)
        .map(|main| {
            main.join().unwrap_or_else(|panic| {
                eprintln!(
                    "Error: Internal Error: rask panicked: {} (please report this)",
                    rask::error::panic_message(&*panic)
                );
                EXIT_PANIC
            })
        });
    std::process::exit(code.unwrap_or_else(|e| {
        eprintln!("Error: cannot start: {e}");
        1
    }));
}
