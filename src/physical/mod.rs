//! Physical planning and operators.

pub mod aggregate;
pub mod expr;
pub mod ops;
pub mod plan;
pub mod planner;
