//! Dictionary-encoded group keys: a partial aggregate grouping on plain string columns of a
//! Parquet scan (directly, or through projections that pass the columns on) asks the scan
//! to hand those columns on as the file's dictionaries. The reader then skips expanding
//! every row's string, and the group table packs each distinct value once per batch
//! (`group_table::packed`), where it would otherwise copy and pack every row's bytes.
//!
//! Only key columns that nothing else in the aggregate reads are handed on encoded: the
//! aggregate functions and their FILTER clauses, keys computed from the columns, and the
//! expressions of the projections in between (`length(k)` computed beside `k`), see the
//! columns as the plan types them.

use std::sync::Arc;

use crate::physical::aggregate::AggregateExpr;
use crate::physical::expr::PhysExprRef;
use crate::physical::ops::projection::ProjectionExec;
use crate::physical::ops::scan::ScanExec;
use crate::physical::plan::{ExecutionPlan, PlanRef};

/// `input` (the input of a partial aggregate with keys `groups` and calls `aggs`) with its
/// scan handing on the string key columns dictionary-encoded; `input` unchanged when it is
/// not a Parquet scan reached through column-passing projections.
pub fn with_dictionary_keys(input: PlanRef, groups: &[(PhysExprRef, String)], aggs: &[AggregateExpr]) -> PlanRef {
    // Columns read by the calls, or by keys computed from them (`concat_ws('-', s, 'a')`
    // beside `s`), stay strings.
    let computed_keys = groups.iter().map(|(e, _)| e).filter(|e| e.column_index().is_none());
    let read_by_calls: Vec<usize> = aggs
        .iter()
        .flat_map(|a| a.args.iter().chain(a.filter.as_ref()))
        .chain(computed_keys)
        .flat_map(|e| e.column_indices())
        .collect();
    let columns: Vec<usize> = groups
        .iter()
        .filter_map(|(e, _)| e.column_index())
        .filter(|c| !read_by_calls.contains(c))
        .collect();
    if columns.is_empty() {
        return input;
    }
    encode_columns(&input, &columns).unwrap_or(input)
}

/// `plan` rebuilt so that its output columns `columns` come dictionary-encoded from the scan
/// below, or `None` when something in between computes them.
fn encode_columns(plan: &PlanRef, columns: &[usize]) -> Option<PlanRef> {
    let any = plan.as_any();
    if let Some(scan) = any.downcast_ref::<ScanExec>() {
        return Some(Arc::new(scan.with_dictionary_output(columns)?));
    }
    let projection = any.downcast_ref::<ProjectionExec>()?;
    let exprs = projection.exprs();
    // An input column goes on encoded only when every expression reading it passes it to
    // one of `columns`: `length(k)` beside `k` needs the strings.
    let passed_to_keys_only = |below: usize| {
        exprs.iter().enumerate().all(|(i, e)| {
            !e.column_indices().contains(&below) || (e.column_index() == Some(below) && columns.contains(&i))
        })
    };
    let below: Vec<usize> = columns
        .iter()
        .filter_map(|&c| exprs.get(c).and_then(|e| e.column_index()))
        .filter(|&b| passed_to_keys_only(b))
        .collect();
    if below.is_empty() {
        return None;
    }
    let input = encode_columns(projection.input(), &below)?;
    Some(Arc::new(ProjectionExec::new(
        input,
        projection.exprs().to_vec(),
        projection.schema(),
    )))
}
