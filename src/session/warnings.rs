//! Warnings a statement leaves for the user: rows that `read_csv(…, ignore_errors = true)`
//! skipped. The sources a query reads are noted when it is planned; after the statement
//! the CLI calls [`Session::take_warnings`] and prints each line to stderr.

use std::sync::Arc;

use super::Session;
use crate::io::FileSource;
use crate::logical::plan::{LogicalPlan, TableSource};

/// The sources read since the warnings were last taken that may have something to say.
#[derive(Debug, Default)]
pub(crate) struct ReadWarnings {
    sources: Vec<Arc<FileSource>>,
}

impl ReadWarnings {
    /// Notes the sources in `plan` that skip bad rows.
    pub(crate) fn watch(&mut self, plan: &LogicalPlan) {
        if let LogicalPlan::Scan(s) = plan {
            if let TableSource::File(f) = &s.source {
                if f.skipped.is_some() && !self.sources.iter().any(|x| Arc::ptr_eq(x, f)) {
                    self.sources.push(Arc::clone(f));
                }
            }
        }
        for input in plan.inputs() {
            self.watch(input);
        }
    }

    fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sources)
            .iter()
            .filter_map(|s| s.take_warning())
            .collect()
    }
}

impl Session {
    /// The warnings of the statements run since the last call, one line each (e.g. how
    /// many rows `ignore_errors = true` skipped and where the first was). Call it after a
    /// statement's result has been consumed.
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.read_warnings.take()
    }
}
