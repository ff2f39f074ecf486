//! rask's optimized logical plan as Spark SQL: what remote mode sends to the cluster, and what
//! `EXPLAIN` shows there. The output keeps rask's column names and, through a final `CAST` of
//! each column, rask's types, so results print exactly as a local run's would.

mod expr;
mod functions;
mod literal;
mod plan;
mod types;

use std::fmt;

pub use plan::cluster_path;
pub use types::{quote_identifier, quote_string, spark_type};

use crate::error::Result;
use crate::logical::plan::LogicalPlan;
use crate::logical::typecheck::TypeOptions;
use expr::column_name;

/// A query for Spark: statements to run first (temporary views over CSV and JSON files),
/// then the query.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkQuery {
    /// Run in order before `query`, in the same Spark session.
    pub setup: Vec<String>,
    /// The query; its columns are the plan's, by name and type.
    pub query: String,
}

impl fmt::Display for SparkQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for statement in &self.setup {
            writeln!(f, "{statement};")?;
        }
        write!(f, "{};", indented(&self.query))
    }
}

/// `sql` with each subquery on its own line, indented by its depth (string literals and
/// quoted names left as they are), for EXPLAIN.
pub fn indented(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + sql.len() / 8);
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == '\\' && q == '\'' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '`' => {
                    quote = Some(c);
                    out.push(c);
                }
                '(' => {
                    depth += 1;
                    let rest: String = chars.clone().take(6).collect();
                    if rest == "SELECT" {
                        out.push_str("(\n");
                        out.push_str(&"  ".repeat(depth));
                    } else {
                        out.push(c);
                    }
                }
                ')' => {
                    depth = depth.saturating_sub(1);
                    out.push(c);
                }
                c => out.push(c),
            },
        }
    }
    out
}

/// `plan` (optimized) as Spark SQL. Refuses, before anything is sent, what Spark cannot do
/// with DuckDB's meaning (a function without a counterpart, a table held by this session).
pub fn render_query(plan: &LogicalPlan, opts: TypeOptions) -> Result<SparkQuery> {
    let mut renderer = plan::PlanRenderer::new(opts);
    let body = renderer.node(plan)?;
    let schema = plan.schema();
    let items = schema
        .arrow()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(format!(
                "CAST(q.{} AS {}) AS {}",
                column_name(i),
                spark_type(f.data_type())?,
                quote_identifier(f.name())
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let query = if items.is_empty() {
        format!("SELECT * FROM ({body}) AS q")
    } else {
        format!("SELECT {} FROM ({body}) AS q", items.join(", "))
    };
    Ok(SparkQuery {
        setup: renderer.setup,
        query,
    })
}
