//! The memory pool: one limit for the whole query. Every operator that holds data (shuffle
//! buckets, hash tables, sort buffers, join build sides, persisted tables) takes a
//! [`MemoryReservation`] and grows it before it buffers more; a failed `try_grow` is the
//! signal to spill (or, for operators that cannot spill yet, a clean "resources exhausted").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A pool of bytes shared by every operator of a session.
#[derive(Debug)]
pub struct MemoryPool {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryPool {
    /// A pool that hands out at most `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// The pool for a process memory limit of `memory_limit` bytes: operators get 70% of it
    /// (at most 384 MiB less); the rest is headroom for what the pool does not track —
    /// file-reader buffers, batches in flight between operators, spill-file buffers and the
    /// allocator's own overhead — so the process as a whole stays near the limit.
    pub fn for_memory_limit(memory_limit: usize) -> Arc<Self> {
        let headroom = (memory_limit / 10 * 3).min(384 << 20);
        Self::new(memory_limit - headroom)
    }

    /// The default limit: 75% of physical memory (or 4 GiB when that cannot be read).
    pub fn default_limit() -> usize {
        physical_memory().map(|m| m / 4 * 3).unwrap_or(4 << 30)
    }

    /// Starts an empty reservation for `consumer` (an operator name, used in errors).
    pub fn reservation(self: &Arc<Self>, consumer: impl Into<String>) -> MemoryReservation {
        MemoryReservation {
            pool: Arc::clone(self),
            consumer: consumer.into(),
            size: 0,
            peak: 0,
            counted: None,
        }
    }

    /// The configured limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most bytes ever reserved at once since the last [`MemoryPool::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new peak measurement (per query).
    pub fn reset_peak(&self) {
        self.peak.store(self.used(), Ordering::Relaxed);
    }

    fn try_take(&self, bytes: usize) -> bool {
        let mut current = self.used.load(Ordering::Relaxed);
        loop {
            let next = current.saturating_add(bytes);
            if next > self.limit {
                return false;
            }
            match self
                .used
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.note_use(next);
                    return true;
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn take_unchecked(&self, bytes: usize) {
        let next = self.used.fetch_add(bytes, Ordering::AcqRel) + bytes;
        self.note_use(next);
    }

    /// Records `used` bytes in use: the peak, and the switch to small pages for a process
    /// that holds a lot ([`crate::exec::allocator::use_small_pages`]).
    fn note_use(&self, used: usize) {
        self.peak.fetch_max(used, Ordering::Relaxed);
        if used >= crate::exec::allocator::SMALL_PAGES_FROM_BYTES {
            crate::exec::allocator::use_small_pages();
        }
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes held by one consumer. Returned to the pool when dropped.
#[derive(Debug)]
pub struct MemoryReservation {
    pool: Arc<MemoryPool>,
    consumer: String,
    size: usize,
    /// The most held at once.
    peak: usize,
    /// The operator (and the query's metrics) the peak is reported to when dropped.
    counted: Option<(usize, Arc<crate::exec::op_metrics::OperatorMetrics>)>,
}

impl MemoryReservation {
    /// Bytes currently held.
    pub fn size(&self) -> usize {
        self.size
    }

    /// This reservation, its peak reported as operator `key`'s memory when dropped.
    pub fn counted_for(mut self, key: usize, metrics: Arc<crate::exec::op_metrics::OperatorMetrics>) -> Self {
        self.counted = Some((key, metrics));
        self
    }

    fn grew(&mut self) {
        self.peak = self.peak.max(self.size);
    }

    /// The consumer's name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Grows by `bytes`, or fails with [`Error::ResourcesExhausted`] naming the consumer and sizes.
    pub fn try_grow(&mut self, bytes: usize) -> Result<()> {
        if self.pool.try_take(bytes) {
            self.size += bytes;
            self.grew();
            Ok(())
        } else {
            crate::exec::allocator::return_freed_memory_promptly();
            Err(Error::ResourcesExhausted(format!(
                "{} could not reserve {} more (holds {}, pool uses {} of {} limit)",
                self.consumer,
                human_bytes(bytes),
                human_bytes(self.size),
                human_bytes(self.pool.used()),
                human_bytes(self.pool.limit),
            )))
        }
    }

    /// Grows by `bytes` even past the limit (for small bookkeeping that cannot be refused).
    pub fn grow(&mut self, bytes: usize) {
        self.pool.take_unchecked(bytes);
        self.size += bytes;
        self.grew();
    }

    /// Sets the reservation to exactly `new_size` bytes, growing with [`Self::try_grow`].
    pub fn try_resize(&mut self, new_size: usize) -> Result<()> {
        if new_size > self.size {
            self.try_grow(new_size - self.size)
        } else {
            self.shrink(self.size - new_size);
            Ok(())
        }
    }

    /// Sets the reservation to exactly `new_size` bytes, growing past the limit if need be
    /// (for memory a writer holds whatever happens, after it gave back all it could).
    pub fn resize_unchecked(&mut self, new_size: usize) {
        if new_size > self.size {
            self.grow(new_size - self.size);
        } else {
            self.shrink(self.size - new_size);
        }
    }

    /// Gives back `bytes` (at most what is held).
    pub fn shrink(&mut self, bytes: usize) {
        let bytes = bytes.min(self.size);
        self.pool.give_back(bytes);
        self.size -= bytes;
    }

    /// Moves `bytes` (at most what is held) into a new reservation of the same pool, for
    /// handing buffered data over to whoever takes it.
    pub fn split(&mut self, bytes: usize) -> MemoryReservation {
        let bytes = bytes.min(self.size);
        self.size -= bytes;
        MemoryReservation {
            pool: Arc::clone(&self.pool),
            consumer: self.consumer.clone(),
            size: bytes,
            peak: bytes,
            counted: self.counted.clone(),
        }
    }

    /// Gives back everything; returns how much was held.
    pub fn free(&mut self) -> usize {
        let size = self.size;
        self.shrink(size);
        size
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        self.free();
        if let Some((key, metrics)) = &self.counted {
            metrics.record_peak(*key, self.peak);
        }
    }
}

/// Formats a byte count for people: `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Parses sizes such as `512MB`, `4GB`, `1.5GiB`, `100000` (bytes). KB/MB/GB are powers of
/// 1000 and KiB/MiB/GiB powers of 1024, as in DuckDB.
pub fn parse_bytes(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| Error::InvalidInput(format!("invalid size '{text}': expected e.g. 512MB or 4GB")))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "byte" | "bytes" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        other => {
            return Err(Error::InvalidInput(format!(
                "invalid size unit '{other}' in '{text}': use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
            )))
        }
    };
    Ok((value * multiplier) as usize)
}

fn physical_memory() -> Option<usize> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_respect_the_limit_and_return_bytes_on_drop() {
        let pool = MemoryPool::new(100);
        let mut a = pool.reservation("a");
        a.try_grow(60).unwrap();
        let mut b = pool.reservation("b");
        let err = b.try_grow(50).unwrap_err().to_string();
        assert!(err.contains("b could not reserve 50 B"), "{err}");
        drop(a);
        b.try_grow(50).unwrap();
        assert_eq!(pool.used(), 50);
        assert_eq!(pool.peak(), 60);
    }

    #[test]
    fn the_pool_leaves_headroom_below_the_memory_limit() {
        assert_eq!(MemoryPool::for_memory_limit(1000).limit(), 700);
        assert_eq!(MemoryPool::for_memory_limit(1_000_000_000).limit(), 700_000_000);
        assert_eq!(MemoryPool::for_memory_limit(16 << 30).limit(), (16 << 30) - (384 << 20));
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("512MB").unwrap(), 512_000_000);
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("12 parsecs").is_err());
    }
}
