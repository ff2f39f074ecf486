//! Conditional and generic functions: coalesce, nullif, greatest, least, typeof.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::compute::kernels::{boolean, cmp, zip::zip};
use arrow::datatypes::DataType;

use super::arg;
use crate::error::Result;
use crate::logical::functions::ScalarFunc;
use crate::logical::types::sql_type_name;

/// Evaluates the conditional functions; `None` for other functions.
pub(super) fn evaluate(
    func: ScalarFunc,
    args: &[ArrayRef],
    _return_type: &DataType,
    rows: usize,
) -> Result<Option<ArrayRef>> {
    Ok(Some(match func {
        ScalarFunc::Coalesce => {
            let mut acc = Arc::clone(arg(args, 0)?);
            for next in &args[1..] {
                let missing = arrow::compute::is_null(&acc)?;
                acc = zip(&missing, next, &acc)?;
            }
            acc
        }
        ScalarFunc::NullIf => {
            let (a, b) = (arg(args, 0)?, arg(args, 1)?);
            let equal = crate::physical::expr::null_as_false(&cmp::eq(a, b)?);
            arrow::compute::nullif(a, &equal)?
        }
        ScalarFunc::Greatest | ScalarFunc::Least => {
            let mut acc = Arc::clone(arg(args, 0)?);
            for next in &args[1..] {
                let better = if func == ScalarFunc::Greatest {
                    cmp::gt(next, &acc)?
                } else {
                    cmp::lt(next, &acc)?
                };
                let better = crate::physical::expr::null_as_false(&better);
                let take = boolean::or(&better, &arrow::compute::is_null(&acc)?)?;
                acc = zip(&take, next, &acc)?;
            }
            acc
        }
        ScalarFunc::TypeOf => {
            let name = sql_type_name(arg(args, 0)?.data_type());
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(name, rows)))
        }
        _ => return Ok(None),
    }))
}
