//! Subqueries in the ON condition of an outer, semi or anti join. The condition may read
//! both sides, so it is evaluated where subqueries already work, on an inner join: the
//! distinct rows of the preserved side are paired with the other side and filtered by the
//! condition (subqueries becoming joins as in WHERE). Those matching pairs are then joined
//! back to the preserved side on all its columns (NULLs matching), which keeps its
//! duplicates and NULL-extends its rows without a match. A FULL join pairs the distinct
//! values of both sides and adds the right rows in no pair, NULL-extended.

use std::sync::Arc;

use super::flatten::null_safe_eq;
use super::from::split_join_condition;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::{ColumnRef, PlanSchema};

/// `a = b` for every column of `schema`, `a` read by `schema`'s names and `b` by the
/// names `other(i)`, NULLs matching.
fn all_columns_equal(schema: &PlanSchema, other: impl Fn(usize) -> String) -> Vec<Expr> {
    (0..schema.len())
        .flat_map(|i| {
            null_safe_eq(
                Expr::Column(schema.column_ref(i)),
                Expr::Column(ColumnRef::new(other(i))),
                schema.field(i).data_type(),
            )
        })
        .collect()
}

impl Binder<'_> {
    /// FULL JOIN with subqueries in ON: the distinct pairs of left and right values that
    /// match, joined to the right rows and left-joined from the left rows; then the right
    /// rows in no pair, NULL-extended.
    fn full_join_with_subqueries(&self, left: LogicalPlan, right: LogicalPlan, condition: Expr) -> Result<LogicalPlan> {
        let id = self.next_subquery_id();
        let (ls, rs) = (left.schema(), right.schema());
        let (nl, nr) = (ls.len(), rs.len());
        let pairs = self.filter_with_subqueries(
            builder::join(
                Arc::new(builder::distinct(Arc::new(left.clone()))),
                Arc::new(builder::distinct(Arc::new(right.clone()))),
                vec![],
                None,
                JoinType::Inner,
            ),
            condition,
        )?;
        let lname = |i: usize| format!("__oj{id}_l{i}");
        let rname = |i: usize| format!("__oj{id}_r{i}");
        let ps = pairs.schema();
        let exprs = (0..nl)
            .map(|i| Expr::Column(ps.column_ref(i)).alias(lname(i)))
            .chain((0..nr).map(|i| Expr::Column(ps.column_ref(nl + i)).alias(rname(i))))
            .collect();
        let pairs = Arc::new(builder::distinct(Arc::new(builder::project(
            Arc::new(pairs),
            exprs,
            self.opts,
        )?)));
        // Matching (left values, right row) combinations.
        let (on, filter) =
            split_join_condition(Expr::conjunction(all_columns_equal(&rs, rname)), &pairs.schema(), &rs)?;
        let matched = builder::join(Arc::clone(&pairs), Arc::new(right.clone()), on, filter, JoinType::Inner);
        let (on, filter) =
            split_join_condition(Expr::conjunction(all_columns_equal(&ls, lname)), &ls, &matched.schema())?;
        let from_left = builder::join(Arc::new(left), Arc::new(matched), on, filter, JoinType::Left);
        let fs = from_left.schema();
        let exprs = (0..nl)
            .chain(2 * nl + nr..2 * nl + 2 * nr)
            .map(|i| Expr::Column(fs.column_ref(i)))
            .collect();
        let from_left = builder::project(Arc::new(from_left), exprs, self.opts)?;
        // Right rows in no pair.
        let (on, filter) =
            split_join_condition(Expr::conjunction(all_columns_equal(&rs, rname)), &rs, &pairs.schema())?;
        let unmatched = builder::join(Arc::new(right), pairs, on, filter, JoinType::LeftAnti);
        let us = unmatched.schema();
        let exprs = (0..nl)
            .map(|i| Expr::Cast {
                expr: Box::new(Expr::Literal(datafusion_common::ScalarValue::Null)),
                data_type: ls.field(i).data_type().clone(),
                try_cast: false,
            })
            .chain((0..nr).map(|i| Expr::Column(us.column_ref(i))))
            .collect();
        let unmatched = builder::project(Arc::new(unmatched), exprs, self.opts)?;
        builder::union_all_qualified(vec![Arc::new(from_left), Arc::new(unmatched)])
    }

    /// `left <join_type> JOIN right ON condition` where `condition` contains subqueries.
    pub(super) fn outer_join_with_subqueries(
        &self,
        left: LogicalPlan,
        right: LogicalPlan,
        join_type: JoinType,
        condition: Expr,
    ) -> Result<LogicalPlan> {
        let keep_left = match join_type {
            JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => true,
            JoinType::Right => false,
            JoinType::Full => return self.full_join_with_subqueries(left, right, condition),
            other => {
                return Err(Error::not_supported(format!(
                    "subquery in the ON condition of a {other} join"
                )))
            }
        };
        let id = self.next_subquery_id();
        let (ls, rs) = (left.schema(), right.schema());
        let (kept, kept_schema) = if keep_left { (&left, &ls) } else { (&right, &rs) };
        let domain = Arc::new(builder::distinct(Arc::new(kept.clone())));
        let (l_in, r_in) = if keep_left {
            (Arc::clone(&domain), Arc::new(right.clone()))
        } else {
            (Arc::new(left.clone()), Arc::clone(&domain))
        };
        let pairs = self.filter_with_subqueries(builder::join(l_in, r_in, vec![], None, JoinType::Inner), condition)?;
        // The pairs with the preserved side's columns renamed apart.
        let ps = pairs.schema();
        let renamed = |i: usize| format!("__oj{id}_{i}");
        let offset = if keep_left { 0 } else { ls.len() };
        let mut exprs = Vec::new();
        for i in 0..ls.len() + rs.len() {
            let col = Expr::Column(ps.column_ref(i));
            let is_kept = i >= offset && i < offset + kept_schema.len();
            if is_kept {
                exprs.push(col.alias(renamed(i - offset)));
            } else if !matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
                exprs.push(col);
            }
        }
        let pairs = builder::project(Arc::new(pairs), exprs, self.opts)?;
        let pairs_schema = pairs.schema();
        let mut terms = Vec::new();
        for i in 0..kept_schema.len() {
            terms.extend(null_safe_eq(
                Expr::Column(kept_schema.column_ref(i)),
                Expr::Column(ColumnRef::new(renamed(i))),
                kept_schema.field(i).data_type(),
            ));
        }
        let (outer_plan, outer_schema, inner_schema): (LogicalPlan, &PlanSchema, &PlanSchema) =
            (kept.clone(), kept_schema, &pairs_schema);
        let (a, b, sa, sb) = if keep_left {
            (outer_plan, pairs, outer_schema, inner_schema)
        } else {
            (pairs, outer_plan, inner_schema, outer_schema)
        };
        let (on, filter) = split_join_condition(Expr::conjunction(terms), sa, sb)?;
        let joined = builder::join(Arc::new(a), Arc::new(b), on, filter, join_type);
        if matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
            return Ok(joined);
        }
        // Left columns, then right columns, without the renamed copies.
        let js = joined.schema();
        let exprs: Vec<Expr> = if keep_left {
            let k = ls.len();
            (0..k)
                .chain(2 * k..2 * k + rs.len())
                .map(|i| Expr::Column(js.column_ref(i)))
                .collect()
        } else {
            let k = rs.len();
            (0..ls.len())
                .chain(ls.len() + k..ls.len() + 2 * k)
                .map(|i| Expr::Column(js.column_ref(i)))
                .collect()
        };
        builder::project(Arc::new(joined), exprs, self.opts)
    }
}
