//! Evaluation of scalar functions on Arrow arrays (arguments already cast to the types
//! `logical::functions::ScalarFunc::signature` asked for). One file per family.

mod bitwise;
mod conditional;
mod datetime;
mod glob;
mod list;
mod numeric;
mod string;

use arrow::array::{Array, ArrayRef, PrimitiveArray, StringArray, StringBuilder};
use arrow::buffer::NullBuffer;
use arrow::datatypes::ArrowPrimitiveType;

use crate::error::{Error, Result};
use crate::logical::functions::ScalarFunc;

/// Evaluates `func` over `args` (each `rows` long) producing `return_type`.
pub fn evaluate_function(
    func: ScalarFunc,
    args: &[ArrayRef],
    return_type: &arrow::datatypes::DataType,
    rows: usize,
) -> Result<ArrayRef> {
    if let Some(out) = conditional::evaluate(func, args, return_type, rows)? {
        return Ok(out);
    }
    if func == ScalarFunc::ListValue {
        return list::list_value(args, return_type, rows);
    }
    if matches!(
        func,
        ScalarFunc::BitAnd
            | ScalarFunc::BitOr
            | ScalarFunc::BitXor
            | ScalarFunc::BitNot
            | ScalarFunc::ShiftLeft
            | ScalarFunc::ShiftRight
    ) {
        return bitwise::evaluate(func, args);
    }
    if func == ScalarFunc::Glob {
        return glob::evaluate(args, rows);
    }
    if let Some(out) = string::evaluate(func, args, rows)? {
        return Ok(out);
    }
    if let Some(out) = numeric::evaluate(func, args, return_type, rows)? {
        return Ok(out);
    }
    if let Some(out) = datetime::evaluate(func, args, rows)? {
        return Ok(out);
    }
    Err(Error::internal(format!("no kernel for {}", func.name())))
}

/// Argument `i`.
fn arg(args: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    args.get(i)
        .ok_or_else(|| Error::internal(format!("function argument {i} is missing")))
}

/// Argument `i` as a VARCHAR array.
fn str_arg(args: &[ArrayRef], i: usize) -> Result<&StringArray> {
    let a = arg(args, i)?;
    a.as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| Error::internal(format!("expected VARCHAR, got {}", a.data_type())))
}

/// Argument `i` as a primitive array of type `T`.
fn prim_arg<T: ArrowPrimitiveType>(args: &[ArrayRef], i: usize) -> Result<&PrimitiveArray<T>> {
    let a = arg(args, i)?;
    a.as_any()
        .downcast_ref::<PrimitiveArray<T>>()
        .ok_or_else(|| Error::internal(format!("unexpected argument type {}", a.data_type())))
}

/// The rows where every one of `args` is non-NULL (`None`: all rows).
fn all_valid(args: &[ArrayRef]) -> Option<NullBuffer> {
    args.iter().fold(None, |acc: Option<NullBuffer>, a| {
        NullBuffer::union(acc.as_ref(), a.logical_nulls().as_ref())
    })
}

/// Builds a VARCHAR column: NULL where any argument is NULL, else what `f` writes for row `i`.
fn string_rows(
    args: &[ArrayRef],
    rows: usize,
    mut f: impl FnMut(usize, &mut String) -> Result<()>,
) -> Result<ArrayRef> {
    let valid = all_valid(args);
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    let mut buf = String::new();
    for i in 0..rows {
        if valid.as_ref().is_some_and(|v| v.is_null(i)) {
            out.append_null();
        } else {
            buf.clear();
            f(i, &mut buf)?;
            out.append_value(&buf);
        }
    }
    Ok(std::sync::Arc::new(out.finish()))
}

/// Builds a VARCHAR column of pieces of existing strings: NULL where any argument is NULL,
/// else `f(i)`, appended straight from where it lies (no per-row `String`). `bytes` sizes the
/// value buffer up front (e.g. the input's bytes, which a piece of each value cannot exceed).
fn borrowed_string_rows<'a>(
    args: &[ArrayRef],
    rows: usize,
    bytes: usize,
    mut f: impl FnMut(usize) -> Result<&'a str>,
) -> Result<ArrayRef> {
    let valid = all_valid(args);
    let mut out = StringBuilder::with_capacity(rows, bytes);
    for i in 0..rows {
        if valid.as_ref().is_some_and(|v| v.is_null(i)) {
            out.append_null();
        } else {
            out.append_value(f(i)?);
        }
    }
    Ok(std::sync::Arc::new(out.finish()))
}

/// Builds a column row by row: NULL where any argument is NULL, else `f(i)`.
fn rows_of<T, A>(args: &[ArrayRef], rows: usize, mut f: impl FnMut(usize) -> Result<T>) -> Result<ArrayRef>
where
    A: FromIterator<Option<T>> + Array + 'static,
{
    let valid = all_valid(args);
    let out: A = (0..rows)
        .map(|i| match &valid {
            Some(v) if v.is_null(i) => Ok(None),
            _ => f(i).map(Some),
        })
        .collect::<Result<A>>()?;
    Ok(std::sync::Arc::new(out))
}

/// Builds a BOOLEAN column: NULL where any argument is NULL, else `f(i)`.
fn bool_rows(args: &[ArrayRef], rows: usize, f: impl FnMut(usize) -> Result<bool>) -> Result<ArrayRef> {
    rows_of::<bool, arrow::array::BooleanArray>(args, rows, f)
}

/// Builds a BIGINT column: NULL where any argument is NULL, else `f(i)`.
fn i64_rows(args: &[ArrayRef], rows: usize, f: impl FnMut(usize) -> Result<i64>) -> Result<ArrayRef> {
    rows_of::<i64, arrow::array::Int64Array>(args, rows, f)
}
