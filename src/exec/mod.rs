//! Running a stage graph: the scheduler, tasks, shuffles, the memory pool and metrics.

pub mod memory;
pub mod metrics;
pub mod scheduler;
pub mod shuffle;
pub mod spill;
pub mod task;
