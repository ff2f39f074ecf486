//! The SQL frontend: parsing with sqlparser (DuckDB dialect) and binding the AST into a
//! logical plan against the catalog.

mod aggregate_call;
mod arrow_cast;
mod decorrelate;
pub(crate) mod depth;
mod distinct_on;
mod empty_in;
mod empty_type_args;
mod exclude;
mod expr;
mod extract_field;
mod flatten;
mod frame;
mod from;
mod from_values;
mod glob;
mod grouping_sets;
mod having_alias;
mod limit;
mod literal;
mod materialized;
mod order_terms;
mod outer_join_subquery;
mod prefix_alias;
mod quantified;
mod query;
mod range;
mod recursive;
mod scalar;
mod select;
pub(crate) mod setops;
mod star_all;
mod star_options;
mod subquery;
mod window;
mod window_args;

use std::cell::{Cell, RefCell};
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

pub use frame::{empty_select, select_of};
pub use from::{refers_only_to, split_join_condition};
pub use limit::resolve_limits;
pub use literal::{parse_interval, parse_number_literal};

/// Parses `sql` into statements; errors carry the line and column. DuckDB spellings that
/// sqlparser lacks (`GROUP BY *`, `FROM VALUES …` without parentheses) are rewritten and
/// parsed again when the first parse fails.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let statements = parse_rewriting(sql)?;
    depth::check_expression_depth(&statements)?;
    Ok(statements)
}

/// Parses `sql`, retrying with the rewrites of syntax sqlparser does not take.
fn parse_rewriting(sql: &str) -> Result<Vec<Statement>> {
    if let Some(call) = crate::summarize::rewrite(sql) {
        return Parser::parse_sql(&DuckDbDialect {}, &call).map_err(|e| parse_error(&e.to_string()));
    }
    parse_once(sql).or_else(|e| {
        for rewrite in [
            crate::copy_to::options::rewrite,
            star_all::rewrite,
            from_values::rewrite,
            window_args::rewrite,
            limit::rewrite_percent,
            prefix_alias::rewrite,
        ] {
            if let Some(rewritten) = rewrite(sql).filter(|r| r != sql) {
                if let Ok(statements) = parse_rewriting(&rewritten) {
                    return Ok(statements);
                }
            }
        }
        Err(e)
    })
}

fn parse_once(sql: &str) -> Result<Vec<Statement>> {
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

/// Where each statement of `sql` starts (its first token after the previous `;`); empty when
/// the text does not tokenize.
pub fn statement_starts(sql: &str) -> Vec<Location> {
    use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
    let Ok(tokens) = Tokenizer::new(&DuckDbDialect {}, sql).tokenize_with_location() else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    let mut at_start = true;
    for t in tokens {
        match t.token {
            Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab) => {}
            Token::Whitespace(_) => {} // comments
            Token::SemiColon => at_start = true,
            _ if at_start => {
                starts.push(Location {
                    line: t.span.start.line,
                    column: t.span.start.column,
                });
                at_start = false;
            }
            _ => {}
        }
    }
    starts
}

fn end_of(sql: &str) -> Location {
    let trimmed = sql.trim_end();
    let line = trimmed.lines().count().max(1) as u64;
    let column = trimmed.lines().last().map(|l| l.chars().count() + 1).unwrap_or(1) as u64;
    Location { line, column }
}

/// Turns sqlparser's message (`… at Line: 1, Column: 8`) into an [`Error::Parse`].
pub(crate) fn parse_error(message: &str) -> Error {
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
    /// Aggregates found in subqueries that read only this query's columns (DuckDB computes
    /// them in this query: `SELECT (SELECT sum(t.x)) FROM t` is one row).
    lifted_aggregates: Rc<RefCell<Vec<crate::logical::expr::Expr>>>,
    /// The enclosing queries' lists of lifted aggregates (innermost last, as `outer`).
    outer_lifted: Vec<Rc<RefCell<Vec<crate::logical::expr::Expr>>>>,
    /// The select-list aliases of the query being bound, with their expressions: its
    /// subqueries may name them (`SELECT i % 2 AS j … GROUP BY j HAVING … (SELECT … j …)`).
    select_aliases: SelectAliases,
    /// The enclosing queries' select-list aliases (innermost last, as `outer`).
    outer_aliases: Vec<SelectAliases>,
    /// The files opened while binding this statement (see [`OpenedFiles`]).
    opened_files: OpenedFiles,
}

/// The file sources a statement has opened, by location and read options. Every reference
/// to the same file (a view used twice, a self-join, a subquery over the outer query's
/// table) reads the one source, so its schema and metadata are read once and equal
/// subtrees over it are planned once ([`crate::physical::shared_subplans`] compares
/// sources by identity).
type OpenedFiles = Rc<RefCell<HashMap<String, Arc<crate::io::source::FileSource>>>>;

/// Select-list aliases and the expressions they name.
type SelectAliases = Rc<RefCell<Vec<(String, crate::logical::expr::Expr)>>>;

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
            lifted_aggregates: Rc::default(),
            outer_lifted: Vec::new(),
            select_aliases: Rc::default(),
            outer_aliases: Vec::new(),
            opened_files: Rc::default(),
        }
    }

    /// A binder for a subquery of a query whose scope is `scope`.
    fn child(&self, scope: &PlanSchema) -> Binder<'a> {
        let mut outer = self.outer.clone();
        outer.push(Arc::new(scope.clone()));
        let mut outer_lifted = self.outer_lifted.clone();
        outer_lifted.push(Rc::clone(&self.lifted_aggregates));
        let mut outer_aliases = self.outer_aliases.clone();
        outer_aliases.push(Rc::clone(&self.select_aliases));
        Binder {
            catalog: self.catalog,
            opts: self.opts,
            // Outer references in the CTEs in scope point one level further from inside.
            ctes: self
                .ctes
                .iter()
                .map(|scope| {
                    scope
                        .iter()
                        .map(|(name, plan)| (name.clone(), flatten::deepen(plan)))
                        .collect()
                })
                .collect(),
            view_depth: self.view_depth,
            outer,
            subquery_ids: Rc::clone(&self.subquery_ids),
            lifted_aggregates: Rc::default(),
            outer_lifted,
            select_aliases: Rc::default(),
            outer_aliases,
            opened_files: Rc::clone(&self.opened_files),
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
    fn statements_start_after_semicolons() {
        let starts = statement_starts("SELECT 1;\n  -- note\n  SELECT ';';\nSELECT 3");
        assert_eq!(
            starts,
            vec![
                Location { line: 1, column: 1 },
                Location { line: 3, column: 3 },
                Location { line: 4, column: 1 },
            ]
        );
    }

    #[test]
    fn parse_errors_carry_positions() {
        let err = parse("SELECT 1 +\nFROM t WHERE").unwrap_err();
        match err {
            Error::Parse { location: Some(l), .. } => assert_eq!(l.line, 2),
            other => panic!("{other:?}"),
        }
    }
}
