//! SQL and DSL frontends.
