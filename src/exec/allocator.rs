//! How the allocator (mimalloc, installed by the binary) treats freed memory.
//!
//! While memory is not tight, freed pages stay with the process for as long as a statement
//! runs and arenas are committed eagerly, so a batch buffer or hash table freed by one task
//! is reused by the next without the kernel zeroing a fresh page (with transparent huge
//! pages, 2 MiB at a time). The REPL hands them back while it waits for the next statement
//! ([`give_back_freed_memory`]). Under memory pressure the same habit keeps the process
//! 30–50% above the memory pool's peak while a query spills, so once memory is tight — the
//! pool refuses a reservation, or the user sets a memory limit — freed pages go back to the
//! system at once.
//!
//! Once a statement holds a lot of memory, the process also asks Linux for small pages
//! from then on ([`use_small_pages`]).

use std::sync::atomic::{AtomicBool, Ordering};

/// mimalloc v3 option numbers (`mi_option_t` in mimalloc.h).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

static TIGHT: AtomicBool = AtomicBool::new(false);

/// How long freed pages are kept before going back to the system while memory is not tight.
/// mimalloc v3 purges an arena's freed pages together once the delay has passed since the
/// first of them was freed, however recently the others were: with its default of one
/// second, a query running longer than that had its whole free memory handed back in the
/// middle and faulted in again (TPC-H SF10 q18: 1.2–1.6 s of system time against 0.2 s,
/// 2.2 s against 1.6 s elapsed). An hour is longer than any statement that is not also
/// long enough for the cost to vanish in it.
const RELAXED_PURGE_DELAY_MS: std::os::raw::c_long = 3_600_000;

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

static SMALL_PAGES: AtomicBool = AtomicBool::new(false);

/// Pool use from which [`use_small_pages`] is called (see there).
pub const SMALL_PAGES_FROM_BYTES: usize = 256 << 20;

/// Turns transparent huge pages off for the rest of the process's life (Linux; elsewhere
/// nothing happens); the memory pool calls it the first time its use reaches
/// [`SMALL_PAGES_FROM_BYTES`]. Cheap and idempotent.
///
/// mimalloc asks for huge pages where the system leaves it to the program. For a query of
/// modest memory they are cheaper (one fault per 2 MiB): small pages from the start made
/// TPC-H SF1 7.7% slower (q01, q03, q06, q09, q13, q16, q18, q22, 9 alternating runs,
/// system time up in each). For the queries that hold the most they cost system time
/// instead: at SF10 (2 threads, 3 alternating runs of the 22 queries), small pages from the
/// start cut system time from 8.0 to 5.4 s (user time rose from 44.9 to 45.9 s), mostly in
/// the queries whose pool peak passes 256 MiB (q09 804 MiB, q18, q13 266 MiB, q10 262 MiB).
/// Switching at that mark, 5 alternating runs: q18 system time 0.51 → 0.32 s, q13 0.33 →
/// 0.14 s, geomean of seven SF10 queries 1325 → 1274 ms. Elapsed times on this machine
/// vary by 5–15% from run to run, so only the system times are clear evidence.
pub fn use_small_pages() {
    // A load first: the pool calls this on every reservation once past the mark, and a
    // plain read of a settled flag costs nothing, unlike a swap.
    if SMALL_PAGES.load(Ordering::Relaxed) || SMALL_PAGES.swap(true, Ordering::Relaxed) {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only this process's
    // (and its children's) page-size policy for the faults to come; a kernel without it
    // returns an error, which leaves the default in place.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
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

/// Returns the pages freed so far to the system now, whatever the purge delay: for a
/// process about to sit idle (the REPL waiting for its next statement), so that one big
/// query does not leave its memory with it.
pub fn give_back_freed_memory() {
    // SAFETY: mimalloc's collection entry point takes no pointers; it purges the freed
    // pages of every arena (forced) and this thread's own free lists.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::use_small_pages;

    #[test]
    fn small_pages_are_asked_for() {
        use_small_pages();
        // SAFETY: PR_GET_THP_DISABLE reads this process's flag; no pointers.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}
