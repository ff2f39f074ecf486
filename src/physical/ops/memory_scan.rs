//! A scan of a stored table (or of test inputs): partition `i` streams the chunks of table
//! partition `i`, projected — batches held in memory, and spill files read back one batch at
//! a time with only the projected columns decoded.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::table::TablePartition;
use crate::exec::task::TaskContext;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Streams a stored table's partitions.
#[derive(Debug)]
pub struct MemoryScanExec {
    partitions: Arc<Vec<TablePartition>>,
    /// The schema of the stored batches.
    source_schema: SchemaRef,
    projection: Option<Vec<usize>>,
    /// The schema after projection.
    schema: SchemaRef,
}

impl MemoryScanExec {
    /// A scan of `partitions` (batches of `schema` held in memory outside the pool),
    /// keeping the columns in `projection` (all when `None`).
    pub fn try_new(
        partitions: Vec<Vec<RecordBatch>>,
        schema: SchemaRef,
        projection: Option<Vec<usize>>,
    ) -> Result<Self> {
        let partitions = partitions.into_iter().map(TablePartition::unreserved).collect();
        Self::try_new_table(partitions, schema, projection)
    }

    /// A scan of a stored table's `partitions` (batches of `schema`), keeping the columns in
    /// `projection` (all when `None`).
    pub fn try_new_table(
        partitions: Vec<TablePartition>,
        schema: SchemaRef,
        projection: Option<Vec<usize>>,
    ) -> Result<Self> {
        for batch in partitions.iter().flat_map(TablePartition::memory_batches) {
            if batch.num_columns() != schema.fields().len() {
                return Err(Error::internal(format!(
                    "memory scan: batch has {} columns, schema {}",
                    batch.num_columns(),
                    schema.fields().len()
                )));
            }
        }
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => Arc::clone(&schema),
        };
        Ok(Self {
            partitions: Arc::new(partitions),
            source_schema: schema,
            projection,
            schema: projected,
        })
    }

    /// The partitions, unprojected.
    pub fn partitions(&self) -> &[TablePartition] {
        &self.partitions
    }

    /// The schema of the stored batches (before projection).
    pub fn source_schema(&self) -> &SchemaRef {
        &self.source_schema
    }

    /// The projection, when there is one.
    pub fn projection(&self) -> Option<&[usize]> {
        self.projection.as_deref()
    }
}

impl ExecutionPlan for MemoryScanExec {
    fn name(&self) -> &'static str {
        "MemoryScan"
    }

    fn details(&self) -> String {
        let names: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
        let spilled = self.partitions.iter().filter(|p| p.is_spilled()).count();
        let spilled = if spilled > 0 {
            format!(", spilled={spilled}")
        } else {
            String::new()
        };
        format!(
            "partitions={}{spilled}, columns=[{}]",
            self.partitions.len(),
            names.join(", ")
        )
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<PlanRef> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(Error::internal("MemoryScan has no inputs"))
        }
    }

    fn output_partitions(&self) -> Option<usize> {
        Some(self.partitions.len().max(1))
    }

    fn execute(&self, partition: usize, _ctx: &TaskContext) -> Result<BatchStream> {
        if self.partitions.is_empty() && partition == 0 {
            return Ok(Box::new(std::iter::empty()));
        }
        if partition >= self.partitions.len() {
            return Err(Error::internal(format!(
                "memory scan has {} partitions, asked for {partition}",
                self.partitions.len()
            )));
        }
        Ok(Box::new(self.partitions[partition].read(self.projection.clone())))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
