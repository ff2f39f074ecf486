//! `WindowExec`: computes window functions over its input partition. The planner hash-shuffles
//! the input on the PARTITION BY keys (or gathers it) and sorts each partition by
//! (partition keys, order keys), so every window partition lies in one task, contiguous and
//! ordered. The operator (`stream.rs`) reads its sorted input and holds one window
//! partition at a time (reserving memory), finds the partition and peer boundaries and each
//! call's frames, and evaluates every call with whole-array kernels.

mod aggregate;
mod frames;
mod ranking;
mod spilled;
mod stream;
mod value;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::exec::task::TaskContext;
use crate::logical::window::{FrameBound, FrameExclusion, FrameUnits, WindowFrame, WindowFunc};
use crate::physical::aggregate::AggregateExpr;
use crate::physical::expr::PhysExprRef;
use crate::physical::float_zero::canonical;
use crate::physical::ops::sort::{expr_label, PhysSortExpr};
use crate::physical::plan::execute_measured;
use crate::physical::plan::{BatchStream, ExecutionPlan, PlanRef};

use frames::{Layout, RangeKey};

/// One window function call, bound to the input's columns.
#[derive(Debug, Clone)]
pub struct PhysWindowExpr {
    /// The function.
    pub func: WindowFunc,
    /// Arguments (empty for `count(*)` and ranking functions without one).
    pub args: Vec<PhysExprRef>,
    /// The frame.
    pub frame: WindowFrame,
    /// `DISTINCT` inside an aggregate call.
    pub distinct: bool,
    /// `IGNORE NULLS` (value and offset functions).
    pub ignore_nulls: bool,
    /// Result type.
    pub return_type: DataType,
    /// Output column name.
    pub name: String,
}

impl fmt::Display for PhysWindowExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self.args.iter().map(|a| expr_label(a)).collect();
        let distinct = if self.distinct { "DISTINCT " } else { "" };
        write!(f, "{}({distinct}{})", self.func.name(), args.join(", "))?;
        if self.ignore_nulls {
            f.write_str(" IGNORE NULLS")?;
        }
        if !self.func.ignores_frame() {
            let bound = |b: &FrameBound| b.to_string();
            write!(
                f,
                " {} {}..{}",
                match self.frame.units {
                    FrameUnits::Rows => "ROWS",
                    FrameUnits::Range => "RANGE",
                    FrameUnits::Groups => "GROUPS",
                },
                bound(&self.frame.start),
                bound(&self.frame.end)
            )?;
            if self.frame.exclusion != FrameExclusion::NoOthers {
                write!(f, " EXCLUDE {}", self.frame.exclusion.name())?;
            }
        }
        Ok(())
    }
}

/// EXPLAIN's `partition=[...]` and `order=[...]` parts (each left out when empty).
pub(crate) fn key_labels(partition_keys: &[PhysExprRef], order_keys: &[PhysSortExpr]) -> Vec<String> {
    let mut parts = Vec::new();
    if !partition_keys.is_empty() {
        let keys: Vec<String> = partition_keys.iter().map(|k| expr_label(k)).collect();
        parts.push(format!("partition=[{}]", keys.join(", ")));
    }
    if !order_keys.is_empty() {
        let keys: Vec<String> = order_keys.iter().map(|k| k.to_string()).collect();
        parts.push(format!("order=[{}]", keys.join(", ")));
    }
    parts
}

/// Computes window calls sharing one PARTITION BY / ORDER BY spec.
#[derive(Debug)]
pub struct WindowExec {
    input: PlanRef,
    calls: Arc<WindowCalls>,
}

/// The calls of a [`WindowExec`] and the keys they share.
#[derive(Debug)]
struct WindowCalls {
    partition_keys: Vec<PhysExprRef>,
    order_keys: Vec<PhysSortExpr>,
    exprs: Vec<PhysWindowExpr>,
    schema: SchemaRef,
}

impl WindowExec {
    /// Window calls over `input`, which must arrive sorted by (partition keys, order keys)
    /// with each window partition inside one input partition. `schema` is the input's columns
    /// followed by one column per call.
    pub fn try_new(
        input: PlanRef,
        partition_keys: Vec<PhysExprRef>,
        order_keys: Vec<PhysSortExpr>,
        exprs: Vec<PhysWindowExpr>,
        schema: SchemaRef,
    ) -> Result<Self> {
        let width = input.schema().fields().len();
        if schema.fields().len() != width + exprs.len() {
            return Err(Error::internal("window output schema does not match its calls"));
        }
        Ok(Self {
            input,
            calls: Arc::new(WindowCalls {
                partition_keys,
                order_keys,
                exprs,
                schema,
            }),
        })
    }
}

impl WindowCalls {
    /// Computes every call over buffered, sorted, complete window partitions.
    fn compute(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let part_keys = self
            .partition_keys
            .iter()
            .map(|k| Ok(canonical(&k.evaluate(batch)?)))
            .collect::<Result<Vec<_>>>()?;
        let order_keys = self
            .order_keys
            .iter()
            .map(|k| Ok(canonical(&k.expr.evaluate(batch)?)))
            .collect::<Result<Vec<_>>>()?;
        let layout = Layout::new(rows, &part_keys, &order_keys)?;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for e in &self.exprs {
            let args = e.args.iter().map(|a| a.evaluate(batch)).collect::<Result<Vec<_>>>()?;
            let out = match e.func {
                WindowFunc::RowNumber
                | WindowFunc::Rank
                | WindowFunc::DenseRank
                | WindowFunc::PercentRank
                | WindowFunc::CumeDist
                | WindowFunc::Ntile => ranking::evaluate(e.func, args.first(), &layout)?,
                func => {
                    let key = match (&e.frame.units, order_keys.first(), self.order_keys.first()) {
                        (FrameUnits::Range, Some(k), Some(o))
                            if matches!(e.frame.start, FrameBound::Preceding(_) | FrameBound::Following(_))
                                || matches!(e.frame.end, FrameBound::Preceding(_) | FrameBound::Following(_)) =>
                        {
                            Some(RangeKey::new(k, o.descending)?)
                        }
                        _ => None,
                    };
                    let frames = frames::frames(&e.frame, &layout, key.as_ref())?;
                    match func {
                        WindowFunc::Aggregate(agg) if e.distinct || !aggregate::has_kernel(agg) => {
                            let call = AggregateExpr::try_new(agg, e.args.clone(), &batch.schema(), e.name.clone())?
                                .with_distinct(e.distinct);
                            aggregate::evaluate_with_accumulator(&call, &args, &frames)?
                        }
                        WindowFunc::Aggregate(agg) => {
                            aggregate::evaluate(agg, args.first(), &e.return_type, &layout, &frames)?
                        }
                        _ => value::evaluate(func, &args, &layout, &frames, e.ignore_nulls)?,
                    }
                }
            };
            let out = if out.data_type() == &e.return_type {
                out
            } else {
                arrow::compute::cast(&out, &e.return_type)?
            };
            columns.push(out);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

impl ExecutionPlan for WindowExec {
    fn name(&self) -> &'static str {
        "Window"
    }

    fn details(&self) -> String {
        let mut parts = key_labels(&self.calls.partition_keys, &self.calls.order_keys);
        let calls: Vec<String> = self.calls.exprs.iter().map(|e| e.to_string()).collect();
        parts.push(format!("[{}]", calls.join(", ")));
        parts.join(" ")
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.calls.schema)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [input]: [PlanRef; 1] = children
            .try_into()
            .map_err(|c: Vec<PlanRef>| Error::internal(format!("Window takes 1 child, got {}", c.len())))?;
        Ok(Arc::new(WindowExec::try_new(
            input,
            self.calls.partition_keys.clone(),
            self.calls.order_keys.clone(),
            self.calls.exprs.clone(),
            Arc::clone(&self.calls.schema),
        )?))
    }

    fn output_partitions(&self) -> Option<usize> {
        self.input.output_partitions()
    }

    fn execute(&self, partition: usize, ctx: &TaskContext) -> Result<BatchStream> {
        let input = execute_measured(&self.input, partition, ctx)?;
        Ok(Box::new(stream::WindowStream::new(
            input,
            Arc::clone(&self.calls),
            format!("Window[{partition}]"),
            ctx,
        )))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
