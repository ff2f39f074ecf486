//! Measurements of a running query: per stage and per task (wall time, rows, bytes), and
//! the memory and spill totals of a finished one ([`QueryStats`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::exec::memory::human_bytes;
use crate::exec::spill::SpillStats;

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

/// What a finished query used: peak reserved memory and spill files per operator. Shown by
/// `EXPLAIN ANALYZE` and `--timer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// The most bytes reserved from the pool at once.
    pub peak_memory: usize,
    /// The pool's limit (the share of the memory limit operators may reserve).
    pub memory_limit: usize,
    /// Spill totals per operator (`Sort (stage 2)`, `ShuffleWrite (stage 0)`, ...).
    pub spill: BTreeMap<String, SpillStats>,
}

impl QueryStats {
    /// Spill totals over all operators.
    pub fn spill_total(&self) -> SpillStats {
        self.spill.values().fold(SpillStats::default(), |a, s| SpillStats {
            files: a.files + s.files,
            bytes: a.bytes + s.bytes,
            rows: a.rows + s.rows,
        })
    }

    /// One line: `peak memory 12.0 MiB of 800.0 MiB pool, spilled 3 files (1.2 MiB)`.
    pub fn summary(&self) -> String {
        let total = self.spill_total();
        let spilled = if total.files == 0 {
            "no spill".to_string()
        } else {
            format!(
                "spilled {} file{} ({})",
                total.files,
                if total.files == 1 { "" } else { "s" },
                human_bytes(total.bytes as usize)
            )
        };
        format!(
            "peak memory {} of {} pool, {spilled}",
            human_bytes(self.peak_memory),
            human_bytes(self.memory_limit)
        )
    }

    /// One line per operator that spilled: `spill Sort (stage 1): 4 files, 1.2 MiB, 10000 rows`.
    pub fn spill_lines(&self) -> Vec<String> {
        self.spill
            .iter()
            .map(|(op, s)| {
                format!(
                    "spill {op}: {} file{}, {}, {} rows",
                    s.files,
                    if s.files == 1 { "" } else { "s" },
                    human_bytes(s.bytes as usize),
                    s.rows
                )
            })
            .collect()
    }
}
