//! Physical expressions: expressions bound to column indices, evaluated on a whole
//! `RecordBatch` at once with Arrow's kernels.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;

use crate::error::Result;

/// Shared reference to a physical expression.
pub type PhysExprRef = Arc<PhysicalExpr>;

/// An expression over the columns of an operator's input, by index.
#[derive(Debug, Clone)]
pub enum PhysicalExpr {
    /// Column `index` of the input (`name` for display).
    Column {
        /// Position in the input schema.
        index: usize,
        /// Name, for display.
        name: String,
    },
    /// A constant.
    Literal(ScalarValue),
}

impl PhysicalExpr {
    /// Column `index` named `name`.
    pub fn column(index: usize, name: impl Into<String>) -> PhysExprRef {
        Arc::new(PhysicalExpr::Column { index, name: name.into() })
    }

    /// A constant.
    pub fn literal(value: ScalarValue) -> PhysExprRef {
        Arc::new(PhysicalExpr::Literal(value))
    }

    /// Evaluates on `batch`, giving one value per row.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        match self {
            PhysicalExpr::Column { index, .. } => Ok(Arc::clone(batch.column(*index))),
            PhysicalExpr::Literal(v) => Ok(v.to_array_of_size(batch.num_rows())?),
        }
    }

    /// The result type given the input schema.
    pub fn data_type(&self, input: &Schema) -> Result<DataType> {
        match self {
            PhysicalExpr::Column { index, .. } => Ok(input.field(*index).data_type().clone()),
            PhysicalExpr::Literal(v) => Ok(v.data_type()),
        }
    }
}
