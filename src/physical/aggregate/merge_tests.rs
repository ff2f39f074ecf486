//! Partial/final equivalence of the mergeable aggregates: updating two accumulators with
//! halves of the rows and merging their states gives what one accumulator over all rows does.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};

use super::AggregateExpr;
use crate::logical::aggregate::AggFunc;
use crate::physical::expr::PhysicalExpr;

fn columns() -> (Schema, Vec<ArrayRef>) {
    let schema = Schema::new(vec![
        Field::new("y", DataType::Int64, true),
        Field::new("x", DataType::Float64, true),
        Field::new("b", DataType::Boolean, true),
    ]);
    let y: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(1),
        Some(4),
        None,
        Some(9),
        Some(2),
        Some(7),
        Some(3),
        Some(3),
    ]));
    let x: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(0.5),
        Some(2.0),
        Some(1.0),
        None,
        Some(1.5),
        Some(3.0),
        Some(-1.0),
        Some(0.25),
    ]));
    let b: ArrayRef = Arc::new(BooleanArray::from(vec![
        Some(true),
        Some(false),
        None,
        Some(true),
        Some(true),
        Some(true),
        Some(false),
        None,
    ]));
    (schema, vec![y, x, b])
}

fn run(func: AggFunc, args: &[usize]) {
    let (schema, cols) = columns();
    let exprs = args
        .iter()
        .map(|&i| PhysicalExpr::column(i, schema.field(i).name().clone()))
        .collect();
    let agg = AggregateExpr::try_new(func, exprs, &schema, "a").unwrap();
    let values: Vec<ArrayRef> = args.iter().map(|&i| Arc::clone(&cols[i])).collect();
    // Two groups: rows alternate between them.
    let groups: Vec<usize> = (0..8).map(|r| r % 2).collect();

    let mut whole = agg.create_accumulator().unwrap();
    whole.update_batch(&values, &groups, None, 2).unwrap();
    let expected = whole.evaluate().unwrap();

    let mut final_acc = agg.create_accumulator().unwrap();
    for (lo, hi) in [(0, 5), (5, 8)] {
        let mut partial = agg.create_accumulator().unwrap();
        let part: Vec<ArrayRef> = values.iter().map(|v| v.slice(lo, hi - lo)).collect();
        partial.update_batch(&part, &groups[lo..hi], None, 2).unwrap();
        let state = partial.state().unwrap();
        assert_eq!(state.len(), agg.state_fields().len(), "{func:?}");
        final_acc.merge_batch(&state, &[0, 1], 2).unwrap();
    }
    let merged = final_acc.evaluate().unwrap();
    assert_eq!(merged.len(), expected.len());
    let (m, e) = (
        arrow::compute::cast(&merged, &DataType::Float64).unwrap(),
        arrow::compute::cast(&expected, &DataType::Float64).unwrap(),
    );
    let (m, e) = (
        m.as_any().downcast_ref::<Float64Array>().unwrap(),
        e.as_any().downcast_ref::<Float64Array>().unwrap(),
    );
    for i in 0..m.len() {
        assert_eq!(m.is_null(i), e.is_null(i), "{func:?} group {i}");
        if !m.is_null(i) {
            let (a, b) = (m.value(i), e.value(i));
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0) || (a.is_nan() && b.is_nan()),
                "{func:?}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn statistics_merge_like_one_pass() {
    use AggFunc::*;
    for f in [StddevSamp, StddevPop, VarSamp, VarPop, Product] {
        run(f, &[0]);
    }
    for f in [
        Corr,
        CovarSamp,
        CovarPop,
        RegrSlope,
        RegrIntercept,
        RegrR2,
        RegrCount,
        RegrAvgx,
        RegrAvgy,
        RegrSxx,
        RegrSyy,
        RegrSxy,
        WeightedAvg,
    ] {
        run(f, &[0, 1]);
    }
}

#[test]
fn boolean_folds_merge_like_one_pass() {
    for f in [AggFunc::BoolAnd, AggFunc::BoolOr, AggFunc::CountIf] {
        run(f, &[2]);
    }
}
