//! Tests of the hash aggregate: every mode, keys, NULLs, empty input, and the memory limit.

use std::sync::atomic::AtomicBool;

use arrow::array::{Array, BooleanArray, Decimal128Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::util::pretty::pretty_format_batches;
use datafusion_common::ScalarValue;

use super::*;
use crate::exec::memory::MemoryPool;
use crate::exec::task::{ExecConfig, QueryContext};
use crate::logical::aggregate::AggFunc;
use crate::physical::expr::PhysicalExpr;
use crate::physical::ops::limit::testing::task_ctx_with as ctx_with;
use crate::physical::ops::memory_scan::MemoryScanExec;

fn ctx() -> TaskContext {
    ctx_with(8192, 1 << 30)
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("x", DataType::Int64, true),
        Field::new("f", DataType::Boolean, true),
    ]))
}

/// Two batches; keys 1, 2, NULL, 3 in order of first appearance.
fn batches() -> Vec<RecordBatch> {
    let b1 = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int32Array::from(vec![Some(1), Some(2), None, Some(1)])),
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("a"), None])),
            Arc::new(Int64Array::from(vec![Some(10), Some(20), Some(30), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None, Some(true)])),
        ],
    )
    .unwrap();
    let b2 = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int32Array::from(vec![Some(2), None, Some(3)])),
            Arc::new(StringArray::from(vec![Some("b"), Some("a"), Some("c")])),
            Arc::new(Int64Array::from(vec![Some(5), Some(7), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(true), Some(true)])),
        ],
    )
    .unwrap();
    vec![b1, b2]
}

fn scan(partitions: Vec<Vec<RecordBatch>>, schema: SchemaRef) -> PlanRef {
    Arc::new(MemoryScanExec::try_new(partitions, schema, None).unwrap())
}

fn col(i: usize, name: &str) -> PhysExprRef {
    PhysicalExpr::column(i, name)
}

fn agg(func: AggFunc, args: Vec<PhysExprRef>, name: &str) -> AggregateExpr {
    AggregateExpr::try_new(func, args, &schema(), name).unwrap()
}

fn all_aggs() -> Vec<AggregateExpr> {
    vec![
        agg(AggFunc::Count, vec![], "count(*)"),
        agg(AggFunc::Count, vec![col(2, "x")], "count(x)"),
        agg(AggFunc::Sum, vec![col(2, "x")], "sum(x)"),
        agg(AggFunc::Avg, vec![col(2, "x")], "avg(x)"),
        agg(AggFunc::Min, vec![col(1, "s")], "min(s)"),
        agg(AggFunc::Max, vec![col(2, "x")], "max(x)"),
    ]
}

fn run_on(plan: &PlanRef, partition: usize, ctx: &TaskContext) -> Result<Vec<RecordBatch>> {
    plan.execute(partition, ctx)?.collect()
}

fn run(plan: PlanRef) -> String {
    let batches = run_on(&plan, 0, &ctx()).unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

fn single(gby: Vec<(PhysExprRef, String)>, aggs: Vec<AggregateExpr>) -> PlanRef {
    let input = scan(vec![batches()], schema());
    Arc::new(HashAggregateExec::try_new(AggregateMode::Single, gby, aggs, input).unwrap())
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn groups_by_integer_key_with_nulls_over_several_batches() {
    let out = run(single(vec![(col(0, "k"), "k".into())], all_aggs()));
    assert_eq!(
        lines(&out),
        vec![
            "+---+----------+----------+--------+--------+--------+--------+",
            "| k | count(*) | count(x) | sum(x) | avg(x) | min(s) | max(x) |",
            "+---+----------+----------+--------+--------+--------+--------+",
            "| 1 | 2        | 1        | 10     | 10.0   | a      | 10     |",
            "| 2 | 2        | 2        | 25     | 12.5   | b      | 20     |",
            "|   | 2        | 2        | 37     | 18.5   | a      | 30     |",
            "| 3 | 1        | 0        |        |        | c      |        |",
            "+---+----------+----------+--------+--------+--------+--------+",
        ]
    );
}

#[test]
fn groups_by_string_and_multi_column_keys() {
    let out = run(single(
        vec![(col(1, "s"), "s".into())],
        vec![
            agg(AggFunc::Sum, vec![col(2, "x")], "sum(x)"),
            agg(AggFunc::Max, vec![col(0, "k")], "max(k)"),
        ],
    ));
    assert_eq!(
        lines(&out)[3..8],
        [
            "| a | 47     | 1      |",
            "| b | 25     | 2      |",
            "|   |        | 1      |",
            "| c |        | 3      |",
            "+---+--------+--------+"
        ]
    );
    let out = run(single(
        vec![(col(0, "k"), "k".into()), (col(1, "s"), "s".into())],
        vec![agg(AggFunc::Count, vec![], "n")],
    ));
    assert_eq!(
        lines(&out)[3..9],
        [
            "| 1 | a | 1 |",
            "| 2 | b | 2 |",
            "|   | a | 2 |",
            "| 1 |   | 1 |",
            "| 3 | c | 1 |",
            "+---+---+---+"
        ]
    );
}

#[test]
fn partial_then_final_equals_single() {
    let parts: Vec<Vec<RecordBatch>> = batches().into_iter().map(|b| vec![b]).collect();
    for keys in [vec![], vec![0], vec![0, 1]] {
        let gby = |_: ()| -> Vec<(PhysExprRef, String)> {
            keys.iter()
                .map(|&i| (col(i, schema().field(i).name()), schema().field(i).name().clone()))
                .collect()
        };
        let partial: PlanRef = Arc::new(
            HashAggregateExec::try_new(
                AggregateMode::Partial,
                gby(()),
                all_aggs(),
                scan(parts.clone(), schema()),
            )
            .unwrap(),
        );
        let mut partial_out = run_on(&partial, 0, &ctx()).unwrap();
        partial_out.extend(run_on(&partial, 1, &ctx()).unwrap());
        let final_gby = keys
            .iter()
            .enumerate()
            .map(|(j, &i)| (col(j, schema().field(i).name()), schema().field(i).name().clone()))
            .collect();
        let final_agg: PlanRef = Arc::new(
            HashAggregateExec::try_new(
                AggregateMode::Final,
                final_gby,
                all_aggs(),
                scan(vec![partial_out], partial.schema()),
            )
            .unwrap(),
        );
        assert_eq!(run(final_agg), run(single(gby(()), all_aggs())), "keys {keys:?}");
    }
}

/// 200k rows in 40 batches of 5000, row `i` keyed `key(i)`.
fn numbered_batches(key: impl Fn(usize) -> i32) -> Vec<RecordBatch> {
    (0..40)
        .map(|b| {
            let rows = b * 5000..(b + 1) * 5000;
            RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(Int32Array::from_iter_values(rows.clone().map(&key))),
                    Arc::new(StringArray::from_iter_values(
                        rows.clone().map(|i| format!("s{}", i % 7)),
                    )),
                    Arc::new(Int64Array::from_iter(
                        rows.clone().map(|i| (i % 11 != 0).then_some(i as i64)),
                    )),
                    Arc::new(BooleanArray::from_iter(rows.map(|i| Some(i % 2 == 0)))),
                ],
            )
            .unwrap()
        })
        .collect()
}

fn partial_by_k(batches: Vec<RecordBatch>) -> PlanRef {
    Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Partial,
            vec![(col(0, "k"), "k".to_string())],
            all_aggs(),
            scan(vec![batches], schema()),
        )
        .unwrap(),
    )
}

#[test]
fn a_partial_aggregate_whose_keys_hardly_repeat_passes_rows_through_as_states() {
    // Keys 0..150k: the first 100k rows are all distinct, so the partial aggregate hands its
    // 100k groups on and passes the other 100k rows through.
    let batches = numbered_batches(|i| (i % 150_000) as i32);
    let partial = partial_by_k(batches.clone());
    let partial_out = run_on(&partial, 0, &ctx()).unwrap();
    let partial_rows: usize = partial_out.iter().map(|b| b.num_rows()).sum();
    assert_eq!(partial_rows, 200_000, "100k groups, then 100k rows passed through");
    assert_final_of_states_is_single(partial_out, partial.schema(), batches);
}

/// Asserts that the `Final` aggregate by `k` of the partial `states` (of `state_schema`)
/// gives what the `Single` one of `batches` does.
fn assert_final_of_states_is_single(states: Vec<RecordBatch>, state_schema: SchemaRef, batches: Vec<RecordBatch>) {
    let gby = || vec![(col(0, "k"), "k".to_string())];
    let final_agg: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Final,
            gby(),
            all_aggs(),
            scan(vec![states], state_schema),
        )
        .unwrap(),
    );
    let single_agg: PlanRef = Arc::new(
        HashAggregateExec::try_new(AggregateMode::Single, gby(), all_aggs(), scan(vec![batches], schema())).unwrap(),
    );
    let sorted = |plan: PlanRef| {
        let mut rows: Vec<String> = lines(&run(plan)).into_iter().map(str::to_string).collect();
        rows.sort();
        rows
    };
    assert_eq!(sorted(final_agg), sorted(single_agg));
}

#[test]
fn tasks_too_small_to_judge_go_by_the_tasks_before_them() {
    // 20 tasks of 5k distinct keys (100k rows into 100k groups), then 20 tasks whose 5k
    // rows share one key: those pass their rows through instead of making one group.
    let batches = numbered_batches(|i| if i < 100_000 { i as i32 } else { (i / 5000) as i32 });
    let partitions: Vec<Vec<RecordBatch>> = batches.iter().map(|b| vec![b.clone()]).collect();
    let gby = || vec![(col(0, "k"), "k".to_string())];
    let partial: PlanRef = Arc::new(
        HashAggregateExec::try_new(AggregateMode::Partial, gby(), all_aggs(), scan(partitions, schema())).unwrap(),
    );
    let mut states = Vec::new();
    let mut rows_per_task = Vec::new();
    for task in 0..40 {
        let out = run_on(&partial, task, &ctx()).unwrap();
        rows_per_task.push(out.iter().map(|b| b.num_rows()).sum::<usize>());
        states.extend(out);
    }
    assert_eq!(rows_per_task, vec![5000; 40], "each task passes its rows on");
    assert_final_of_states_is_single(states, partial.schema(), batches);
}

#[test]
fn small_tasks_whose_keys_repeat_keep_grouping() {
    let partitions: Vec<Vec<RecordBatch>> = numbered_batches(|i| (i % 1000) as i32)
        .into_iter()
        .map(|b| vec![b])
        .collect();
    let partial: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Partial,
            vec![(col(0, "k"), "k".to_string())],
            all_aggs(),
            scan(partitions, schema()),
        )
        .unwrap(),
    );
    for task in 0..40 {
        let rows: usize = run_on(&partial, task, &ctx())
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 1000, "task {task}");
    }
}

#[test]
fn a_partial_aggregate_whose_keys_repeat_keeps_grouping() {
    let partial = partial_by_k(numbered_batches(|i| (i % 1000) as i32));
    let rows: usize = run_on(&partial, 0, &ctx()).unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1000);
}

#[test]
fn partial_schema_names_state_fields() {
    let partial = HashAggregateExec::try_new(
        AggregateMode::Partial,
        vec![(col(0, "k"), "k".into())],
        all_aggs(),
        scan(vec![batches()], schema()),
    )
    .unwrap();
    let names: Vec<String> = partial.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "k",
            "count(*)[count]",
            "count(x)[count]",
            "sum(x)[sum]",
            "avg(x)[sum]",
            "avg(x)[count]",
            "min(s)[min]",
            "max(x)[max]"
        ]
    );
    assert_eq!(
        partial.details(),
        "mode=Partial, gby=[k], aggr=[count(*), count(x), sum(x), avg(x), min(s), max(x)]"
    );
}

#[test]
fn empty_input_gives_one_row_without_keys_and_none_with_keys() {
    let empty = || scan(vec![], schema());
    let aggs = || {
        vec![
            agg(AggFunc::Count, vec![], "n"),
            agg(AggFunc::Sum, vec![col(2, "x")], "s"),
        ]
    };
    let plan: PlanRef = Arc::new(HashAggregateExec::try_new(AggregateMode::Single, vec![], aggs(), empty()).unwrap());
    let out = run_on(&plan, 0, &ctx()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].num_rows(), 1);
    assert_eq!(
        out[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0),
        0
    );
    assert!(out[0].column(1).is_null(0));

    let partial: PlanRef =
        Arc::new(HashAggregateExec::try_new(AggregateMode::Partial, vec![], aggs(), empty()).unwrap());
    let partial_out = run_on(&partial, 0, &ctx()).unwrap();
    assert_eq!(partial_out.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    // Final over zero input rows still gives one row.
    let final_agg: PlanRef = Arc::new(
        HashAggregateExec::try_new(AggregateMode::Final, vec![], aggs(), scan(vec![], partial.schema())).unwrap(),
    );
    let out = run_on(&final_agg, 0, &ctx()).unwrap();
    assert_eq!(out.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert_eq!(
        out[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0),
        0
    );

    let keyed: PlanRef = Arc::new(
        HashAggregateExec::try_new(AggregateMode::Single, vec![(col(0, "k"), "k".into())], aggs(), empty()).unwrap(),
    );
    assert_eq!(
        run_on(&keyed, 0, &ctx())
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        0
    );
}

#[test]
fn sums_and_averages_decimals_exactly() {
    let schema = Arc::new(Schema::new(vec![Field::new("d", DataType::Decimal128(10, 2), true)]));
    let d = Decimal128Array::from(vec![Some(150), Some(225), None, Some(1)])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(d)]).unwrap();
    let sum = AggregateExpr::try_new(AggFunc::Sum, vec![col(0, "d")], &schema, "s").unwrap();
    let avg = AggregateExpr::try_new(AggFunc::Avg, vec![col(0, "d")], &schema, "a").unwrap();
    assert_eq!(sum.return_type, DataType::Decimal128(38, 2));
    let plan: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Single,
            vec![],
            vec![sum, avg],
            scan(vec![vec![batch]], schema),
        )
        .unwrap(),
    );
    let out = run_on(&plan, 0, &ctx()).unwrap();
    let s = out[0].column(0).as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(s.value(0), 376);
    assert_eq!(s.data_type(), &DataType::Decimal128(38, 2));
    let a = out[0]
        .column(1)
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .unwrap();
    assert!((a.value(0) - 3.76 / 3.0).abs() < 1e-12);
}

#[test]
fn distinct_count_and_sum() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
    ]));
    let batch = |g: Vec<&str>, v: Vec<Option<i64>>| {
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(StringArray::from(g)), Arc::new(Int64Array::from(v))],
        )
        .unwrap()
    };
    let input = vec![
        batch(vec!["a", "a", "b", "a"], vec![Some(1), Some(1), Some(2), Some(3)]),
        batch(vec!["b", "a", "b", "b"], vec![Some(2), Some(3), None, Some(4)]),
    ];
    let aggs = vec![
        AggregateExpr::try_new(AggFunc::Count, vec![col(1, "v")], &schema, "cd")
            .unwrap()
            .with_distinct(true),
        AggregateExpr::try_new(AggFunc::Sum, vec![col(1, "v")], &schema, "sd")
            .unwrap()
            .with_distinct(true),
        AggregateExpr::try_new(AggFunc::Sum, vec![col(1, "v")], &schema, "s").unwrap(),
    ];
    let plan: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Single,
            vec![(col(0, "g"), "g".into())],
            aggs.clone(),
            scan(vec![input], Arc::clone(&schema)),
        )
        .unwrap(),
    );
    let out = run(plan);
    assert_eq!(lines(&out)[3..5], ["| a | 2  | 4  | 8 |", "| b | 2  | 6  | 8 |"]);
    let partial = HashAggregateExec::try_new(AggregateMode::Partial, vec![], aggs, scan(vec![], schema));
    assert!(partial.is_err());
}

#[test]
fn filter_skips_false_and_null_rows() {
    let filtered = |func, args, name: &str| agg(func, args, name).with_filter(Some(col(3, "f")));
    let out = run(single(
        vec![(col(0, "k"), "k".into())],
        vec![
            filtered(AggFunc::Count, vec![], "n"),
            filtered(AggFunc::Sum, vec![col(2, "x")], "s"),
            filtered(AggFunc::Min, vec![col(2, "x")], "m"),
        ],
    ));
    // f: k=1 rows true,true; k=2 false,true; k=NULL null,true; k=3 true.
    assert_eq!(
        lines(&out)[3..7],
        [
            "| 1 | 2 | 10 | 10 |",
            "| 2 | 1 | 5  | 5  |",
            "|   | 1 | 7  | 7  |",
            "| 3 | 1 |    |    |"
        ]
    );
}

#[test]
fn integer_sum_overflow_is_an_error() {
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from(vec![i64::MAX, 1]))]).unwrap();
    let sum = AggregateExpr::try_new(AggFunc::Sum, vec![col(0, "x")], &schema, "s").unwrap();
    let plan: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Single,
            vec![],
            vec![sum],
            scan(vec![vec![batch]], schema),
        )
        .unwrap(),
    );
    let err = run_on(&plan, 0, &ctx()).unwrap_err().to_string();
    assert!(err.contains("Out of Range Error: Overflow in SUM"), "{err}");
}

#[test]
fn output_is_sliced_to_batch_size_and_literal_args_work() {
    let plan = single(
        vec![(col(0, "k"), "k".into())],
        vec![agg(
            AggFunc::Sum,
            vec![PhysicalExpr::literal(ScalarValue::Int64(Some(2)))],
            "s",
        )],
    );
    let out = run_on(&plan, 0, &ctx_with(3, 1 << 30)).unwrap();
    assert_eq!(out.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), vec![3, 1]);
    let sums = out[0].column(1).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(sums.values().to_vec(), vec![4, 4, 4]);
}

/// A context with a memory limit and its own spill directory.
fn spill_ctx(batch_size: usize, memory: usize, dir: &std::path::Path) -> TaskContext {
    let config = ExecConfig {
        batch_size,
        temp_dir: Some(dir.to_path_buf()),
        ..ExecConfig::default()
    };
    TaskContext {
        stage_id: 0,
        partition: 0,
        query: Arc::new(QueryContext::new(
            config,
            MemoryPool::new(memory),
            Arc::new(AtomicBool::new(false)),
        )),
        operator: 0,
    }
}

/// `n` rows in batches of 100: k = i % 700 (NULL every 50th), s = "s{i % 300}" of varying
/// length, x = i, f = i % 3 != 0.
fn many_rows(n: i64) -> Vec<RecordBatch> {
    (0..n)
        .step_by(100)
        .map(|start| {
            let rows = start..(start + 100).min(n);
            RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(Int32Array::from_iter(
                        rows.clone().map(|i| (i % 50 != 0).then_some((i % 700) as i32)),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.clone()
                            .map(|i| format!("s{}{}", i % 300, "x".repeat((i % 11) as usize))),
                    )),
                    Arc::new(Int64Array::from_iter_values(rows.clone())),
                    Arc::new(BooleanArray::from_iter(rows.map(|i| Some(i % 3 != 0)))),
                ],
            )
            .unwrap()
        })
        .collect()
}

/// The rows of `batches`, printed and sorted.
fn sorted_rows(batches: &[RecordBatch]) -> Vec<String> {
    let text = pretty_format_batches(batches).unwrap().to_string();
    let mut rows: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .map(String::from)
        .collect();
    rows.sort();
    rows
}

/// Every kind of accumulator: mergeable, DISTINCT, holistic (ordered, so input order does not
/// matter) and with a FILTER.
fn spill_aggs() -> Vec<AggregateExpr> {
    let mut aggs = all_aggs();
    aggs.push(agg(AggFunc::Count, vec![col(1, "s")], "count(DISTINCT s)").with_distinct(true));
    aggs.push(agg(AggFunc::Sum, vec![col(2, "x")], "sum(x) FILTER f").with_filter(Some(col(3, "f"))));
    aggs.push(agg(AggFunc::Max, vec![col(1, "s")], "max(s)"));
    let mut list = agg(AggFunc::List, vec![col(2, "x")], "list(x ORDER BY x DESC)");
    list.args.push(col(2, "x"));
    list.input_types.push(DataType::Int64);
    list.order = vec![arrow::compute::SortOptions {
        descending: true,
        nulls_first: false,
    }];
    aggs.push(list);
    aggs.push(agg(
        AggFunc::StringAgg,
        vec![col(1, "s"), PhysicalExpr::literal(ScalarValue::Utf8(Some(";".into())))],
        "string_agg(s, ';')",
    ));
    aggs
}

/// Spill files written under the aggregate's label.
fn aggregate_spill_files(ctx: &TaskContext) -> u64 {
    ctx.spill()
        .stats()
        .get("HashAggregate (stage 0)")
        .map_or(0, |s| s.files)
}

/// The group keys `k, s` of [`many_rows`].
fn by_k_and_s() -> Vec<(PhysExprRef, String)> {
    vec![(col(0, "k"), "k".to_string()), (col(1, "s"), "s".to_string())]
}

/// A `Single` aggregate of `aggs` by `gby` over [`many_rows`]`(20_000)`, in one input
/// partition (so order-sensitive aggregates see a fixed order).
fn single_over_many_rows(gby: Vec<(PhysExprRef, String)>, aggs: Vec<AggregateExpr>) -> PlanRef {
    let input = scan(vec![many_rows(20_000)], schema());
    Arc::new(HashAggregateExec::try_new(AggregateMode::Single, gby, aggs, input).unwrap())
}

/// Runs a `Single` aggregate with every kind of accumulator under the context `limited`
/// makes (in a spill directory), which must make it spill: the result is the unlimited
/// one, the memory is given back and no spill file is left behind.
fn assert_spills_with_the_in_memory_result(limited: impl Fn(&std::path::Path) -> TaskContext) {
    // string_agg without ORDER BY follows input order: one input partition keeps it fixed.
    let plan = single_over_many_rows(by_k_and_s(), spill_aggs());
    let expected = sorted_rows(&run_on(&plan, 0, &ctx()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let ctx = limited(dir.path());
    let out = run_on(&plan, 0, &ctx).unwrap();
    assert!(aggregate_spill_files(&ctx) > 0, "{:?}", ctx.spill().stats());
    assert_eq!(sorted_rows(&out), expected);
    assert_eq!(ctx.memory().used(), 0);
    drop(ctx);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn single_mode_spills_and_gives_the_in_memory_result() {
    assert_spills_with_the_in_memory_result(|dir| spill_ctx(100, 200 << 10, dir));
}

#[test]
fn partial_hands_groups_out_early_and_final_spills() {
    let gby = || vec![(col(0, "k"), "k".to_string()), (col(1, "s"), "s".to_string())];
    let mergeable = || all_aggs();
    let partial: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Partial,
            gby(),
            mergeable(),
            scan(vec![many_rows(20_000)], schema()),
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let tiny = spill_ctx(100, 100 << 10, dir.path());
    let whole = run_on(&partial, 0, &ctx()).unwrap();
    let early = run_on(&partial, 0, &tiny).unwrap();
    let rows = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();
    assert!(
        rows(&early) > rows(&whole),
        "{} groups, {} partial rows",
        rows(&whole),
        rows(&early)
    );
    assert_eq!(aggregate_spill_files(&tiny), 0, "partial aggregates never spill");
    let final_gby = vec![(col(0, "k"), "k".to_string()), (col(1, "s"), "s".to_string())];
    let final_agg: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Final,
            final_gby,
            mergeable(),
            scan(vec![early], partial.schema()),
        )
        .unwrap(),
    );
    let out = run_on(&final_agg, 0, &tiny).unwrap();
    assert!(aggregate_spill_files(&tiny) > 0);
    let single: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Single,
            gby(),
            mergeable(),
            scan(vec![many_rows(20_000)], schema()),
        )
        .unwrap(),
    );
    assert_eq!(sorted_rows(&out), sorted_rows(&run_on(&single, 0, &ctx()).unwrap()));
}

#[test]
fn memory_limit_is_enforced_when_spilling_cannot_help() {
    let dir = tempfile::tempdir().unwrap();
    // Not even a few groups fit: re-partitioning gives up.
    let plan = single(vec![(col(1, "s"), "s".into())], all_aggs());
    let err = run_on(&plan, 0, &spill_ctx(8192, 64, dir.path())).unwrap_err();
    assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
    assert!(err.to_string().contains("cannot hold one partition"), "{err}");
    // One group (no keys) whose DISTINCT set outgrows the limit.
    let distinct = agg(AggFunc::Count, vec![col(1, "s")], "n").with_distinct(true);
    let plan: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Single,
            vec![],
            vec![distinct],
            scan(vec![many_rows(20_000)], schema()),
        )
        .unwrap(),
    );
    let err = run_on(&plan, 0, &spill_ctx(100, 16 << 10, dir.path())).unwrap_err();
    assert!(err.to_string().contains("without GROUP BY keys"), "{err}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// `spill_ctx` whose aggregates partition their groups past `groups` groups.
fn partitioning_ctx(groups: usize, memory: usize, dir: &std::path::Path) -> TaskContext {
    let mut ctx = spill_ctx(100, memory, dir);
    let mut config = ctx.query.config.clone();
    config.aggregate_partition_groups = groups;
    ctx.query = Arc::new(QueryContext::new(
        config,
        MemoryPool::new(memory),
        Arc::new(AtomicBool::new(false)),
    ));
    ctx
}

/// The rows of `batches`, printed, in output order: a partitioned aggregate hands its groups
/// out partition by partition, not in order of first appearance.
fn rows_in_order(batches: &[RecordBatch]) -> Vec<String> {
    let text = pretty_format_batches(batches).unwrap().to_string();
    text.lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .map(String::from)
        .collect()
}

#[test]
fn a_large_table_partitions_its_groups_in_memory_and_gives_the_same_result() {
    // Single mode, with every kind of accumulator (DISTINCT, ordered, FILTER).
    let single = single_over_many_rows(by_k_and_s(), spill_aggs());
    let whole = run_on(&single, 0, &ctx()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let partitioning = partitioning_ctx(500, 1 << 30, dir.path());
    let out = run_on(&single, 0, &partitioning).unwrap();
    assert_eq!(sorted_rows(&out), sorted_rows(&whole));
    assert_ne!(
        rows_in_order(&out),
        rows_in_order(&whole),
        "groups come partition by partition"
    );
    assert_eq!(aggregate_spill_files(&partitioning), 0, "partitions stay in memory");
    assert_eq!(partitioning.memory().used(), 0);
    // Final mode over partial states, as after a shuffle.
    let input = scan(vec![many_rows(20_000)], schema());
    let partial: PlanRef =
        Arc::new(HashAggregateExec::try_new(AggregateMode::Partial, by_k_and_s(), all_aggs(), input).unwrap());
    let states = run_on(&partial, 0, &ctx()).unwrap();
    let final_agg: PlanRef = Arc::new(
        HashAggregateExec::try_new(
            AggregateMode::Final,
            by_k_and_s(),
            all_aggs(),
            scan(vec![states], partial.schema()),
        )
        .unwrap(),
    );
    let unpartitioned = run_on(&final_agg, 0, &ctx()).unwrap();
    let partitioning = partitioning_ctx(500, 1 << 30, dir.path());
    let out = run_on(&final_agg, 0, &partitioning).unwrap();
    assert_eq!(sorted_rows(&out), sorted_rows(&unpartitioned));
    assert_ne!(rows_in_order(&out), rows_in_order(&unpartitioned));
    assert_eq!(partitioning.memory().used(), 0);
}

#[test]
fn a_table_whose_keys_repeat_is_not_partitioned() {
    // Keys 0..700 (and NULL) over 20,000 rows: they first repeat after 700 rows, and the
    // table reaches 500 groups after 510 rows but 690 only after 1,400.
    let by_k = single_over_many_rows(vec![(col(0, "k"), "k".into())], all_aggs());
    let whole = run_on(&by_k, 0, &ctx()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repeating = run_on(&by_k, 0, &partitioning_ctx(690, 1 << 30, dir.path())).unwrap();
    assert_eq!(rows_in_order(&repeating), rows_in_order(&whole), "not partitioned");
    let unique_so_far = run_on(&by_k, 0, &partitioning_ctx(500, 1 << 30, dir.path())).unwrap();
    assert_eq!(sorted_rows(&unique_so_far), sorted_rows(&whole));
    assert_ne!(rows_in_order(&unique_so_far), rows_in_order(&whole), "partitioned");
}

#[test]
fn in_memory_partitions_spill_when_the_pool_refuses() {
    assert_spills_with_the_in_memory_result(|dir| partitioning_ctx(500, 400 << 10, dir));
}

/// Partitions waiting in memory go to spill files when the aggregate must give memory back
/// (as it does when the pool refuses its table), and the result stays the same.
#[test]
fn partitions_waiting_in_memory_spill_and_the_result_stays() {
    let plan = single_over_many_rows(by_k_and_s(), spill_aggs());
    let expected = sorted_rows(&run_on(&plan, 0, &ctx()).unwrap());
    let exec = plan.as_any().downcast_ref::<HashAggregateExec>().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let partitioning = partitioning_ctx(500, 1 << 30, dir.path());
    let input = exec.input.execute(0, &partitioning).unwrap();
    let mut stream = stream::AggregateStream::try_new(Arc::clone(&exec.core), input, &partitioning).unwrap();
    // The whole input goes into in-memory partitions, which then wait to be aggregated.
    while stream.waiting_in_memory() == 0 {
        assert!(stream.step().unwrap());
    }
    let held = partitioning.memory().used();
    let label = partitioning.spill_label("HashAggregate");
    assert!(stream.spill_partitions_in_memory(&label).unwrap());
    assert_eq!(stream.waiting_in_memory(), 0);
    assert!(partitioning.memory().used() < held);
    assert!(aggregate_spill_files(&partitioning) > 0);
    assert!(
        !stream.spill_partitions_in_memory(&label).unwrap(),
        "nothing left in memory"
    );
    let out: Vec<RecordBatch> = stream.collect::<Result<_>>().unwrap();
    assert_eq!(sorted_rows(&out), expected);
    assert_eq!(partitioning.memory().used(), 0);
    drop(partitioning);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
