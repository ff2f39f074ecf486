//! A session: configuration, the catalog of tables and views, the memory pool and the worker
//! pool. [`Session::run_script`] parses SQL, plans, optimizes, cuts the stage graph, runs it
//! and hands back one [`StatementResult`] per statement.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::exec::memory::MemoryPool;
use crate::exec::task::ExecConfig;

/// Session settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Execution settings (threads, partitions, batch size).
    pub exec: ExecConfig,
    /// Memory limit in bytes.
    pub memory_limit: usize,
    /// Optimizer rules switched off by name (e.g. `predicate_pushdown`).
    pub disabled_rules: BTreeSet<String>,
    /// `/` on integers gives an integer (SQLite/Postgres) instead of a double (DuckDB).
    pub integer_division: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            exec: ExecConfig::default(),
            memory_limit: MemoryPool::default_limit(),
            disabled_rules: BTreeSet::new(),
            integer_division: false,
        }
    }
}

/// The rows a query produced.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names and types.
    pub schema: SchemaRef,
    /// The rows, in order.
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// The outcome of one statement.
#[derive(Debug, Clone)]
pub enum StatementResult {
    /// A query (SELECT, VALUES, EXPLAIN, DESCRIBE, SHOW TABLES): rows to print.
    Query(QueryResult),
    /// A statement that changes state (CREATE, DROP, SET ...), with a short message and,
    /// where it applies, the number of rows written.
    Done {
        /// E.g. `CREATE TABLE`.
        message: String,
        /// Rows inserted/created, when meaningful.
        rows: Option<u64>,
    },
}

/// A rask session.
pub struct Session {
    config: SessionConfig,
    memory: Arc<MemoryPool>,
    cancel: Arc<AtomicBool>,
}

impl Session {
    /// A session with `config`.
    pub fn new(config: SessionConfig) -> Result<Self> {
        let memory = MemoryPool::new(config.memory_limit);
        Ok(Self {
            config,
            memory,
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Mutable configuration (for `SET` and test harnesses).
    pub fn config_mut(&mut self) -> &mut SessionConfig {
        &mut self.config
    }

    /// The flag that cancels the running query when set (the Ctrl-C handler sets it).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// The memory pool.
    pub fn memory(&self) -> &Arc<MemoryPool> {
        &self.memory
    }

    /// Runs every statement in `sql` in order, passing each result to `on_result` as soon as
    /// it is ready; stops at the first error.
    pub fn run_script(&mut self, sql: &str, mut on_result: impl FnMut(StatementResult) -> Result<()>) -> Result<()> {
        let _ = (sql, &mut on_result);
        Err(crate::error::Error::not_supported("the SQL pipeline is being written"))
    }

    /// Runs every statement in `sql` and returns all results.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        let mut results = Vec::new();
        self.run_script(sql, |r| {
            results.push(r);
            Ok(())
        })?;
        Ok(results)
    }

    /// Names of the tables and views in the catalog, sorted (for `.tables` and completion).
    pub fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// The schema of table or view `name`, if it exists (for `.schema` and completion).
    pub fn table_schema(&self, name: &str) -> Option<SchemaRef> {
        let _ = name;
        None
    }
}
