//! Subqueries in the ON condition of an outer, semi or anti join. The condition may read
//! both sides, so it is evaluated where subqueries already work, on an inner join: the
//! distinct rows of the preserved side are paired with the other side and filtered by the
//! condition (subqueries becoming joins as in WHERE). Those matching pairs are then joined
//! back to the preserved side on all its columns (NULLs matching), which keeps its
//! duplicates and NULL-extends its rows without a match.

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

impl Binder<'_> {
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
