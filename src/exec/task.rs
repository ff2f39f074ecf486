//! What a running task sees: which (stage, partition) it is, the query's configuration,
//! its memory pool, the shuffle outputs of the stages it reads, and the cancel flag.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::memory::MemoryPool;
use crate::exec::metrics::QueryMetrics;
use crate::exec::shuffle::ShuffleStore;
use crate::exec::spill::SpillManager;

/// Settings that shape execution.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// Rows per batch produced by scans and operators.
    pub batch_size: usize,
    /// Number of buckets a hash exchange produces (reduce-stage partitions).
    pub target_partitions: usize,
    /// Worker threads in the rayon pool.
    pub threads: usize,
    /// A build side estimated below this many bytes is broadcast instead of shuffled.
    pub broadcast_threshold_bytes: u64,
    /// Whether a larger build side is still broadcast when it fits a share of the memory
    /// pool and its probe side is larger (see `PhysicalPlanner::broadcasts`); tests turn
    /// it off to force shuffled joins.
    pub broadcast_within_memory: bool,
    /// Target size of one file partition (CSV byte range) in bytes.
    pub file_partition_bytes: u64,
    /// Where spill files go (`--temp-dir`, `SET temp_directory`); the system temp directory
    /// when `None`.
    pub temp_dir: Option<PathBuf>,
    /// The most bytes spill files may take on disk at once (`SET max_temp_directory_size`).
    pub max_temp_bytes: Option<u64>,
    /// A `Final` or `Single` hash aggregate whose table reaches this many groups, most of
    /// them seen once, partitions its groups by key hash and aggregates the partitions one
    /// at a time, so that no table outgrows the caches.
    pub aggregate_partition_groups: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self {
            batch_size: 8192,
            target_partitions: threads,
            threads,
            broadcast_threshold_bytes: 32 << 20,
            broadcast_within_memory: true,
            file_partition_bytes: 8 << 20,
            temp_dir: None,
            max_temp_bytes: None,
            aggregate_partition_groups: 1 << 17,
        }
    }
}

/// State shared by every task of one query.
#[derive(Debug)]
pub struct QueryContext {
    /// Execution settings.
    pub config: ExecConfig,
    /// The session's memory pool.
    pub memory: Arc<MemoryPool>,
    /// Outputs of finished (or running) stages, read by later stages.
    pub shuffles: ShuffleStore,
    /// Set on Ctrl-C or on the first failed task; running tasks stop at the next batch.
    pub cancelled: Arc<AtomicBool>,
    /// Per-stage and per-task measurements.
    pub metrics: QueryMetrics,
    /// The query's spill files (removed when the last reference goes).
    pub spill: Arc<SpillManager>,
    /// How far the query is, for a live progress display.
    pub progress: crate::exec::progress::QueryProgress,
    /// Rows, batches, time and peak memory per operator.
    pub operators: Arc<crate::exec::op_metrics::OperatorMetrics>,
}

impl QueryContext {
    /// A context for one query.
    pub fn new(config: ExecConfig, memory: Arc<MemoryPool>, cancelled: Arc<AtomicBool>) -> Self {
        let spill = SpillManager::new(config.temp_dir.clone(), config.max_temp_bytes);
        Self {
            config,
            memory,
            shuffles: ShuffleStore::default(),
            cancelled,
            metrics: QueryMetrics::default(),
            spill,
            progress: Default::default(),
            operators: Default::default(),
        }
    }
}

/// The context of one task: one partition of one stage.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The stage this task belongs to.
    pub stage_id: usize,
    /// The partition of that stage this task computes.
    pub partition: usize,
    /// The query-wide state.
    pub query: Arc<QueryContext>,
    /// The operator being run ([`crate::exec::op_metrics::node_key`]; 0 outside one): the
    /// reservations it makes through [`TaskContext::reservation`] count as its memory.
    pub operator: usize,
}

impl TaskContext {
    /// The context of a task run on its own, outside a scheduled query (tests, benchmarks):
    /// stage 0, partition 0, a fresh pool of `memory_limit` bytes, never cancelled.
    pub fn standalone(config: ExecConfig, memory_limit: usize) -> TaskContext {
        TaskContext {
            stage_id: 0,
            partition: 0,
            query: Arc::new(QueryContext::new(
                config,
                MemoryPool::new(memory_limit),
                Arc::new(AtomicBool::new(false)),
            )),
            operator: 0,
        }
    }

    /// This context for another partition of the same stage.
    pub fn for_partition(&self, partition: usize) -> TaskContext {
        TaskContext {
            partition,
            ..self.clone()
        }
    }

    /// Errors with [`Error::Cancelled`] once the query is cancelled; operators call this
    /// once per batch.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.query.cancelled.load(Ordering::Relaxed) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Rows per batch.
    pub fn batch_size(&self) -> usize {
        self.query.config.batch_size
    }

    /// The memory pool.
    pub fn memory(&self) -> &Arc<MemoryPool> {
        &self.query.memory
    }

    /// A reservation from the pool for the operator being run, named `consumer`; its peak
    /// counts as that operator's memory in EXPLAIN ANALYZE.
    pub fn reservation(&self, consumer: impl Into<String>) -> crate::exec::memory::MemoryReservation {
        let reservation = self.query.memory.reservation(consumer);
        if self.operator == 0 {
            return reservation;
        }
        reservation.counted_for(self.operator, Arc::clone(&self.query.operators))
    }

    /// This context while operator `key` runs.
    pub fn for_operator(&self, key: usize) -> TaskContext {
        TaskContext {
            operator: key,
            ..self.clone()
        }
    }

    /// The name an operator's spill files are counted under in EXPLAIN ANALYZE:
    /// `Sort (stage 2)`.
    pub fn spill_label(&self, operator: &str) -> String {
        format!("{operator} (stage {})", self.stage_id)
    }

    /// The query's spill area.
    pub fn spill(&self) -> &Arc<SpillManager> {
        &self.query.spill
    }
}
