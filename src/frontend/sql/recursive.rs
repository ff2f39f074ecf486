//! Binding `WITH RECURSIVE name AS (static UNION [ALL] recursive)` into a
//! [`LogicalPlan::RecursiveQuery`]: the static term is bound first, then the recursive term
//! with `name` standing for a [`WorkTable`] of the static term's columns. A CTE of a
//! `WITH RECURSIVE` that does not refer to itself binds as an ordinary CTE.

use std::sync::Arc;

use datafusion_common::tree_node::{TreeNode, TreeNodeRecursion};
use sqlparser::ast::{self, SetExpr, SetOperator, SetQuantifier};

use super::query::bind_set_expr;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::{LogicalPlan, RecursiveQuery, WorkTable};
use crate::logical::typecheck::cast_if_needed;

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
    let Some(recursive_term) = bind_recursive_term(b, name, &static_term, right)? else {
        return Ok(None);
    };
    // As in DuckDB, the static term fixes the column types: the recursive term is cast to them.
    let (ss, rs) = (static_term.schema(), recursive_term.schema());
    if ss.len() != rs.len() {
        return Err(Error::plan(format!(
            "Set operations can only apply to expressions with the same number of result columns ({} vs {})",
            ss.len(),
            rs.len()
        )));
    }
    let exprs = (0..ss.len())
        .map(|i| {
            let col = Expr::Column(rs.column_ref(i));
            cast_if_needed(col, rs.field(i).data_type(), ss.field(i).data_type()).alias(ss.field(i).name())
        })
        .collect();
    let recursive_term = builder::project(Arc::new(recursive_term), exprs, b.opts)?;
    if types(&recursive_term) != types(&static_term) {
        return Err(Error::internal(format!("recursive CTE {name}: term types differ")));
    }
    let plan = LogicalPlan::RecursiveQuery(RecursiveQuery {
        name: name.to_string(),
        static_term: Arc::new(static_term),
        recursive_term: Arc::new(recursive_term),
        distinct,
    });
    Ok(Some(builder::alias(Arc::new(plan), name, cols)?))
}

fn types(p: &LogicalPlan) -> Vec<arrow::datatypes::DataType> {
    p.schema()
        .arrow()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

/// The recursive term bound with `name` as a work table shaped like `static_term`, or `None`
/// when it does not read it.
fn bind_recursive_term(
    b: &mut Binder,
    name: &str,
    static_term: &LogicalPlan,
    right: &SetExpr,
) -> Result<Option<LogicalPlan>> {
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
    Ok(reads_itself.then_some(recursive_term))
}
