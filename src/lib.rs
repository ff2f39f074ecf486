//! # rask
//!
//! A query engine for the command line. A query travels through these layers:
//!
//! ```text
//!  SQL text ──sqlparser──► AST ──frontend::sql──► LogicalPlan ──optimizer──► LogicalPlan
//!                                                                              │
//!                                                                 physical::planner
//!                                                                              ▼
//!  output ◄── exec (rayon scheduler, memory pool) ◄── stage::StageGraph ◄── ExecutionPlan
//! ```
//!
//! * [`frontend`] binds SQL against the [`catalog`] into a [`logical::LogicalPlan`].
//! * [`optimizer`] rewrites it with named rules (constant folding, predicate and projection
//!   pushdown), each switchable off by name.
//! * [`physical`] picks algorithms (partial/final hash aggregation, partitioned or broadcast
//!   hash joins, sort + merge) and inserts exchanges.
//! * [`stage`] cuts the physical plan at its exchanges into a graph of stages; a task is one
//!   (stage, partition).
//! * [`exec`] runs tasks on a rayon pool as their inputs complete, on Arrow `RecordBatch`es,
//!   with every buffered byte reserved from one memory pool.
//! * [`io`] reads CSV, Parquet and JSON (files, globs, stdin) and writes results.
//! * [`cli`] is the command line, the REPL and the output formats.

pub mod catalog;
pub mod cli;
pub mod copy_from;
pub mod copy_to;
pub mod dml;
pub mod error;
pub mod exec;
pub mod frontend;
pub mod io;
pub mod logical;
pub mod optimizer;
pub mod params;
pub mod physical;
pub mod prepared;
pub mod remote;
pub mod session;
pub mod stage;
pub mod summarize;
pub mod unique;

pub use error::{Error, Result};
pub use session::{QueryResult, Session, SessionConfig, StatementResult};
