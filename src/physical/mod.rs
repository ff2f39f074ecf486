//! Physical planning and operators: the planner turns an optimized logical plan into a tree
//! of operators ([`plan::ExecutionPlan`]) with exchanges where data is repartitioned.

pub mod aggregate;
pub mod cast;
pub mod datetime_text;
pub mod decimal;
pub mod dictionary_keys;
pub mod expr;
pub mod float_zero;
pub mod functions;
pub mod hive_prune;
pub mod in_set;
pub mod join_filter;
pub mod like_parts;
pub mod materialize_shared;
pub mod nested_cmp;
pub mod ops;
pub mod partitioned_on;
pub mod plan;
pub mod planner;
pub mod prefetch;
pub mod rows;
pub mod scan_filter;
pub mod shared_subplans;
pub mod temporal_arith;
pub mod window_top_k;
