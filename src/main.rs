//! The `rask` binary: parses arguments, runs, maps the outcome to an exit code.

/// mimalloc keeps freed batch buffers for reuse instead of returning them to the system,
/// which with glibc costs a page fault per touched page of every 128 KiB+ batch column.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3 option numbers (`mi_option_t` in mimalloc.h).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

/// Makes mimalloc give freed pages back to the system at once. By default it keeps them for
/// 10–100 ms and commits arenas eagerly; under a spilling query, which frees and allocates
/// batches at a high rate, that kept the process 30–50% above the memory pool's peak.
fn return_freed_memory_promptly() {
    // SAFETY: plain integer options, set before any worker thread exists; mimalloc reads them
    // when it next reserves or purges memory.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 1);
    }
}

fn main() {
    return_freed_memory_promptly();
    std::process::exit(rask::cli::run::main());
}
