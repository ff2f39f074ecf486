//! Reading row groups in filter stages gives what reading them whole and filtering gives.

use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use arrow::array::{AsArray, Float64Array, Int64Array, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{Field, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::*;

/// Rows per row group of the test file, and row groups.
const GROUP_ROWS: usize = 40_000;
const GROUPS: usize = 3;

/// Columns: `id` (the row number), `tag` (`t0`..`t6`, dictionary-encoded in the file),
/// `price` (`id / 4`), `note` (`note<id>`).
fn write_file() -> tempfile::NamedTempFile {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("tag", DataType::Utf8, false),
        Field::new("price", DataType::Float64, false),
        Field::new("note", DataType::Utf8, false),
    ]));
    let tmp = tempfile::NamedTempFile::new().unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(GROUP_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(tmp.reopen().unwrap(), Arc::clone(&schema), Some(props)).unwrap();
    let rows = (GROUP_ROWS * GROUPS) as i64;
    let ids: Vec<i64> = (0..rows).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(ids.iter().map(|i| format!("t{}", i % 7)))),
            Arc::new(Float64Array::from_iter_values(ids.iter().map(|&i| i as f64 / 4.0))),
            Arc::new(StringArray::from_iter_values(ids.iter().map(|i| format!("note{i}")))),
        ],
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    tmp
}

/// A rule a stage applies to one row of its batch.
type Rule = Box<dyn Fn(&RecordBatch, usize) -> Result<bool> + Send + Sync>;

/// A filter whose stages are given; `apply` applies every rule.
struct Stages {
    stages: Vec<FilterStage>,
    /// Per stage id, its rule over the stage's batch.
    rules: Vec<Rule>,
    /// Per stage id, the output column its rule reads (for `apply`).
    columns: Vec<usize>,
    applied: AtomicUsize,
    recorded: Mutex<(usize, usize)>,
    /// The most bytes `hold` grants, and what it holds now.
    memory_limit: usize,
    held: AtomicUsize,
}

impl StagedFilter for Stages {
    fn stages(&self) -> Vec<FilterStage> {
        self.stages.clone()
    }

    fn keep(&self, id: usize, batch: &RecordBatch) -> Result<BooleanArray> {
        (0..batch.num_rows())
            .map(|row| self.rules[id](batch, row).map(Some))
            .collect()
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        self.applied.fetch_add(1, Ordering::Relaxed);
        let mut keep = vec![true; batch.num_rows()];
        for (id, rule) in self.rules.iter().enumerate() {
            let column = batch.project(&[self.columns[id]])?;
            for (row, k) in keep.iter_mut().enumerate() {
                *k = *k && rule(&column, row)?;
            }
        }
        Ok(filter_record_batch(&batch, &BooleanArray::from(keep))?)
    }

    fn hold(&self, bytes: usize) -> bool {
        if bytes > self.memory_limit {
            return false;
        }
        self.held.store(bytes, Ordering::Relaxed);
        true
    }

    fn record(&self, read: usize, runs: usize) {
        let mut recorded = self.recorded.lock().unwrap();
        recorded.0 += read;
        recorded.1 += runs;
    }

    /// As if every row were a run of its own.
    fn gave_up(&self, rows: usize) {
        self.record(rows, rows);
    }
}

/// The `id` of a stage batch's row.
fn id(batch: &RecordBatch, row: usize) -> i64 {
    batch.column(0).as_primitive::<Int64Type>().value(row)
}

/// The `tag` of a stage batch's row, plain or dictionary-encoded.
fn tag(batch: &RecordBatch, row: usize) -> String {
    let column = batch.column(0);
    match column.as_dictionary_opt::<Int32Type>() {
        Some(dictionary) => {
            let key = dictionary.keys().value(row) as usize;
            dictionary.values().as_string::<i32>().value(key).to_string()
        }
        None => column.as_string::<i32>().value(row).to_string(),
    }
}

/// Reads `projection` of the file's row groups `groups` with `filter`, `encoded` roots as
/// dictionaries, and returns the rows with their `id`s.
fn read(
    file: &tempfile::NamedTempFile,
    projection: &[usize],
    encoded: &[usize],
    groups: Vec<usize>,
    filter: Arc<dyn StagedFilter>,
) -> Result<RecordBatch> {
    let f = File::open(file.path()).unwrap();
    let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new()).unwrap();
    let schema = Arc::new(Schema::new(
        meta.schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect::<Vec<_>>(),
    ));
    let meta = match encoded {
        [] => meta,
        _ => crate::io::parquet::with_dictionaries(&meta, encoded).unwrap(),
    };
    let layout = Arc::new(ReadLayout::new(meta, &schema, projection, encoded));
    let out_schema = Arc::clone(&layout.out_schema);
    let reader = FilteredRowGroups::new(ParquetFile::new(f), "test.parquet".into(), layout, 1000, groups, filter);
    let batches = reader.collect::<Result<Vec<_>>>()?;
    Ok(concat_batches(&out_schema, &batches)?)
}

/// The ids of the file's rows in `groups` that `keep` keeps, in order.
fn expected_ids(groups: &[usize], keep: impl Fn(i64) -> bool) -> Vec<i64> {
    groups
        .iter()
        .flat_map(|&g| (g * GROUP_ROWS) as i64..((g + 1) * GROUP_ROWS) as i64)
        .filter(|&i| keep(i))
        .collect()
}

/// Checks every column of `batch` (the projection `[id, price, note, tag]`) against its id.
fn check_rows(batch: &RecordBatch, ids: &[i64]) {
    let got: Vec<i64> = batch.column(0).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(got, ids);
    let prices = batch.column(1).as_primitive::<arrow::datatypes::Float64Type>();
    let notes = batch.column(2).as_string::<i32>();
    for (row, &i) in ids.iter().enumerate() {
        assert_eq!(prices.value(row), i as f64 / 4.0);
        assert_eq!(notes.value(row), format!("note{i}"));
    }
    let tags = batch.project(&[3]).unwrap();
    for (row, &i) in ids.iter().enumerate() {
        assert_eq!(tag(&tags, row), format!("t{}", i % 7));
    }
}

fn stages(stages: Vec<(usize, Vec<usize>)>, rules: Vec<Rule>, columns: Vec<usize>) -> Arc<Stages> {
    stages_within(stages, rules, columns, usize::MAX)
}

fn stages_within(
    stages: Vec<(usize, Vec<usize>)>,
    rules: Vec<Rule>,
    columns: Vec<usize>,
    memory_limit: usize,
) -> Arc<Stages> {
    Arc::new(Stages {
        stages: stages
            .into_iter()
            .map(|(id, columns)| FilterStage { id, columns })
            .collect(),
        rules,
        columns,
        applied: AtomicUsize::new(0),
        recorded: Mutex::new((0, 0)),
        memory_limit,
        held: AtomicUsize::new(0),
    })
}

/// Output columns: 0 `id`, 1 `price`, 2 `note`, 3 `tag` (roots 0, 2, 3, 1).
const PROJECTION: [usize; 4] = [0, 2, 3, 1];

#[test]
fn stages_keep_what_filtering_whole_row_groups_keeps() {
    let file = write_file();
    // 1 in 50 ids, then of those the tag t3: the other columns are decoded for 1 in 350.
    let rule_id: Rule = Box::new(|b, row| Ok(id(b, row) % 50 == 0));
    let rule_tag: Rule = Box::new(|b, row| Ok(tag(b, row) == "t3"));
    let filter = stages(vec![(0, vec![0]), (1, vec![3])], vec![rule_id, rule_tag], vec![0, 3]);
    let groups = vec![0, 2];
    for encoded in [vec![], vec![1]] {
        let out = read(&file, &PROJECTION, &encoded, groups.clone(), filter.clone()).unwrap();
        let ids = expected_ids(&groups, |i| i % 50 == 0 && i % 7 == 3);
        assert!(!ids.is_empty());
        check_rows(&out, &ids);
        if encoded.is_empty() {
            assert_eq!(out.column(3).data_type(), &DataType::Utf8);
        } else {
            assert_eq!(out.column(3).data_type(), &string_dictionary());
        }
    }
    assert_eq!(
        filter.applied.load(Ordering::Relaxed),
        0,
        "every row group was read in stages"
    );
    // Each kept row is a run of its own between two skipped runs.
    let (read_rows, runs) = *filter.recorded.lock().unwrap();
    assert_eq!(read_rows, 4 * GROUP_ROWS);
    let kept = 2 * expected_ids(&groups, |i| i % 50 == 0 && i % 7 == 3).len();
    assert!((2 * kept..=2 * kept + 4).contains(&runs), "{runs} runs for {kept} rows");
}

#[test]
fn a_stage_may_read_columns_an_earlier_one_decoded_or_keep_nothing() {
    let file = write_file();
    // The second stage reads `id` again, with `tag`; the third keeps nothing of group 1.
    let rule_a: Rule = Box::new(|b, row| Ok(id(b, row) % 40 < 2));
    let rule_b: Rule = Box::new(|b, row| {
        let tags = b.project(&[1]).unwrap();
        Ok(id(b, row) % 3 != 0 && tag(&tags, row) != "t0")
    });
    let rule_c: Rule = Box::new(|b, row| Ok(id(b, row) < GROUP_ROWS as i64 || id(b, row) >= 2 * GROUP_ROWS as i64));
    let filter = stages(
        vec![(0, vec![0]), (1, vec![0, 3]), (2, vec![0])],
        vec![rule_a, rule_b, rule_c],
        vec![0, 0, 0],
    );
    // `apply` would need both columns for rule b; it is not used here.
    let groups = vec![0, 1, 2];
    let out = read(&file, &PROJECTION, &[], groups.clone(), filter.clone()).unwrap();
    let ids = expected_ids(&groups, |i| {
        i % 40 < 2 && i % 3 != 0 && i % 7 != 0 && (i < GROUP_ROWS as i64 || i >= 2 * GROUP_ROWS as i64)
    });
    check_rows(&out, &ids);
    assert_eq!(filter.applied.load(Ordering::Relaxed), 0);
}

#[test]
fn a_stage_keeping_most_rows_reads_its_row_group_whole() {
    let file = write_file();
    let rule: Rule = Box::new(|b, row| Ok(id(b, row) % 10 != 0));
    let filter = stages(vec![(0, vec![0])], vec![rule], vec![0]);
    let groups = vec![1];
    let out = read(&file, &PROJECTION, &[], groups.clone(), filter.clone()).unwrap();
    check_rows(&out, &expected_ids(&groups, |i| i % 10 != 0));
    assert!(
        filter.applied.load(Ordering::Relaxed) > 0,
        "the row group was filtered whole"
    );
    // It reports runs of one row, so the scan reads the next row groups whole.
    assert_eq!(*filter.recorded.lock().unwrap(), (GROUP_ROWS, GROUP_ROWS));
}

#[test]
fn a_stage_error_is_the_filter_own_error() {
    let file = write_file();
    let rule: Rule = Box::new(|b, row| {
        if id(b, row) == 12_345 {
            Err(Error::InvalidInput("division by zero".into()))
        } else {
            Ok(false)
        }
    });
    let filter = stages(vec![(0, vec![0])], vec![rule], vec![0]);
    let err = read(&file, &PROJECTION, &[], vec![0], filter).unwrap_err();
    assert_eq!(
        err.to_string(),
        Error::InvalidInput("division by zero".into()).to_string()
    );
}

#[test]
fn kept_rows_the_memory_pool_cannot_hold_read_the_row_group_whole() {
    let file = write_file();
    // One in 20 rows passes: the runs are long, but 4 KiB cannot hold what is kept.
    let rule: Rule = Box::new(|b, row| Ok(id(b, row) % 20 == 0));
    let filter = stages_within(vec![(0, vec![0])], vec![rule], vec![0], 4 << 10);
    let groups = vec![0, 1];
    let out = read(&file, &PROJECTION, &[], groups.clone(), filter.clone()).unwrap();
    check_rows(&out, &expected_ids(&groups, |i| i % 20 == 0));
    assert!(
        filter.applied.load(Ordering::Relaxed) > 0,
        "the row groups were filtered whole"
    );
    assert_eq!(filter.held.load(Ordering::Relaxed), 0);
}
