//! Prepared statements: `PREPARE name AS statement` keeps the parsed statement;
//! `EXECUTE name(args)` puts each argument, as the typed constant expression it is, in place
//! of the parameters `$n` and `?` (the i-th `?` is one past the highest parameter before it)
//! in the AST (never by splicing SQL text); `DEALLOCATE name` forgets it.

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{self, Statement};

use crate::error::{Error, Result};

/// The session's prepared statements by (case-insensitive) name.
#[derive(Debug, Default)]
pub struct PreparedStatements {
    statements: HashMap<String, Statement>,
}

impl PreparedStatements {
    /// Keeps `statement` as `name` (replacing an earlier one).
    pub fn prepare(&mut self, name: &str, statement: Statement) {
        self.statements.insert(name.to_lowercase(), statement);
    }

    /// Forgets `name` (no error when it does not exist, as DuckDB).
    pub fn deallocate(&mut self, name: &str) {
        self.statements.remove(&name.to_lowercase());
    }

    /// The statement `name` with `args` bound to its parameters.
    pub fn bind(&self, name: &str, args: &[ast::Expr]) -> Result<Statement> {
        let mut statement = self
            .statements
            .get(&name.to_lowercase())
            .cloned()
            .ok_or_else(|| Error::plan(format!("Prepared statement \"{name}\" does not exist")))?;
        if let Some(arg) = args.iter().find(|a| !is_constant(a)) {
            return Err(Error::InvalidInput(format!(
                "EXECUTE arguments must be constants, not {arg}"
            )));
        }
        let mut highest = 0usize;
        let mut missing = Vec::new();
        let _ = ast::visit_expressions_mut(&mut statement, |e| {
            let ast::Expr::Value(v) = e else {
                return ControlFlow::<()>::Continue(());
            };
            let ast::Value::Placeholder(p) = &v.value else {
                return ControlFlow::Continue(());
            };
            let index = match p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => n,
                None if p == "?" => highest + 1,
                None => return ControlFlow::Continue(()),
            };
            highest = highest.max(index);
            match args.get(index.wrapping_sub(1)) {
                Some(arg) => *e = ast::Expr::Nested(Box::new(arg.clone())),
                None => missing.push(index),
            }
            ControlFlow::Continue(())
        });
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            let list: Vec<String> = missing.iter().map(usize::to_string).collect();
            return Err(Error::InvalidInput(format!(
                "Values were not provided for the following parameters: {}",
                list.join(", ")
            )));
        }
        if args.len() > highest {
            let list: Vec<String> = (highest + 1..=args.len()).map(|i| i.to_string()).collect();
            return Err(Error::InvalidInput(format!(
                "Parameter argument/count mismatch, identifiers of the excess parameters: {}",
                list.join(", ")
            )));
        }
        Ok(statement)
    }
}

/// True when `e` reads no column (an EXECUTE argument is a constant expression).
fn is_constant(e: &ast::Expr) -> bool {
    let mut e = e.clone();
    !ast::visit_expressions_mut(&mut e, |n| {
        if matches!(
            n,
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) | ast::Expr::Subquery(_)
        ) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}
