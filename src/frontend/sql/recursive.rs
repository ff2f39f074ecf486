//! Binding `WITH RECURSIVE name AS (static UNION [ALL] recursive)` into a
//! [`LogicalPlan::RecursiveQuery`]: the static term is bound first, then the recursive term
//! with `name` standing for a [`WorkTable`] of the static term's columns. A CTE of a
//! `WITH RECURSIVE` that does not refer to itself binds as an ordinary CTE.

use std::sync::Arc;

use datafusion_common::tree_node::{TreeNode, TreeNodeRecursion};
use sqlparser::ast::{self, SetExpr, SetOperator, SetQuantifier};

use super::query::{bind_set_expr, union};
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::plan::{LogicalPlan, RecursiveQuery, WorkTable};

/// The plan of a recursive CTE, or `None` when the CTE is not one (no UNION at the top, or
/// no reference to itself in the UNION's right side).
pub(super) fn bind_recursive_cte(
    b: &mut Binder,
    name: &str,
    cols: &[String],
    query: &ast::Query,
) -> Result<Option<LogicalPlan>> {
    let SetExpr::SetOperation {
        op: SetOperator::Union,
        left,
        right,
        set_quantifier,
    } = query.body.as_ref()
    else {
        return Ok(None);
    };
    if query.order_by.is_some() || query.limit_clause.is_some() || query.with.is_some() {
        return Ok(None);
    }
    let distinct = match set_quantifier {
        SetQuantifier::All => false,
        SetQuantifier::Distinct | SetQuantifier::None => true,
        other => return Err(Error::not_supported(format!("recursive CTE with UNION {other}"))),
    };
    let static_term = builder::alias(Arc::new(bind_set_expr(b, left)?), name, cols)?;
    let work = LogicalPlan::WorkTable(WorkTable {
        name: name.to_string(),
        schema: static_term.schema(),
    });
    if let Some(scope) = b.ctes.last_mut() {
        scope.insert(name.to_lowercase(), Arc::new(work));
    }
    let recursive_term = bind_set_expr(b, right);
    if let Some(scope) = b.ctes.last_mut() {
        scope.remove(&name.to_lowercase());
    }
    let recursive_term = recursive_term?;
    let mut reads_itself = false;
    recursive_term.apply(|node| {
        if matches!(node, LogicalPlan::WorkTable(w) if w.name.eq_ignore_ascii_case(name)) {
            reads_itself = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if !reads_itself {
        return Ok(None);
    }
    // Cast the recursive term to the static term's column types (its rounds' rows are
    // stored under the static term's names).
    let static_schema = static_term.schema();
    let LogicalPlan::Union(u) = union(b, static_term, recursive_term)? else {
        return Err(Error::internal("recursive CTE terms are not a union"));
    };
    let mut terms = u.inputs.into_iter();
    let (Some(static_term), Some(recursive_term)) = (terms.next(), terms.next()) else {
        return Err(Error::internal("recursive CTE without two terms"));
    };
    let types = |p: &LogicalPlan| -> Vec<arrow::datatypes::DataType> {
        p.schema()
            .arrow()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect()
    };
    if types(&static_term)
        != static_schema
            .arrow()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect::<Vec<_>>()
    {
        return Err(Error::not_supported(format!(
            "recursive CTE {name} whose recursive term widens the static term's column types"
        )));
    }
    let plan = LogicalPlan::RecursiveQuery(RecursiveQuery {
        name: name.to_string(),
        static_term,
        recursive_term,
        distinct,
    });
    Ok(Some(builder::alias(Arc::new(plan), name, cols)?))
}
