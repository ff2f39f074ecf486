//! Frontends turn text into logical plans: [`sql`] binds sqlparser's AST against the catalog.
//! (The dataframe DSL lowers through the same `logical::builder`.)

pub mod sql;
