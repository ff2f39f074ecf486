//! Measurements of a running query: per stage and per task (wall time, rows, bytes).

use std::sync::Mutex;
use std::time::Duration;

/// What one task did.
#[derive(Debug, Clone)]
pub struct TaskMetrics {
    /// Stage id.
    pub stage_id: usize,
    /// Partition.
    pub partition: usize,
    /// Worker thread index.
    pub worker: usize,
    /// Start, relative to the query start.
    pub start: Duration,
    /// Wall time.
    pub elapsed: Duration,
    /// Rows the task produced.
    pub output_rows: u64,
    /// Bytes the task produced (in memory).
    pub output_bytes: u64,
}

/// All task measurements of one query.
#[derive(Debug, Default)]
pub struct QueryMetrics {
    tasks: Mutex<Vec<TaskMetrics>>,
}

impl QueryMetrics {
    /// Records a finished task.
    pub fn record(&self, task: TaskMetrics) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
    }

    /// The finished tasks so far.
    pub fn tasks(&self) -> Vec<TaskMetrics> {
        self.tasks.lock().map(|t| t.clone()).unwrap_or_default()
    }
}
