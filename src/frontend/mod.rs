//! Frontends turn text into logical plans: [`sql`] binds sqlparser's AST against the catalog;
//! [`dsl`] parses the dataframe DSL and lowers it through the same binder.

pub mod dsl;
pub mod sql;
