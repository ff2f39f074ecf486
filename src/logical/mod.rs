//! The logical plan: what to compute, independent of how. Expressions ([`expr`]), plan nodes
//! ([`plan`]), schemas with qualified column resolution ([`schema`]), SQL types and implicit
//! casts ([`types`], [`typecheck`]), and the builder that derives every node's schema.

pub mod aggregate;
pub mod builder;
pub mod cardinality;
pub mod expr;
pub mod functions;
pub mod interval;
pub mod join_type;
pub mod plan;
pub mod scan_predicates;
pub mod schema;
pub mod subquery;
pub mod typecheck;
pub mod types;
pub mod window;

pub use expr::{BinaryOp, Expr};
pub use plan::LogicalPlan;
pub use schema::{ColumnRef, PlanSchema};
