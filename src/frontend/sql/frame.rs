//! The SQL clauses as operations on an already-bound plan, for the dataframe DSL: a DSL verb
//! is bound by the same code as the SQL clause it stands for (a select list, WHERE, GROUP BY,
//! ORDER BY, JOIN, UNION, a table reference), so both languages mean the same thing and give
//! the same plans.

use std::sync::Arc;

use sqlparser::ast::{self, FunctionArg, JoinConstraint, ObjectName, ObjectNamePart, TableFactor};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use super::query::{output_reference, sort_expr};
use super::subquery::contains_subquery;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::join_type::JoinType;
use crate::logical::plan::{LogicalPlan, SortExpr};
use crate::logical::typecheck::coerce;

/// The SELECT block of `sql`, a constant query such as `SELECT count(*) AS count`, to fill
/// in and bind over a frame with [`Binder::select_over`].
pub fn select_of(sql: &str) -> Result<ast::Select> {
    let statements = Parser::parse_sql(&DuckDbDialect {}, sql).map_err(|e| Error::internal(e.to_string()))?;
    match statements.into_iter().next() {
        Some(ast::Statement::Query(q)) => match *q.body {
            ast::SetExpr::Select(select) => Ok(*select),
            _ => Err(Error::internal(format!("{sql} is not a SELECT"))),
        },
        _ => Err(Error::internal(format!("{sql} is not a query"))),
    }
}

/// A SELECT block with nothing in it but `SELECT 1`, to fill in.
pub fn empty_select() -> Result<ast::Select> {
    select_of("SELECT 1")
}

impl Binder<'_> {
    /// The typing options the binder was made with.
    pub fn type_options(&self) -> crate::logical::typecheck::TypeOptions {
        self.opts
    }

    /// `SELECT … FROM input`: the select list, WHERE, GROUP BY, HAVING and QUALIFY of
    /// `select` over `input`.
    pub fn select_over(&mut self, input: LogicalPlan, select: &ast::Select) -> Result<LogicalPlan> {
        self.bind_select_over(input, select, &[])
    }

    /// `input WHERE predicate`. A predicate with window functions filters as QUALIFY does;
    /// one with subqueries becomes joins, as in SQL.
    pub fn filter_over(&mut self, input: LogicalPlan, predicate: &ast::Expr) -> Result<LogicalPlan> {
        let schema = input.schema();
        let bound = self.bind_expr(predicate, &schema)?;
        if bound.contains_aggregate() {
            return Err(Error::plan(
                "filter cannot contain aggregates: aggregate with groupby(…).agg(…) first, then filter",
            ));
        }
        if bound.contains_window() {
            let mut select = empty_select()?;
            select.projection = vec![ast::SelectItem::Wildcard(Default::default())];
            select.qualify = Some(predicate.clone());
            return self.select_over(input, &select);
        }
        let bound = coerce(bound, &schema, self.opts)?;
        if contains_subquery(&bound) {
            self.filter_with_subqueries(input, bound)
        } else {
            builder::filter(Arc::new(input), bound, self.opts)
        }
    }

    /// `input ORDER BY terms`; a term is an expression over `input`'s columns (or a 1-based
    /// column position).
    pub fn sort_over(&mut self, input: LogicalPlan, terms: &[ast::OrderByExpr]) -> Result<LogicalPlan> {
        let schema = input.schema();
        let mut keys: Vec<SortExpr> = Vec::with_capacity(terms.len());
        for term in terms {
            let expr = match output_reference(&term.expr, &schema)? {
                Some(e) => e,
                None => self.bind_expr(&term.expr, &schema)?,
            };
            if expr.contains_aggregate() || expr.contains_window() || contains_subquery(&expr) {
                return Err(Error::plan(format!(
                    "sort key {} must be a plain expression of the columns: compute it with assign(…) first",
                    term.expr
                )));
            }
            keys.push(sort_expr(coerce(expr, &schema, self.opts)?, &term.options, self.opts));
        }
        Ok(builder::sort(Arc::new(input), keys, None))
    }

    /// `left JOIN right` with `constraint` (ON, USING or none for a cross join).
    pub fn join_over(
        &mut self,
        left: LogicalPlan,
        right: LogicalPlan,
        join_type: JoinType,
        constraint: &JoinConstraint,
    ) -> Result<LogicalPlan> {
        self.bind_join(left, right, join_type, Some(constraint), false)
    }

    /// `left UNION ALL right` by position, or by column name with `by_name` (columns missing
    /// on one side are NULL there).
    pub fn union_over(&mut self, left: LogicalPlan, right: LogicalPlan, by_name: bool) -> Result<LogicalPlan> {
        let (left, right) = if by_name {
            super::setops::align_by_name(self, left, right)?
        } else {
            (left, right)
        };
        super::query::union(self, left, right)
    }

    /// The table, view or frame called `name`, as `FROM name` binds it.
    pub fn table_named(&mut self, name: &str) -> Result<LogicalPlan> {
        let factor = TableFactor::Table {
            name: ObjectName(vec![ObjectNamePart::Identifier(ast::Ident::new(name))]),
            alias: None,
            args: None,
            with_hints: vec![],
            version: None,
            with_ordinality: false,
            partitions: vec![],
            json_path: None,
            sample: None,
            index_hints: vec![],
        };
        self.bind_table_factor_plain(&factor)
    }

    /// A table function such as `read_csv('x.csv', header = true)`, as `FROM` binds it.
    pub fn table_function(&mut self, name: &str, args: &[FunctionArg]) -> Result<LogicalPlan> {
        self.bind_table_function(name, args)
    }
}
