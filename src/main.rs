//! The `rask` binary: parses arguments, runs, maps the outcome to an exit code.

/// mimalloc keeps freed batch buffers for reuse instead of returning them to the system,
/// which with glibc costs a page fault per touched page of every 128 KiB+ batch column.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's `mi_option_arena_eager_commit`. With eager commit, pages freed inside an
/// arena are not given back to the system, so the process kept about 30% more resident memory
/// than the memory pool had reserved after a spilling query.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

fn main() {
    // SAFETY: sets a plain integer option before any worker thread exists; mimalloc reads it
    // when it next reserves or purges arena memory.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    std::process::exit(rask::cli::run::main());
}
