//! Hash aggregate: `sum(v), count(*), avg(x)` grouped by an Int64 key with 100 or 1,000,000
//! groups, by a string key (10,000 groups), by two keys (Int64 × string) and by three keys too
//! wide to pack into one integer (Int64 × string × Int64, nearly every row its own group: the
//! column group table), over 4M rows.
//!
//! One iteration is what a query's two aggregate stages do: the `Partial` aggregate on each
//! input partition, then (with more than one partition) the partial states split by key
//! hash as the exchange does (`hash_split`), then the `Final` aggregate on each of those
//! partitions. Partitions run in parallel on a rayon pool of 1 or 2 threads.

use std::sync::{Arc, OnceLock};

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use criterion::{BenchmarkId, Criterion};
use rask::exec::shuffle::hash_split;
use rask::logical::aggregate::AggFunc;
use rask::physical::aggregate::AggregateExpr;
use rask::physical::expr::{PhysExprRef, PhysicalExpr};
use rask::physical::ops::hash_aggregate::{AggregateMode, HashAggregateExec};
use rask::physical::ops::memory_scan::MemoryScanExec;
use rask::physical::plan::PlanRef;

use crate::data::{aggregate_input, Table, STRING_GROUPS};
use crate::{collect_partitions, count_rows, group, pool, task_ctx};

/// Input rows.
const ROWS: usize = 4_000_000;

/// The grouping variants: benchmark name, the input's key columns and the thread counts to
/// run with.
const CASES: [(&str, &[usize], &[usize]); 5] = [
    ("int64_100_groups", &[0], &[1, 2]),
    ("int64_1m_groups", &[1], &[1, 2]),
    ("utf8_10k_groups", &[2], &[1]),
    ("int64_x_utf8", &[0, 2], &[1]),
    ("wide_int64_x_utf8_x_int64", &[1, 2, 0], &[1]),
];

pub fn bench(c: &mut Criterion) {
    let input: OnceLock<Table> = OnceLock::new();
    let mut group = group(c, "hash_aggregate", ROWS as u64);
    for (name, keys, thread_counts) in CASES {
        for &threads in thread_counts {
            group.bench_function(BenchmarkId::new(name, format!("{threads}t")), |b| {
                let input = input.get_or_init(|| aggregate_input(ROWS));
                let parts = input.partitions(threads);
                let pool = pool(threads);
                let ctx = task_ctx(threads);
                let groups = aggregate(input, &parts, keys, &pool, &ctx);
                let most = possible_groups(keys);
                // Random keys: all 100 / 10,000 values occur; of 1,000,000 about e^-4 do not.
                assert!(groups <= most && groups >= most / 100 * 95, "{name}: {groups} groups");
                b.iter(|| aggregate(input, &parts, keys, &pool, &ctx));
            });
        }
    }
    group.finish();
}

/// How many groups the `keys` columns can form together in [`ROWS`] rows.
fn possible_groups(keys: &[usize]) -> usize {
    keys.iter()
        .map(|k| match k {
            0 => 100,
            1 => 1_000_000,
            _ => STRING_GROUPS as usize,
        })
        .fold(1usize, |product, n| product.saturating_mul(n))
        .min(ROWS)
}

fn aggregates(input: &Table) -> Vec<AggregateExpr> {
    let schema = &input.schema;
    let agg = |func, args: Vec<PhysExprRef>, name: &str| AggregateExpr::try_new(func, args, schema, name).expect("agg");
    vec![
        agg(AggFunc::Sum, vec![PhysicalExpr::column(3, "v")], "sum(v)"),
        agg(AggFunc::Count, vec![], "count(*)"),
        agg(AggFunc::Avg, vec![PhysicalExpr::column(4, "x")], "avg(x)"),
    ]
}

/// Partial aggregate per partition, hash repartition, final aggregate per partition;
/// returns the number of groups.
fn aggregate(
    input: &Table,
    parts: &[Vec<RecordBatch>],
    keys: &[usize],
    pool: &rayon::ThreadPool,
    ctx: &rask::exec::task::TaskContext,
) -> usize {
    let n = parts.len();
    let names: Vec<String> = keys.iter().map(|&k| input.schema.field(k).name().clone()).collect();
    let scan: PlanRef =
        Arc::new(MemoryScanExec::try_new(parts.to_vec(), Arc::clone(&input.schema), None).expect("scan"));
    let gby = keys
        .iter()
        .zip(&names)
        .map(|(&k, name)| (PhysicalExpr::column(k, name.as_str()), name.clone()))
        .collect();
    let partial: PlanRef =
        Arc::new(HashAggregateExec::try_new(AggregateMode::Partial, gby, aggregates(input), scan).expect("partial"));
    let states = collect_partitions(&partial, n, pool, ctx);
    let shuffled = if n == 1 {
        states
    } else {
        repartition(states, keys.len(), n)
    };
    let final_scan: PlanRef = Arc::new(MemoryScanExec::try_new(shuffled, partial.schema(), None).expect("scan"));
    let final_gby = names
        .iter()
        .enumerate()
        .map(|(j, name)| (PhysicalExpr::column(j, name.as_str()), name.clone()))
        .collect();
    let final_agg: PlanRef = Arc::new(
        HashAggregateExec::try_new(AggregateMode::Final, final_gby, aggregates(input), final_scan).expect("final"),
    );
    count_rows(&final_agg, n, pool, ctx)
}

/// The partial states of every partition split into `n` partitions by the hash of their
/// first `keys` columns, as the hash exchange between the two stages does.
fn repartition(states: Vec<Vec<RecordBatch>>, keys: usize, n: usize) -> Vec<Vec<RecordBatch>> {
    let mut out = vec![Vec::new(); n];
    for batch in states.into_iter().flatten() {
        let key_columns: Vec<ArrayRef> = batch.columns()[..keys].to_vec();
        for (p, part) in hash_split(&batch, &key_columns, n)
            .expect("hash split")
            .into_iter()
            .enumerate()
        {
            if let Some(part) = part {
                out[p].push(part);
            }
        }
    }
    out
}
