//! The logical plan: what to compute, independent of how.

pub mod aggregate;
pub mod join_type;
