//! The stage graph: the physical plan cut at its exchanges. A stage is a pipeline of
//! operators run once per partition (a task) whose output goes to a sink: hash buckets,
//! a broadcast, a gather, or the query result.

pub mod dot;
pub mod graph;
pub mod split;

pub use graph::{Stage, StageGraph, StageSink};
pub use split::split_into_stages;
