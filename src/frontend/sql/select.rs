//! Binding one SELECT block: FROM → WHERE → GROUP BY/aggregates → HAVING → select list →
//! DISTINCT → ORDER BY (by alias, position or expression, with hidden sort columns when
//! needed).

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use sqlparser::ast::{self, GroupByExpr, SelectItem, SelectItemQualifiedWildcardKind};

use super::expr::ident_name;
use super::grouping_sets::{is_grouping_call, GroupBy};
use super::having_alias::substitute_aliases;
use super::query::{output_reference, sort_expr};
use super::subquery::contains_subquery;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::{LogicalPlan, SortExpr};
use crate::logical::schema::{ColumnRef, PlanSchema};
use crate::logical::typecheck::coerce;

impl Binder<'_> {
    /// Binds a SELECT block with the ORDER BY of its query.
    pub(super) fn bind_select(&mut self, select: &ast::Select, order_by: &[ast::OrderByExpr]) -> Result<LogicalPlan> {
        let from = self.bind_from(&select.from)?;
        self.bind_select_over(from, select, order_by)
    }

    /// Binds a SELECT block over `from`, the already-bound FROM clause (`select.from` is not
    /// read): the DSL's verbs use this with the frame they apply to.
    pub(super) fn bind_select_over(
        &mut self,
        from: LogicalPlan,
        select: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<LogicalPlan> {
        let mut inlined = None;
        if !select.named_window.is_empty() {
            let mut sel = select.clone();
            let mut order = order_by.to_vec();
            super::window::inline_named_windows(&mut sel, &mut order)?;
            inlined = Some((sel, order));
        }
        let (select, order_by) = match &inlined {
            Some((sel, order)) => (sel, order.as_slice()),
            None => (select, order_by),
        };
        let mut plan = from;
        let from_schema = plan.schema();

        if let Some(w) = &select.selection {
            let w = super::having_alias::substitute_where_aliases(w, select, &from_schema);
            let predicate = self.bind_expr(&w, &from_schema)?;
            if predicate.contains_aggregate() {
                return Err(Error::plan("WHERE clause cannot contain aggregates!"));
            }
            if predicate.contains_window() {
                return Err(Error::plan("WHERE clause cannot contain window functions!"));
            }
            let predicate = coerce(predicate, &from_schema, self.opts)?;
            plan = if contains_subquery(&predicate) {
                self.filter_with_subqueries(plan, predicate)?
            } else {
                builder::filter(Arc::new(plan), predicate, self.opts)?
            };
        }

        // The select list over the FROM scope.
        let mut items: Vec<Expr> = Vec::new();
        // `FROM t` alone (FROM-first without SELECT) selects every column.
        let star = [SelectItem::Wildcard(Default::default())];
        let projection: &[SelectItem] =
            if select.projection.is_empty() && matches!(select.flavor, ast::SelectFlavor::FromFirstNoSelect) {
                &star
            } else {
                &select.projection
            };
        // An item may use the alias of an earlier item that is not a FROM column
        // (`SELECT 1 AS a, a * 2`).
        let bind_item = |e: &ast::Expr, position: usize| {
            self.bind_expr(e, &from_schema).or_else(|err| {
                let mut earlier = select.clone();
                earlier.projection.truncate(position);
                // Aliases of aliases: substitute until nothing changes (at most once per item).
                let mut substituted = e.clone();
                for _ in 0..position {
                    let next = super::having_alias::substitute_where_aliases(&substituted, &earlier, &from_schema);
                    if next == substituted {
                        break;
                    }
                    substituted = next;
                }
                if substituted == *e {
                    return Err(err);
                }
                self.bind_expr(&substituted, &from_schema)
            })
        };
        self.select_aliases.borrow_mut().clear();
        for (position, item) in projection.iter().enumerate() {
            match item {
                SelectItem::UnnamedExpr(e) => match super::prefix_alias::json_colon_alias(e) {
                    // `SELECT j : i FROM t` (parsed as a JSON path): the prefix alias j.
                    Some((alias, column)) => items.push(self.bind_expr(&column, &from_schema)?.alias(alias)),
                    None => items.push(bind_item(e, position)?),
                },
                SelectItem::ExprWithAlias { expr, alias } => {
                    let bound = bind_item(expr, position)?;
                    if !super::subquery::contains_subquery(&bound) && !bound.contains_aggregate() {
                        let named = coerce(bound.clone(), &from_schema, self.opts)?;
                        self.select_aliases.borrow_mut().push((ident_name(alias), named));
                    }
                    items.push(bound.alias(ident_name(alias)))
                }
                SelectItem::Wildcard(options) => {
                    if from_schema.is_empty() {
                        return Err(Error::plan("SELECT * with no tables specified is not valid"));
                    }
                    items.extend(self.expand_star(options, &from_schema, (0..from_schema.len()).collect())?);
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), options) => {
                    let q = name.to_string();
                    let cols: Vec<usize> = (0..from_schema.len())
                        .filter(|&i| from_schema.qualifier(i).is_some_and(|fq| fq.eq_ignore_ascii_case(&q)))
                        .collect();
                    if cols.is_empty() {
                        return Err(Error::plan(format!("Referenced table \"{q}\" not found!")));
                    }
                    items.extend(self.expand_star(options, &from_schema, cols)?);
                }
                other => return Err(Error::not_supported(format!("select item {other}"))),
            }
        }

        // GROUP BY keys: expressions, positions (`GROUP BY 1`) or select-list aliases.
        let GroupBy {
            keys: group_exprs,
            sets: grouping_sets,
        } = match &select.group_by {
            GroupByExpr::Expressions(exprs, modifiers) => self.bind_group_by(exprs, modifiers, &items, &from_schema)?,
            GroupByExpr::All(modifiers) => {
                if !modifiers.is_empty() {
                    return Err(Error::not_supported("GROUP BY ALL with modifiers"));
                }
                GroupBy {
                    keys: group_by_all_keys(&items)?,
                    sets: None,
                }
            }
        };

        let having = match &select.having {
            Some(h) => Some(self.bind_expr(&substitute_aliases(h, select, &from_schema), &from_schema)?),
            None => None,
        };
        if having.as_ref().is_some_and(Expr::contains_window) {
            return Err(Error::plan("HAVING clause cannot contain window functions!"));
        }
        let qualify = match &select.qualify {
            Some(q) => Some(self.bind_expr(
                &super::window::inline_select_aliases(q, select, &from_schema),
                &from_schema,
            )?),
            None => None,
        };

        // ORDER BY terms: an output reference (position or alias) or an expression over FROM.
        let mut order_terms: Vec<(OrderTarget, &ast::OrderByOptions)> = Vec::new();
        let item_names: Vec<String> = items.iter().map(|e| e.output_name()).collect();
        for o in order_by {
            if self.opts.order_by_literals && super::order_terms::is_non_integer_literal(&o.expr) {
                continue; // a constant orders nothing
            }
            super::order_terms::check_constant_term(&o.expr, "ORDER BY", items.len())?;
            let target = match &o.expr {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(_, _)) => {
                    let pos: usize = v
                        .value
                        .to_string()
                        .parse()
                        .map_err(|_| Error::plan("ORDER BY position must be an integer"))?;
                    if pos == 0 || pos > items.len() {
                        return Err(Error::plan(format!(
                            "ORDER term out of range - should be between 1 and {}",
                            items.len()
                        )));
                    }
                    OrderTarget::Output(pos - 1)
                }
                ast::Expr::Identifier(ident)
                    if from_schema
                        .find(&ColumnRef::new(ident_name(ident)))
                        .ok()
                        .flatten()
                        .is_none()
                        || items.iter().any(
                            |e| matches!(e, Expr::Alias { name, .. } if name.eq_ignore_ascii_case(&ident.value)),
                        ) =>
                {
                    match item_names.iter().position(|n| n.eq_ignore_ascii_case(&ident.value)) {
                        Some(i) => OrderTarget::Output(i),
                        None => OrderTarget::Expr(self.bind_expr(&o.expr, &from_schema)?),
                    }
                }
                e => OrderTarget::Expr(self.bind_expr(e, &from_schema)?),
            };
            order_terms.push((target, &o.options));
        }

        // Aggregates of this query's columns written inside its subqueries.
        let lifted: Vec<Expr> = self.lifted_aggregates.borrow_mut().drain(..).collect();
        let has_group_by = match &select.group_by {
            GroupByExpr::Expressions(g, _) => !g.is_empty(),
            GroupByExpr::All(_) => true,
        };
        let is_aggregate = !lifted.is_empty()
            || has_group_by
            || !group_exprs.is_empty()
            || items.iter().any(Expr::contains_aggregate)
            || having.is_some()
            || qualify.as_ref().is_some_and(Expr::contains_aggregate)
            || order_terms
                .iter()
                .any(|(t, _)| matches!(t, OrderTarget::Expr(e) if e.contains_aggregate()));

        let mut having = having;
        let mut qualify = qualify;
        if is_aggregate {
            let mut aggregates: Vec<Expr> = Vec::new();
            let all_exprs =
                items
                    .iter()
                    .chain(having.iter())
                    .chain(qualify.iter())
                    .chain(order_terms.iter().filter_map(|(t, _)| match t {
                        OrderTarget::Expr(e) => Some(e),
                        OrderTarget::Output(_) => None,
                    }));
            for e in all_exprs {
                collect_aggregates(e, &mut aggregates)?;
            }
            for a in lifted {
                if !aggregates.contains(&a) {
                    aggregates.push(a);
                }
            }
            let coerced_groups = group_exprs
                .iter()
                .map(|g| coerce(g.clone(), &from_schema, self.opts))
                .collect::<Result<Vec<_>>>()?;
            // `grouping(...)` calls are constants per grouping set, listed after the aggregates.
            let (grouping_calls, mut aggregates): (Vec<Expr>, Vec<Expr>) =
                aggregates.into_iter().partition(is_grouping_call);
            let coerced_aggs = aggregates
                .iter()
                .map(|a| coerce(a.clone(), &from_schema, self.opts))
                .collect::<Result<Vec<_>>>()?;
            // Subqueries in grouping keys and aggregate arguments are computed per input row.
            let mut coerced_groups = coerced_groups;
            let mut coerced_aggs = coerced_aggs;
            for e in coerced_groups.iter_mut().chain(coerced_aggs.iter_mut()) {
                if contains_subquery(e) {
                    let (p, rewritten) = self.attach_subqueries(plan, e.clone())?;
                    *e = coerce(rewritten, &p.schema(), self.opts)?;
                    plan = p;
                }
            }
            plan = if grouping_sets.is_some() || !grouping_calls.is_empty() {
                let all_keys = vec![(0..group_exprs.len()).collect()];
                self.plan_grouping_sets(
                    plan,
                    &coerced_groups,
                    &coerced_aggs,
                    &grouping_calls,
                    &group_exprs,
                    grouping_sets.as_deref().unwrap_or(&all_keys),
                )?
            } else {
                builder::aggregate(Arc::new(plan), coerced_groups, coerced_aggs, self.opts)?
            };
            aggregates.extend(grouping_calls);
            let agg_schema = plan.schema();
            let rewrite = |e: &Expr| rewrite_over_aggregate(e, &group_exprs, &aggregates, &agg_schema, &from_schema);
            items = items
                .iter()
                .map(|e| {
                    let name = e.output_name();
                    let r = rewrite(e)?;
                    Ok(match (&r, e) {
                        (Expr::Column(_), Expr::Column(_)) => r,
                        _ => r.alias(name),
                    })
                })
                .collect::<Result<_>>()?;
            having = having.as_ref().map(rewrite).transpose()?;
            qualify = qualify.as_ref().map(rewrite).transpose()?;
            for (t, _) in order_terms.iter_mut() {
                if let OrderTarget::Expr(e) = t {
                    *e = rewrite(e)?;
                }
            }
        } else if having.is_some() {
            return Err(Error::plan("HAVING clause without GROUP BY or aggregates"));
        } else if items.iter().any(contains_subquery) {
            // Subqueries may read select-list aliases (as columns named like their
            // expressions): computed here, below the subqueries' joins.
            let scope = plan.schema();
            let mut exprs: Vec<Expr> = (0..scope.len()).map(|i| Expr::Column(scope.column_ref(i))).collect();
            // Window calls are computed later, above the subqueries' joins.
            for (_, e) in self
                .select_aliases
                .borrow()
                .iter()
                .filter(|(_, e)| !e.contains_window())
            {
                let name = e.output_name();
                if scope.find(&ColumnRef::new(name.clone())).ok().flatten().is_none()
                    && !exprs.iter().any(|x| x.output_name() == name)
                {
                    exprs.push(e.clone().alias(name));
                }
            }
            if exprs.len() > scope.len() {
                plan = builder::project(Arc::new(plan), exprs, self.opts)?;
            }
        }

        if let Some(h) = having {
            let h = coerce(h, &plan.schema(), self.opts)?;
            plan = if contains_subquery(&h) {
                self.filter_with_subqueries(plan, h)?
            } else {
                builder::filter(Arc::new(plan), h, self.opts)?
            };
        }
        // Subqueries in the select list and ORDER BY become joins below the projection.
        for item in items.iter_mut().filter(|e| contains_subquery(e)) {
            let name = item.output_name();
            let (p, e) = self.attach_subqueries(plan, item.clone().unalias())?;
            plan = p;
            *item = e.alias(name);
        }
        for (t, _) in order_terms.iter_mut() {
            if let OrderTarget::Expr(e) = t {
                if contains_subquery(e) {
                    let (p, rewritten) = self.attach_subqueries(plan, e.clone())?;
                    plan = p;
                    *e = rewritten;
                }
            }
        }
        let scope = plan.schema();
        let mut items = items
            .into_iter()
            .map(|e| coerce(e, &scope, self.opts))
            .collect::<Result<Vec<_>>>()?;
        // Window calls (in the select list, QUALIFY or ORDER BY) are computed after
        // grouping; QUALIFY filters their results.
        let mut qualify = qualify.map(|q| coerce(q, &scope, self.opts)).transpose()?;
        for (t, _) in order_terms.iter_mut() {
            if let OrderTarget::Expr(e) = t {
                *e = coerce(e.clone(), &scope, self.opts)?;
            }
        }
        {
            let mut targets: Vec<&mut Expr> = items.iter_mut().chain(qualify.iter_mut()).collect();
            targets.extend(order_terms.iter_mut().filter_map(|(t, _)| match t {
                OrderTarget::Expr(e) => Some(e),
                OrderTarget::Output(_) => None,
            }));
            plan = super::window::plan_windows(plan, &mut targets, self.opts)?;
        }
        let scope = plan.schema();
        if let Some(q) = qualify {
            plan = builder::filter(Arc::new(plan), q, self.opts)?;
        }
        let visible = items.len();
        let mut distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        let mut distinct_by_items = false;

        // Sort keys over the projection output; expressions not in the select list become
        // hidden columns that a final projection drops.
        let mut projection = items.clone();
        let mut distinct_on: Option<Vec<usize>> = None;
        if let Some(ast::Distinct::On(on)) = &select.distinct {
            let mut keys = Vec::with_capacity(on.len());
            for e in on {
                if self.opts.order_by_literals && super::order_terms::is_non_integer_literal(e) {
                    continue; // a constant distinguishes nothing
                }
                super::order_terms::check_constant_term(e, "DISTINCT ON", visible)?;
                let index = match e {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(_, _)) => {
                        let pos: usize = v.value.to_string().parse().unwrap_or(0);
                        if pos == 0 || pos > visible {
                            return Err(Error::plan(format!(
                                "DISTINCT ON term out of range - should be between 1 and {visible}"
                            )));
                        }
                        pos - 1
                    }
                    ast::Expr::Identifier(ident)
                        if item_names.iter().any(|n| n.eq_ignore_ascii_case(&ident.value))
                            && from_schema
                                .find(&ColumnRef::new(ident_name(ident)))
                                .ok()
                                .flatten()
                                .is_none() =>
                    {
                        item_names
                            .iter()
                            .position(|n| n.eq_ignore_ascii_case(&ident.value))
                            .unwrap_or(0)
                    }
                    e => {
                        if is_aggregate {
                            return Err(Error::not_supported("DISTINCT ON an expression in an aggregate query"));
                        }
                        let bound = coerce(self.bind_expr(e, &from_schema)?, &scope, self.opts)?;
                        let canonical = canonical_columns(&bound, &scope);
                        match projection
                            .iter()
                            .position(|p| canonical_columns(&p.clone().unalias(), &scope) == canonical)
                        {
                            Some(i) => i,
                            None => {
                                projection.push(bound.alias(format!("__distinct_on_{}", projection.len())));
                                projection.len() - 1
                            }
                        }
                    }
                };
                keys.push(index);
            }
            distinct_on = Some(keys);
        }
        let mut sort_keys: Vec<(usize, &ast::OrderByOptions)> = Vec::new();
        for (target, options) in &order_terms {
            let index = match target {
                OrderTarget::Output(i) => *i,
                OrderTarget::Expr(e) => {
                    let e = coerce(e.clone(), &scope, self.opts)?;
                    let canonical = canonical_columns(&e, &scope);
                    match projection
                        .iter()
                        .position(|p| canonical_columns(&p.clone().unalias(), &scope) == canonical)
                    {
                        Some(i) => i,
                        None => {
                            // DuckDB runs `SELECT DISTINCT items ORDER BY other` as
                            // `SELECT DISTINCT ON (items) items ORDER BY other`.
                            distinct_by_items |= distinct;
                            projection.push(e.alias(format!("__sort_key_{}", projection.len())));
                            projection.len() - 1
                        }
                    }
                }
            };
            sort_keys.push((index, *options));
        }
        if distinct_by_items {
            distinct = false;
            distinct_on = Some((0..visible).collect());
        }
        plan = builder::project(Arc::new(plan), projection, self.opts)?;
        if let Some(on) = &distinct_on {
            // The implicit form keeps the first row of each group in input order, as DuckDB.
            let first_by: &[(usize, &ast::OrderByOptions)] = if distinct_by_items { &[] } else { &sort_keys };
            plan = self.plan_distinct_on(plan, on, first_by)?;
        }
        if distinct {
            plan = builder::distinct(Arc::new(plan));
        }
        if !sort_keys.is_empty() {
            let out = plan.schema();
            let keys: Vec<SortExpr> = sort_keys
                .iter()
                .map(|(i, opts)| sort_expr(Expr::Column(out.column_ref(*i)), opts, self.opts))
                .collect();
            plan = builder::sort(Arc::new(plan), keys, None);
        }
        if plan.schema().len() > visible {
            let out = plan.schema();
            let exprs = (0..visible).map(|i| Expr::Column(out.column_ref(i))).collect();
            plan = builder::project(Arc::new(plan), exprs, self.opts)?;
        }
        Ok(plan)
    }

    pub(super) fn bind_group_key(&self, e: &ast::Expr, items: &[Expr], from: &PlanSchema) -> Result<Expr> {
        if let ast::Expr::Value(v) = e {
            if let ast::Value::Number(n, _) = &v.value {
                let pos: usize = n
                    .to_string()
                    .parse()
                    .map_err(|_| Error::plan("GROUP BY position must be an integer"))?;
                return items
                    .get(pos.wrapping_sub(1))
                    .map(|e| e.clone().unalias())
                    .ok_or_else(|| {
                        Error::plan(format!(
                            "GROUP BY term out of range - should be between 1 and {}",
                            items.len()
                        ))
                    });
            }
        }
        if let ast::Expr::Identifier(ident) = e {
            if from.find(&ColumnRef::new(ident_name(ident)))?.is_none() {
                if let Some(item) = items
                    .iter()
                    .find(|i| matches!(i, Expr::Alias { name, .. } if name.eq_ignore_ascii_case(&ident.value)))
                {
                    return Ok(item.clone().unalias());
                }
            }
        }
        let bound = self.bind_expr(e, from)?;
        if bound.contains_aggregate() {
            return Err(Error::plan("GROUP BY clause cannot contain aggregates!"));
        }
        if bound.contains_window() {
            return Err(Error::plan("GROUP BY clause cannot contain window functions!"));
        }
        let _ = output_reference;
        Ok(bound)
    }
}

/// GROUP BY ALL: the select-list expressions without aggregates or window calls that read a
/// column (constants group nothing). An item mixing an aggregate with a bare column is
/// DuckDB's binder error.
fn group_by_all_keys(items: &[Expr]) -> Result<Vec<Expr>> {
    let mut keys: Vec<Expr> = Vec::new();
    for item in items {
        let e = item.clone().unalias();
        let reads_column = |e: &Expr| e.exists(|n| Ok(matches!(n, Expr::Column(_)))).unwrap_or(false);
        if e.contains_aggregate() || e.contains_window() {
            let bare = e
                .clone()
                .transform_down(|n| match n {
                    Expr::Aggregate { .. } | Expr::Window(_) => Ok(Transformed::new(
                        Expr::Literal(datafusion_common::ScalarValue::Null),
                        true,
                        datafusion_common::tree_node::TreeNodeRecursion::Jump,
                    )),
                    other => Ok(Transformed::no(other)),
                })?
                .data;
            if e.contains_aggregate() && reads_column(&bare) {
                return Err(Error::plan("Cannot mix aggregates with non-aggregated columns!"));
            }
            continue;
        }
        if reads_column(&e) && !keys.contains(&e) {
            keys.push(e);
        }
    }
    Ok(keys)
}

enum OrderTarget {
    /// Output column `i` of the select list.
    Output(usize),
    /// An expression over the FROM scope (or the aggregate's output after rewriting).
    Expr(Expr),
}

fn collect_aggregates(e: &Expr, out: &mut Vec<Expr>) -> Result<()> {
    e.apply(|node| {
        if let Expr::Aggregate { args, filter, .. } = node {
            if args
                .iter()
                .chain(filter.iter().map(|f| f.as_ref()))
                .any(Expr::contains_aggregate)
            {
                return Err(Error::plan("aggregate function calls cannot be nested").into());
            }
            if args.iter().any(Expr::contains_window) {
                return Err(Error::plan("aggregate function calls cannot contain window function calls").into());
            }
            if !out.contains(node) {
                out.push(node.clone());
            }
            return Ok(datafusion_common::tree_node::TreeNodeRecursion::Jump);
        }
        Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
    })?;
    Ok(())
}

/// Rewrites `e` (over the FROM scope) to read the aggregate's output: group keys and
/// aggregate calls become column references; any other column is an error.
fn rewrite_over_aggregate(
    e: &Expr,
    groups: &[Expr],
    aggregates: &[Expr],
    agg_schema: &PlanSchema,
    from: &PlanSchema,
) -> Result<Expr> {
    let groups: Vec<Expr> = groups.iter().map(|g| canonical_columns(g, from)).collect();
    let out = e.clone().transform_down(|node| {
        let inner = match &node {
            Expr::Alias { expr, .. } => expr.as_ref(),
            other => other,
        };
        let canonical = canonical_columns(inner, from);
        if let Some(i) = groups.iter().position(|g| *g == canonical) {
            return Ok(Transformed::new(
                Expr::Column(agg_schema.column_ref(i)),
                true,
                datafusion_common::tree_node::TreeNodeRecursion::Jump,
            ));
        }
        if let Some(i) = aggregates.iter().position(|a| a == inner) {
            return Ok(Transformed::new(
                Expr::Column(agg_schema.column_ref(groups.len() + i)),
                true,
                datafusion_common::tree_node::TreeNodeRecursion::Jump,
            ));
        }
        if let Expr::Column(c) = &node {
            return Err(Error::plan(format!(
                "column \"{c}\" must appear in the GROUP BY clause or must be part of an aggregate function."
            ))
            .into());
        }
        Ok(Transformed::no(node))
    })?;
    Ok(out.data)
}

/// `e` with every column reference resolved in `schema` to its full (qualified, as declared)
/// form, so `t.a`, `a` and `A` compare equal.
pub(super) fn canonical_columns(e: &Expr, schema: &PlanSchema) -> Expr {
    let out = e.clone().transform_up(|node| {
        if let Expr::Column(c) = &node {
            if let Ok(Some(i)) = schema.find(c) {
                return Ok(Transformed::yes(Expr::Column(schema.column_ref(i))));
            }
        }
        Ok(Transformed::no(node))
    });
    match out {
        Ok(t) => t.data,
        Err(_) => e.clone(),
    }
}
