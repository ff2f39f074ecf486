//! The DSL's syntax tree: statements of chains of calls. Argument values are already parsed
//! into the form their verb takes (SQL expressions, select items and ORDER BY terms from
//! sqlparser, strings, numbers, nested chains), with their positions in the script.

use sqlparser::ast;

use crate::error::Location;

/// One statement: `name = chain` or a bare `chain`.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The name bound, for `name = chain`.
    pub target: Option<Name>,
    /// The chain.
    pub chain: Chain,
    /// The statement's source text (for messages and the REPL history).
    pub text: String,
}

impl Statement {
    /// Where the statement starts.
    pub fn location(&self) -> Location {
        match (&self.target, &self.chain.source) {
            (Some(name), _) | (None, Source::Name(name)) => name.location,
            (None, Source::Call(call)) => call.location,
        }
    }
}

/// A name with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The name as written.
    pub name: String,
    /// Where it is.
    pub location: Location,
}

/// A source followed by verbs: `orders.filter(…).head(5)`.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Where the chain starts.
    pub source: Source,
    /// The verbs applied in order.
    pub calls: Vec<Call>,
}

/// What a chain starts from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A frame bound earlier, or a table or view of the catalog.
    Name(Name),
    /// A source call: `read_csv(…)`, `table("t")`, `sql("…")`.
    Call(Call),
}

/// A call of a source or verb.
#[derive(Debug, Clone)]
pub struct Call {
    /// The verb, lower case.
    pub verb: String,
    /// Where its name is.
    pub location: Location,
    /// Its arguments in order.
    pub args: Vec<Arg>,
}

/// One argument.
#[derive(Debug, Clone)]
pub struct Arg {
    /// `name =` of a keyword argument.
    pub keyword: Option<Name>,
    /// The value.
    pub value: Value,
    /// Where the value starts.
    pub location: Location,
}

/// An argument's value, in the form its verb takes.
#[derive(Debug, Clone)]
pub enum Value {
    /// A SQL expression.
    Expr(Box<ast::Expr>),
    /// A SQL select-list item (`a`, `a + 1 AS b`, `*`).
    Item(Box<ast::SelectItem>),
    /// An ORDER BY term (`a DESC NULLS FIRST`).
    Order(Box<ast::OrderByExpr>),
    /// A string.
    Str(String),
    /// A non-negative whole number.
    Int(u64),
    /// Another chain (the other side of a join or union).
    Frame(Box<Chain>),
    /// `$name` where a string goes: the parameter's value (`--param name=value`).
    Param(String),
}

impl Value {
    /// The SQL expression, when the value is one.
    pub fn as_expr(&self) -> Option<&ast::Expr> {
        match self {
            Value::Expr(e) => Some(e),
            _ => None,
        }
    }
}

impl Call {
    /// The positional arguments.
    pub fn positional(&self) -> impl Iterator<Item = &Arg> {
        self.args.iter().filter(|a| a.keyword.is_none())
    }

    /// The keyword argument `name`, if given.
    pub fn keyword(&self, name: &str) -> Option<&Arg> {
        self.args
            .iter()
            .find(|a| a.keyword.as_ref().is_some_and(|k| k.name.eq_ignore_ascii_case(name)))
    }
}
