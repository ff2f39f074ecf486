//! `SELECT DISTINCT ON (keys) ... ORDER BY ...`: one row per distinct key, the first by the
//! ORDER BY. Planned as a hash aggregate over the projected rows grouped by the keys, every
//! other column taken with `first(column ORDER BY <sort keys>)`, then re-projected into the
//! select-list order (so sorting and dropping hidden columns work as for any SELECT).

use std::sync::Arc;

use sqlparser::ast;

use super::query::sort_expr;
use super::Binder;
use crate::error::Result;
use crate::logical::aggregate::{AggFunc, AggOrder};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::LogicalPlan;

impl Binder<'_> {
    /// Keeps the first row of `plan` (the projection, hidden columns included) per distinct
    /// value of the columns `on`, ordered by `sort_keys` (column index and options).
    pub(super) fn plan_distinct_on(
        &self,
        plan: LogicalPlan,
        on: &[usize],
        sort_keys: &[(usize, &ast::OrderByOptions)],
    ) -> Result<LogicalPlan> {
        let schema = plan.schema();
        let column = |i: usize| Expr::Column(schema.column_ref(i));
        let groups: Vec<Expr> = on.iter().map(|&i| column(i)).collect();
        let order_by: Vec<AggOrder> = sort_keys
            .iter()
            .map(|(i, opts)| {
                let s = sort_expr(column(*i), opts, self.opts);
                AggOrder {
                    asc: s.asc,
                    nulls_first: s.nulls_first,
                }
            })
            .collect();
        let others: Vec<usize> = (0..schema.len()).filter(|i| !on.contains(i)).collect();
        let aggregates: Vec<Expr> = others
            .iter()
            .map(|&i| Expr::Aggregate {
                func: AggFunc::First,
                args: std::iter::once(column(i))
                    .chain(sort_keys.iter().map(|(k, _)| column(*k)))
                    .collect(),
                distinct: false,
                filter: None,
                order_by: order_by.clone(),
            })
            .collect();
        let agg = builder::aggregate(Arc::new(plan), groups, aggregates, self.opts)?;
        let agg_schema = agg.schema();
        let exprs = (0..schema.len())
            .map(|i| {
                let pos = match on.iter().position(|&k| k == i) {
                    Some(p) => p,
                    None => on.len() + others.iter().position(|&o| o == i).unwrap_or(0),
                };
                Expr::Column(agg_schema.column_ref(pos)).alias(schema.field(i).name().clone())
            })
            .collect();
        builder::project(Arc::new(agg), exprs, self.opts)
    }
}
