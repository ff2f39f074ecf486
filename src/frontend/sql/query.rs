//! Binding whole queries: WITH (CTEs), set operations, VALUES, ORDER BY / LIMIT / OFFSET
//! around a query body. SELECT blocks themselves are bound in `select.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::DataType;
use sqlparser::ast::{self, LimitClause, OrderByKind, SetExpr, SetOperator, SetQuantifier};

use super::expr::ident_name;
use super::order_terms;
use super::setops;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::{LogicalPlan, SortExpr};
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::{coerce, expr_type, TypeOptions};
use crate::logical::types::supertype;

/// Binds a query with its CTEs in scope.
pub(super) fn bind_query(b: &mut Binder, q: &ast::Query) -> Result<LogicalPlan> {
    let has_ctes = q.with.is_some();
    if let Some(with) = &q.with {
        b.ctes.push(HashMap::new());
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            if b.ctes
                .last()
                .is_some_and(|scope| scope.contains_key(&name.to_lowercase()))
            {
                b.ctes.pop();
                return Err(Error::plan(format!("Duplicate CTE name \"{name}\"")));
            }
            let cols: Vec<String> = cte.alias.columns.iter().map(|c| ident_name(&c.name)).collect();
            let recursive = if with.recursive {
                super::recursive::bind_recursive_cte(b, &name, &cols, &cte.query)
            } else {
                Ok(None)
            };
            let bound = recursive.and_then(|r| match r {
                Some(plan) => Ok(plan),
                None => bind_query(b, &cte.query).and_then(|plan| builder::alias(Arc::new(plan), &name, &cols)),
            });
            match bound {
                Ok(plan) => {
                    if let Some(scope) = b.ctes.last_mut() {
                        scope.insert(name.to_lowercase(), Arc::new(plan));
                    }
                }
                Err(e) => {
                    b.ctes.pop();
                    return Err(e);
                }
            }
        }
    }
    let result = bind_query_body(b, q);
    if has_ctes {
        b.ctes.pop();
    }
    result
}

fn order_items(q: &ast::Query) -> Vec<ast::OrderByExpr> {
    match &q.order_by {
        Some(ob) => match &ob.kind {
            OrderByKind::Expressions(items) => items.clone(),
            OrderByKind::All(_) => vec![],
        },
        None => vec![],
    }
}

fn bind_query_body(b: &mut Binder, q: &ast::Query) -> Result<LogicalPlan> {
    let order_by = order_items(q);
    let plan = match q.body.as_ref() {
        SetExpr::Select(select) => b.bind_select(select, &order_by)?,
        body => {
            let plan = bind_set_expr(b, body)?;
            if order_by.is_empty() {
                plan
            } else {
                let schema = plan.schema();
                let exprs = order_by
                    .iter()
                    .filter(|o| !(b.opts.order_by_literals && order_terms::is_non_integer_literal(&o.expr)))
                    .map(|o| {
                        order_terms::check_constant_term(&o.expr, "ORDER BY", schema.len())?;
                        let branch_column = order_by_column(&o.expr)
                            .and_then(|c| super::setops::branch_column_position(&plan, &c))
                            .map(|i| Expr::Column(schema.column_ref(i)));
                        let expr = match output_reference(&o.expr, &schema)?.or(branch_column) {
                            Some(e) => e,
                            None => match &o.expr {
                                // `ORDER BY t.x` after a set operation: the output column x.
                                ast::Expr::CompoundIdentifier(parts) => match parts.last() {
                                    Some(last) => {
                                        match output_reference(&ast::Expr::Identifier(last.clone()), &schema)? {
                                            Some(e) => e,
                                            None => b.bind_expr(&o.expr, &schema)?,
                                        }
                                    }
                                    None => b.bind_expr(&o.expr, &schema)?,
                                },
                                // An expression of the SELECTs' lists: its output column.
                                e => match order_terms::set_operation_position(body, e) {
                                    Some(i) => Expr::Column(schema.column_ref(i)),
                                    None => match b.bind_expr(e, &schema)? {
                                        column @ Expr::Column(_) => column,
                                        _ => return Err(order_terms::not_an_output(e)),
                                    },
                                },
                            },
                        };
                        Ok(sort_expr(coerce(expr, &schema, b.opts)?, &o.options, b.opts))
                    })
                    .collect::<Result<Vec<_>>>()?;
                builder::sort(Arc::new(plan), exprs, None)
            }
        }
    };
    // ORDER BY ALL: every output column, left to right.
    let plan = match q.order_by.as_ref().map(|o| &o.kind) {
        Some(OrderByKind::All(options)) => {
            let schema = plan.schema();
            let keys = (0..schema.len())
                .map(|i| sort_expr(Expr::Column(schema.column_ref(i)), options, b.opts))
                .collect();
            builder::sort(Arc::new(plan), keys, None)
        }
        _ => plan,
    };
    let (skip, fetch) = limit_offset(b, q.limit_clause.as_ref())?;
    if skip == 0 && fetch.is_none() {
        Ok(plan)
    } else {
        Ok(builder::limit(Arc::new(plan), skip, fetch))
    }
}

/// The column an ORDER BY term names, when it is a plain (possibly qualified) column name.
fn order_by_column(e: &ast::Expr) -> Option<crate::logical::ColumnRef> {
    match e {
        ast::Expr::Identifier(ident) => Some(crate::logical::ColumnRef::new(ident_name(ident))),
        ast::Expr::CompoundIdentifier(parts) if parts.len() == 2 => Some(crate::logical::ColumnRef::qualified(
            ident_name(&parts[0]),
            ident_name(&parts[1]),
        )),
        _ => None,
    }
}

/// DuckDB's defaults: ascending, NULLs last.
pub(super) fn sort_expr(expr: Expr, options: &ast::OrderByOptions, opts: TypeOptions) -> SortExpr {
    let asc = options.asc.unwrap_or(true);
    SortExpr {
        expr,
        asc,
        nulls_first: options.nulls_first.unwrap_or(opts.nulls_first),
    }
}

/// `ORDER BY 2` or `ORDER BY name` referring to an output column of `schema`.
pub(super) fn output_reference(e: &ast::Expr, schema: &PlanSchema) -> Result<Option<Expr>> {
    match e {
        ast::Expr::Value(v) => {
            if let ast::Value::Number(n, _) = &v.value {
                let pos: usize = n
                    .to_string()
                    .parse()
                    .map_err(|_| Error::plan(format!("ORDER term out of range: {n}")))?;
                if pos == 0 || pos > schema.len() {
                    return Err(Error::plan(format!(
                        "ORDER term out of range - should be between 1 and {}",
                        schema.len()
                    )));
                }
                return Ok(Some(Expr::Column(schema.column_ref(pos - 1))));
            }
            Ok(None)
        }
        ast::Expr::Identifier(ident) => {
            let c = crate::logical::ColumnRef::new(ident_name(ident));
            Ok(schema
                .find(&c)
                .ok()
                .flatten()
                .map(|i| Expr::Column(schema.column_ref(i))))
        }
        _ => Ok(None),
    }
}

fn constant_usize(b: &Binder, e: &ast::Expr, what: &str) -> Result<usize> {
    if super::limit::is_unresolved(e) {
        // Only a view keeps these: its LIMIT is bound where no query can run first.
        return Err(Error::not_supported(format!(
            "{what} with a subquery or a percentage in a view"
        )));
    }
    let empty = PlanSchema::empty();
    let bound = b.bind_expr(e, &empty)?;
    match bound {
        Expr::Literal(v) => match v {
            datafusion_common::ScalarValue::Int32(Some(n)) if n >= 0 => Ok(n as usize),
            datafusion_common::ScalarValue::Int64(Some(n)) if n >= 0 => Ok(n as usize),
            datafusion_common::ScalarValue::Null => Ok(usize::MAX),
            other => Err(Error::plan(format!(
                "{what} must be a non-negative integer, not {other}"
            ))),
        },
        other => Err(Error::plan(format!("{what} must be a constant, not {other}"))),
    }
}

fn limit_offset(b: &Binder, clause: Option<&LimitClause>) -> Result<(usize, Option<usize>)> {
    match clause {
        None => Ok((0, None)),
        Some(LimitClause::LimitOffset { limit, offset, .. }) => {
            let fetch = match limit {
                Some(e) => Some(constant_usize(b, e, "LIMIT")?).filter(|n| *n != usize::MAX),
                None => None,
            };
            // OFFSET NULL skips nothing.
            let skip = match offset {
                Some(o) => Some(constant_usize(b, &o.value, "OFFSET")?).filter(|n| *n != usize::MAX),
                None => None,
            }
            .unwrap_or(0);
            Ok((skip, fetch))
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => Ok((
            constant_usize(b, offset, "OFFSET")?,
            Some(constant_usize(b, limit, "LIMIT")?),
        )),
    }
}

pub(super) fn bind_set_expr(b: &mut Binder, e: &SetExpr) -> Result<LogicalPlan> {
    match e {
        SetExpr::Select(s) => b.bind_select(s, &[]),
        SetExpr::Query(q) => bind_query(b, q),
        SetExpr::Values(v) => bind_values(b, v),
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            let l = bind_set_expr(b, left)?;
            let r = bind_set_expr(b, right)?;
            let all = match set_quantifier {
                SetQuantifier::All | SetQuantifier::AllByName => true,
                SetQuantifier::Distinct
                | SetQuantifier::None
                | SetQuantifier::DistinctByName
                | SetQuantifier::ByName => false,
            };
            let by_name = matches!(
                set_quantifier,
                SetQuantifier::ByName | SetQuantifier::AllByName | SetQuantifier::DistinctByName
            );
            let (l, r) = if by_name {
                if *op != SetOperator::Union {
                    return Err(Error::not_supported(format!("{op} BY NAME")));
                }
                setops::align_by_name(b, l, r)?
            } else {
                (l, r)
            };
            let setop = match op {
                SetOperator::Union => {
                    let u = union(b, l, r)?;
                    return Ok(if all { u } else { builder::distinct(Arc::new(u)) });
                }
                SetOperator::Intersect => setops::SetOp::Intersect,
                SetOperator::Except | SetOperator::Minus => setops::SetOp::Except,
            };
            let LogicalPlan::Union(u) = union(b, l, r)? else {
                return Err(Error::internal("set operation inputs are not a union"));
            };
            let mut inputs = u.inputs.into_iter();
            match (inputs.next(), inputs.next()) {
                (Some(l), Some(r)) => setops::intersect_except(b.opts, l, r, setop, all),
                _ => Err(Error::internal("set operation without two inputs")),
            }
        }
        other => Err(Error::not_supported(format!("{other}"))),
    }
}

/// UNION ALL with both sides cast to common column types.
pub(super) fn union(b: &Binder, left: LogicalPlan, right: LogicalPlan) -> Result<LogicalPlan> {
    let (ls, rs) = (left.schema(), right.schema());
    if ls.len() != rs.len() {
        return Err(Error::plan(format!(
            "Set operations can only apply to expressions with the same number of result columns ({} vs {})",
            ls.len(),
            rs.len()
        )));
    }
    let mut types = Vec::with_capacity(ls.len());
    for i in 0..ls.len() {
        let (lt, rt) = (ls.field(i).data_type(), rs.field(i).data_type());
        types.push(union_type(lt, rt));
    }
    let cast_side = |plan: LogicalPlan| -> Result<Arc<LogicalPlan>> {
        let schema = plan.schema();
        if (0..schema.len()).all(|i| schema.field(i).data_type() == &types[i]) {
            return Ok(Arc::new(plan));
        }
        let exprs = (0..schema.len())
            .map(|i| {
                let col = Expr::Column(schema.column_ref(i));
                crate::logical::typecheck::cast_if_needed(col, schema.field(i).data_type(), &types[i])
                    .alias(schema.field(i).name())
            })
            .collect();
        Ok(Arc::new(builder::project(Arc::new(plan), exprs, b.opts)?))
    };
    builder::union_all(vec![cast_side(left)?, cast_side(right)?])
}

/// The column type of a set operation over columns of types `l` and `r`: as DuckDB does, a
/// string on either side makes the column VARCHAR; otherwise the common comparison type.
fn union_type(l: &DataType, r: &DataType) -> DataType {
    let is_string = |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    if (is_string(l) || is_string(r)) && !matches!(l, DataType::Null) && !matches!(r, DataType::Null) {
        return DataType::Utf8;
    }
    supertype(l, r).unwrap_or(DataType::Utf8)
}

fn bind_values(b: &Binder, v: &ast::Values) -> Result<LogicalPlan> {
    let empty = PlanSchema::empty();
    let rows: Vec<Vec<Expr>> = v
        .rows
        .iter()
        .map(|row| {
            row.content
                .iter()
                .map(|e| coerce(b.bind_expr(e, &empty)?, &empty, b.opts))
                .collect()
        })
        .collect::<Result<_>>()?;
    let width = rows.first().map(|r| r.len()).unwrap_or(0);
    if rows.iter().any(|r| r.len() != width) {
        return Err(Error::plan("VALUES lists must all be the same length"));
    }
    if rows.iter().flatten().any(super::subquery::contains_subquery) {
        return values_with_subqueries(b, rows);
    }
    let mut types = vec![DataType::Null; width];
    for row in &rows {
        for (i, e) in row.iter().enumerate() {
            let t = expr_type(e, &empty, b.opts)?;
            types[i] = supertype(&types[i], &t).ok_or_else(|| {
                Error::plan(format!(
                    "Cannot mix values of type {} and {} in VALUES column {}",
                    crate::logical::types::sql_type_name(&types[i]),
                    crate::logical::types::sql_type_name(&t),
                    i + 1
                ))
            })?;
        }
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let t = expr_type(&e, &empty, b.opts)?;
                    Ok(crate::logical::typecheck::cast_if_needed(e, &t, &types[i]))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = (0..width).map(|i| format!("col{i}")).collect();
    if rows.iter().flatten().any(super::subquery::contains_subquery) {
        // Rows with subqueries: each row a projection over one row, the subqueries joined in.
        let plans = rows
            .into_iter()
            .map(|row| {
                let mut plan = builder::one_row();
                let mut exprs = Vec::with_capacity(width);
                for (e, name) in row.into_iter().zip(&names) {
                    let (p, value) = b.attach_subqueries(plan, e)?;
                    exprs.push(coerce(value, &p.schema(), b.opts)?.alias(name.clone()));
                    plan = p;
                }
                builder::project(std::sync::Arc::new(plan), exprs, b.opts).map(std::sync::Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        return builder::union_all(plans);
    }
    Ok(builder::values(rows, names, types))
}

/// VALUES rows with subqueries: each row a projection over one row with its subqueries
/// joined in, the rows put together with UNION ALL.
fn values_with_subqueries(b: &Binder, rows: Vec<Vec<Expr>>) -> Result<LogicalPlan> {
    let mut plans = Vec::with_capacity(rows.len());
    for row in rows {
        let mut plan = builder::one_row();
        let mut exprs = Vec::with_capacity(row.len());
        for (i, e) in row.into_iter().enumerate() {
            let (p, e) = b.attach_subqueries(plan, e)?;
            exprs.push(coerce(e, &p.schema(), b.opts)?.alias(format!("col{i}")));
            plan = p;
        }
        plans.push(builder::project(Arc::new(plan), exprs, b.opts)?);
    }
    let mut plans = plans.into_iter();
    let first = plans.next().ok_or_else(|| Error::internal("VALUES without rows"))?;
    plans.try_fold(first, |acc, p| union(b, acc, p))
}
