//! Deterministic benchmark data: a seeded generator (SplitMix64) for the in-memory tables of
//! the aggregate, join and sort benchmarks, and TPC-H `lineitem` (from `tpchgen`, as the
//! TPC-H tests use it) for the CSV and Parquet scans.

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::BATCH_SIZE;

/// SplitMix64: a small, fast, seeded generator, so every run sees the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A table held as batches of [`BATCH_SIZE`] rows.
pub struct Table {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// The batches dealt round-robin into `n` partitions (as a scan's partitions would be).
    pub fn partitions(&self, n: usize) -> Vec<Vec<RecordBatch>> {
        let mut parts = vec![Vec::new(); n];
        for (i, b) in self.batches.iter().enumerate() {
            parts[i % n].push(b.clone());
        }
        parts
    }
}

/// Builds a table of `rows` rows batch by batch: `columns(rng, len)` makes one batch's
/// columns (in `schema`'s order).
fn table(schema: Schema, rows: usize, seed: u64, mut columns: impl FnMut(&mut Rng, usize) -> Vec<ArrayRef>) -> Table {
    let schema = Arc::new(schema);
    let mut rng = Rng::new(seed);
    let mut batches = Vec::with_capacity(rows.div_ceil(BATCH_SIZE));
    let mut done = 0;
    while done < rows {
        let len = BATCH_SIZE.min(rows - done);
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns(&mut rng, len)).expect("batch");
        batches.push(batch);
        done += len;
    }
    Table { schema, batches }
}

fn ints(len: usize, mut f: impl FnMut() -> i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values((0..len).map(|_| f())))
}

fn floats(len: usize, mut f: impl FnMut() -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values((0..len).map(|_| f())))
}

fn strings(len: usize, mut f: impl FnMut(&mut String)) -> ArrayRef {
    let mut builder = StringBuilder::with_capacity(len, len * 20);
    let mut s = String::new();
    for _ in 0..len {
        s.clear();
        f(&mut s);
        builder.append_value(&s);
    }
    Arc::new(builder.finish())
}

/// Distinct values of the aggregate table's string key.
pub const STRING_GROUPS: u64 = 10_000;

/// The aggregate input: `k100` (100 distinct Int64), `k1m` (1,000,000 distinct Int64),
/// `name` (10,000 distinct strings like `Customer#000001234`), `v` (Int64) and `x`
/// (Float64); keys uniformly random, so groups are hit in no order.
pub fn aggregate_input(rows: usize) -> Table {
    let schema = Schema::new(vec![
        Field::new("k100", DataType::Int64, true),
        Field::new("k1m", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
        Field::new("x", DataType::Float64, true),
    ]);
    table(schema, rows, 1, |rng, len| {
        vec![
            ints(len, || rng.below(100) as i64),
            ints(len, || rng.below(1_000_000) as i64),
            strings(len, |s| {
                let _ = write!(s, "Customer#{:09}", rng.below(STRING_GROUPS));
            }),
            ints(len, || rng.below(100_000) as i64),
            floats(len, || rng.unit() * 1000.0),
        ]
    })
}

/// The text form of join key `k` for the string-key join.
fn join_key_text(s: &mut String, k: u64) {
    let _ = write!(s, "key-{k:012}");
}

/// The join's build side: `build_rows` rows, keys `0..build_rows` each once in a shuffled
/// order (a primary key), as Int64 (`lk`) and text (`lks`), with a payload `lv`.
pub fn join_build(build_rows: usize) -> Table {
    let schema = Schema::new(vec![
        Field::new("lk", DataType::Int64, true),
        Field::new("lks", DataType::Utf8, true),
        Field::new("lv", DataType::Int64, true),
    ]);
    let n = build_rows as u64;
    let mut next = 0u64;
    // i ↦ i·7919 mod n is a permutation of 0..n when 7919 does not divide n.
    let mut key = move || {
        let k = (next * 7919) % n;
        next += 1;
        k
    };
    table(schema, build_rows, 2, |rng, len| {
        let keys: Vec<u64> = (0..len).map(|_| key()).collect();
        vec![
            Arc::new(Int64Array::from_iter_values(keys.iter().map(|&k| k as i64))),
            {
                let mut it = keys.iter();
                strings(len, |s| join_key_text(s, *it.next().unwrap_or(&0)))
            },
            ints(len, || rng.below(1_000_000) as i64),
        ]
    })
}

/// The join's probe side: `rows` rows with keys uniform in `0..2·build_rows` (half of them
/// find their one match), as Int64 (`rk`) and text (`rks`), with a payload `rv`.
pub fn join_probe(rows: usize, build_rows: usize) -> Table {
    let schema = Schema::new(vec![
        Field::new("rk", DataType::Int64, true),
        Field::new("rks", DataType::Utf8, true),
        Field::new("rv", DataType::Int64, true),
    ]);
    let range = 2 * build_rows as u64;
    table(schema, rows, 3, |rng, len| {
        let keys: Vec<u64> = (0..len).map(|_| rng.below(range)).collect();
        vec![
            Arc::new(Int64Array::from_iter_values(keys.iter().map(|&k| k as i64))),
            {
                let mut it = keys.iter();
                strings(len, |s| join_key_text(s, *it.next().unwrap_or(&0)))
            },
            ints(len, || rng.below(1_000_000) as i64),
        ]
    })
}

/// The sort input: `a` (random Int64), `s` (random 16-character hex strings), `g` (1,000
/// distinct Int64, to sort `(g, f)` with many ties on the first key) and `f` (Float64).
pub fn sort_input(rows: usize) -> Table {
    let schema = Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("g", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
    ]);
    table(schema, rows, 4, |rng, len| {
        vec![
            ints(len, || rng.next_u64() as i64),
            strings(len, |s| {
                let _ = write!(s, "{:016x}", rng.next_u64());
            }),
            ints(len, || rng.below(1000) as i64),
            floats(len, || rng.unit()),
        ]
    })
}

/// TPC-H `lineitem` at scale factor `sf` (about 6,000,000 · sf rows, ordered by
/// `l_orderkey`), with `tpchgen`'s Utf8View strings cast to Utf8.
pub fn lineitem(sf: f64) -> Vec<RecordBatch> {
    use tpchgen::generators::LineItemGenerator;
    use tpchgen_arrow::LineItemArrow;
    let batches = LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)).with_batch_size(BATCH_SIZE);
    batches.map(|b| to_utf8(&b.expect("lineitem batch"))).collect()
}

/// `batch` with Utf8View columns cast to Utf8 (the CSV and Parquet writers' common ground).
fn to_utf8(batch: &RecordBatch) -> RecordBatch {
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View => f.as_ref().clone().with_data_type(DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    let columns = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()).expect("cast"))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
}
