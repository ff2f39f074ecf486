//! Script parameters: `--param name=value` gives `$name` a value in every statement (SQL, and
//! the DSL's SQL arguments and string arguments). A value goes into the parsed statement as a
//! constant — an integer or decimal number when it reads as one, else a string — and is never
//! spliced into SQL text, so a value such as `x'; DROP TABLE t; --` is only ever a string.
//! Positional parameters (`$1`, `?`) are left to PREPARE / EXECUTE.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{self, VisitMut};

use crate::error::{Error, Result};

/// The values of named parameters, by lower-case name.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Reads `name=value` (the form `--param` takes).
    pub fn parse_assignment(text: &str) -> Result<(String, String)> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| Error::InvalidInput(format!("--param wants NAME=VALUE, not '{text}'")))?;
        let name = name.trim().trim_start_matches('$');
        let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            return Err(Error::InvalidInput(format!(
                "--param name '{name}' must be a name (letters, digits, _), as in $name"
            )));
        }
        Ok((name.to_string(), value.to_string()))
    }

    /// Gives `$name` the value `value`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_lowercase(), value.to_string());
    }

    /// The text of `$name`, if it has a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(&name.to_lowercase()).map(String::as_str)
    }

    /// True when no parameter has a value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Puts the values of named parameters in place of `$name` in `node` (a statement, an
    /// expression, a select item …); a named parameter without a value is an error.
    pub fn substitute<T: VisitMut>(&self, node: &mut T) -> Result<()> {
        let mut missing: Option<String> = None;
        let _ = ast::visit_expressions_mut(node, |e| {
            let ast::Expr::Value(v) = e else {
                return ControlFlow::<()>::Continue(());
            };
            let ast::Value::Placeholder(p) = &v.value else {
                return ControlFlow::Continue(());
            };
            let Some(name) = p.strip_prefix('$').filter(|n| !n.chars().all(|c| c.is_ascii_digit())) else {
                return ControlFlow::Continue(());
            };
            match self.get(name) {
                Some(value) => *e = literal(value),
                None => {
                    missing = Some(name.to_string());
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        match missing {
            Some(name) => Err(Error::InvalidInput(format!(
                "parameter ${name} has no value: pass --param {name}=VALUE"
            ))),
            None => Ok(()),
        }
    }
}

/// The constant a parameter value stands for: a number when it reads as one, else a string.
pub fn literal(value: &str) -> ast::Expr {
    let trimmed = value.trim();
    let (sign, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let is_number = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if is_number {
        let number = ast::Expr::value(ast::Value::Number(digits.to_string(), false));
        return if sign {
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Minus,
                expr: Box::new(number),
            }
        } else {
            number
        };
    }
    ast::Expr::value(ast::Value::SingleQuotedString(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    fn substituted(sql: &str, params: &Params) -> Result<String> {
        let mut statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        params.substitute(&mut statements)?;
        Ok(statements.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("; "))
    }

    #[test]
    fn values_become_constants() {
        let mut p = Params::default();
        p.set("n", "10");
        p.set("Region", "x'; DROP TABLE t; --");
        p.set("neg", "-2.5");
        assert_eq!(
            substituted("SELECT * FROM t WHERE region = $region LIMIT $n", &p).unwrap(),
            "SELECT * FROM t WHERE region = 'x''; DROP TABLE t; --' LIMIT 10"
        );
        assert_eq!(
            substituted("SELECT $neg, '$n', $1", &p).unwrap(),
            "SELECT -2.5, '$n', $1"
        );
    }

    #[test]
    fn a_parameter_without_a_value_is_an_error() {
        let err = substituted("SELECT $nope", &Params::default()).unwrap_err();
        assert!(err.to_string().contains("parameter $nope has no value"), "{err}");
    }

    #[test]
    fn assignments() {
        assert_eq!(
            Params::parse_assignment("day=2024-01-01=x").unwrap(),
            ("day".to_string(), "2024-01-01=x".to_string())
        );
        assert!(Params::parse_assignment("novalue").is_err());
        assert!(Params::parse_assignment("1x=3").is_err());
    }
}
