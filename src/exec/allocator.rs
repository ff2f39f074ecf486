//! How the allocator (mimalloc, installed by the binary) treats freed memory.
//!
//! While memory is not tight, freed pages are kept for a second (mimalloc's default is 10 ms)
//! and arenas are committed eagerly, so a batch buffer freed by one operator is reused by the
//! next without the kernel zeroing a fresh page: on TPC-H SF1 that is 25–40% of a short query's CPU time (q6: 28k page faults
//! against 1k). Under memory pressure the same habit keeps the process 30–50% above the
//! memory pool's peak while a query spills, so once memory is tight — the pool refuses a
//! reservation, or the user sets a memory limit — freed pages go back to the system at once.

use std::sync::atomic::{AtomicBool, Ordering};

/// mimalloc v3 option numbers (`mi_option_t` in mimalloc.h).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

static TIGHT: AtomicBool = AtomicBool::new(false);

/// How long freed pages are kept before going back to the system while memory is not tight:
/// longer than most queries, so a short query never pays for zeroing the same memory twice
/// (mimalloc's default of 10 ms returned half of a TPC-H SF1 query's peak to the system and
/// faulted it back in; keeping it takes 5% off the CPU time of the 22 queries), yet short
/// enough that an idle REPL hands a big query's memory back within seconds.
const RELAXED_PURGE_DELAY_MS: std::os::raw::c_long = 1000;

/// Sets how freed memory is treated while memory is not tight; called once at start-up.
pub fn keep_freed_memory_for_reuse() {
    if TIGHT.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: a plain integer option (see `return_freed_memory_promptly`).
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, RELAXED_PURGE_DELAY_MS);
    }
}

/// From now on, freed pages are returned to the system at once and arenas are committed
/// lazily. Cheap and idempotent; there is no way back for the rest of the process.
pub fn return_freed_memory_promptly() {
    if TIGHT.swap(true, Ordering::Relaxed) {
        return;
    }
    // SAFETY: plain integer options; mimalloc reads them (atomically) when it next reserves
    // or purges memory, so setting them while other threads allocate is allowed.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 1);
    }
}
