//! Physical expressions: expressions bound to column indices, evaluated on a whole
//! `RecordBatch` at once with Arrow's kernels. Constants stay length-1 "scalars" until an
//! array is needed, so `col < 5` compares against a scalar without materializing it.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Datum, Scalar, StringArray};
use arrow::compute::kernels::{boolean, cmp, numeric};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::logical::expr::BinaryOp;
use crate::logical::functions::ScalarFunc;
use crate::physical::functions::evaluate_function;
use crate::physical::in_set::InSet;

/// Shared reference to a physical expression.
pub type PhysExprRef = Arc<PhysicalExpr>;

/// Results of sub-expressions for one batch, by expression (see
/// [`PhysicalExpr::evaluate_shared`]).
pub type ExprCache = std::collections::HashMap<String, ColumnarValue>;

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
    /// `left op right`.
    Binary {
        /// Left operand.
        left: PhysExprRef,
        /// Operator.
        op: BinaryOp,
        /// Right operand.
        right: PhysExprRef,
    },
    /// `NOT e`.
    Not(PhysExprRef),
    /// `-e`.
    Negative(PhysExprRef),
    /// `e IS NULL`.
    IsNull(PhysExprRef),
    /// `e IS NOT NULL`.
    IsNotNull(PhysExprRef),
    /// `e [NOT] [I]LIKE pattern`.
    Like {
        /// Tested string.
        expr: PhysExprRef,
        /// Pattern.
        pattern: PhysExprRef,
        /// NOT LIKE.
        negated: bool,
        /// ILIKE.
        case_insensitive: bool,
    },
    /// `e [NOT] IN (list)`.
    InList {
        /// Tested value.
        expr: PhysExprRef,
        /// Candidates (same type as `expr`).
        list: Vec<PhysExprRef>,
        /// NOT IN.
        negated: bool,
    },
    /// `e [NOT] IN (constants)` over a long list of constants, looked up in a hash set.
    InSet {
        /// Tested value.
        expr: PhysExprRef,
        /// The constants.
        set: Arc<InSet>,
        /// NOT IN.
        negated: bool,
    },
    /// Searched CASE (a simple CASE is lowered to equality conditions).
    Case {
        /// WHEN condition / THEN value pairs.
        when_then: Vec<(PhysExprRef, PhysExprRef)>,
        /// ELSE value (NULL of the result type when absent).
        else_expr: PhysExprRef,
    },
    /// CAST / TRY_CAST.
    Cast {
        /// Value.
        expr: PhysExprRef,
        /// Target type.
        to: DataType,
        /// NULL instead of an error for values that do not convert.
        try_cast: bool,
    },
    /// A scalar function.
    Function {
        /// Which.
        func: ScalarFunc,
        /// Arguments (already cast to the function's signature).
        args: Vec<PhysExprRef>,
        /// Result type.
        return_type: DataType,
    },
}

/// An intermediate result: a full column or a length-1 constant.
#[derive(Debug, Clone)]
pub enum ColumnarValue {
    /// One value per row.
    Array(ArrayRef),
    /// The same value for every row (a length-1 array).
    Scalar(ArrayRef),
}

impl ColumnarValue {
    /// As an Arrow `Datum` for comparison and arithmetic kernels.
    pub fn datum(&self) -> Box<dyn Datum + '_> {
        match self {
            ColumnarValue::Array(a) => Box::new(a),
            ColumnarValue::Scalar(s) => Box::new(Scalar::new(Arc::clone(s))),
        }
    }

    /// As a full array of `num_rows` values.
    pub fn into_array(self, num_rows: usize) -> Result<ArrayRef> {
        match self {
            ColumnarValue::Array(a) => Ok(a),
            ColumnarValue::Scalar(s) => {
                if num_rows == 1 {
                    return Ok(s);
                }
                Ok(ScalarValue::try_from_array(&s, 0)?.to_array_of_size(num_rows)?)
            }
        }
    }

    /// The underlying array (of length 1 for a scalar).
    pub fn array(&self) -> &ArrayRef {
        match self {
            ColumnarValue::Array(a) | ColumnarValue::Scalar(a) => a,
        }
    }

    fn is_scalar(&self) -> bool {
        matches!(self, ColumnarValue::Scalar(_))
    }

    fn wrap(array: ArrayRef, scalar: bool) -> ColumnarValue {
        if scalar {
            ColumnarValue::Scalar(array)
        } else {
            ColumnarValue::Array(array)
        }
    }
}

impl PhysicalExpr {
    /// Column `index` named `name`.
    pub fn column(index: usize, name: impl Into<String>) -> PhysExprRef {
        Arc::new(PhysicalExpr::Column {
            index,
            name: name.into(),
        })
    }

    /// The input column this expression merely passes on, if it is a bare column.
    pub fn column_index(&self) -> Option<usize> {
        match self {
            PhysicalExpr::Column { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The direct sub-expressions, in order.
    fn children(&self) -> Vec<&PhysExprRef> {
        match self {
            PhysicalExpr::Column { .. } | PhysicalExpr::Literal(_) => vec![],
            PhysicalExpr::Binary { left, right, .. } => vec![left, right],
            PhysicalExpr::Not(e) | PhysicalExpr::Negative(e) | PhysicalExpr::IsNull(e) | PhysicalExpr::IsNotNull(e) => {
                vec![e]
            }
            PhysicalExpr::Like { expr, pattern, .. } => vec![expr, pattern],
            PhysicalExpr::InList { expr, list, .. } => std::iter::once(expr).chain(list).collect(),
            PhysicalExpr::InSet { expr, .. } => vec![expr],
            PhysicalExpr::Case { when_then, else_expr } => when_then
                .iter()
                .flat_map(|(w, t)| [w, t])
                .chain(std::iter::once(else_expr))
                .collect(),
            PhysicalExpr::Cast { expr, .. } => vec![expr],
            PhysicalExpr::Function { args, .. } => args.iter().collect(),
        }
    }

    /// The input columns (indices) the expression reads.
    pub fn column_indices(&self) -> std::collections::BTreeSet<usize> {
        let mut out = std::collections::BTreeSet::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if let PhysicalExpr::Column { index, .. } = e {
                out.insert(*index);
            }
            stack.extend(e.children().into_iter().map(|c| c.as_ref()));
        }
        out
    }

    /// Whether the expression calls a function whose result may differ between calls with
    /// the same arguments (`random()`, `now()`).
    pub fn is_volatile(&self) -> bool {
        matches!(self, PhysicalExpr::Function { func, .. } if func.is_volatile())
            || self.children().iter().any(|c| c.is_volatile())
    }

    /// The same expression over another input: column `i` becomes column `map(i)` (`None`
    /// when some column has no counterpart).
    pub fn with_columns_mapped(&self, map: &dyn Fn(usize) -> Option<usize>) -> Option<PhysExprRef> {
        let mapped: Vec<PhysExprRef> = self
            .children()
            .into_iter()
            .map(|c| c.with_columns_mapped(map))
            .collect::<Option<_>>()?;
        let mut next = mapped.into_iter();
        let mut take = || next.next();
        Some(Arc::new(match self {
            PhysicalExpr::Column { index, name } => PhysicalExpr::Column {
                index: map(*index)?,
                name: name.clone(),
            },
            PhysicalExpr::Literal(v) => PhysicalExpr::Literal(v.clone()),
            PhysicalExpr::Binary { op, .. } => PhysicalExpr::Binary {
                left: take()?,
                op: *op,
                right: take()?,
            },
            PhysicalExpr::Not(_) => PhysicalExpr::Not(take()?),
            PhysicalExpr::Negative(_) => PhysicalExpr::Negative(take()?),
            PhysicalExpr::IsNull(_) => PhysicalExpr::IsNull(take()?),
            PhysicalExpr::IsNotNull(_) => PhysicalExpr::IsNotNull(take()?),
            PhysicalExpr::Like {
                negated,
                case_insensitive,
                ..
            } => PhysicalExpr::Like {
                expr: take()?,
                pattern: take()?,
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            PhysicalExpr::InList { list, negated, .. } => PhysicalExpr::InList {
                expr: take()?,
                list: (0..list.len()).map(|_| take()).collect::<Option<_>>()?,
                negated: *negated,
            },
            PhysicalExpr::InSet { set, negated, .. } => PhysicalExpr::InSet {
                expr: take()?,
                set: Arc::clone(set),
                negated: *negated,
            },
            PhysicalExpr::Case { when_then, .. } => PhysicalExpr::Case {
                when_then: (0..when_then.len())
                    .map(|_| Some((take()?, take()?)))
                    .collect::<Option<_>>()?,
                else_expr: take()?,
            },
            PhysicalExpr::Cast { to, try_cast, .. } => PhysicalExpr::Cast {
                expr: take()?,
                to: to.clone(),
                try_cast: *try_cast,
            },
            PhysicalExpr::Function {
                func,
                args,
                return_type,
            } => PhysicalExpr::Function {
                func: *func,
                args: (0..args.len()).map(|_| take()).collect::<Option<_>>()?,
                return_type: return_type.clone(),
            },
        }))
    }

    /// A rough relative cost of evaluating the expression over `input`, for ordering a
    /// filter's conjuncts: reading strings, matching patterns, long IN lists and function
    /// calls cost more than comparing numbers.
    pub fn evaluation_cost(&self, input: &Schema) -> usize {
        let own = match self {
            PhysicalExpr::Column { index, .. } => match input.fields().get(*index).map(|f| f.data_type()) {
                Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Binary) => 4,
                _ => 0,
            },
            PhysicalExpr::Like { .. } => 8,
            PhysicalExpr::InList { list, .. } => 1 + list.len() / 4,
            PhysicalExpr::InSet { .. } => 4,
            PhysicalExpr::Function { .. } | PhysicalExpr::Case { .. } => 2,
            _ => 1,
        };
        own + self.children().iter().map(|c| c.evaluation_cost(input)).sum::<usize>()
    }

    /// A constant.
    pub fn literal(value: ScalarValue) -> PhysExprRef {
        Arc::new(PhysicalExpr::Literal(value))
    }

    /// Evaluates on `batch`, giving one value per row.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        self.evaluate_value(batch)?.into_array(batch.num_rows())
    }

    /// Evaluates a constant expression (no columns) to a scalar.
    pub fn evaluate_constant(&self) -> Result<ScalarValue> {
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let array = self.evaluate(&batch)?;
        Ok(ScalarValue::try_from_array(&array, 0)?)
    }

    /// Evaluates on `batch`, reusing results of identical sub-expressions already computed
    /// for the same batch (kept in `cache`): `a * (1 - b)` inside `a * (1 - b) * (1 + c)`
    /// and in a second aggregate is computed once.
    pub fn evaluate_shared(&self, batch: &RecordBatch, cache: &mut ExprCache) -> Result<ArrayRef> {
        self.evaluate_cached(batch, cache)?.into_array(batch.num_rows())
    }

    fn evaluate_cached(&self, batch: &RecordBatch, cache: &mut ExprCache) -> Result<ColumnarValue> {
        let computed = match self {
            PhysicalExpr::Binary { left, op, right } if op.is_arithmetic() => {
                let key = format!("{self:?}");
                if let Some(v) = cache.get(&key) {
                    return Ok(v.clone());
                }
                let l = left.evaluate_cached(batch, cache)?;
                let r = right.evaluate_cached(batch, cache)?;
                (key, binary(&l, *op, &r, batch.num_rows())?)
            }
            PhysicalExpr::Cast { expr, to, try_cast } => {
                let key = format!("{self:?}");
                if let Some(v) = cache.get(&key) {
                    return Ok(v.clone());
                }
                let v = expr.evaluate_cached(batch, cache)?;
                let scalar = v.is_scalar();
                let a = v.into_array(if scalar { 1 } else { batch.num_rows() })?;
                (key, ColumnarValue::wrap(cast_array(&a, to, *try_cast)?, scalar))
            }
            other => return other.evaluate_value(batch),
        };
        let (key, value) = computed;
        cache.insert(key, value.clone());
        Ok(value)
    }

    /// Evaluates on `batch`, keeping constants as scalars.
    pub fn evaluate_value(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        match self {
            PhysicalExpr::Column { index, .. } => Ok(ColumnarValue::Array(Arc::clone(batch.column(*index)))),
            PhysicalExpr::Literal(v) => Ok(ColumnarValue::Scalar(v.to_array_of_size(1)?)),
            PhysicalExpr::Binary { left, op, right } => {
                let l = left.evaluate_value(batch)?;
                let r = right.evaluate_value(batch)?;
                binary(&l, *op, &r, batch.num_rows())
            }
            PhysicalExpr::Not(e) => {
                let v = e.evaluate_value(batch)?;
                let scalar = v.is_scalar();
                let a = v.into_array(if scalar { 1 } else { batch.num_rows() })?;
                Ok(ColumnarValue::wrap(Arc::new(boolean::not(as_bool(&a)?)?), scalar))
            }
            PhysicalExpr::Negative(e) => {
                let v = e.evaluate_value(batch)?;
                let scalar = v.is_scalar();
                let a = v.into_array(if scalar { 1 } else { batch.num_rows() })?;
                Ok(ColumnarValue::wrap(numeric::neg(&a)?, scalar))
            }
            PhysicalExpr::IsNull(e) | PhysicalExpr::IsNotNull(e) => {
                let v = e.evaluate_value(batch)?;
                let scalar = v.is_scalar();
                let a = v.into_array(if scalar { 1 } else { batch.num_rows() })?;
                let out = if matches!(self, PhysicalExpr::IsNull(_)) {
                    boolean::is_null(&a)?
                } else {
                    boolean::is_not_null(&a)?
                };
                Ok(ColumnarValue::wrap(Arc::new(out), scalar))
            }
            PhysicalExpr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let e = expr.evaluate_value(batch)?;
                let p = pattern.evaluate_value(batch)?;
                if let Some(out) = like_by_parts(&e, &p, *negated, *case_insensitive) {
                    return Ok(ColumnarValue::Array(Arc::new(out)));
                }
                let p = literal_backslashes(p)?;
                let scalar = e.is_scalar() && p.is_scalar();
                let (ed, pd) = (e.datum(), p.datum());
                let out = match (negated, case_insensitive) {
                    (false, false) => arrow::compute::kernels::comparison::like(ed.as_ref(), pd.as_ref())?,
                    (true, false) => arrow::compute::kernels::comparison::nlike(ed.as_ref(), pd.as_ref())?,
                    (false, true) => arrow::compute::kernels::comparison::ilike(ed.as_ref(), pd.as_ref())?,
                    (true, true) => arrow::compute::kernels::comparison::nilike(ed.as_ref(), pd.as_ref())?,
                };
                Ok(ColumnarValue::wrap(Arc::new(out), scalar))
            }
            PhysicalExpr::InList { expr, list, negated } => {
                let n = batch.num_rows();
                let canonical = |v: ColumnarValue| {
                    ColumnarValue::wrap(crate::physical::float_zero::canonical(v.array()), v.is_scalar())
                };
                let e = canonical(expr.evaluate_value(batch)?);
                let mut acc: Option<BooleanArray> = None;
                for item in list {
                    let v = canonical(item.evaluate_value(batch)?);
                    let eq = cmp::eq(e.datum().as_ref(), v.datum().as_ref())?;
                    let eq = expand_bool(eq, n)?;
                    acc = Some(match acc {
                        None => eq,
                        Some(a) => boolean::or_kleene(&a, &eq)?,
                    });
                }
                let acc = acc.ok_or_else(|| Error::internal("IN with an empty list"))?;
                let out = if *negated { boolean::not(&acc)? } else { acc };
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            PhysicalExpr::InSet { expr, set, negated } => {
                let e = expr.evaluate_value(batch)?;
                let scalar = e.is_scalar();
                let found = set.contains(e.array(), *negated)?;
                Ok(ColumnarValue::wrap(Arc::new(found), scalar))
            }
            PhysicalExpr::Case { when_then, else_expr } => {
                let n = batch.num_rows();
                let mut acc = else_expr.evaluate(batch)?;
                for (w, t) in when_then.iter().rev() {
                    let cond = w.evaluate(batch)?;
                    let cond = null_as_false(as_bool(&cond)?);
                    let then = t.evaluate_value(batch)?;
                    acc = arrow::compute::kernels::zip::zip(&cond, then.datum().as_ref(), &acc)?;
                }
                let _ = n;
                Ok(ColumnarValue::Array(acc))
            }
            PhysicalExpr::Cast { expr, to, try_cast } => {
                let v = expr.evaluate_value(batch)?;
                let scalar = v.is_scalar();
                let a = v.into_array(if scalar { 1 } else { batch.num_rows() })?;
                Ok(ColumnarValue::wrap(cast_array(&a, to, *try_cast)?, scalar))
            }
            PhysicalExpr::Function {
                func,
                args,
                return_type,
            } => {
                let values = args
                    .iter()
                    .map(|a| a.evaluate_value(batch))
                    .collect::<Result<Vec<_>>>()?;
                let scalar = !values.is_empty() && values.iter().all(ColumnarValue::is_scalar);
                let rows = if scalar { 1 } else { batch.num_rows() };
                let arrays = values
                    .into_iter()
                    .map(|v| v.into_array(rows))
                    .collect::<Result<Vec<_>>>()?;
                Ok(ColumnarValue::wrap(
                    evaluate_function(*func, &arrays, return_type, rows)?,
                    scalar,
                ))
            }
        }
    }

    /// The result type given the input schema.
    pub fn data_type(&self, input: &Schema) -> Result<DataType> {
        Ok(match self {
            PhysicalExpr::Column { index, .. } => input.field(*index).data_type().clone(),
            PhysicalExpr::Literal(v) => v.data_type(),
            PhysicalExpr::Binary { left, op, right } => match op {
                op if op.is_comparison() => DataType::Boolean,
                BinaryOp::And | BinaryOp::Or => DataType::Boolean,
                BinaryOp::Concat => DataType::Utf8,
                _ => {
                    let (l, r) = (left.data_type(input)?, right.data_type(input)?);
                    let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
                    let out = binary(
                        &ColumnarValue::Array(arrow::array::new_empty_array(&l)),
                        *op,
                        &ColumnarValue::Array(arrow::array::new_empty_array(&r)),
                        batch.num_rows(),
                    )?;
                    out.into_array(0)?.data_type().clone()
                }
            },
            PhysicalExpr::Not(_) | PhysicalExpr::IsNull(_) | PhysicalExpr::IsNotNull(_) => DataType::Boolean,
            PhysicalExpr::Like { .. } | PhysicalExpr::InList { .. } | PhysicalExpr::InSet { .. } => DataType::Boolean,
            PhysicalExpr::Negative(e) => e.data_type(input)?,
            PhysicalExpr::Case { else_expr, .. } => else_expr.data_type(input)?,
            PhysicalExpr::Cast { to, .. } => to.clone(),
            PhysicalExpr::Function { return_type, .. } => return_type.clone(),
        })
    }
}

/// `LIKE` over a column of strings with a constant `%a%b…%` pattern, by substring search
/// ([`crate::physical::like_parts`]); `None` for any other case.
fn like_by_parts(
    values: &ColumnarValue,
    pattern: &ColumnarValue,
    negated: bool,
    case_insensitive: bool,
) -> Option<BooleanArray> {
    if case_insensitive || values.is_scalar() || !pattern.is_scalar() {
        return None;
    }
    let pattern = pattern.array().as_any().downcast_ref::<StringArray>()?;
    if pattern.len() != 1 || pattern.is_null(0) {
        return None;
    }
    let parts = crate::physical::like_parts::parts(pattern.value(0))?;
    let values = values.array().as_any().downcast_ref::<StringArray>()?;
    Some(crate::physical::like_parts::matches(values, &parts, negated))
}

/// LIKE patterns with each `\` doubled: DuckDB's LIKE has no escape character unless ESCAPE is
/// given, while Arrow's kernel reads `\` as one.
fn literal_backslashes(p: ColumnarValue) -> Result<ColumnarValue> {
    let Some(strings) = p.array().as_any().downcast_ref::<StringArray>() else {
        return Ok(p);
    };
    if !strings.value_data().contains(&b'\\') {
        return Ok(p);
    }
    let doubled: StringArray = strings.iter().map(|v| v.map(|v| v.replace('\\', "\\\\"))).collect();
    Ok(ColumnarValue::wrap(Arc::new(doubled), p.is_scalar()))
}

/// A boolean mask with NULLs read as false (for filters, CASE and joins).
pub fn null_as_false(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        mask.clone()
    } else {
        arrow::compute::prep_null_mask_filter(mask)
    }
}

fn as_bool(a: &ArrayRef) -> Result<&BooleanArray> {
    a.as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::internal(format!("expected BOOLEAN, got {}", a.data_type())))
}

/// Expands a length-1 boolean result (scalar ⊕ scalar) to `n` rows.
fn expand_bool(a: BooleanArray, n: usize) -> Result<BooleanArray> {
    if a.len() == n {
        return Ok(a);
    }
    let s = ScalarValue::try_from_array(&a, 0)?.to_array_of_size(n)?;
    Ok(as_bool(&s)?.clone())
}

pub use crate::physical::cast::cast_array;

fn is_zero(v: &ColumnarValue, n: usize) -> Result<Option<BooleanArray>> {
    let a = v.clone().into_array(if v.is_scalar() { 1 } else { n })?;
    if !(a.data_type().is_integer() || matches!(a.data_type(), DataType::Decimal128(_, _))) {
        return Ok(None);
    }
    let zero = ScalarValue::new_zero(a.data_type())?.to_array_of_size(1)?;
    let mask = cmp::eq(&a, &Scalar::new(zero))?;
    Ok(if mask.true_count() == 0 { None } else { Some(mask) })
}

/// Arrow's integer overflow error in DuckDB's words:
/// `Out of Range Error: Overflow in addition of INT32 (2147483647 + 1)!`.
fn overflow(e: arrow::error::ArrowError, op: BinaryOp, l: &ColumnarValue) -> Error {
    let arrow::error::ArrowError::ArithmeticOverflow(message) = &e else {
        return e.into();
    };
    let what = match op {
        BinaryOp::Plus => "addition",
        BinaryOp::Minus => "subtraction",
        _ => "multiplication",
    };
    let ty = match l.array().data_type() {
        DataType::Int8 => "INT8",
        DataType::Int16 => "INT16",
        DataType::Int32 => "INT32",
        DataType::Int64 => "INT64",
        DataType::UInt8 => "UINT8",
        DataType::UInt16 => "UINT16",
        DataType::UInt32 => "UINT32",
        DataType::UInt64 => "UINT64",
        _ => return e.into(),
    };
    let operands = message.rsplit_once(": ").map(|(_, o)| o).unwrap_or(message);
    Error::execution(format!("Out of Range Error: Overflow in {what} of {ty} ({operands})!"))
}

fn binary(l: &ColumnarValue, op: BinaryOp, r: &ColumnarValue, n: usize) -> Result<ColumnarValue> {
    let scalar = l.is_scalar() && r.is_scalar();
    let rows = if scalar { 1 } else { n };
    if crate::logical::types::temporal_arithmetic_types(op, l.array().data_type(), r.array().data_type()).is_some() {
        let (la, ra) = (l.clone().into_array(rows)?, r.clone().into_array(rows)?);
        if let Some(out) = crate::physical::temporal_arith::evaluate(op, &la, &ra)? {
            return Ok(ColumnarValue::wrap(out, scalar));
        }
    }
    if op.is_comparison() && (l.array().data_type().is_nested() || r.array().data_type().is_nested()) {
        let (la, ra) = (l.clone().into_array(rows)?, r.clone().into_array(rows)?);
        return Ok(ColumnarValue::wrap(
            crate::physical::nested_cmp::compare(op, &la, &ra)?,
            scalar,
        ));
    }
    // DuckDB compares -0.0 as 0.0.
    let canonical =
        |v: &ColumnarValue| ColumnarValue::wrap(crate::physical::float_zero::canonical(v.array()), v.is_scalar());
    let (l, r) = if op.is_comparison() {
        (&canonical(l), &canonical(r))
    } else {
        (l, r)
    };
    let (ld, rd) = (l.datum(), r.datum());
    let (ld, rd) = (ld.as_ref(), rd.as_ref());
    let out: ArrayRef = match op {
        BinaryOp::Eq => Arc::new(cmp::eq(ld, rd)?),
        BinaryOp::NotEq => Arc::new(cmp::neq(ld, rd)?),
        BinaryOp::Lt => Arc::new(cmp::lt(ld, rd)?),
        BinaryOp::LtEq => Arc::new(cmp::lt_eq(ld, rd)?),
        BinaryOp::Gt => Arc::new(cmp::gt(ld, rd)?),
        BinaryOp::GtEq => Arc::new(cmp::gt_eq(ld, rd)?),
        BinaryOp::IsDistinctFrom => Arc::new(cmp::distinct(ld, rd)?),
        BinaryOp::IsNotDistinctFrom => Arc::new(cmp::not_distinct(ld, rd)?),
        BinaryOp::And | BinaryOp::Or => {
            let la = l.clone().into_array(rows)?;
            let ra = r.clone().into_array(rows)?;
            let (la, ra) = (as_bool(&la)?, as_bool(&ra)?);
            Arc::new(if op == BinaryOp::And {
                boolean::and_kleene(la, ra)?
            } else {
                boolean::or_kleene(la, ra)?
            })
        }
        BinaryOp::Plus | BinaryOp::Minus | BinaryOp::Multiply => {
            let fast = crate::physical::decimal::arith(op, l.array(), l.is_scalar(), r.array(), r.is_scalar());
            let out = match (fast, op) {
                (Some(out), _) => out,
                (None, BinaryOp::Plus) => numeric::add(ld, rd).map_err(|e| overflow(e, op, l))?,
                (None, BinaryOp::Minus) => numeric::sub(ld, rd).map_err(|e| overflow(e, op, l))?,
                (None, _) => numeric::mul(ld, rd).map_err(|e| overflow(e, op, l))?,
            };
            if op == BinaryOp::Multiply {
                crate::physical::decimal::fit_product(out, l.array().data_type(), r.array().data_type())?
            } else {
                out
            }
        }
        BinaryOp::Divide | BinaryOp::IntegerDivide | BinaryOp::Modulo => {
            // DuckDB: division by zero gives NULL.
            let r = match is_zero(r, n)? {
                Some(mask) => {
                    let ra = r.clone().into_array(if r.is_scalar() { 1 } else { n })?;
                    ColumnarValue::wrap(arrow::compute::nullif(&ra, &mask)?, r.is_scalar())
                }
                None => r.clone(),
            };
            let rd = r.datum();
            let out = if op == BinaryOp::Modulo {
                numeric::rem(ld, rd.as_ref())?
            } else {
                numeric::div(ld, rd.as_ref())?
            };
            if op == BinaryOp::IntegerDivide && matches!(out.data_type(), DataType::Float64) {
                let f = out
                    .as_any()
                    .downcast_ref::<arrow::array::Float64Array>()
                    .ok_or_else(|| Error::internal("floor of non-double"))?;
                Arc::new(arrow::compute::kernels::arity::unary::<
                    _,
                    _,
                    arrow::datatypes::Float64Type,
                >(f, f64::floor))
            } else {
                out
            }
        }
        BinaryOp::Concat => {
            let la = l.clone().into_array(rows)?;
            let ra = r.clone().into_array(rows)?;
            let (ls, rs) = (
                la.as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::internal("|| on non-string"))?,
                ra.as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::internal("|| on non-string"))?,
            );
            Arc::new(arrow::compute::kernels::concat_elements::concat_elements_utf8(ls, rs)?)
        }
    };
    // x86 makes `0.0 / 0.0` and `inf - inf` a NaN with its sign bit set, which orders below
    // every number in a total order (max, sort); DuckDB has one NaN, above every number.
    let out = if op.is_comparison() {
        out
    } else {
        crate::physical::float_zero::positive_nan(out)
    };
    Ok(ColumnarValue::wrap(out, scalar))
}

impl fmt::Display for PhysicalExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhysicalExpr::Column { index, name } => write!(f, "{name}@{index}"),
            PhysicalExpr::Literal(v) => crate::logical::expr::format_literal(v, f),
            PhysicalExpr::Binary { left, op, right } => write!(f, "({left} {} {right})", op.symbol()),
            PhysicalExpr::Not(e) => write!(f, "NOT {e}"),
            PhysicalExpr::Negative(e) => write!(f, "-{e}"),
            PhysicalExpr::IsNull(e) => write!(f, "{e} IS NULL"),
            PhysicalExpr::IsNotNull(e) => write!(f, "{e} IS NOT NULL"),
            PhysicalExpr::Like {
                expr, pattern, negated, ..
            } => write!(f, "{expr} {}LIKE {pattern}", if *negated { "NOT " } else { "" }),
            PhysicalExpr::InList { expr, list, negated } => {
                let items: Vec<String> = list.iter().map(|e| e.to_string()).collect();
                write!(
                    f,
                    "{expr} {}IN ({})",
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            PhysicalExpr::InSet { expr, set, negated } => {
                write!(f, "{expr} {}IN (", if *negated { "NOT " } else { "" })?;
                for (i, value) in set.values().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match value {
                        Ok(v) => crate::logical::expr::format_literal(&v, f)?,
                        Err(_) => f.write_str("?")?,
                    }
                }
                f.write_str(")")
            }
            PhysicalExpr::Case { when_then, else_expr } => {
                f.write_str("CASE")?;
                for (w, t) in when_then {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                write!(f, " ELSE {else_expr} END")
            }
            PhysicalExpr::Cast { expr, to, .. } => {
                write!(f, "CAST({expr} AS {})", crate::logical::types::sql_type_name(to))
            }
            PhysicalExpr::Function { func, args, .. } => {
                let items: Vec<String> = args.iter().map(|e| e.to_string()).collect();
                write!(f, "{}({})", func.name(), items.join(", "))
            }
        }
    }
}
