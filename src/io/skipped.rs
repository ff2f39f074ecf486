//! What `read_csv(…, ignore_errors = true)` skipped: a count and the earliest skipped row
//! (by file, then line), shared by the scan's tasks and read by the session after the
//! statement to warn the user.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One skipped row.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRow {
    /// Index of the file in its source (orders rows across files).
    pub file_index: usize,
    /// The file as the user named it.
    pub file: String,
    /// 1-based line on which the row starts.
    pub line: u64,
    /// 1-based column of the bad value or of the first missing / extra field.
    pub column: u64,
    /// Why the row was skipped.
    pub reason: String,
}

/// Rows skipped by one source.
#[derive(Debug, Default)]
pub struct SkipLog {
    count: AtomicU64,
    first: Mutex<Option<SkippedRow>>,
}

impl SkipLog {
    /// Notes that `n` rows were skipped, `first` the earliest of them.
    pub fn record(&self, n: u64, first: SkippedRow) {
        if n == 0 {
            return;
        }
        self.count.fetch_add(n, Ordering::Relaxed);
        if let Ok(mut slot) = self.first.lock() {
            let earlier = slot
                .as_ref()
                .is_none_or(|s| (first.file_index, first.line) < (s.file_index, s.line));
            if earlier {
                *slot = Some(first);
            }
        }
    }

    /// The rows skipped since the last call (count and earliest), resetting the log.
    pub fn take(&self) -> Option<(u64, SkippedRow)> {
        let n = self.count.swap(0, Ordering::Relaxed);
        let first = self.first.lock().ok()?.take()?;
        (n > 0).then_some((n, first))
    }

    /// The warning for the rows skipped since the last call, if any.
    pub fn take_warning(&self, location: &str) -> Option<String> {
        let (n, first) = self.take()?;
        let rows = if n == 1 { "row" } else { "rows" };
        Some(format!(
            "{location}: skipped {n} {rows} that could not be read (ignore_errors = true); the first: \
             {}:{} column {}: {}",
            first.file, first.line, first.column, first.reason
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_earliest() {
        let log = SkipLog::default();
        let row = |file_index, line| SkippedRow {
            file_index,
            file: format!("f{file_index}"),
            line,
            column: 1,
            reason: "bad".into(),
        };
        log.record(2, row(1, 3));
        log.record(1, row(0, 9));
        log.record(1, row(0, 12));
        let w = log.take_warning("x*.csv").unwrap();
        assert!(w.contains("skipped 4 rows") && w.contains("f0:9 column 1"), "{w}");
        assert!(log.take().is_none());
    }
}
