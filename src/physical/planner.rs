//! Physical planner.
