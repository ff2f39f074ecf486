//! Comparisons of nested values (LISTs, STRUCTs), which Arrow's comparison kernels do not
//! take: Arrow's row comparator orders them element by element, shorter lists first.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{make_comparator, Array, ArrayRef, BooleanBuilder};
use arrow::compute::SortOptions;

use crate::error::Result;
use crate::logical::expr::BinaryOp;

/// `left op right` for a comparison `op` over equal-length arrays.
pub fn compare(op: BinaryOp, left: &ArrayRef, right: &ArrayRef) -> Result<ArrayRef> {
    let cmp = make_comparator(left.as_ref(), right.as_ref(), SortOptions::default())?;
    let mut out = BooleanBuilder::with_capacity(left.len());
    for i in 0..left.len() {
        let (ln, rn) = (left.is_null(i), right.is_null(i));
        let distinct = |ord: Ordering| ord != Ordering::Equal;
        let value = match op {
            BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom => {
                let d = if ln || rn { ln != rn } else { distinct(cmp(i, i)) };
                Some(d == (op == BinaryOp::IsDistinctFrom))
            }
            _ if ln || rn => None,
            _ => {
                let ord = cmp(i, i);
                Some(match op {
                    BinaryOp::Eq => ord == Ordering::Equal,
                    BinaryOp::NotEq => ord != Ordering::Equal,
                    BinaryOp::Lt => ord == Ordering::Less,
                    BinaryOp::LtEq => ord != Ordering::Greater,
                    BinaryOp::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                })
            }
        };
        out.append_option(value);
    }
    Ok(Arc::new(out.finish()))
}
