//! Hash join, inner, on an Int64 key and on a string key: a 1,000,000-row build side (each
//! key once) and a 4,000,000-row probe side whose keys match half the time.
//!
//! The join runs in `CollectLeft` mode (a broadcast build side), where the operator builds
//! its table once and every probe partition shares it. That separates the two phases:
//! `build` times a fresh join reading its build side and indexing it (the probe side is
//! empty); `probe` builds the table before timing and then times streaming the probe
//! partitions through it, on a rayon pool of 1 or 2 threads.

use std::sync::{Arc, OnceLock};

use criterion::{BenchmarkId, Criterion};
use rask::logical::join_type::JoinType;
use rask::physical::expr::PhysicalExpr;
use rask::physical::ops::hash_join::{HashJoinExec, JoinMode};
use rask::physical::ops::memory_scan::MemoryScanExec;
use rask::physical::plan::PlanRef;

use crate::data::{join_build, join_probe, Table};
use crate::{count_rows, group, pool, task_ctx};

/// Build-side rows (distinct keys).
const BUILD_ROWS: usize = 1_000_000;
/// Probe-side rows.
const PROBE_ROWS: usize = 4_000_000;

/// Key variants: name and the key column of each side (same position in both).
const KEYS: [(&str, usize); 2] = [("int64", 0), ("utf8", 1)];

pub fn bench(c: &mut Criterion) {
    let build_side: OnceLock<Table> = OnceLock::new();
    let probe_side: OnceLock<Table> = OnceLock::new();

    let mut build_group = group(c, "hash_join_build", BUILD_ROWS as u64);
    for (name, key) in KEYS {
        build_group.bench_function(BenchmarkId::new(name, "1t"), |b| {
            let build = build_side.get_or_init(|| join_build(BUILD_ROWS));
            let empty = Table {
                schema: join_probe(0, BUILD_ROWS).schema,
                batches: Vec::new(),
            };
            let pool = pool(1);
            let ctx = task_ctx(1);
            // Returning the join keeps its table alive until after the timing: dropping a
            // million-row table is not part of the build.
            b.iter_with_large_drop(|| {
                let join = join(build, &empty, key, 1);
                assert_eq!(count_rows(&join, 1, &pool, &ctx), 0);
                join
            });
        });
    }
    build_group.finish();

    let mut group = group(c, "hash_join_probe", PROBE_ROWS as u64);
    for (name, key) in KEYS {
        for threads in [1, 2] {
            group.bench_function(BenchmarkId::new(name, format!("{threads}t")), |b| {
                let build = build_side.get_or_init(|| join_build(BUILD_ROWS));
                let probe = probe_side.get_or_init(|| join_probe(PROBE_ROWS, BUILD_ROWS));
                let pool = pool(threads);
                let ctx = task_ctx(threads);
                let join = join(build, probe, key, threads);
                // The first run builds the shared table; later runs only probe it.
                let matches = count_rows(&join, threads, &pool, &ctx);
                assert!(
                    matches > PROBE_ROWS * 45 / 100 && matches < PROBE_ROWS * 55 / 100,
                    "{name}: {matches} matches"
                );
                b.iter(|| count_rows(&join, threads, &pool, &ctx));
            });
        }
    }
    group.finish();
}

/// An inner `CollectLeft` join of `build` with `probe` (in `partitions` partitions) on the
/// key column `key` of both. The build side is the whole table in every partition, as a
/// broadcast read gives it: whichever task comes first builds the shared table.
fn join(build: &Table, probe: &Table, key: usize, partitions: usize) -> PlanRef {
    let broadcast = vec![build.batches.clone(); partitions];
    let left: PlanRef = Arc::new(MemoryScanExec::try_new(broadcast, Arc::clone(&build.schema), None).expect("scan"));
    let right: PlanRef =
        Arc::new(MemoryScanExec::try_new(probe.partitions(partitions), Arc::clone(&probe.schema), None).expect("scan"));
    let on = vec![(
        PhysicalExpr::column(key, build.schema.field(key).name().as_str()),
        PhysicalExpr::column(key, probe.schema.field(key).name().as_str()),
    )];
    Arc::new(HashJoinExec::try_new(left, right, on, None, JoinType::Inner, JoinMode::CollectLeft).expect("join"))
}
