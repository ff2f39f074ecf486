//! A hint to the processor to bring a cache line in ahead of its use: for loops whose
//! loads land at random in tables larger than the caches (a hash join's bucket heads and
//! Bloom filter while its index is built), which otherwise wait for one miss at a time.

/// Asks the processor to bring `value`'s cache line into its caches; a no-op on
/// processors without the instruction.
#[inline]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing the program sees and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
