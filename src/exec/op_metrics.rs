//! Per-operator measurements for EXPLAIN ANALYZE, traces and reports. Every operator's output
//! stream in every task is counted — rows, batches, and the time spent producing them (its
//! children's time included; the report subtracts it) — and every reservation an operator
//! makes through its task context records its peak. Each stream and reservation adds its
//! totals once, when it is dropped, so the hot path takes no lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::physical::plan::{BatchStream, PlanRef};

/// What one operator did over all the tasks that ran it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpMetrics {
    /// Rows produced.
    pub rows: u64,
    /// Batches produced.
    pub batches: u64,
    /// Time spent producing them, its inputs' time included.
    pub time: Duration,
    /// Streams (tasks, or runs) that ran it.
    pub streams: u64,
    /// The most bytes one of its reservations held at once.
    pub peak_memory: usize,
}

/// The measurements of one query, by operator (see [`node_key`]).
#[derive(Debug, Default)]
pub struct OperatorMetrics {
    by_node: Mutex<HashMap<usize, OpMetrics>>,
}

impl OperatorMetrics {
    fn add(&self, key: usize, m: &OpMetrics) {
        if let Ok(mut map) = self.by_node.lock() {
            let e = map.entry(key).or_default();
            e.rows += m.rows;
            e.batches += m.batches;
            e.time += m.time;
            e.streams += m.streams;
            e.peak_memory = e.peak_memory.max(m.peak_memory);
        }
    }

    /// Records a reservation's peak for operator `key`.
    pub fn record_peak(&self, key: usize, peak: usize) {
        self.add(
            key,
            &OpMetrics {
                peak_memory: peak,
                ..OpMetrics::default()
            },
        );
    }

    /// The measurements of every operator so far.
    pub fn snapshot(&self) -> HashMap<usize, OpMetrics> {
        self.by_node.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// The identity of an operator node in a running plan (its address: plans do not change
/// while they run).
pub fn node_key(plan: &PlanRef) -> usize {
    Arc::as_ptr(plan) as *const () as usize
}

/// Wraps `inner`, the output of operator `key`, so that what passes through is counted into
/// `metrics` when the stream is dropped.
pub fn measure(inner: BatchStream, key: usize, metrics: Arc<OperatorMetrics>) -> BatchStream {
    Box::new(Measured {
        inner,
        key,
        metrics,
        acc: OpMetrics {
            streams: 1,
            ..OpMetrics::default()
        },
    })
}

struct Measured {
    inner: BatchStream,
    key: usize,
    metrics: Arc<OperatorMetrics>,
    acc: OpMetrics,
}

impl Iterator for Measured {
    type Item = Result<arrow::record_batch::RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let started = Instant::now();
        let next = self.inner.next();
        self.acc.time += started.elapsed();
        if let Some(Ok(b)) = &next {
            self.acc.rows += b.num_rows() as u64;
            self.acc.batches += 1;
        }
        next
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        self.metrics.add(self.key, &self.acc);
    }
}
