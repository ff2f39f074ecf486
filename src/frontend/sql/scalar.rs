//! Binding scalar function calls and the SQL forms that are functions in disguise
//! (`year(d)`, `if(c, a, b)`, `mod(a, b)`, `LIKE … ESCAPE`, `~`, `SIMILAR TO`, `TRIM(LEADING …)`).

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, TrimWhereField, Value};

use super::Binder;
use crate::error::{Error, Result};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::functions::{ScalarFunc, DATE_PART_FUNCTIONS};
use crate::logical::schema::PlanSchema;

fn call(func: ScalarFunc, args: Vec<Expr>) -> Expr {
    Expr::Function { func, args }
}

fn text(s: &str) -> Expr {
    Expr::Literal(ScalarValue::Utf8(Some(s.to_string())))
}

fn not_if(negated: bool, e: Expr) -> Expr {
    if negated {
        Expr::Not(Box::new(e))
    } else {
        e
    }
}

/// Names bound here as other expressions (`if` → CASE, `mod` → `%`, ...).
const REWRITTEN: &[&str] = &[
    "if",
    "iff",
    "mod",
    "fmod",
    "add",
    "subtract",
    "multiply",
    "divide",
    "date_add",
    "arrow_cast",
];

/// Whether `name` (lower-case) is a scalar function.
pub(super) fn is_scalar_name(name: &str) -> bool {
    ScalarFunc::from_name(name).is_some() || DATE_PART_FUNCTIONS.contains(&name) || REWRITTEN.contains(&name)
}

impl Binder<'_> {
    /// Binds a call of the scalar function `name` (lower-case) on bound `args`; `None` when
    /// no scalar function has that name.
    pub(super) fn bind_scalar_call(&self, name: &str, mut args: Vec<Expr>) -> Result<Option<Expr>> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(Error::plan(format!(
                    "No function matches the given name and argument types of '{name}': expected {n} arguments, got {}",
                    args.len()
                )))
            }
        };
        let binary = |op: BinaryOp, mut args: Vec<Expr>| -> Option<Expr> {
            let r = args.pop()?;
            let l = args.pop()?;
            Some(l.binary(op, r))
        };
        Ok(Some(match name {
            _ if DATE_PART_FUNCTIONS.contains(&name) => {
                arity(1)?;
                let part = match name {
                    "dayofmonth" => "day",
                    "weekofyear" => "week",
                    "dayofweek" => "dow",
                    "dayofyear" => "doy",
                    other => other,
                };
                args.insert(0, text(part));
                call(ScalarFunc::DatePart, args)
            }
            "date_part" | "datepart" | "extract" if args.len() == 2 => match &args[0] {
                Expr::Literal(ScalarValue::Utf8(Some(p))) if p.eq_ignore_ascii_case("epoch") => {
                    call(ScalarFunc::Epoch, args.split_off(1))
                }
                _ => call(ScalarFunc::DatePart, args),
            },
            "arrow_cast" => super::arrow_cast::bind(args)?,
            "if" | "iff" => {
                arity(3)?;
                let else_expr = args.pop().map(Box::new);
                let then = args.pop().ok_or_else(|| Error::internal("if() arguments"))?;
                let cond = args.pop().ok_or_else(|| Error::internal("if() arguments"))?;
                Expr::Case {
                    operand: None,
                    when_then: vec![(cond, then)],
                    else_expr,
                }
            }
            "mod" | "fmod" | "add" | "subtract" | "multiply" | "divide" | "date_add" => {
                arity(2)?;
                let op = match name {
                    "mod" | "fmod" => BinaryOp::Modulo,
                    "add" | "date_add" => BinaryOp::Plus,
                    "subtract" => BinaryOp::Minus,
                    "multiply" => BinaryOp::Multiply,
                    _ => BinaryOp::Divide,
                };
                binary(op, args).ok_or_else(|| Error::internal("binary function arguments"))?
            }
            _ => match ScalarFunc::from_name(name) {
                Some(func) => call(func, args),
                None => return Ok(None),
            },
        }))
    }

    /// `s [NOT] [I]LIKE pattern ESCAPE e`.
    pub(super) fn bind_like_escape(
        &self,
        expr: Expr,
        pattern: Expr,
        escape: &Value,
        negated: bool,
        case_insensitive: bool,
    ) -> Result<Expr> {
        let escape = match escape {
            Value::Null => Expr::Literal(ScalarValue::Utf8(None)),
            other => Expr::Literal(self.bind_value(other)?),
        };
        let func = if case_insensitive {
            ScalarFunc::ILikeEscape
        } else {
            ScalarFunc::LikeEscape
        };
        Ok(not_if(negated, call(func, vec![expr, pattern, escape])))
    }

    /// `s ~ p`, `s ~* p`, `s !~ p`, `s !~* p`, and the bitwise operators `&`, `|`, `<<`, `>>`.
    pub(super) fn bind_regex_op(&self, op: &ast::BinaryOperator, left: Expr, right: Expr) -> Option<Expr> {
        use ast::BinaryOperator as B;
        let bitwise = match op {
            B::BitwiseAnd => Some(ScalarFunc::BitAnd),
            B::BitwiseOr => Some(ScalarFunc::BitOr),
            B::PGBitwiseShiftLeft => Some(ScalarFunc::ShiftLeft),
            B::PGBitwiseShiftRight => Some(ScalarFunc::ShiftRight),
            _ => None,
        };
        if let Some(func) = bitwise {
            return Some(call(func, vec![left, right]));
        }
        let (negated, insensitive) = match op {
            B::PGRegexMatch => (false, false),
            B::PGRegexIMatch => (false, true),
            B::PGRegexNotMatch => (true, false),
            B::PGRegexNotIMatch => (true, true),
            _ => return None,
        };
        let mut args = vec![left, right];
        if insensitive {
            args.push(text("i"));
        }
        // DuckDB's `~` finds the pattern anywhere (regexp_matches), unlike SIMILAR TO.
        Some(not_if(negated, call(ScalarFunc::RegexpMatches, args)))
    }

    /// `s [NOT] SIMILAR TO pattern`: a full regular-expression match.
    pub(super) fn bind_similar_to(&self, expr: Expr, pattern: Expr, negated: bool) -> Expr {
        not_if(negated, call(ScalarFunc::RegexpFullMatch, vec![expr, pattern]))
    }

    /// `expr GLOB pattern` (written `RLIKE` after [`super::glob::rewrite`]).
    pub(super) fn bind_glob(&self, expr: Expr, pattern: Expr, negated: bool) -> Expr {
        not_if(negated, call(ScalarFunc::Glob, vec![expr, pattern]))
    }

    /// `TRIM([LEADING|TRAILING|BOTH] [chars] FROM s)` and `TRIM(s, chars)`.
    pub(super) fn bind_trim(
        &self,
        expr: &ast::Expr,
        trim_where: Option<&TrimWhereField>,
        trim_what: Option<&ast::Expr>,
        trim_characters: Option<&Vec<ast::Expr>>,
        scope: &PlanSchema,
    ) -> Result<Expr> {
        let func = match trim_where {
            Some(TrimWhereField::Leading) => ScalarFunc::LTrim,
            Some(TrimWhereField::Trailing) => ScalarFunc::RTrim,
            _ => ScalarFunc::Trim,
        };
        let mut args = vec![self.bind_expr(expr, scope)?];
        if let Some(what) = trim_what {
            args.push(self.bind_expr(what, scope)?);
        }
        for c in trim_characters.into_iter().flatten() {
            args.push(self.bind_expr(c, scope)?);
        }
        Ok(call(func, args))
    }
}
