//! File scans over TPC-H `lineitem`, written to a temp directory when the group starts
//! (so these files are generated even when a filter skips the benchmarks): CSV parse (about
//! 100 MB, ints, decimals, dates and strings) with the schema sniffed and with it declared,
//! and Parquet scan (Snappy, row groups of 100,000 rows) of all columns, of two columns, and
//! with a filter on `l_orderkey` that rules out all row groups but the first.
//!
//! One iteration opens the source (`FileSource::open`: CSV sniffing, Parquet metadata), cuts
//! it into partitions as the planner does (8 MiB CSV byte ranges; Parquet row groups) and
//! runs a `ScanExec` over every partition on a rayon pool of 1 or 2 threads.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{Int64Type, SchemaRef};
use arrow::record_batch::RecordBatch;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use datafusion_common::ScalarValue;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rask::io::{ColumnPredicate, CsvOptions, FileFormat, FileSource, PredicateOp, ReadOptions};
use rask::logical::expr::BinaryOp;
use rask::physical::expr::{PhysExprRef, PhysicalExpr};
use rask::physical::ops::scan::{ScanExec, ScanSource};
use rask::physical::plan::PlanRef;
use tempfile::TempDir;

use crate::data::lineitem;
use crate::{count_rows, group, pool, task_ctx};

/// Scale factor of the CSV file: about 840,000 rows, 100 MB.
const CSV_SF: f64 = 0.14;
/// Scale factor of the Parquet file: about 1,500,000 rows, 50 MB with Snappy.
const PARQUET_SF: f64 = 0.25;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 100_000;
/// Bytes per scan partition (the engine's default `file_partition_bytes`).
const PARTITION_BYTES: u64 = 8 << 20;

/// A generated file and what the benchmarks check against.
struct DataFile {
    /// Holds the file; removed on drop.
    _dir: TempDir,
    path: PathBuf,
    rows: usize,
    /// `lineitem` as written (the declared CSV types).
    schema: SchemaRef,
    /// An `l_orderkey` bound inside the first row group, and the rows below it.
    key_bound: i64,
    rows_below_bound: usize,
}

/// Writes `lineitem` at `sf` with `write`, into a fresh temp dir as `name`.
fn data_file(sf: f64, name: &str, write: impl FnOnce(File, &[RecordBatch])) -> DataFile {
    let batches = lineitem(sf);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    write(File::create(&path).expect("create"), &batches);
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    // l_orderkey ascends: the key at 5% of the rows bounds a prefix of the first row group.
    let keys: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    let key_bound = keys[rows / 20];
    let rows_below_bound = keys.iter().filter(|&&k| k < key_bound).count();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!("{name}: {rows} rows, {:.1} MB", size as f64 / 1e6);
    DataFile {
        _dir: dir,
        path,
        rows,
        schema: batches[0].schema(),
        key_bound,
        rows_below_bound,
    }
}

fn write_csv(file: File, batches: &[RecordBatch]) {
    let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(file);
    for b in batches {
        writer.write(b).expect("write csv");
    }
}

fn write_parquet(file: File, batches: &[RecordBatch]) {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("parquet writer");
    for b in batches {
        writer.write(b).expect("write parquet");
    }
    writer.close().expect("close parquet");
}

/// What one scan benchmark reads: columns (`None`: all) and a filter on `l_orderkey`.
struct Scan<'a> {
    file: &'a DataFile,
    options: ReadOptions,
    projection: Option<Vec<usize>>,
    below_bound: bool,
}

impl Scan<'_> {
    /// Opens the source, cuts it into partitions and scans them all; returns the rows.
    fn run(&self, pool: &rayon::ThreadPool, ctx: &rask::exec::task::TaskContext) -> usize {
        let location = self.file.path.to_str().expect("utf-8 temp path");
        let source = FileSource::open(location, &self.options).expect("open");
        let predicates: Vec<ColumnPredicate> = if self.below_bound {
            vec![ColumnPredicate {
                column: 0,
                op: PredicateOp::Lt,
                value: ScalarValue::Int64(Some(self.file.key_bound)),
            }]
        } else {
            Vec::new()
        };
        let parts = source.partitions(PARTITION_BYTES, &predicates).expect("partitions");
        let n = parts.len();
        let schema = match &self.projection {
            Some(p) => Arc::new(source.schema.project(p).expect("projection")),
            None => Arc::clone(&source.schema),
        };
        // The filter reads l_orderkey, the first scanned column in every variant.
        let filter: Option<PhysExprRef> = self.below_bound.then(|| {
            Arc::new(PhysicalExpr::Binary {
                left: PhysicalExpr::column(0, "l_orderkey"),
                op: BinaryOp::Lt,
                right: PhysicalExpr::literal(ScalarValue::Int64(Some(self.file.key_bound))),
            })
        });
        let scan: PlanRef = Arc::new(ScanExec::new(
            "lineitem".into(),
            ScanSource::File(source, parts),
            self.projection.clone(),
            filter,
            0,
            schema,
        ));
        count_rows(&scan, n, pool, ctx)
    }

    fn expected_rows(&self) -> usize {
        if self.below_bound {
            self.file.rows_below_bound
        } else {
            self.file.rows
        }
    }
}

/// Runs `scan` as benchmark `name` with 1 and 2 threads.
fn bench_scan(group: &mut BenchmarkGroup<WallTime>, name: &str, scan: Scan) {
    for threads in [1, 2] {
        group.bench_function(BenchmarkId::new(name, format!("{threads}t")), |b| {
            let pool = pool(threads);
            let ctx = task_ctx(threads);
            assert_eq!(scan.run(&pool, &ctx), scan.expected_rows(), "{name}");
            b.iter(|| scan.run(&pool, &ctx));
        });
    }
}

/// The CSV options that declare everything the sniffer would detect: dialect, header and
/// every column's type.
fn declared_csv(schema: &SchemaRef) -> ReadOptions {
    let types = schema
        .fields()
        .iter()
        .map(|f| (Some(f.name().clone()), f.data_type().clone()))
        .collect();
    ReadOptions {
        format: Some(FileFormat::Csv),
        csv: CsvOptions {
            header: Some(true),
            delimiter: Some(b','),
            quote: Some(b'"'),
            escape: Some(b'"'),
            types,
            ..CsvOptions::default()
        },
        ..ReadOptions::default()
    }
}

pub fn bench_csv(c: &mut Criterion) {
    let file = data_file(CSV_SF, "lineitem.csv", write_csv);
    let mut group = group(c, "csv_parse", file.rows as u64);
    let scan = |options| Scan {
        file: &file,
        options,
        projection: None,
        below_bound: false,
    };
    bench_scan(&mut group, "sniffed", scan(ReadOptions::default()));
    bench_scan(&mut group, "declared", scan(declared_csv(&file.schema)));
    group.finish();
}

pub fn bench_parquet(c: &mut Criterion) {
    let file = data_file(PARQUET_SF, "lineitem.parquet", write_parquet);
    // Every variant is counted in the file's rows: the pruned scan's rate is its effective
    // rate over the whole table.
    let mut group = group(c, "parquet_scan", file.rows as u64);
    let scan = |projection, below_bound| Scan {
        file: &file,
        options: ReadOptions::default(),
        projection,
        below_bound,
    };
    bench_scan(&mut group, "all_columns", scan(None, false));
    // l_orderkey and l_extendedprice.
    bench_scan(&mut group, "two_columns", scan(Some(vec![0, 5]), false));
    bench_scan(&mut group, "pruned_filter", scan(None, true));
    group.finish();
}
