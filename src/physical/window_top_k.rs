//! Finds `rank <= k` filters over a window: the `k` for which the planner may put a
//! [`GroupTopKExec`](crate::physical::ops::group_top_k::GroupTopKExec) before the window's
//! sort.
//!
//! It applies when every call of the window is `row_number()` or `rank()` (other calls would
//! see fewer rows than they should), the calls have an ORDER BY, and one conjunct of the
//! filter bounds a call from above by an integer literal: `rn <= k`, `rn < k + 1`, `rn = k`
//! (which implies `rn <= k`), `k >= rn` or `rn BETWEEN lo AND k`.

use datafusion_common::ScalarValue;

use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::plan::Window;
use crate::logical::window::WindowFunc;
use crate::physical::ops::group_top_k::MAX_TOP_K;

/// The smallest `k` such that `predicate` (a filter directly above `window`) only passes
/// rows whose rank is at most `k`, when a top-k filter may run below the window.
pub fn rank_limit(predicate: &Expr, window: &Window) -> Option<usize> {
    let calls_rank_rows = window.window_exprs.iter().all(|e| {
        matches!(e, Expr::Window(call)
            if matches!(call.func, WindowFunc::RowNumber | WindowFunc::Rank) && !call.order_by.is_empty())
    });
    if !calls_rank_rows || window.window_exprs.is_empty() {
        return None;
    }
    let first_call = window.schema.len() - window.window_exprs.len();
    let is_call = |e: &Expr| match e {
        Expr::Column(c) => window.schema.find(c).ok().flatten().is_some_and(|i| i >= first_call),
        _ => false,
    };
    predicate
        .clone()
        .split_conjunction()
        .iter()
        .filter_map(|conjunct| upper_bound(conjunct, &is_call))
        .min()
        .filter(|&k| (1..=MAX_TOP_K as i64).contains(&k))
        .map(|k| k as usize)
}

/// The inclusive upper bound `conjunct` puts on a window call, if it is one.
fn upper_bound(conjunct: &Expr, is_call: &impl Fn(&Expr) -> bool) -> Option<i64> {
    match conjunct {
        Expr::Binary { left, op, right } => {
            let (op, bound) = if is_call(left) {
                (*op, integer(right)?)
            } else if is_call(right) {
                (mirrored(*op)?, integer(left)?)
            } else {
                return None;
            };
            match op {
                BinaryOp::LtEq | BinaryOp::Eq => Some(bound),
                BinaryOp::Lt => bound.checked_sub(1),
                _ => None,
            }
        }
        Expr::Between {
            expr,
            negated: false,
            high,
            ..
        } if is_call(expr) => integer(high),
        _ => None,
    }
}

/// `a op b` as `b op' a`.
fn mirrored(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Eq => BinaryOp::Eq,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        _ => return None,
    })
}

/// The value of an integer literal (through casts between integer types).
fn integer(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(value) => match value {
            ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int64(Some(v)) => Some(*v),
            ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
            ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
            _ => None,
        },
        Expr::Cast { expr, data_type, .. } if data_type.is_integer() => integer(expr),
        _ => None,
    }
}
