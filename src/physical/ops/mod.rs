//! Physical operators, one per file. Each implements [`crate::physical::plan::ExecutionPlan`].

pub mod exchange;
pub mod filter;
pub mod group_top_k;
pub mod hash_aggregate;
pub mod hash_join;
pub mod limit;
pub mod memory_scan;
pub mod projection;
pub mod range;
pub mod replicate;
pub mod scan;
pub mod shuffle_read;
pub mod sort;
pub mod sort_merge;
pub mod union;
pub mod values;
pub mod window;
pub mod write;
