//! The dataframe DSL: a line-oriented language of chains for people who think in Dask and
//! pandas (`docs/dsl.md` is its reference).
//!
//! ```text
//! script ──lexer──► tokens ──parser──► ast::Statement* ──lower──► LogicalPlan
//! ```
//!
//! * [`lexer`] finds names, strings, brackets and line ends; SQL arguments stay text.
//! * [`parser`] reads statements and chains, and each call's arguments by its signature in
//!   [`verbs`]; SQL arguments are parsed by sqlparser with their script positions.
//! * [`lower`] turns each call into plan nodes through the SQL binder's clause operations,
//!   so a verb means what its SQL clause means and equal queries give equal plans.
//!
//! The session runs statements (`session/dsl.rs`): it binds names, runs `persist()` and the
//! actions (`show`, `count`, `explain`, `visualize`, `to_csv`, …).

pub mod ast;
pub mod lexer;
pub mod lower;
pub mod parser;
pub mod verbs;

pub use parser::{is_complete, parse};
