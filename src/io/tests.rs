//! Tests of file sources over the files in `testdata/` and files written to temp dirs.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, TimeUnit};
use datafusion_common::ScalarValue;

use super::*;
use crate::error::Error;

fn testdata(name: &str) -> String {
    format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn csv_opts(f: impl FnOnce(&mut CsvOptions)) -> ReadOptions {
    let mut o = ReadOptions::default();
    f(&mut o.csv);
    o
}

/// Reads every partition (cut at `target` bytes) and concatenates the batches.
fn read_all(src: &FileSource, target: u64, projection: Option<&[usize]>, batch_size: usize) -> RecordBatch {
    let parts = src.partitions(target, &[]).unwrap();
    let mut batches = Vec::new();
    for p in &parts {
        for b in src.scan(p, projection, batch_size).unwrap() {
            batches.push(b.unwrap());
        }
    }
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => Arc::new(
            src.schema
                .project(projection.unwrap_or(&(0..src.schema.fields().len()).collect::<Vec<_>>()))
                .unwrap(),
        ),
    };
    concat_batches(&schema, &batches).unwrap()
}

fn scan_error(src: &FileSource, target: u64) -> Error {
    for p in src.partitions(target, &[]).unwrap() {
        for b in src.scan(&p, None, 1024).unwrap() {
            if let Err(e) = b {
                return e;
            }
        }
    }
    panic!("no error")
}

fn strings(batch: &RecordBatch, col: usize) -> Vec<Option<String>> {
    let a = arrow::compute::cast(batch.column(col), &DataType::Utf8).unwrap();
    a.as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn sales_glob_schema_and_rows() {
    let src = FileSource::open(&testdata("sales/*.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(src.files.len(), 3);
    assert!(src.files[0].display_name.ends_with("2024-01.csv"));
    assert_eq!(src.csv.header, Some(true));
    assert_eq!(src.csv.delimiter, Some(b','));
    let types: Vec<_> = src
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    assert_eq!(
        types,
        [
            ("date", DataType::Date32),
            ("region", DataType::Utf8),
            ("product", DataType::Utf8),
            ("quantity", DataType::Int64),
            ("price", DataType::Float64)
        ]
    );
    let batch = read_all(&src, 1 << 20, None, 1024);
    assert_eq!(batch.num_rows(), 90);
    let expected: i64 = (1..=3)
        .map(|m| std::fs::read_to_string(testdata(&format!("sales/2024-0{m}.csv"))).unwrap())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                .map(|l| l.split(',').nth(3).unwrap().parse::<i64>().unwrap())
                .collect::<Vec<_>>()
        })
        .sum();
    let q = batch.column(3).as_primitive::<Int64Type>();
    assert_eq!(q.iter().map(|v| v.unwrap()).sum::<i64>(), expected);
    let d = batch.column(0).as_primitive::<Date32Type>();
    assert_eq!(d.value(0), 19723); // 2024-01-01
    assert_eq!(src.statistics().num_rows, None);
    assert_eq!(
        src.statistics().total_bytes,
        src.files.iter().map(|f| f.size).sum::<u64>()
    );
}

#[test]
fn projection_in_given_order() {
    let src = FileSource::open(&testdata("sales/2024-01.csv"), &ReadOptions::default()).unwrap();
    let batch = read_all(&src, 1 << 20, Some(&[3, 0]), 7);
    assert_eq!(batch.schema().field(0).name(), "quantity");
    assert_eq!(batch.schema().field(1).name(), "date");
    assert_eq!(batch.num_rows(), 30);
    let empty = read_all(&src, 100, Some(&[]), 7);
    assert_eq!((empty.num_columns(), empty.num_rows()), (0, 30));
}

#[test]
fn semicolon_delimiter_detected() {
    let src = FileSource::open(&testdata("semicolon.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(src.csv.delimiter, Some(b';'));
    assert_eq!(src.schema.field(2).data_type(), &DataType::Int64);
    let batch = read_all(&src, 1 << 20, None, 1024);
    assert_eq!(
        strings(&batch, 0),
        [Some("Lisbon".into()), Some("Oslo".into()), Some("Lyon".into())]
    );
    assert_eq!(batch.column(2).as_primitive::<Int64Type>().value(1), 709000);
}

#[test]
fn bad_value_names_file_line_column() {
    let opts = csv_opts(|c| c.sample_rows = 3);
    let src = FileSource::open(&testdata("bad.csv"), &opts).unwrap();
    assert_eq!(src.schema.field(2).data_type(), &DataType::Int64);
    match scan_error(&src, 1 << 20) {
        Error::Malformed {
            file,
            line,
            column,
            message,
        } => {
            assert!(file.ends_with("bad.csv"));
            assert_eq!((line, column), (5, 3));
            assert!(
                message.contains("\"x\"") && message.contains("BIGINT") && message.contains("score"),
                "{message}"
            );
            assert!(message.contains("first 3 rows"), "{message}");
        }
        other => panic!("{other}"),
    }
}

fn numbered_csv(rows: usize, bad_at: Option<usize>) -> String {
    let mut s = String::from("id,name,amount\n");
    for i in 1..=rows {
        let amount = if Some(i + 1) == bad_at {
            "oops".to_string()
        } else {
            format!("{i}.5")
        };
        s.push_str(&format!("{i},\"name, {i}\",{amount}\n"));
    }
    s
}

#[test]
fn tiny_ranges_read_exactly_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "n.csv", &numbered_csv(200, None));
    let src = FileSource::open(&path, &ReadOptions::default()).unwrap();
    let whole = read_all(&src, u64::MAX, None, 64);
    assert_eq!(whole.num_rows(), 200);
    assert_eq!(strings(&whole, 1)[199], Some("name, 200".to_string()));
    for target in [1, 7, 33, 100, 1000] {
        let parts = src.partitions(target, &[]).unwrap();
        assert!(parts.len() > 1 && matches!(parts[1].kind, PartitionKind::ByteRange { .. }));
        assert_eq!(read_all(&src, target, None, 5), whole, "target {target}");
    }
}

#[test]
fn error_line_is_absolute_in_later_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "n.csv", &numbered_csv(1000, Some(800)));
    let src = FileSource::open(&path, &csv_opts(|c| c.sample_rows = 100)).unwrap();
    for target in [500, u64::MAX] {
        match scan_error(&src, target) {
            Error::Malformed {
                line, column, message, ..
            } => {
                assert_eq!((line, column), (800, 3), "{message}");
                assert!(message.contains("oops") && message.contains("DOUBLE"), "{message}");
            }
            other => panic!("{other}"),
        }
    }
}

#[test]
fn wrong_field_count_names_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f.csv", "a,b\n1,2\n3,4\n5\n");
    let src = FileSource::open(&path, &ReadOptions::default()).unwrap();
    match scan_error(&src, u64::MAX) {
        Error::Malformed { line, column, .. } => assert_eq!((line, column), (4, 2)),
        other => panic!("{other}"),
    }
}

#[test]
fn quoted_newlines_keep_files_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.csv", "id,note\n1,\"two\nlines\"\n2,plain\n3,\"a,b\"\n");
    let src = FileSource::open(&path, &ReadOptions::default()).unwrap();
    let parts = src.partitions(4, &[]).unwrap();
    assert_eq!(
        parts,
        [FilePartition {
            file_index: 0,
            kind: PartitionKind::Whole
        }]
    );
    let batch = read_all(&src, 4, None, 2);
    assert_eq!(
        strings(&batch, 1),
        [Some("two\nlines".into()), Some("plain".into()), Some("a,b".into())]
    );
}

#[test]
fn tbl_trailing_delimiter_without_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "nation.tbl",
        "0|ALGERIA|0|haggle carefully|\n1|ARGENTINA|1|al foxes|\n",
    );
    let src = FileSource::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(src.csv.header, Some(false));
    assert_eq!(src.csv.delimiter, Some(b'|'));
    let names: Vec<_> = src.schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["column0", "column1", "column2", "column3"]);
    let batch = read_all(&src, 20, None, 1024);
    assert_eq!(batch.num_columns(), 4);
    assert_eq!(strings(&batch, 1), [Some("ALGERIA".into()), Some("ARGENTINA".into())]);
    assert_eq!(batch.column(2).as_primitive::<Int64Type>().values(), &[0, 1]);
}

#[test]
fn headers_types_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    // No header: every line is numeric.
    let p = write(dir.path(), "nums.csv", "1,2.5\n3,4\n");
    let src = FileSource::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(src.csv.header, Some(false));
    assert_eq!(src.schema.field(1).data_type(), &DataType::Float64);
    assert_eq!(read_all(&src, 100, None, 10).num_rows(), 2);
    // All-VARCHAR header, duplicate names, an all-empty column.
    let p = write(dir.path(), "s.txt", "name,name,empty\nann,x,\nbob,y,\n");
    let src = FileSource::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(src.format, FileFormat::Csv);
    let names: Vec<_> = src.schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["name", "name_1", "empty"]);
    assert_eq!(src.schema.field(2).data_type(), &DataType::Utf8);
    // Types, empty fields and the null string.
    let p = write(
        dir.path(),
        "t.dat",
        "flag\tts\tn\tday\ntrue\t2024-01-02 03:04:05\t\t2024-02-29\nFALSE\t2024-01-02 03:04:05.5\tNA\t\n",
    );
    let src = FileSource::open(&p, &csv_opts(|c| c.null_string = Some("NA".into()))).unwrap();
    let types: Vec<_> = src.schema.fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(
        types,
        [
            DataType::Boolean,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Utf8,
            DataType::Date32
        ]
    );
    let batch = read_all(&src, 1000, None, 10);
    assert!(!batch.column(0).as_boolean().value(1));
    assert_eq!(
        batch
            .column(1)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .value(1),
        1_704_164_645_500_000
    );
    assert_eq!(batch.column(2).null_count(), 2);
    assert!(batch.column(3).is_null(1));
    // An explicit header = false on a file with a header line.
    let src = FileSource::open(&testdata("semicolon.csv"), &csv_opts(|c| c.header = Some(false))).unwrap();
    assert_eq!(src.schema.field(2).data_type(), &DataType::Utf8);
    assert_eq!(read_all(&src, 1000, None, 10).num_rows(), 4);
}

fn gzip(path: &Path, text: &str) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
}

#[test]
fn gzip_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    gzip(&dir.path().join("a.csv.gz"), &numbered_csv(50, None));
    gzip(&dir.path().join("p.ndjson.gz"), "{\"a\": 1}\n{\"a\": 2}\n");
    let src = FileSource::open(&format!("{}/a.csv.gz", dir.path().display()), &ReadOptions::default()).unwrap();
    assert_eq!(src.format, FileFormat::Csv);
    assert_eq!(src.partitions(10, &[]).unwrap().len(), 1);
    assert_eq!(read_all(&src, 10, None, 7).num_rows(), 50);
    let src = FileSource::open(
        &format!("{}/p.ndjson.gz", dir.path().display()),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(src.format, FileFormat::Json);
    assert_eq!(
        read_all(&src, 1, None, 7)
            .column(0)
            .as_primitive::<Int64Type>()
            .values(),
        &[1, 2]
    );
}

#[test]
fn missing_locations_are_errors() {
    let err = FileSource::open("/nonexistent/x.csv", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("No files found that match the pattern \"/nonexistent/x.csv\""),
        "{err}"
    );
    let err = FileSource::open("/nonexistent/*.csv", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/*.csv"), "{err}");
}

#[test]
fn ndjson_people() {
    let src = FileSource::open(&testdata("people.ndjson"), &ReadOptions::default()).unwrap();
    assert_eq!(src.format, FileFormat::Json);
    let fields: Vec<_> = src
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    assert_eq!(
        fields,
        [
            ("id", DataType::Int64),
            ("name", DataType::Utf8),
            ("age", DataType::Int64),
            ("city", DataType::Utf8)
        ]
    );
    let batch = read_all(&src, 1 << 20, None, 2);
    assert_eq!(batch.num_rows(), 5);
    assert_eq!(strings(&batch, 1)[4], Some("Émile".into()));
    assert!(batch.column(2).is_null(3));
    let split = read_all(&src, 10, Some(&[3, 0]), 2);
    assert_eq!(split.schema().field(0).name(), "city");
    assert_eq!(split.column(1).as_primitive::<Int64Type>().values(), &[1, 2, 3, 4, 5]);
    let none = read_all(&src, 10, Some(&[]), 2);
    assert_eq!((none.num_columns(), none.num_rows()), (0, 5));
}

#[test]
fn json_array_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.json",
        "[\n  {\"x\": 1, \"y\": \"a,]\"},\n  {\"x\": 2.5,\n   \"y\": null}\n]\n",
    );
    let src = FileSource::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(src.schema.field(0).data_type(), &DataType::Float64);
    assert_eq!(src.partitions(1, &[]).unwrap().len(), 1);
    let batch = read_all(&src, 1, None, 10);
    assert_eq!(batch.column(0).as_primitive::<Float64Type>().values(), &[1.0, 2.5]);
    assert_eq!(strings(&batch, 1), [Some("a,]".into()), None]);
}

#[test]
fn json_errors_name_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.ndjson", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": \"three\"}\n");
    let src = FileSource::open(&p, &csv_opts(|c| c.sample_rows = 2)).unwrap();
    for target in [u64::MAX, 12] {
        match scan_error(&src, target) {
            Error::Malformed { line, file, .. } => {
                assert_eq!(line, 3);
                assert!(file.ends_with("bad.ndjson"));
            }
            other => panic!("{other}"),
        }
    }
    let p = write(dir.path(), "syntax.json", "{\"a\": 1}\n{\"a\": 2\n{\"a\": 3}\n");
    let src = FileSource::open(&p, &csv_opts(|c| c.sample_rows = 1)).unwrap();
    match scan_error(&src, u64::MAX) {
        Error::Malformed { line, .. } => assert!(line == 2 || line == 3, "{line}"),
        other => panic!("{other}"),
    }
}

/// The sales CSVs as one batch (the content of `testdata/sales.parquet`).
fn sales_batch() -> RecordBatch {
    let src = FileSource::open(&testdata("sales/*.csv"), &ReadOptions::default()).unwrap();
    read_all(&src, u64::MAX, None, 1024)
}

/// Writes `batch` as Parquet with row groups of `rows_per_group` rows.
fn write_parquet(path: &Path, batch: &RecordBatch, rows_per_group: usize) {
    let props = ::parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let f = std::fs::File::create(path).unwrap();
    let mut w = ::parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Regenerates `testdata/sales.parquet`: `cargo test --lib io::tests::gen_sales_parquet -- --ignored`.
#[test]
#[ignore]
fn gen_sales_parquet() {
    write_parquet(Path::new(&testdata("sales.parquet")), &sales_batch(), 30);
}

#[test]
fn parquet_sales_matches_csv() {
    let src = FileSource::open(&testdata("sales.parquet"), &ReadOptions::default()).unwrap();
    assert_eq!(src.format, FileFormat::Parquet);
    assert_eq!(src.statistics().num_rows, Some(90));
    let csv = sales_batch();
    assert_eq!(src.schema.fields(), csv.schema().fields());
    assert_eq!(read_all(&src, u64::MAX, None, 1000), csv);
    let parts = src.partitions(1, &[]).unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2].kind, PartitionKind::RowGroups(vec![2]));
    let projected = read_all(&src, 1, Some(&[4, 1]), 7);
    assert_eq!(projected.schema().field(0).name(), "price");
    assert_eq!(strings(&projected, 1), strings(&csv, 1));
    let counted = read_all(&src, 1, Some(&[]), 7);
    assert_eq!(counted.num_rows(), 90);
}

#[test]
fn parquet_row_group_pruning() {
    let src = FileSource::open(&testdata("sales.parquet"), &ReadOptions::default()).unwrap();
    let march = 19783; // 2024-03-01
    let pred = |op, v| ColumnPredicate {
        column: 0,
        op,
        value: v,
    };
    let groups = |preds: &[ColumnPredicate]| -> Vec<usize> {
        src.partitions(1, preds)
            .unwrap()
            .into_iter()
            .flat_map(|p| match p.kind {
                PartitionKind::RowGroups(g) => g,
                _ => vec![],
            })
            .collect()
    };
    assert_eq!(
        groups(&[pred(PredicateOp::GtEq, ScalarValue::Date32(Some(march)))]),
        [2]
    );
    assert_eq!(
        groups(&[pred(PredicateOp::Lt, ScalarValue::Date32(Some(march)))]),
        [0, 1]
    );
    assert_eq!(
        groups(&[pred(PredicateOp::Eq, ScalarValue::Date32(Some(march + 3)))]),
        [2]
    );
    assert_eq!(
        groups(&[pred(PredicateOp::Gt, ScalarValue::Date32(Some(march + 100)))]),
        Vec::<usize>::new()
    );
    // Unknown or incomparable statistics prune nothing.
    assert_eq!(groups(&[pred(PredicateOp::Eq, ScalarValue::Date32(None))]), [0, 1, 2]);
    let q = ColumnPredicate {
        column: 3,
        op: PredicateOp::Gt,
        value: ScalarValue::Int64(Some(1000)),
    };
    assert_eq!(groups(&[q]), Vec::<usize>::new());
    // All together in one partition when the target is large.
    assert_eq!(
        src.partitions(u64::MAX, &[]).unwrap()[0].kind,
        PartitionKind::RowGroups(vec![0, 1, 2])
    );
}

#[test]
fn parquet_types_normalized_and_schema_mismatch() {
    use arrow::array::{DictionaryArray, Int64Array, StringViewArray};
    use arrow::datatypes::Int32Type;
    let dir = tempfile::tempdir().unwrap();
    let view: Arc<dyn Array> = Arc::new(StringViewArray::from(vec!["a", "b"]));
    let dict: Arc<dyn Array> = Arc::new(vec!["x", "x"].into_iter().collect::<DictionaryArray<Int32Type>>());
    let batch = RecordBatch::try_from_iter([("v", view), ("d", dict)]).unwrap();
    write_parquet(&dir.path().join("a.parquet"), &batch, 10);
    let other = RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(vec![1])) as Arc<dyn Array>)]).unwrap();
    write_parquet(&dir.path().join("b.parquet"), &other, 10);
    let src = FileSource::open(&format!("{}/a.parquet", dir.path().display()), &ReadOptions::default()).unwrap();
    assert_eq!(src.schema.field(0).data_type(), &DataType::Utf8);
    assert_eq!(src.schema.field(1).data_type(), &DataType::Utf8);
    let out = read_all(&src, 1, None, 10);
    assert_eq!(out.column(0).data_type(), &DataType::Utf8);
    assert_eq!(strings(&out, 1), [Some("x".into()), Some("x".into())]);
    let err = FileSource::open(&format!("{}/*.parquet", dir.path().display()), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a.parquet") && err.contains("b.parquet") && err.contains("\"d\""),
        "{err}"
    );
}
