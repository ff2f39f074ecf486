//! Binding INTERSECT [ALL], EXCEPT [ALL] and UNION [ALL] BY NAME with DuckDB's semantics.
//!
//! INTERSECT and EXCEPT need no operator of their own. Both sides are tagged (`__l` set on
//! left rows, `__r` on right rows), put together with UNION ALL and grouped by every column,
//! which hash-partitions the rows and compares NULLs as equal, as set operations must. Each
//! group counts its left and right rows; then
//! * `INTERSECT`: groups with both counts above zero;
//! * `EXCEPT`: groups with left rows and no right rows;
//! * `INTERSECT ALL`: each group repeated min(left, right) times ([`builder::replicate`]);
//! * `EXCEPT ALL`: each group repeated left − right times (none when that is not positive).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;

use super::Binder;
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::plan::LogicalPlan;
use crate::logical::typecheck::{cast_if_needed, TypeOptions};

/// Which set operation, on top of the tagged union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    /// `INTERSECT [ALL]`.
    Intersect,
    /// `EXCEPT [ALL]`.
    Except,
}

/// Internal name of the i-th data column inside the plan.
fn slot(i: usize) -> String {
    format!("__set{i}")
}

/// `side` with its columns renamed to slots and a tag column each for left and right rows.
fn tagged(opts: TypeOptions, side: Arc<LogicalPlan>, is_left: bool) -> Result<LogicalPlan> {
    let schema = side.schema();
    let tag = |on: bool| Expr::lit(ScalarValue::Int32(on.then_some(1)));
    let mut exprs: Vec<Expr> = (0..schema.len())
        .map(|i| Expr::Column(schema.column_ref(i)).alias(slot(i)))
        .collect();
    exprs.push(tag(is_left).alias("__l"));
    exprs.push(tag(!is_left).alias("__r"));
    builder::project(side, exprs, opts)
}

/// `left INTERSECT/EXCEPT [ALL] right`; both sides already have the same column types.
pub(crate) fn intersect_except(
    opts: TypeOptions,
    left: Arc<LogicalPlan>,
    right: Arc<LogicalPlan>,
    op: SetOp,
    all: bool,
) -> Result<LogicalPlan> {
    let out_schema = left.schema();
    let width = out_schema.len();
    let union = builder::union_all(vec![
        Arc::new(tagged(opts, left, true)?),
        Arc::new(tagged(opts, right, false)?),
    ])?;
    let count = |tag: &str| Expr::Aggregate {
        func: AggFunc::Count,
        args: vec![Expr::col(tag)],
        distinct: false,
        filter: None,
        order_by: vec![],
    };
    let groups: Vec<Expr> = (0..width).map(|i| Expr::col(slot(i))).collect();
    let counted = builder::aggregate(Arc::new(union), groups, vec![count("__l"), count("__r")], opts)?;
    let zero = || Expr::lit(ScalarValue::Int64(Some(0)));
    let counts = counted.schema();
    let (nl, nr) = (
        Expr::Column(counts.column_ref(width)),
        Expr::Column(counts.column_ref(width + 1)),
    );
    let kept = if all {
        let copies = match op {
            SetOp::Intersect => Expr::Case {
                operand: None,
                when_then: vec![(nl.clone().binary(BinaryOp::Lt, nr.clone()), nl.clone())],
                else_expr: Some(Box::new(nr)),
            },
            SetOp::Except => nl.binary(BinaryOp::Minus, nr),
        };
        builder::replicate(Arc::new(counted), copies)
    } else {
        let right_test = match op {
            SetOp::Intersect => BinaryOp::Gt,
            SetOp::Except => BinaryOp::Eq,
        };
        let predicate = nl.binary(BinaryOp::Gt, zero()).and(nr.binary(right_test, zero()));
        builder::filter(Arc::new(counted), predicate, opts)?
    };
    let exprs = (0..width)
        .map(|i| Expr::col(slot(i)).alias(out_schema.field(i).name()))
        .collect();
    builder::project(Arc::new(kept), exprs, opts)
}

/// `left UNION [ALL] BY NAME right`: the columns of `left`, then those only in `right`, matched
/// by case-insensitive name; a side without a column gives NULLs. Returns both sides
/// reordered and padded to the same names (types are unified by the caller's UNION).
pub(super) fn align_by_name(b: &Binder, left: LogicalPlan, right: LogicalPlan) -> Result<(LogicalPlan, LogicalPlan)> {
    let (ls, rs) = (left.schema(), right.schema());
    let mut names: Vec<String> = Vec::new();
    for (_, f) in ls.iter().chain(rs.iter()) {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(f.name())) {
            names.push(f.name().clone());
        }
    }
    // The type of each name on whichever side has it, for the other side's NULLs.
    let type_of = |name: &str| -> DataType {
        ls.iter()
            .chain(rs.iter())
            .find(|(_, f)| f.name().eq_ignore_ascii_case(name))
            .map(|(_, f)| f.data_type().clone())
            .unwrap_or(DataType::Int32)
    };
    let side = |plan: LogicalPlan| -> Result<LogicalPlan> {
        let schema = plan.schema();
        let exprs = names
            .iter()
            .map(|name| {
                let found: Vec<usize> = (0..schema.len())
                    .filter(|&i| schema.field(i).name().eq_ignore_ascii_case(name))
                    .collect();
                match found[..] {
                    [] => Ok(cast_if_needed(Expr::lit(ScalarValue::Null), &DataType::Null, &type_of(name)).alias(name)),
                    [i] => Ok(Expr::Column(schema.column_ref(i)).alias(name)),
                    _ => Err(Error::plan(format!(
                        "UNION BY NAME: column \"{name}\" appears more than once on one side"
                    ))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        builder::project(Arc::new(plan), exprs, b.opts)
    };
    Ok((side(left)?, side(right)?))
}

/// `ORDER BY name` after a set operation where `name` is not an output column but a column
/// of one of the branches (DuckDB binds it there: `SELECT a FROM t UNION SELECT b FROM u
/// ORDER BY b`): the position of the output column it feeds, searching branches left to
/// right.
pub(super) fn branch_column_position(plan: &LogicalPlan, column: &crate::logical::ColumnRef) -> Option<usize> {
    match plan {
        LogicalPlan::Union(u) => u.inputs.iter().find_map(|input| {
            let schema = input.schema();
            match schema.find(column).ok().flatten() {
                Some(i) => Some(i),
                None => branch_column_position(input, column),
            }
        }),
        LogicalPlan::Distinct(d) => branch_column_position(&d.input, column),
        LogicalPlan::Sort(s) => branch_column_position(&s.input, column),
        LogicalPlan::Limit(l) => branch_column_position(&l.input, column),
        LogicalPlan::SubqueryAlias(a) => branch_column_position(&a.input, column),
        LogicalPlan::Projection(p) => {
            let input_schema = p.input.schema();
            let k = match input_schema.find(column).ok().flatten() {
                Some(k) => k,
                None => branch_column_position(&p.input, column)?,
            };
            let wanted = input_schema.column_ref(k);
            p.exprs.iter().position(|e| {
                let mut e = e.clone().unalias();
                while let Expr::Cast { expr, .. } = e {
                    e = *expr;
                }
                matches!(&e, Expr::Column(c) if input_schema.find(c).ok().flatten() == input_schema.find(&wanted).ok().flatten())
            })
        }
        _ => None,
    }
}
