//! Binding the `range(…)` and `generate_series(…)` table functions: `(stop)`,
//! `(start, stop)` or `(start, stop, step)` over BIGINTs. `range` leaves `stop` out,
//! `generate_series` includes it; a NULL argument gives no rows.

use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;
use sqlparser::ast::{FunctionArg, FunctionArgExpr};

use super::Binder;
use crate::error::{Error, Result};
use crate::logical::builder;
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::{coerce, expr_type};
use crate::physical::planner::lower_expr;

impl Binder<'_> {
    /// `range(…)` / `generate_series(…)` (`name` is the lower-case function name).
    pub(super) fn bind_range(&self, name: &str, args: &[FunctionArg]) -> Result<LogicalPlan> {
        let empty = PlanSchema::empty();
        let mut values: Vec<Option<i64>> = Vec::with_capacity(args.len());
        for arg in args {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg else {
                return Err(Error::plan(format!(
                    "{name} takes positional arguments only, not {arg}"
                )));
            };
            let expr = coerce(self.bind_expr(e, &empty)?, &empty, self.opts)?;
            let t = expr_type(&expr, &empty, self.opts)?;
            if !(t.is_integer() || t == DataType::Null) {
                return if matches!(t, DataType::Timestamp(_, _) | DataType::Date32) {
                    Err(Error::not_supported(format!("{name} over timestamps")))
                } else {
                    Err(Error::plan(format!(
                        "No function matches the given name and argument types '{name}({})'",
                        crate::logical::types::sql_type_name(&t)
                    )))
                };
            }
            let value = lower_expr(&expr, &empty, self.opts)?.evaluate_constant()?;
            values.push(match value.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(v) => v,
                other => return Err(Error::internal(format!("{name}: argument {other} is not BIGINT"))),
            });
        }
        let inclusive = name == "generate_series";
        if values.iter().any(Option::is_none) {
            return builder::range(name, 0, 0, 1, false);
        }
        let v: Vec<i64> = values.into_iter().flatten().collect();
        match v[..] {
            [stop] => builder::range(name, 0, stop, 1, inclusive),
            [start, stop] => builder::range(name, start, stop, 1, inclusive),
            [start, stop, step] => builder::range(name, start, stop, step, inclusive),
            _ => Err(Error::plan(format!(
                "{name} takes one to three arguments, not {}",
                v.len()
            ))),
        }
    }
}
