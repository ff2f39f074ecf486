//! Binding an aggregate call: `f([DISTINCT] args [ORDER BY ...]) [FILTER (WHERE ...)]` and
//! the ordered-set form `percentile_cont(q) WITHIN GROUP (ORDER BY x)`. ORDER BY keys become
//! trailing arguments (see [`crate::logical::aggregate::AggOrder`]) for the aggregates whose
//! result depends on the order, and are dropped for the others.

use datafusion_common::tree_node::{Transformed, TreeNode};
use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments};

use super::query::sort_expr;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::aggregate::{AggFunc, AggOrder};
use crate::logical::expr::Expr;
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::typecheck::expr_type;

impl Binder<'_> {
    /// Binds `f` as an aggregate call when its name is an aggregate, `None` otherwise.
    pub(super) fn bind_aggregate_call(
        &self,
        name: &str,
        f: &ast::Function,
        args: &[&FunctionArg],
        distinct: bool,
        scope: &PlanSchema,
    ) -> Result<Option<Expr>> {
        let ordered_set = match name {
            "percentile_cont" => Some(AggFunc::QuantileCont),
            "percentile_disc" => Some(AggFunc::QuantileDisc),
            _ => None,
        };
        let Some(func) = ordered_set.or_else(|| AggFunc::from_name(name)) else {
            return Ok(None);
        };
        let is_star = |a: &FunctionArg| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Wildcard));
        let mut bound = if func == AggFunc::Count && args.len() == 1 && is_star(args[0]) {
            vec![]
        } else {
            self.bind_args(args, scope)?
        };
        let mut order: Vec<&ast::OrderByExpr> = Vec::new();
        if let FunctionArguments::List(list) = &f.args {
            for clause in &list.clauses {
                match clause {
                    FunctionArgumentClause::OrderBy(keys) => order.extend(keys),
                    other => return Err(Error::not_supported(format!("aggregate argument clause {other}"))),
                }
            }
        }
        if ordered_set.is_some() || mode_within_group(name, f) {
            // `percentile_cont(q) WITHIN GROUP (ORDER BY x)` is `quantile_cont(x, q)`.
            let [key] = f.within_group.as_slice() else {
                return Err(Error::plan(format!(
                    "{name} needs WITHIN GROUP (ORDER BY x) with one key"
                )));
            };
            if key.options.asc == Some(false) {
                return Err(Error::not_supported(format!("{name} WITHIN GROUP (ORDER BY ... DESC)")));
            }
            let x = self.bind_expr(&key.expr, scope)?;
            bound.insert(0, x);
        } else if !f.within_group.is_empty() {
            return Err(Error::not_supported(format!("WITHIN GROUP for {name}")));
        }
        if matches!(func, AggFunc::QuantileCont | AggFunc::QuantileDisc)
            && matches!(
                bound.get(1),
                Some(Expr::Literal(datafusion_common::ScalarValue::List(_)))
            )
        {
            return Err(Error::not_supported(format!("{name} with a list of quantiles")));
        }
        if func == AggFunc::StringAgg {
            if let Some(first) = bound.first_mut() {
                let t = expr_type(first, scope, self.opts)?;
                if !matches!(t, arrow::datatypes::DataType::Utf8 | arrow::datatypes::DataType::Null) {
                    *first = Expr::Cast {
                        expr: Box::new(first.clone()),
                        data_type: arrow::datatypes::DataType::Utf8,
                        try_cast: false,
                    };
                }
            }
        }
        let mut order_by = Vec::new();
        if func.is_order_sensitive() {
            for key in order {
                let s = sort_expr(self.bind_expr(&key.expr, scope)?, &key.options, self.opts);
                bound.push(s.expr);
                order_by.push(AggOrder {
                    asc: s.asc,
                    nulls_first: s.nulls_first,
                });
            }
        }
        let filter = match &f.filter {
            Some(e) => Some(Box::new(self.bind_expr(e, scope)?)),
            None => None,
        };
        self.lift_outer_aggregate(Expr::Aggregate {
            func,
            args: bound,
            distinct,
            filter,
            order_by,
        })
        .map(Some)
    }

    /// An aggregate in a subquery whose arguments read only columns of one enclosing query
    /// is computed by that query (as DuckDB does): it is registered there and read here as
    /// an outer column named like the aggregate.
    fn lift_outer_aggregate(&self, agg: Expr) -> Result<Expr> {
        if !agg.columns().is_empty() {
            return Ok(agg);
        }
        let mut depths = Vec::new();
        agg.apply(|n| {
            if let Expr::OuterColumn { depth, .. } = n {
                depths.push(*depth);
            }
            Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
        })?;
        let Some(&depth) = depths.first() else {
            return Ok(agg);
        };
        if depths.iter().any(|d| *d != depth) || depth > self.outer.len() || depth > self.outer_lifted.len() {
            return Ok(agg);
        }
        let scope = &self.outer[self.outer.len() - depth];
        let sink = &self.outer_lifted[self.outer_lifted.len() - depth];
        let lifted = agg
            .transform_up(|n| match n {
                Expr::OuterColumn { column, .. } => Ok(Transformed::yes(Expr::Column(column))),
                other => Ok(Transformed::no(other)),
            })?
            .data;
        let data_type = expr_type(&lifted, scope, self.opts)?;
        let name = lifted.output_name();
        let mut list = sink.borrow_mut();
        if !list.contains(&lifted) {
            list.push(lifted);
        }
        Ok(Expr::OuterColumn {
            column: ColumnRef::new(name),
            data_type,
            depth,
        })
    }
}

/// `mode() WITHIN GROUP (ORDER BY x)`.
fn mode_within_group(name: &str, f: &ast::Function) -> bool {
    name == "mode" && !f.within_group.is_empty()
}
