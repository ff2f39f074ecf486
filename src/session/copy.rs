//! `COPY … TO` in a session: one file streamed from the query's result, or (PARTITION_BY,
//! PER_THREAD_OUTPUT) a directory written by the result stage's tasks in parallel through a
//! `WriteExec` root, staged in a temporary directory until the whole COPY succeeded.

use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use sqlparser::ast::Statement;

use super::{Session, StatementResult};
use crate::copy_to::partitioned::WriteTarget;
use crate::copy_to::staging::Staging;
use crate::copy_to::CopyTo;
use crate::error::{Error, Result};
use crate::physical::ops::write::WriteExec;
use crate::physical::plan::PlanRef;

impl Session {
    /// Runs `copy`; the result says how many rows were written.
    pub(crate) fn copy_to(&mut self, copy: &CopyTo) -> Result<StatementResult> {
        let parsed = crate::frontend::sql::parse(&copy.query_sql)?;
        let Some(Statement::Query(q)) = parsed.first() else {
            return Err(Error::internal("COPY TO source is not a query"));
        };
        let plan = self.bind(q)?;
        if let Some(endpoint) = self.config.remote.clone() {
            return self.copy_to_remote(copy, plan, &endpoint);
        }
        let rows = if copy.writes_directory() {
            self.copy_to_directory(copy, plan)?
        } else {
            let (schema, mut stream) = self.run_plan_streaming(plan)?;
            let memory = Arc::clone(&self.memory);
            copy.write(&schema, &mut stream, &memory)?
        };
        Ok(StatementResult::Done {
            message: "COPY".into(),
            rows: Some(rows),
        })
    }

    /// `COPY … TO` in remote mode: the cluster writes the rows to its own storage (a
    /// directory of part files at the path, as Spark writes), with `INSERT OVERWRITE
    /// DIRECTORY`. Spark does not say how many rows it wrote.
    fn copy_to_remote(
        &mut self,
        copy: &CopyTo,
        plan: crate::logical::plan::LogicalPlan,
        endpoint: &crate::remote::Endpoint,
    ) -> Result<StatementResult> {
        use crate::remote::render::{cluster_path, quote_string};
        if !copy.partition_by.is_empty() {
            return Err(Error::not_supported(
                "remote mode: COPY … PARTITION_BY (Spark's INSERT OVERWRITE DIRECTORY has no partitions)",
            ));
        }
        let (format, mut options) = match copy.format {
            crate::copy_to::CopyFormat::Parquet => ("parquet", vec![]),
            crate::copy_to::CopyFormat::Text(crate::cli::format::OutputFormat::Csv) => {
                ("csv", vec![format!("header '{}'", copy.header)])
            }
            crate::copy_to::CopyFormat::Text(crate::cli::format::OutputFormat::Tsv) => (
                "csv",
                vec![format!("header '{}'", copy.header), "sep '\\t'".to_string()],
            ),
            crate::copy_to::CopyFormat::Text(crate::cli::format::OutputFormat::Ndjson) => ("json", vec![]),
            crate::copy_to::CopyFormat::Text(other) => {
                return Err(Error::not_supported(format!(
                    "remote mode: COPY … (FORMAT {other:?}) (the cluster writes parquet, csv, tsv or json)"
                )))
            }
        };
        if let Some(codec) = &copy.compression {
            options.push(format!("compression {}", quote_string(codec)));
        }
        let mut query = self.remote_query(plan)?;
        let options = if options.is_empty() {
            String::new()
        } else {
            format!(" OPTIONS ({})", options.join(", "))
        };
        query.query = format!(
            "INSERT OVERWRITE DIRECTORY {} USING {format}{options} {}",
            quote_string(&cluster_path(&copy.path.to_string_lossy())?),
            query.query
        );
        let rows = self.run_remote_query(endpoint, &query)?;
        for batch in rows {
            batch?;
        }
        Ok(StatementResult::Done {
            message: "COPY".into(),
            rows: None,
        })
    }

    fn copy_to_directory(&mut self, copy: &CopyTo, plan: crate::logical::plan::LogicalPlan) -> Result<u64> {
        let partition_by = copy.partition_columns(plan.schema().arrow())?;
        let spec = copy.file_spec()?;
        let staging = Staging::create(&copy.path, copy.existing)?;
        let dir = staging.dir().to_path_buf();
        let target = std::sync::Mutex::new(None::<Arc<WriteTarget>>);
        let wrap = |root: PlanRef, schema: &arrow::datatypes::SchemaRef| -> Result<PlanRef> {
            let t = Arc::new(WriteTarget::new(&dir, spec, Arc::clone(schema), partition_by.clone())?);
            if let Ok(mut slot) = target.lock() {
                *slot = Some(Arc::clone(&t));
            }
            Ok(Arc::new(WriteExec::new(root, t)))
        };
        let (_, stream) = self.run_plan_with(plan, &wrap)?;
        let mut rows = 0u64;
        for batch in stream {
            let batch = batch?;
            if let Some(counts) = batch.column(0).as_any().downcast_ref::<Int64Array>() {
                rows += counts.iter().flatten().sum::<i64>() as u64;
            }
        }
        let target = target
            .into_inner()
            .ok()
            .flatten()
            .ok_or_else(|| Error::internal("COPY TO wrote no plan"))?;
        // PER_THREAD_OUTPUT of no rows still writes one (empty) file, as DuckDB.
        if copy.per_thread_output && target.files() == 0 {
            target.open(std::path::Path::new(""), &self.memory)?.finish()?;
        }
        staging.commit()?;
        Ok(rows)
    }
}
