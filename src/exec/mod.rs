//! Running a stage graph: the scheduler, tasks, shuffles, the memory pool and metrics; and
//! the storage of tables, in memory or spilled.

pub mod allocator;
pub mod memory;
pub mod metrics;
pub mod op_metrics;
pub mod profile;
pub mod progress;
pub mod scheduler;
pub mod shuffle;
pub mod spill;
pub mod table;
pub mod task;
