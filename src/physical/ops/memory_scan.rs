//! A scan of batches held in memory: in-memory tables and test inputs. Partition `i` streams
//! the batches of `partitions[i]`, projected.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

/// Streams in-memory batches, one list of batches per partition.
#[derive(Debug)]
pub struct MemoryScanExec {
    partitions: Arc<Vec<Vec<RecordBatch>>>,
    /// The schema of the stored batches.
    source_schema: SchemaRef,
    projection: Option<Vec<usize>>,
    /// The schema after projection.
    schema: SchemaRef,
}

impl MemoryScanExec {
    /// A scan of `partitions` (batches of `schema`), keeping the columns in `projection`
    /// (all when `None`).
    pub fn try_new(
        partitions: Vec<Vec<RecordBatch>>,
        schema: SchemaRef,
        projection: Option<Vec<usize>>,
    ) -> Result<Self> {
        for batch in partitions.iter().flatten() {
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

    /// The batches of every partition, unprojected.
    pub fn partitions(&self) -> &[Vec<RecordBatch>] {
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
        format!("partitions={}, columns=[{}]", self.partitions.len(), names.join(", "))
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
        let partitions = Arc::clone(&self.partitions);
        let projection = self.projection.clone();
        let mut next = 0;
        Ok(Box::new(std::iter::from_fn(move || {
            let batch = partitions.get(partition)?.get(next)?;
            next += 1;
            Some(match &projection {
                Some(p) => batch.project(p).map_err(Error::from),
                None => Ok(batch.clone()),
            })
        })))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
