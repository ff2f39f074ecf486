//! Criterion benchmarks of rask's hot kernels: hash aggregate (partial + final), hash join
//! (build and probe), sort (full and top-k), CSV parse and Parquet scan.
//!
//! Each benchmark drives the physical operators directly (`HashAggregateExec`,
//! `HashJoinExec`, `SortExec`, `ScanExec` over `MemoryScanExec` or a generated temp file),
//! not SQL, so the number is the kernel's and not the planner's or the scheduler's. The data
//! is generated in the bench, deterministically, the first time a benchmark that needs it
//! runs (a filtered-out benchmark generates nothing). Throughput is in rows, so reports read
//! as rows/s. See `benches/README.md` for what each benchmark measures and how to compare
//! runs.

mod aggregate;
mod data;
mod join;
mod scan;
mod sort;

use std::time::Duration;

use arrow::record_batch::RecordBatch;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use rask::exec::task::{ExecConfig, TaskContext};
use rask::physical::plan::PlanRef;
use rayon::prelude::*;

/// The allocator the `rask` binary runs with (see `src/main.rs`), so the kernels allocate as
/// they do in the engine.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows per batch, as the engine's default.
const BATCH_SIZE: usize = 8192;

/// The memory pool of every benchmark: large enough that nothing spills.
const MEMORY_LIMIT: usize = 8 << 30;

/// A benchmark group with the settings shared by every kernel: few, long samples (each
/// iteration handles millions of rows) so the whole run stays within a few minutes.
fn group<'a>(c: &'a mut Criterion, name: &str, rows: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(rows));
    group
}

/// A rayon pool of `threads` workers: the benchmark's partitions run in parallel on it, as
/// the executor runs a stage's tasks.
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

/// A task context with the engine's default batch size and a pool nothing spills from.
fn task_ctx(threads: usize) -> TaskContext {
    let config = ExecConfig {
        batch_size: BATCH_SIZE,
        target_partitions: threads,
        threads,
        ..ExecConfig::default()
    };
    TaskContext::standalone(config, MEMORY_LIMIT)
}

/// Runs every partition of `plan` on `pool` (one task per partition), passing each
/// partition's batch stream to `consume`; returns what it gave, by partition.
fn over_partitions<T: Send>(
    plan: &PlanRef,
    partitions: usize,
    pool: &rayon::ThreadPool,
    ctx: &TaskContext,
    consume: impl Fn(rask::physical::plan::BatchStream) -> T + Sync,
) -> Vec<T> {
    pool.install(|| {
        (0..partitions)
            .into_par_iter()
            .map(|p| consume(plan.execute(p, &ctx.for_partition(p)).expect("execute")))
            .collect()
    })
}

/// Runs every partition of `plan` on `pool` and returns each partition's batches.
fn collect_partitions(
    plan: &PlanRef,
    partitions: usize,
    pool: &rayon::ThreadPool,
    ctx: &TaskContext,
) -> Vec<Vec<RecordBatch>> {
    over_partitions(plan, partitions, pool, ctx, |stream| {
        stream.collect::<rask::Result<Vec<_>>>().expect("batches")
    })
}

/// Runs every partition of `plan` on `pool` and counts the rows, dropping each batch as it
/// comes (what a consumer that streams the output sees).
fn count_rows(plan: &PlanRef, partitions: usize, pool: &rayon::ThreadPool, ctx: &TaskContext) -> usize {
    over_partitions(plan, partitions, pool, ctx, |stream| {
        stream.map(|b| b.expect("batch").num_rows()).sum::<usize>()
    })
    .into_iter()
    .sum()
}

criterion_group!(
    kernels,
    aggregate::bench,
    join::bench,
    sort::bench,
    scan::bench_csv,
    scan::bench_parquet
);
criterion_main!(kernels);
