//! Rule `constant_folding`: evaluates constant sub-expressions once at planning time
//! (`DATE '1998-12-01' - INTERVAL '90' DAY` becomes a timestamp literal), simplifies boolean
//! identities (`x AND true`), and removes a cast from a date column compared with a
//! midnight timestamp constant so the comparison runs on the column's own type (and can
//! prune Parquet row groups).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::ScalarValue;

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::plan::*;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;
use crate::physical::planner::lower_constant;

/// See the module documentation.
pub struct ConstantFolding;

impl OptimizerRule for ConstantFolding {
    fn name(&self) -> &'static str {
        "constant_folding"
    }

    fn rewrite(&self, plan: LogicalPlan, _opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let out = plan.transform_up(|node| {
            let mut changed = false;
            let schema = match &node {
                LogicalPlan::Filter(f) => f.input.schema(),
                LogicalPlan::Projection(p) => p.input.schema(),
                other => other.schema(),
            };
            let mut fold = |e: &Expr| -> datafusion_common::Result<Expr> {
                let t = simplify(e.clone(), &schema).map_err(datafusion_common::DataFusionError::from)?;
                changed |= t.transformed;
                Ok(t.data)
            };
            let node = match node {
                LogicalPlan::Filter(f) => LogicalPlan::Filter(Filter {
                    predicate: fold(&f.predicate)?,
                    input: f.input,
                }),
                LogicalPlan::Projection(p) => LogicalPlan::Projection(Projection {
                    exprs: p
                        .exprs
                        .iter()
                        .map(&mut fold)
                        .collect::<datafusion_common::Result<_>>()?,
                    ..p
                }),
                LogicalPlan::Join(j) => LogicalPlan::Join(Join {
                    filter: j.filter.as_ref().map(&mut fold).transpose()?,
                    ..j
                }),
                LogicalPlan::Scan(s) => LogicalPlan::Scan(Scan {
                    filters: s
                        .filters
                        .iter()
                        .map(&mut fold)
                        .collect::<datafusion_common::Result<_>>()?,
                    ..s
                }),
                other => other,
            };
            // A filter that is constantly true disappears.
            let node = match node {
                LogicalPlan::Filter(f) if f.predicate == Expr::Literal(ScalarValue::Boolean(Some(true))) => {
                    changed = true;
                    Arc::unwrap_or_clone(f.input)
                }
                other => other,
            };
            Ok(Transformed::new_transformed(node, changed))
        })?;
        Ok((out.data, out.transformed))
    }
}

fn is_true(e: &Expr) -> bool {
    matches!(e, Expr::Literal(ScalarValue::Boolean(Some(true))))
}

fn is_false(e: &Expr) -> bool {
    matches!(e, Expr::Literal(ScalarValue::Boolean(Some(false))))
}

/// Folds and simplifies one expression.
pub fn simplify(e: Expr, schema: &PlanSchema) -> Result<Transformed<Expr>> {
    let t = e.transform_up(|node| {
        // Constant sub-expressions (other than plain literals and aliases) are evaluated.
        if node.is_constant() && !matches!(node, Expr::Literal(_) | Expr::Alias { .. }) {
            if let Ok(phys) = lower_constant(&node) {
                if let Ok(v) = phys.evaluate_constant() {
                    return Ok(Transformed::yes(Expr::Literal(v)));
                }
            }
            // Errors (e.g. a bad cast) surface at run time, where DuckDB raises them too.
            return Ok(Transformed::no(node));
        }
        Ok(match node {
            Expr::Binary {
                left,
                op: BinaryOp::And,
                right,
            } => {
                if is_true(&left) {
                    Transformed::yes(*right)
                } else if is_true(&right) {
                    Transformed::yes(*left)
                } else if is_false(&left) || is_false(&right) {
                    Transformed::yes(Expr::Literal(ScalarValue::Boolean(Some(false))))
                } else {
                    Transformed::no(Expr::Binary {
                        left,
                        op: BinaryOp::And,
                        right,
                    })
                }
            }
            Expr::Binary {
                left,
                op: BinaryOp::Or,
                right,
            } => {
                if is_false(&left) {
                    Transformed::yes(*right)
                } else if is_false(&right) {
                    Transformed::yes(*left)
                } else if is_true(&left) || is_true(&right) {
                    Transformed::yes(Expr::Literal(ScalarValue::Boolean(Some(true))))
                } else {
                    Transformed::no(Expr::Binary {
                        left,
                        op: BinaryOp::Or,
                        right,
                    })
                }
            }
            Expr::Binary { left, op, right } if op.is_comparison() => unwrap_date_cast(*left, op, *right, schema),
            Expr::Not(inner) => match *inner {
                Expr::Not(x) => Transformed::yes(*x),
                other => Transformed::no(Expr::Not(Box::new(other))),
            },
            other => Transformed::no(other),
        })
    })?;
    Ok(t)
}

/// `CAST(date_col AS TIMESTAMP) op TIMESTAMP 'yyyy-mm-dd 00:00:00'` → `date_col op DATE`.
fn unwrap_date_cast(left: Expr, op: BinaryOp, right: Expr, schema: &PlanSchema) -> Transformed<Expr> {
    let try_unwrap = |cast: &Expr, lit: &Expr| -> Option<(Expr, Expr)> {
        let Expr::Cast {
            expr,
            data_type: DataType::Timestamp(_, None),
            try_cast: false,
        } = cast
        else {
            return None;
        };
        let Expr::Literal(v) = lit else { return None };
        if !matches!(v, ScalarValue::TimestampMicrosecond(Some(_), None)) {
            return None;
        }
        let ScalarValue::TimestampMicrosecond(Some(us), None) = v else {
            return None;
        };
        const DAY_US: i64 = 86_400_000_000;
        if us.rem_euclid(DAY_US) != 0 {
            return None;
        }
        let days = i32::try_from(us.div_euclid(DAY_US)).ok()?;
        // Only a DATE column qualifies.
        let Expr::Column(c) = expr.as_ref() else { return None };
        let index = schema.find(c).ok().flatten()?;
        if schema.field(index).data_type() != &DataType::Date32 {
            return None;
        }
        Some((expr.as_ref().clone(), Expr::Literal(ScalarValue::Date32(Some(days)))))
    };
    if let Some((col, lit)) = try_unwrap(&left, &right) {
        return Transformed::yes(col.binary(op, lit));
    }
    if let Some((col, lit)) = try_unwrap(&right, &left) {
        return Transformed::yes(lit.binary(op, col));
    }
    Transformed::no(Expr::Binary {
        left: Box::new(left),
        op,
        right: Box::new(right),
    })
}
