//! Tests of the spilling paths: every join type under a small memory limit against the
//! same join with plenty of memory.

use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::super::limit::testing::{collect, task_ctx_with, TestScan};
use super::grace::{partition_of, FANOUT};
use super::tests::rows;
use super::{HashJoinExec, JoinMode};
use crate::exec::task::TaskContext;
use crate::logical::expr::BinaryOp;
use crate::logical::join_type::JoinType;
use crate::physical::expr::{PhysExprRef, PhysicalExpr};
use crate::physical::plan::PlanRef;

const JOIN_TYPES: [JoinType; 8] = [
    JoinType::Inner,
    JoinType::Left,
    JoinType::Right,
    JoinType::Full,
    JoinType::LeftSemi,
    JoinType::LeftAnti,
    JoinType::RightSemi,
    JoinType::RightAnti,
];

fn schema(prefix: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(format!("{prefix}k"), DataType::Int64, true),
        Field::new(format!("{prefix}s"), DataType::Utf8, true),
        Field::new(format!("{prefix}v"), DataType::Int64, false),
    ]))
}

/// `rows` rows in batches of 100: key from `key(i)` (NULL when `None`), a string of
/// varying length, value `i`.
fn side(prefix: &str, rows: i64, key: impl Fn(i64) -> Option<i64>) -> (SchemaRef, Vec<RecordBatch>) {
    let schema = schema(prefix);
    let batches = (0..rows)
        .step_by(100)
        .map(|start| {
            let range = start..(start + 100).min(rows);
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(range.clone().map(&key).collect::<Vec<_>>())),
                    Arc::new(StringArray::from(
                        range
                            .clone()
                            .map(|i| (i % 13 != 0).then(|| format!("{prefix}{}", "x".repeat((i * 7 % 120) as usize))))
                            .collect::<Vec<_>>(),
                    )),
                    Arc::new(Int64Array::from_iter_values(range)),
                ],
            )
            .unwrap()
        })
        .collect();
    (schema, batches)
}

fn on_k() -> Vec<(PhysExprRef, PhysExprRef)> {
    vec![(PhysicalExpr::column(0, "lk"), PhysicalExpr::column(0, "rk"))]
}

/// `lv * 3 % 7 < rv % 5`: true for some pairs of a key only.
fn residual() -> PhysExprRef {
    let lit = |v: i64| PhysicalExpr::literal(datafusion_common::ScalarValue::Int64(Some(v)));
    let bin = |left, op, right| Arc::new(PhysicalExpr::Binary { left, op, right });
    let l = bin(
        bin(PhysicalExpr::column(2, "lv"), BinaryOp::Multiply, lit(3)),
        BinaryOp::Modulo,
        lit(7),
    );
    let r = bin(PhysicalExpr::column(5, "rv"), BinaryOp::Modulo, lit(5));
    bin(l, BinaryOp::Lt, r)
}

struct Case {
    left: (SchemaRef, Vec<RecordBatch>),
    right: (SchemaRef, Vec<RecordBatch>),
    on: Vec<(PhysExprRef, PhysExprRef)>,
}

impl Case {
    fn plan(&self, join_type: JoinType, filter: Option<PhysExprRef>) -> PlanRef {
        let left = TestScan::new(Arc::clone(&self.left.0), vec![self.left.1.clone()]);
        let right = TestScan::new(Arc::clone(&self.right.0), vec![self.right.1.clone()]);
        Arc::new(HashJoinExec::try_new(left, right, self.on.clone(), filter, join_type, JoinMode::Partitioned).unwrap())
    }

    /// Runs every join type with and without the residual under `limit` and unlimited;
    /// returns the spill files written.
    fn check_all(&self, limit: usize) -> u64 {
        self.check(limit, &[None, Some(residual())])
    }

    /// Like [`Case::check_all`] with the given residual filters only.
    fn check(&self, limit: usize, filters: &[Option<PhysExprRef>]) -> u64 {
        let mut files = 0;
        for join_type in JOIN_TYPES {
            for filter in filters {
                let expected = rows(&collect(
                    &self.plan(join_type, filter.clone()),
                    0,
                    &task_ctx_with(64, 1 << 30),
                ));
                let ctx = task_ctx_with(64, limit);
                let plan = self.plan(join_type, filter.clone());
                let got = rows(&collect(&plan, 0, &ctx));
                assert_eq!(got.len(), expected.len(), "{join_type} filter={}", filter.is_some());
                assert!(got == expected, "{join_type} filter={}", filter.is_some());
                files += spilled(&ctx);
                drop(plan);
                assert_eq!(ctx.memory().used(), 0, "{join_type}");
                assert_eq!(ctx.spill().bytes_on_disk(), 0, "{join_type}");
            }
        }
        files
    }
}

fn spilled(ctx: &TaskContext) -> u64 {
    ctx.spill().stats().get("HashJoin (stage 0)").map_or(0, |s| s.files)
}

#[test]
fn partition_bits_are_independent_of_the_shuffle_and_of_other_levels() {
    // Hashes that all go to shuffle bucket 0 of 4 still spread over every partition, and
    // the rows of one partition spread again one level down.
    let hashes: Vec<u64> = (0u64..4000).map(|i| (i * 4) << 32 | i.wrapping_mul(0x9E37)).collect();
    let mut level0 = vec![0; FANOUT];
    let mut level1 = vec![0; FANOUT];
    for &h in &hashes {
        assert_eq!((h >> 32) % 4, 0);
        let p = partition_of(h, 0);
        level0[p] += 1;
        if p == 3 {
            level1[partition_of(h, 1)] += 1;
        }
    }
    assert!(level0.iter().all(|&n| n > 150), "{level0:?}");
    assert!(level1.iter().all(|&n| n > 0), "{level1:?}");
}

#[test]
fn grace_join_matches_the_in_memory_join_for_every_join_type() {
    let case = Case {
        left: side("l", 4000, |i| (i % 17 != 0).then_some(i % 900)),
        right: side("r", 5000, |i| (i % 11 != 0).then_some((i * 7) % 1300)),
        on: on_k(),
    };
    // Far too little: every partition spills, and partitions are split again.
    assert!(case.check_all(100_000) > 0);
}

#[test]
fn a_grace_join_keeps_the_partitions_that_fit_in_memory() {
    let case = Case {
        left: side("l", 30_000, |i| (i % 17 != 0).then_some(i % 9000)),
        right: side("r", 12_000, |i| (i % 11 != 0).then_some((i * 7) % 13_000)),
        on: on_k(),
    };
    let bytes: usize = case.left.1.iter().map(|b| b.get_array_memory_size()).sum();
    assert!(bytes > 3_000_000, "{bytes}");
    assert!(case.check(6_000_000, &[Some(residual())]) > 0);
}

#[test]
fn a_skewed_key_falls_back_to_a_block_nested_loop() {
    // 90% of the build rows have key 7: that partition never fits and cannot be split.
    let case = Case {
        left: side("l", 1500, |i| if i % 10 == 0 { Some(i) } else { Some(7) }),
        right: side("r", 300, |i| {
            if i % 4 == 0 {
                Some(7)
            } else {
                (i % 29 != 0).then_some(i * 10)
            }
        }),
        on: on_k(),
    };
    assert!(case.check_all(60_000) > 0);
}

#[test]
fn a_keyless_join_runs_as_a_block_nested_loop() {
    let case = Case {
        left: side("l", 800, Some),
        right: side("r", 100, Some),
        on: vec![],
    };
    assert!(case.check_all(50_000) > 0);
}

#[test]
fn a_broadcast_build_side_too_large_is_grace_joined_per_task() {
    let (ls, lb) = side("l", 3000, |i| (i % 17 != 0).then_some(i % 700));
    let (rs, rb) = side("r", 3000, |i| Some(i % 1000));
    let parts: Vec<Vec<RecordBatch>> = rb.chunks(10).map(|c| c.to_vec()).collect();
    for join_type in JOIN_TYPES {
        let run = |limit: usize| {
            let left = TestScan::broadcast(Arc::clone(&ls), lb.clone());
            let right = TestScan::new(Arc::clone(&rs), parts.clone());
            let plan: PlanRef = Arc::new(
                HashJoinExec::try_new(left, right, on_k(), Some(residual()), join_type, JoinMode::CollectLeft).unwrap(),
            );
            let ctx = task_ctx_with(64, limit);
            let out: Vec<RecordBatch> = (0..parts.len()).flat_map(|p| collect(&plan, p, &ctx)).collect();
            drop(plan);
            assert_eq!(ctx.memory().used(), 0);
            assert_eq!(ctx.spill().bytes_on_disk(), 0);
            (rows(&out), spilled(&ctx))
        };
        // The same join with both sides whole in one partition.
        let case = Case {
            left: (Arc::clone(&ls), lb.clone()),
            right: (Arc::clone(&rs), rb.clone()),
            on: on_k(),
        };
        let expected = rows(&collect(
            &case.plan(join_type, Some(residual())),
            0,
            &task_ctx_with(64, 1 << 30),
        ));
        let (shared, files) = run(1 << 30);
        assert_eq!(files, 0);
        assert!(
            shared == expected,
            "{join_type}: {} vs {} rows",
            shared.len(),
            expected.len()
        );
        let (got, files) = run(150_000);
        assert!(files > 0, "{join_type}");
        assert!(got == expected, "{join_type}: {} vs {} rows", got.len(), expected.len());
    }
}
