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
