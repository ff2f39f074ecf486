//! Sort of 4,000,000 rows (four columns, all carried to the output) by an Int64, by a
//! string, by (Int64 with 1,000 distinct values, Float64), and `ORDER BY a LIMIT 100`
//! (top-k: `SortExec` with a fetch). One partition on one thread: the operator's own speed,
//! without the merge of a multi-partition sort.

use std::sync::{Arc, OnceLock};

use criterion::{BenchmarkId, Criterion};
use rask::physical::expr::PhysicalExpr;
use rask::physical::ops::memory_scan::MemoryScanExec;
use rask::physical::ops::sort::{PhysSortExpr, SortExec};
use rask::physical::plan::PlanRef;

use crate::data::{sort_input, Table};
use crate::{count_rows, group, pool, task_ctx};

/// Input rows.
const ROWS: usize = 4_000_000;

/// Variants: name, sort columns (ascending, NULLs last) and fetch.
const CASES: [(&str, &[usize], Option<usize>); 4] = [
    ("int64", &[0], None),
    ("utf8", &[1], None),
    ("int64_float64", &[2, 3], None),
    ("int64_top100", &[0], Some(100)),
];

pub fn bench(c: &mut Criterion) {
    let input: OnceLock<Table> = OnceLock::new();
    let mut group = group(c, "sort", ROWS as u64);
    for (name, columns, fetch) in CASES {
        group.bench_function(BenchmarkId::new(name, "1t"), |b| {
            let input = input.get_or_init(|| sort_input(ROWS));
            let pool = pool(1);
            let ctx = task_ctx(1);
            let sort = sort(input, columns, fetch);
            assert_eq!(count_rows(&sort, 1, &pool, &ctx), fetch.unwrap_or(ROWS), "{name}");
            b.iter(|| count_rows(&sort, 1, &pool, &ctx));
        });
    }
    group.finish();
}

fn sort(input: &Table, columns: &[usize], fetch: Option<usize>) -> PlanRef {
    let scan: PlanRef =
        Arc::new(MemoryScanExec::try_new(vec![input.batches.clone()], Arc::clone(&input.schema), None).expect("scan"));
    let keys = columns
        .iter()
        .map(|&i| {
            PhysSortExpr::new(
                PhysicalExpr::column(i, input.schema.field(i).name().as_str()),
                false,
                false,
            )
        })
        .collect();
    Arc::new(SortExec::try_new(scan, keys, fetch).expect("sort"))
}
