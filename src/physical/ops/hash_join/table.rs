//! The build side of a hash join in memory: its rows (one batch), their key columns and a
//! chained hash index over the key hashes (the shuffle's hash function, so build and probe
//! agree with the exchange that partitioned them).
//!
//! The index is a power-of-two array of bucket heads (the low bits of the hash pick the
//! bucket) and, per build row, a link to the next row in its bucket with the high half of
//! its hash as a tag, so a probe skips other hashes in its bucket without touching their
//! keys. Each head also keeps a 32-bit Bloom filter of its chain's tags, so most probes
//! that have no match stop at the head without a second cache miss (most probe rows of a
//! selective join). At 16 bytes per row at most it is half an open-addressing table of
//! (hash, row) entries, and building it is two stores per row.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use arrow::array::{Array, ArrayRef};
use arrow::buffer::NullBuffer;
use std::sync::Arc;

use arrow::compute::concat;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::bloom::{bloom_bytes, KeyBloom, PassRate, MIN_ROWS as BLOOM_MIN_ROWS};
use super::JoinSpec;
use crate::error::{Error, Result};
use crate::exec::memory::MemoryReservation;
use crate::exec::shuffle::{hash_rows, hash_rows_into};
use crate::physical::prefetch::prefetch;

/// The build side: its rows, their keys and a chained hash index over them.
pub(super) struct JoinTable {
    pub(super) batch: RecordBatch,
    pub(super) keys: Vec<ArrayRef>,
    /// Per bucket (`hash & mask`): the 1-based index of its first build row (0: empty) in
    /// the low half, the Bloom bits of its rows' tags ([`bloom_bit`]) in the high half.
    heads: Vec<u64>,
    /// `heads.len() - 1`.
    mask: u64,
    /// Per build row: the 1-based index of the next row in its bucket (0 ends the chain)
    /// in the low half and the high half of its hash (its tag) in the high half. Chains run
    /// in ascending row order. Atomic only so that a parallel build can fill it from
    /// several threads (each bucket's rows by one thread); relaxed loads are plain loads.
    links: Vec<AtomicU64>,
    /// A Bloom filter over the keys' hashes, checked before the heads (large tables only).
    bloom: Option<Arc<KeyBloom>>,
    /// How the probes fare against `bloom`.
    bloom_pass_rate: PassRate,
    _reservation: MemoryReservation,
}

impl fmt::Debug for JoinTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinTable")
            .field("rows", &self.batch.num_rows())
            .field("buckets", &self.heads.len())
            .finish()
    }
}

/// The validity of a set of key columns: a row is valid when no key is NULL.
pub(crate) fn key_validity(keys: &[ArrayRef]) -> Option<NullBuffer> {
    keys.iter().fold(None, |acc, k| {
        NullBuffer::union(acc.as_ref(), k.logical_nulls().as_ref())
    })
}

/// Buckets of the index over `rows` rows: a power of two, at least one per row.
fn bucket_count(rows: usize) -> usize {
    rows.max(1).next_power_of_two()
}

/// Bytes of the hash index over `rows` rows: the bucket heads, a link per row and the
/// Bloom filter of a table large enough to keep one.
pub(super) fn index_bytes(rows: usize) -> usize {
    let bloom = if rows >= BLOOM_MIN_ROWS { bloom_bytes(rows) } else { 0 };
    bucket_count(rows) * std::mem::size_of::<u64>() + rows * std::mem::size_of::<u64>() + bloom
}

/// The high half of a hash: the tag a chain entry keeps.
fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// The bit a hash sets in its bucket head's Bloom filter (picked by the tag's top 5 bits;
/// the low bits of the hash already picked the bucket), shifted into the head's high half.
fn bloom_bit(hash: u64) -> u64 {
    1u64 << (32 + (hash >> 59))
}

/// The memory a table over `batches` needs beyond the batches themselves: the copy that
/// concatenates them (while the pieces are alive) and the hash index.
pub(super) fn table_overhead(batches: &[RecordBatch]) -> usize {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let copy: usize = if batches.len() > 1 {
        batches.iter().map(|b| b.get_array_memory_size()).sum()
    } else {
        0
    };
    copy + index_bytes(rows)
}

/// Concatenates `batches` one column at a time, freeing each column's pieces as soon as it
/// is copied: the process holds the pieces plus one column's copy at a time rather than
/// twice the build side (fresh pages are zeroed by the kernel, so the copy's size is also
/// its cost).
fn concat_releasing(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<RecordBatch> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut pieces: Vec<std::vec::IntoIter<ArrayRef>> =
        batches.into_iter().map(|b| b.into_parts().1.into_iter()).collect();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for _ in schema.fields() {
        let column: Vec<ArrayRef> = pieces.iter_mut().filter_map(|p| p.next()).collect();
        let refs: Vec<&dyn Array> = column.iter().map(|a| a.as_ref()).collect();
        columns.push(concat(&refs)?);
    }
    batch_of(schema, columns, rows)
}

/// A batch of `rows` rows of `columns` (the row count matters when there are none).
pub(super) fn batch_of(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

/// Build sides of no more rows than this are built on one thread.
const PARALLEL_CHUNK: usize = 1 << 16;

/// [`concat_releasing`] with the columns copied in parallel (each column's pieces are
/// freed once it is copied).
fn concat_parallel(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<RecordBatch> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut by_column: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(batches.len()); schema.fields().len()];
    for batch in batches {
        for (column, array) in by_column.iter_mut().zip(batch.into_parts().1) {
            column.push(array);
        }
    }
    let columns = by_column
        .into_par_iter()
        .map(|pieces| {
            let refs: Vec<&dyn Array> = pieces.iter().map(|a| a.as_ref()).collect();
            Ok(concat(&refs)?)
        })
        .collect::<Result<Vec<_>>>()?;
    batch_of(schema, columns, rows)
}

/// Rows hashed at a time while linking: their hashes stay in the core's L2 cache.
const LINK_CHUNK: usize = 1 << 14;

/// How many rows ahead of the one it links the build asks for the bucket head and Bloom
/// word it will update (both miss the caches for a large build side). In TPC-H SF10 q09,
/// linking 15 million orders took 11% of the query's cycles without, 5% with.
const PREFETCH_ROWS_AHEAD: usize = 16;

/// What linking a build side's rows into the index reads and writes, shared by the
/// threads of a parallel build.
struct Linker<'a> {
    /// The key columns (canonical) of all `rows` build rows.
    keys: &'a [ArrayRef],
    rows: usize,
    /// Rows with a NULL key, left out of the index.
    valid: Option<&'a NullBuffer>,
    links: &'a [AtomicU64],
    /// `heads.len() - 1` of the whole heads array.
    mask: u64,
}

impl Linker<'_> {
    /// Links the rows whose bucket lies in `first_bucket..first_bucket + heads.len()` (all
    /// of them when `heads` is the whole array) into `heads` and the links, leaving out the
    /// rows with a NULL key, and adds each linked row's hash to `bloom` (whose words for
    /// these buckets only this call writes, see [`KeyBloom::for_buckets`]). Rows go from
    /// the last to the first, so every chain ascends.
    ///
    /// The keys are hashed a chunk at a time as the rows are linked, never all at once: a
    /// parallel build hashes every row once per thread, which costs less than writing and
    /// reading back a hash per row (120 MB for TPC-H SF10's 15 million orders, whose fresh
    /// pages the kernel must zero first).
    fn link(&self, first_bucket: usize, heads: &mut [u64], bloom: Option<&KeyBloom>) -> Result<()> {
        let span = heads.len();
        let chunk_rows = LINK_CHUNK.min(self.rows);
        let mut hashes = vec![0u64; chunk_rows];
        let mut mine = vec![0u32; chunk_rows];
        let mut end = self.rows;
        while end > 0 {
            let start = end.saturating_sub(LINK_CHUNK);
            let chunk = &mut hashes[..end - start];
            let piece: Vec<ArrayRef> = self.keys.iter().map(|k| k.slice(start, end - start)).collect();
            hash_rows_into(&piece, chunk)?;
            // The chunk's rows this call links, compacted without a branch per row: a
            // thread of a parallel build owns a random half (or third...) of the rows, and a
            // branch on it would mispredict every other row, each time discarding the loads
            // of the heads in flight behind it.
            let mut count = 0;
            for (i, &hash) in (0u32..).zip(chunk.iter()) {
                mine[count] = i;
                let in_range = ((hash & self.mask) as usize).wrapping_sub(first_bucket) < span;
                let valid = self.valid.is_none_or(|v| v.is_valid(start + i as usize));
                count += usize::from(in_range & valid);
            }
            let mine = &mine[..count];
            for pos in (0..count).rev() {
                if let Some(&ahead) = pos.checked_sub(PREFETCH_ROWS_AHEAD).map(|p| &chunk[mine[p] as usize]) {
                    if let Some(h) = heads.get(((ahead & self.mask) as usize).wrapping_sub(first_bucket)) {
                        prefetch(h);
                    }
                    if let Some(bloom) = bloom {
                        bloom.prefetch(ahead);
                    }
                }
                let i = mine[pos] as usize;
                let (row, hash) = (start + i, chunk[i]);
                let head = &mut heads[(hash & self.mask) as usize - first_bucket];
                self.links[row].store(
                    *head & u64::from(u32::MAX) | u64::from(tag_of(hash)) << 32,
                    Ordering::Relaxed,
                );
                *head = (*head & !u64::from(u32::MAX)) | bloom_bit(hash) | (row as u64 + 1);
                if let Some(bloom) = bloom {
                    bloom.insert_owned(hash);
                }
            }
            end = start;
        }
        Ok(())
    }
}

impl JoinTable {
    /// Indexes `batches` (build rows). `reservation` holds at least their size plus
    /// [`table_overhead`] (callers reserve that first, spilling when refused); it ends at
    /// the table's real size.
    /// With `parallel` the copy and the linking of a large build side are spread over the
    /// worker pool (see [`Linker::link`]): only for a caller no task of the pool waits on (a
    /// waiting worker could pick up a task that waits for this very build).
    pub(super) fn from_batches(
        mut batches: Vec<RecordBatch>,
        mut reservation: MemoryReservation,
        spec: &JoinSpec,
        parallel: bool,
    ) -> Result<Self> {
        let batch = match batches.len() {
            0 => RecordBatch::new_empty(Arc::clone(&spec.left_schema)),
            1 => batches.swap_remove(0),
            _ if parallel => concat_parallel(&spec.left_schema, batches)?,
            _ => concat_releasing(&spec.left_schema, batches)?,
        };
        let rows = batch.num_rows();
        if rows >= u32::MAX as usize {
            return Err(Error::not_supported(format!(
                "a hash join build side of {rows} rows in one partition"
            )));
        }
        let keys: Vec<ArrayRef> = spec
            .left_keys
            .iter()
            .map(|k| Ok(crate::physical::float_zero::canonical(&k.evaluate(&batch)?)))
            .collect::<Result<_>>()?;
        // Small build sides are not worth splitting.
        let parallel = parallel && rows > PARALLEL_CHUNK;
        let valid = key_validity(&keys);
        let mut heads = vec![0u64; bucket_count(rows)];
        let bloom = (rows >= BLOOM_MIN_ROWS).then(|| KeyBloom::for_buckets(rows, heads.len().trailing_zeros()));
        let mask = heads.len() as u64 - 1;
        let links: Vec<AtomicU64> = (0..rows).map(|_| AtomicU64::new(0)).collect();
        let threads = if parallel {
            rayon::current_num_threads().clamp(1, heads.len())
        } else {
            1
        };
        let linker = Linker {
            keys: &keys,
            rows,
            valid: valid.as_ref(),
            links: &links,
            mask,
        };
        if threads == 1 {
            linker.link(0, &mut heads, bloom.as_ref())?;
        } else {
            // Each thread links the rows of one range of buckets, so no bucket is shared, nor
            // (the ranges being whole words' buckets) a word of the Bloom filter.
            let per_word = bloom.as_ref().map_or(1, KeyBloom::buckets_per_word);
            let range = heads.len().div_ceil(threads).next_multiple_of(per_word);
            heads
                .par_chunks_mut(range)
                .enumerate()
                .try_for_each(|(i, part)| linker.link(i * range, part, bloom.as_ref()))?;
        }
        let bloom = bloom.map(Arc::new);
        let table_bytes = heads.capacity() * std::mem::size_of::<u64>()
            + links.capacity() * std::mem::size_of::<u64>()
            + bloom.as_ref().map_or(0, |b| b.bytes());
        let real = batch.get_array_memory_size() + table_bytes;
        // The headroom was reserved up front; the real size may differ a little either way.
        if real > reservation.size() {
            reservation.grow(real - reservation.size());
        } else {
            reservation.shrink(reservation.size() - real);
        }
        Ok(Self {
            batch,
            keys,
            heads,
            mask,
            links,
            bloom,
            bloom_pass_rate: PassRate::default(),
            _reservation: reservation,
        })
    }

    /// Per probe row, the first build row (1-based; 0 when none) whose hash may equal the
    /// row's `hashes` entry; rows `valid` marks NULL get 0. Each step is a loop of
    /// independent loads over the whole batch, so the processor overlaps their cache misses
    /// (a row at a time, every probe would wait for its bucket, then for its chain). Where
    /// the table keeps a Bloom filter, only the rows it passes look at their bucket.
    pub(super) fn first_candidates(&self, hashes: &[u64], valid: Option<&NullBuffer>) -> Vec<u32> {
        let pass_rate = &self.bloom_pass_rate;
        let mut firsts: Vec<u32> = match self.bloom.as_ref().filter(|_| pass_rate.is_useful()) {
            Some(bloom) => {
                // The passing rows' positions, compacted without a branch per row.
                let mut passing = vec![0u32; hashes.len()];
                let mut passed = 0;
                for (row, &hash) in (0u32..).zip(hashes) {
                    passing[passed] = row;
                    passed += usize::from(bloom.may_contain(hash));
                }
                pass_rate.record(hashes.len(), passed);
                let mut firsts = vec![0u32; hashes.len()];
                for &row in &passing[..passed] {
                    firsts[row as usize] = self.head_candidate(hashes[row as usize]);
                }
                firsts
            }
            None => hashes.iter().map(|&hash| self.head_candidate(hash)).collect(),
        };
        for row in 0..firsts.len() {
            // Row 0's link stands in for an empty bucket's: a prefetch needs no branch.
            let ahead = firsts.get(row + PREFETCH_ROWS_AHEAD).map_or(0, |&a| a as usize);
            if let Some(link) = self.links.get(ahead.saturating_sub(1)) {
                prefetch(link);
            }
            if firsts[row] != 0 {
                firsts[row] = self.next_from(firsts[row], hashes[row]);
            }
        }
        if let Some(valid) = valid {
            for row in valid.iter().enumerate().filter(|(_, v)| !v).map(|(row, _)| row) {
                firsts[row] = 0;
            }
        }
        firsts
    }

    /// A Bloom filter over the build keys' hashes: the table's own, or, for a table too small
    /// to keep one, a new one (for the probe side's scan, see
    /// [`crate::physical::join_filter`]).
    ///
    /// With `subset` (positions among the keys), the filter is over those keys alone, for
    /// a probe side where only they come from the scan.
    pub(super) fn key_bloom(&self, subset: Option<&[usize]>) -> Result<Arc<KeyBloom>> {
        let keys: Vec<ArrayRef> = match subset {
            None => {
                if let Some(bloom) = &self.bloom {
                    return Ok(Arc::clone(bloom));
                }
                self.keys.clone()
            }
            Some(positions) => positions
                .iter()
                .map(|&k| {
                    self.keys
                        .get(k)
                        .cloned()
                        .ok_or_else(|| Error::internal(format!("join filter on missing key {k}")))
                })
                .collect::<Result<_>>()?,
        };
        let rows = self.batch.num_rows();
        let mut hashes = Vec::new();
        hash_rows(&keys, rows, &mut hashes)?;
        Ok(Arc::new(KeyBloom::of_hashes(
            &hashes,
            key_validity(&keys).as_ref(),
            rows >= BLOOM_MIN_ROWS,
        )))
    }

    /// The first row of `hash`'s bucket (1-based) unless the bucket's Bloom bits rule the
    /// hash out; 0 then and for an empty bucket.
    #[inline]
    fn head_candidate(&self, hash: u64) -> u32 {
        let head = self.heads[(hash & self.mask) as usize];
        if head & bloom_bit(hash) == 0 {
            0
        } else {
            head as u32
        }
    }

    /// The first build row from the 1-based `at` on, along its chain, that may have `hash`
    /// (the same bucket and tag); 0 when none.
    pub(super) fn next_from(&self, mut at: u32, hash: u64) -> u32 {
        let tag = tag_of(hash);
        while at != 0 {
            let link = self.links[at as usize - 1].load(Ordering::Relaxed);
            if (link >> 32) as u32 == tag {
                return at;
            }
            at = link as u32;
        }
        0
    }

    /// The build row after the 1-based `at` on its chain that may have `hash`; 0 when none.
    pub(super) fn after(&self, at: u32, hash: u64) -> u32 {
        self.next_from(self.links[at as usize - 1].load(Ordering::Relaxed) as u32, hash)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::exec::memory::MemoryPool;
    use crate::logical::join_type::JoinType;
    use crate::physical::expr::PhysicalExpr;

    /// 300k build rows in 30 batches: keys repeat (every key 3 times) and every 50th is
    /// NULL, so chains hold several rows and NULLs must stay out of them.
    fn build_side() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        let batches = (0..30)
            .map(|b| {
                let keys = (b * 10_000..(b + 1) * 10_000).map(|i: i64| (i % 50 != 0).then_some(i % 100_000));
                RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from_iter(keys))]).unwrap()
            })
            .collect();
        (schema, batches)
    }

    fn spec(schema: SchemaRef) -> JoinSpec {
        JoinSpec {
            left_keys: vec![PhysicalExpr::column(0, "k")],
            right_keys: vec![PhysicalExpr::column(0, "k")],
            filter: None,
            join_type: JoinType::Inner,
            schema: Arc::clone(&schema),
            pair_schema: Arc::clone(&schema),
            left_schema: schema,
        }
    }

    /// Every probe hash's candidate chain, in order.
    fn chains(table: &JoinTable, hashes: &[u64]) -> Vec<Vec<u32>> {
        table
            .first_candidates(hashes, None)
            .into_iter()
            .zip(hashes)
            .map(|(mut at, &hash)| {
                let mut chain = Vec::new();
                while at != 0 {
                    chain.push(at - 1);
                    at = table.after(at, hash);
                }
                chain
            })
            .collect()
    }

    #[test]
    fn a_parallel_build_links_the_same_ascending_chains_as_a_sequential_one() {
        let (schema, batches) = build_side();
        let spec = spec(Arc::clone(&schema));
        let pool = MemoryPool::new(1 << 30);
        let sequential = JoinTable::from_batches(batches.clone(), pool.reservation("seq"), &spec, false).unwrap();
        let threads = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let parallel = threads
            .install(|| JoinTable::from_batches(batches, pool.reservation("par"), &spec, true))
            .unwrap();

        let probe: ArrayRef = Arc::new(Int64Array::from_iter_values(-5..100_005));
        let mut hashes = Vec::new();
        hash_rows(&[probe], 100_010, &mut hashes).unwrap();
        let expected = chains(&sequential, &hashes);
        assert_eq!(chains(&parallel, &hashes), expected);
        // Both Bloom filters hold every key of the build side, filled as the rows were
        // linked: a key that is there always passes.
        for table in [&sequential, &parallel] {
            let bloom = table.key_bloom(None).unwrap();
            for (i, &hash) in hashes.iter().enumerate() {
                let key = i as i64 - 5;
                if (0..100_000).contains(&key) && key % 50 != 0 {
                    assert!(bloom.may_contain(hash), "key {key} missing from the Bloom filter");
                }
            }
        }
        for (i, chain) in expected.iter().enumerate() {
            let key = i as i64 - 5;
            // A chain may also hold rows whose hash only shares the bucket and tag.
            let matching: Vec<u32> = chain.iter().copied().filter(|r| (*r as i64) % 100_000 == key).collect();
            if !(0..100_000).contains(&key) {
                assert!(matching.is_empty(), "key {key}: {chain:?}");
            } else if key % 50 == 0 {
                assert!(matching.is_empty(), "a NULL key got linked: {key}: {chain:?}");
            } else {
                let rows: Vec<u32> = (0..3u32).map(|r| key as u32 + r * 100_000).collect();
                assert_eq!(matching, rows, "key {key}");
            }
        }
    }
}
