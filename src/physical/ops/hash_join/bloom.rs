//! A blocked Bloom filter over a join table's key hashes: one 64-bit word per key picked
//! by the hash, three bits set in it. At 8 bits per build row it is an eighth of the
//! table's index, so for a large build side it stays in the core's L2 cache while the
//! bucket heads do not: a probe row without a match (most rows of a selective join) is
//! turned away by one cache-resident load instead of a miss into the heads. The same
//! filter, published to the probe side's scan, drops such rows as they are read
//! ([`crate::physical::join_filter`]).
//!
//! The word a hash picks is a run of its low bits: for a join table's filter, the top bits
//! of its bucket number ([`KeyBloom::for_buckets`]), so the threads of a parallel build,
//! each linking the rows of one range of buckets, each own the words of those rows and set
//! their bits with plain stores. (An atomic OR per row, a locked instruction, stalls the
//! core until its earlier stores are done and so kept the build's cache misses from
//! overlapping.)
//!
//! Whoever checks a filter watches its pass rate ([`PassRate`]): once most rows pass it
//! anyway (a join where nearly every row matches), checking it costs more than it saves.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrow::buffer::NullBuffer;
use rayon::prelude::*;

/// Build sides smaller than this check no filter before their heads: the heads fit in L2
/// already.
pub(super) const MIN_ROWS: usize = 1 << 16;

/// Probe rows to see before judging the filter's pass rate.
const JUDGE_AFTER_ROWS: u64 = 1 << 16;

/// Above this share of probe rows passing, the filter costs more than it saves.
const MAX_PASS_PERCENT: u64 = 60;

/// Rows per piece of a parallel fill.
const PARALLEL_CHUNK: usize = 1 << 16;

/// A blocked Bloom filter over 64-bit key hashes.
pub struct KeyBloom {
    words: Vec<AtomicU64>,
    /// `words.len() - 1`.
    word_mask: u64,
    /// A hash's word is `(hash >> word_shift) & word_mask`.
    word_shift: u32,
}

impl std::fmt::Debug for KeyBloom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyBloom").field("words", &self.words.len()).finish()
    }
}

/// How many of the rows checked against a filter passed it, and whether checking still
/// pays. Shared by the tasks that check the same filter.
#[derive(Debug)]
pub struct PassRate {
    probed: AtomicU64,
    passed: AtomicU64,
    /// Cleared once the pass rate shows the filter does not pay.
    useful: AtomicBool,
}

impl Default for PassRate {
    fn default() -> Self {
        Self {
            probed: AtomicU64::new(0),
            passed: AtomicU64::new(0),
            useful: AtomicBool::new(true),
        }
    }
}

impl PassRate {
    /// Whether checking the filter still pays.
    pub fn is_useful(&self) -> bool {
        self.useful.load(Ordering::Relaxed)
    }

    /// Records that `passed` of `probed` rows passed; once enough rows were seen, a filter
    /// that passes most of them stops being used.
    pub fn record(&self, probed: usize, passed: usize) {
        let probed = self.probed.fetch_add(probed as u64, Ordering::Relaxed) + probed as u64;
        let passed = self.passed.fetch_add(passed as u64, Ordering::Relaxed) + passed as u64;
        if probed >= JUDGE_AFTER_ROWS && passed * 100 > probed * MAX_PASS_PERCENT {
            self.useful.store(false, Ordering::Relaxed);
        }
    }
}

/// Re-mixes a hash so that the bits set in its word do not follow the bits that picked the
/// word.
fn mix(hash: u64) -> u64 {
    hash.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

/// The three bits a mixed hash sets in its word.
fn pattern(mixed: u64) -> u64 {
    1u64 << (mixed & 63) | 1u64 << ((mixed >> 6) & 63) | 1u64 << ((mixed >> 12) & 63)
}

/// Bytes of a filter over `rows` build rows.
pub(super) fn bloom_bytes(rows: usize) -> usize {
    word_count(rows) * std::mem::size_of::<u64>()
}

/// The fewest words a filter has: 32 KiB, which stays in the L1 cache. A small build side
/// (TPC-H q18's 57 order keys, q17's 200-odd parts) gets far more than 8 bits per key, so
/// next to none of the probe side's other keys pass: at 8 bits per key, 3-5% of them did
/// (37,000 of q18's 1.5 million orders for 57 keys).
const MIN_WORDS: usize = 1 << 12;

/// Words of a filter over `rows` rows: 8 bits per row, at least [`MIN_WORDS`], a power of two.
fn word_count(rows: usize) -> usize {
    (rows / 8).max(MIN_WORDS).next_power_of_two()
}

impl KeyBloom {
    /// An empty filter sized for `rows` build rows, its word picked by a hash's low bits.
    pub(crate) fn empty(rows: usize) -> Self {
        Self::for_buckets(rows, 0)
    }

    /// An empty filter sized for `rows` build rows, for a table whose bucket is a hash's low
    /// `bucket_bits` bits: a hash's word is the top bits of its bucket (the low bits when
    /// there are more words than buckets), so a range of buckets whose bounds are multiples
    /// of [`KeyBloom::buckets_per_word`] owns a range of words.
    pub(crate) fn for_buckets(rows: usize, bucket_bits: u32) -> Self {
        let words = word_count(rows);
        Self {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            word_mask: words as u64 - 1,
            word_shift: bucket_bits.saturating_sub(words.trailing_zeros()),
        }
    }

    /// Buckets (of the table the filter was made for) that share a word.
    pub(crate) fn buckets_per_word(&self) -> usize {
        1 << self.word_shift
    }

    /// The position of the word `hash` picks.
    #[inline]
    fn word_of(&self, hash: u64) -> usize {
        ((hash >> self.word_shift) & self.word_mask) as usize
    }

    /// The word `hash` picks and the bits it sets there.
    #[inline]
    fn place(&self, hash: u64) -> (&AtomicU64, u64) {
        (&self.words[self.word_of(hash)], pattern(mix(hash)))
    }

    /// Adds `hash`, from any thread.
    #[inline]
    pub(crate) fn insert(&self, hash: u64) {
        let (word, bits) = self.place(hash);
        word.fetch_or(bits, Ordering::Relaxed);
    }

    /// Adds `hash` with a plain load and store: for a thread that is the only one adding
    /// hashes of this word (a parallel build's thread linking whole words' buckets, see
    /// [`KeyBloom::for_buckets`]); another thread's addition to the same word could be lost.
    #[inline]
    pub(crate) fn insert_owned(&self, hash: u64) {
        let (word, bits) = self.place(hash);
        word.store(word.load(Ordering::Relaxed) | bits, Ordering::Relaxed);
    }

    /// Brings the word of `hash` into the caches ahead of an insertion.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        crate::physical::prefetch::prefetch(&self.words[self.word_of(hash)]);
    }

    /// A filter holding `hashes` except the rows `valid` marks NULL. With `parallel` the
    /// words are filled from the worker pool.
    pub(crate) fn of_hashes(hashes: &[u64], valid: Option<&NullBuffer>, parallel: bool) -> Self {
        let bloom = Self::empty(hashes.len());
        let is_valid = |row: usize| valid.is_none_or(|v| v.is_valid(row));
        if parallel {
            hashes.par_chunks(PARALLEL_CHUNK).enumerate().for_each(|(i, piece)| {
                for (row, &hash) in (i * PARALLEL_CHUNK..).zip(piece) {
                    if is_valid(row) {
                        bloom.insert(hash);
                    }
                }
            });
        } else {
            for (row, &hash) in hashes.iter().enumerate() {
                if is_valid(row) {
                    bloom.insert_owned(hash);
                }
            }
        }
        bloom
    }

    /// Whether a key with `hash` may be in the table (false: it certainly is not).
    #[inline]
    pub fn may_contain(&self, hash: u64) -> bool {
        let (word, bits) = self.place(hash);
        word.load(Ordering::Relaxed) & bits == bits
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::shuffle::hash_rows;
    use arrow::array::{ArrayRef, Int64Array};
    use std::sync::Arc;

    fn hashes_of(keys: impl Iterator<Item = i64>) -> Vec<u64> {
        let array: ArrayRef = Arc::new(Int64Array::from_iter_values(keys));
        let mut hashes = Vec::new();
        hash_rows(&[Arc::clone(&array)], array.len(), &mut hashes).unwrap();
        hashes
    }

    #[test]
    fn every_inserted_key_passes_and_most_others_do_not() {
        let build = hashes_of(0..200_000);
        for parallel in [false, true] {
            let bloom = KeyBloom::of_hashes(&build, None, parallel);
            assert!(build.iter().all(|&h| bloom.may_contain(h)));
            let others = hashes_of(1_000_000..1_200_000);
            let false_positives = others.iter().filter(|&&h| bloom.may_contain(h)).count();
            // 8 bits per key and 3 bits per key in 64-bit blocks: about 3-5%.
            assert!(false_positives < 200_000 / 12, "{false_positives} false positives");
        }
    }

    #[test]
    fn a_small_build_side_lets_next_to_no_other_key_pass() {
        let bloom = KeyBloom::of_hashes(&hashes_of(0..57), None, false);
        let false_positives = hashes_of(1_000_000..2_500_000)
            .iter()
            .filter(|&&h| bloom.may_contain(h))
            .count();
        assert!(false_positives < 50, "{false_positives} of 1.5 million pass");
        // 4,000 keys: still 64 bits per key.
        let build = hashes_of(0..4_000);
        let bloom = KeyBloom::of_hashes(&build, None, false);
        assert!(build.iter().all(|&h| bloom.may_contain(h)));
        let false_positives = hashes_of(1_000_000..1_100_000)
            .iter()
            .filter(|&&h| bloom.may_contain(h))
            .count();
        assert!(false_positives < 100_000 / 500, "{false_positives} of 100,000 pass");
    }

    #[test]
    fn null_keys_are_left_out_and_tiny_filters_work() {
        let tiny = hashes_of(0..5);
        let bloom = KeyBloom::of_hashes(&tiny, None, false);
        assert!(tiny.iter().all(|&h| bloom.may_contain(h)));
        assert!(hashes_of(100..1100).iter().filter(|&&h| bloom.may_contain(h)).count() < 100);
        let build = hashes_of(0..100_000);
        let valid = NullBuffer::from((0..100_000).map(|i| i % 2 == 0).collect::<Vec<_>>());
        let bloom = KeyBloom::of_hashes(&build, Some(&valid), false);
        let odd_passing = build
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&h| bloom.may_contain(h))
            .count();
        assert!(odd_passing < 50_000 / 6, "{odd_passing} NULL-key rows pass");
        assert!(build.iter().step_by(2).all(|&h| bloom.may_contain(h)));
    }

    #[test]
    fn a_filter_most_rows_pass_stops_being_useful() {
        let bloom = PassRate::default();
        bloom.record(50_000, 10_000);
        assert!(bloom.is_useful());
        bloom.record(50_000, 10_000);
        assert!(bloom.is_useful(), "20% passing pays");
        bloom.record(200_000, 190_000);
        assert!(!bloom.is_useful(), "over 60% passing does not");
    }
}
