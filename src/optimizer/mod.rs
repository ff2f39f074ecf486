//! Optimizer rules.
