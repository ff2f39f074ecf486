//! `ProjectionExec`: computes output columns from expressions over the input.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::Result;
use crate::exec::task::TaskContext;
use crate::physical::expr::PhysExprRef;
use crate::physical::plan::{execute_measured, with_column_types};
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Computes `exprs` for every row.
#[derive(Debug)]
pub struct ProjectionExec {
    input: PlanRef,
    exprs: Vec<PhysExprRef>,
    schema: SchemaRef,
}

impl ProjectionExec {
    /// Projects `input` to `exprs`, producing `schema`.
    pub fn new(input: PlanRef, exprs: Vec<PhysExprRef>, schema: SchemaRef) -> Self {
        Self { input, exprs, schema }
    }

    /// The projected expressions, over the input's columns.
    pub fn exprs(&self) -> &[PhysExprRef] {
        &self.exprs
    }

    /// The input.
    pub fn input(&self) -> &PlanRef {
        &self.input
    }
}

impl ExecutionPlan for ProjectionExec {
    fn name(&self) -> &'static str {
        "Projection"
    }
    fn details(&self) -> String {
        self.exprs
            .iter()
            .zip(self.schema.fields())
            .map(|(e, f)| {
                let text = e.to_string();
                if text.split('@').next() == Some(f.name().as_str()) {
                    text
                } else {
                    format!("{text} AS {}", f.name())
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn children(&self) -> Vec<&PlanRef> {
        vec![&self.input]
    }
    fn with_new_children(self: Arc<Self>, mut children: Vec<PlanRef>) -> Result<PlanRef> {
        Ok(Arc::new(ProjectionExec::new(
            children.remove(0),
            self.exprs.clone(),
            Arc::clone(&self.schema),
        )))
    }
    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }
    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        let exprs = self.exprs.clone();
        let schema = Arc::clone(&self.schema);
        Ok(Box::new(input.map(move |b| {
            let b = b?;
            let columns = exprs
                .iter()
                .zip(schema.fields())
                .map(|(e, f)| {
                    let c = e.evaluate(&b)?;
                    // An untyped NULL takes the column's declared type.
                    if c.data_type() == &arrow::datatypes::DataType::Null && f.data_type() != c.data_type() {
                        Ok(arrow::array::new_null_array(f.data_type(), c.len()))
                    } else {
                        Ok(c)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RecordBatch::try_new_with_options(
                with_column_types(&schema, &columns),
                columns,
                &RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
            )?)
        })))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
