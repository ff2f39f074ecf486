//! The SQL frontend: parsing with sqlparser (DuckDB dialect) and binding the AST into a
//! logical plan against the catalog.

mod aggregate_call;
mod arrow_cast;
mod decorrelate;
mod distinct_on;
mod empty_in;
mod empty_type_args;
mod exclude;
mod expr;
mod extract_field;
mod from;
mod glob;
mod grouping_sets;
mod having_alias;
mod literal;
mod materialized;
mod query;
mod range;
mod recursive;
mod scalar;
mod select;
pub(crate) mod setops;
mod subquery;
mod window;

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use sqlparser::ast::Statement;
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use crate::catalog::Catalog;
use crate::error::{Error, Location, Result};
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;

pub use from::{refers_only_to, split_join_condition};
pub use literal::{parse_interval, parse_number_literal};

/// Parses `sql` into statements; errors carry the line and column.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let stripped = materialized::strip_cte_materialized(sql);
    let sql: &str = &stripped;
    Parser::parse_sql(&DuckDbDialect {}, sql)
        .or_else(|e| {
            // GLOB / `~~~`, which sqlparser lacks, become RLIKE (read back as GLOB).
            if let Some(rewritten) = glob::rewrite(sql) {
                if let Ok(statements) = Parser::parse_sql(&DuckDbDialect {}, &rewritten) {
                    return Ok(statements);
                }
            }
            Err(e)
        })
        .or_else(|e| {
            // DuckDB window syntax sqlparser lacks: rewrite it into forms it parses.
            let message = e.to_string().to_ascii_uppercase();
            if message.contains("EXPECTED: AN EXPRESSION, FOUND: )") {
                if let Some(rewritten) = empty_in::rewrite(sql) {
                    return Parser::parse_sql(&DuckDbDialect {}, &rewritten);
                }
            }
            if message.contains("EXPECTED: LITERAL INT, FOUND: )") {
                if let Some(rewritten) = empty_type_args::rewrite(sql) {
                    return Parser::parse_sql(&DuckDbDialect {}, &rewritten);
                }
            }
            if message.contains("EXPECTED: DATE/TIME FIELD") {
                if let Some(rewritten) = extract_field::rewrite(sql) {
                    return Parser::parse_sql(&DuckDbDialect {}, &rewritten);
                }
            }
            let window_syntax = ["FOUND: EXCLUDE", "FOUND: IGNORE", "FOUND: RESPECT"];
            if !window_syntax.iter().any(|m| message.contains(m)) {
                return Err(e);
            }
            let moved = exclude::null_treatment(sql);
            let text = moved.as_deref().unwrap_or(sql);
            match exclude::rewrite(text) {
                Some(rewritten) => Parser::parse_sql(&DuckDbDialect {}, &rewritten),
                None if moved.is_some() => Parser::parse_sql(&DuckDbDialect {}, text),
                None => Err(e),
            }
        })
        .map_err(|e| match parse_error(&e.to_string()) {
            // An unexpected end of input points just past the last character.
            Error::Parse {
                message,
                location: None,
            } if message.contains("EOF") => Error::Parse {
                message,
                location: Some(end_of(sql)),
            },
            other => other,
        })
}

fn end_of(sql: &str) -> Location {
    let trimmed = sql.trim_end();
    let line = trimmed.lines().count().max(1) as u64;
    let column = trimmed.lines().last().map(|l| l.chars().count() + 1).unwrap_or(1) as u64;
    Location { line, column }
}

/// Turns sqlparser's message (`… at Line: 1, Column: 8`) into an [`Error::Parse`].
fn parse_error(message: &str) -> Error {
    let message = message.trim_start_matches("sql parser error: ");
    if let Some(at) = message.rfind(" at Line: ") {
        let (text, pos) = message.split_at(at);
        let nums: Vec<u64> = pos
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        if let [line, column] = nums[..] {
            return Error::Parse {
                message: text.to_string(),
                location: Some(Location { line, column }),
            };
        }
    }
    Error::Parse {
        message: message.to_string(),
        location: None,
    }
}

/// Binds SQL ASTs into logical plans.
pub struct Binder<'a> {
    catalog: &'a Catalog,
    opts: TypeOptions,
    /// Common table expressions in scope (innermost last).
    ctes: Vec<HashMap<String, Arc<LogicalPlan>>>,
    /// How many views are being expanded (guards against a view that refers to itself).
    view_depth: usize,
    /// Scopes of the enclosing queries when binding a subquery (innermost last).
    outer: Vec<Arc<PlanSchema>>,
    /// Counter naming decorrelated subqueries uniquely within one statement.
    subquery_ids: Rc<Cell<usize>>,
}

impl<'a> Binder<'a> {
    /// A binder over `catalog`.
    pub fn new(catalog: &'a Catalog, opts: TypeOptions) -> Self {
        Self {
            catalog,
            opts,
            ctes: Vec::new(),
            view_depth: 0,
            outer: Vec::new(),
            subquery_ids: Rc::new(Cell::new(0)),
        }
    }

    /// A binder for a subquery of a query whose scope is `scope`.
    fn child(&self, scope: &PlanSchema) -> Binder<'a> {
        let mut outer = self.outer.clone();
        outer.push(Arc::new(scope.clone()));
        Binder {
            catalog: self.catalog,
            opts: self.opts,
            ctes: self.ctes.clone(),
            view_depth: self.view_depth,
            outer,
            subquery_ids: Rc::clone(&self.subquery_ids),
        }
    }

    /// A fresh number for naming a decorrelated subquery's columns.
    fn next_subquery_id(&self) -> usize {
        let id = self.subquery_ids.get();
        self.subquery_ids.set(id + 1);
        id
    }

    /// Binds a query (SELECT, VALUES, WITH …, set operations).
    pub fn bind_query(&mut self, query: &sqlparser::ast::Query) -> Result<LogicalPlan> {
        query::bind_query(self, query)
    }

    fn cte(&self, name: &str) -> Option<Arc<LogicalPlan>> {
        let key = name.to_lowercase();
        self.ctes.iter().rev().find_map(|scope| scope.get(&key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_positions() {
        let err = parse("SELECT 1 +\nFROM t WHERE").unwrap_err();
        match err {
            Error::Parse { location: Some(l), .. } => assert_eq!(l.line, 2),
            other => panic!("{other:?}"),
        }
    }
}
