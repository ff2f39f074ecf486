//! How far a running query is, for the command line's live progress display: per stage the
//! tasks done, running and in all, and the rows and bytes the scans have read. Updated with
//! relaxed atomics by the scheduler and the scans, read by whoever watches.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// One stage's counts.
#[derive(Debug)]
pub struct StageProgress {
    /// The stage's id.
    pub id: usize,
    /// Its kind (`map`, `reduce`, `merge`, `result`).
    pub kind: String,
    /// Its tasks in all.
    pub tasks: usize,
    running: AtomicUsize,
    done: AtomicUsize,
}

impl StageProgress {
    /// Tasks running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Tasks finished.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }
}

/// The progress of one query.
#[derive(Debug)]
pub struct QueryProgress {
    started: Instant,
    stages: OnceLock<Vec<StageProgress>>,
    rows_read: AtomicU64,
    bytes_read: AtomicU64,
}

impl Default for QueryProgress {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            stages: OnceLock::new(),
            rows_read: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        }
    }
}

impl QueryProgress {
    /// Sets the stages (id, kind, tasks) once the stage graph is known.
    pub fn set_stages(&self, stages: impl IntoIterator<Item = (usize, String, usize)>) {
        let _ = self.stages.set(
            stages
                .into_iter()
                .map(|(id, kind, tasks)| StageProgress {
                    id,
                    kind,
                    tasks,
                    running: AtomicUsize::new(0),
                    done: AtomicUsize::new(0),
                })
                .collect(),
        );
    }

    /// The stages, empty until they are set.
    pub fn stages(&self) -> &[StageProgress] {
        self.stages.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// A task of stage `id` started.
    pub fn task_started(&self, id: usize) {
        if let Some(s) = self.stages().iter().find(|s| s.id == id) {
            s.running.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A task of stage `id` ended.
    pub fn task_done(&self, id: usize) {
        if let Some(s) = self.stages().iter().find(|s| s.id == id) {
            s.running.fetch_sub(1, Ordering::Relaxed);
            s.done.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A scan read `rows` rows, `bytes` bytes once decoded.
    pub fn add_read(&self, rows: u64, bytes: u64) {
        self.rows_read.fetch_add(rows, Ordering::Relaxed);
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Rows and bytes read so far.
    pub fn read(&self) -> (u64, u64) {
        (
            self.rows_read.load(Ordering::Relaxed),
            self.bytes_read.load(Ordering::Relaxed),
        )
    }

    /// Seconds since the query started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Tasks finished and tasks in all, over every stage.
    pub fn tasks(&self) -> (usize, usize) {
        self.stages()
            .iter()
            .fold((0, 0), |(d, t), s| (d + s.done(), t + s.tasks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tasks_per_stage() {
        let p = QueryProgress::default();
        p.set_stages([(0, "map".to_string(), 3), (1, "result".to_string(), 1)]);
        p.task_started(0);
        p.task_started(0);
        p.task_done(0);
        p.add_read(10, 100);
        assert_eq!(p.stages()[0].running(), 1);
        assert_eq!(p.stages()[0].done(), 1);
        assert_eq!(p.tasks(), (1, 4));
        assert_eq!(p.read(), (10, 100));
    }
}

/// The query a session is running, held weakly, so another thread (the progress display)
/// can watch it without keeping it alive.
#[derive(Debug, Clone, Default)]
pub struct RunningQuery(std::sync::Arc<Mutex<std::sync::Weak<crate::exec::task::QueryContext>>>);

impl RunningQuery {
    /// Shows `query` as the one running.
    pub fn set(&self, query: &std::sync::Arc<crate::exec::task::QueryContext>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = std::sync::Arc::downgrade(query);
        }
    }

    /// The query running now, if any.
    pub fn get(&self) -> Option<std::sync::Arc<crate::exec::task::QueryContext>> {
        self.0.lock().ok().and_then(|slot| slot.upgrade())
    }
}
