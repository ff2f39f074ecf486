//! Logical expressions: what to compute per row (or per group), bound to column references
//! by name. The SQL binder and the DSL build them; the typer (`typecheck.rs`) inserts casts so
//! every operator sees matching types; the physical planner binds them to column indices.

use std::fmt;

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::ScalarValue;

use crate::logical::aggregate::AggFunc;
use crate::logical::functions::ScalarFunc;
use crate::logical::schema::ColumnRef;
use crate::logical::subquery::{SubqueryExpr, SubqueryKind};
use crate::logical::window::WindowExpr;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinaryOp {
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Multiply,
    /// `/` (a double on integers, DuckDB)
    Divide,
    /// `//` integer division
    IntegerDivide,
    /// `%`
    Modulo,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `||` string concatenation
    Concat,
    /// `IS DISTINCT FROM`
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM`
    IsNotDistinctFrom,
}

impl BinaryOp {
    /// True for `= <> < <= > >=` and the DISTINCT FROM comparisons.
    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
                | BinaryOp::IsDistinctFrom
                | BinaryOp::IsNotDistinctFrom
        )
    }

    /// True for `+ - * / // %`.
    pub fn is_arithmetic(&self) -> bool {
        matches!(
            self,
            BinaryOp::Plus
                | BinaryOp::Minus
                | BinaryOp::Multiply
                | BinaryOp::Divide
                | BinaryOp::IntegerDivide
                | BinaryOp::Modulo
        )
    }

    /// The comparison with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn swap(&self) -> Option<BinaryOp> {
        Some(match self {
            BinaryOp::Eq => BinaryOp::Eq,
            BinaryOp::NotEq => BinaryOp::NotEq,
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            _ => return None,
        })
    }

    /// SQL spelling.
    pub fn symbol(&self) -> &'static str {
        match self {
            BinaryOp::Plus => "+",
            BinaryOp::Minus => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::IntegerDivide => "//",
            BinaryOp::Modulo => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Concat => "||",
            BinaryOp::IsDistinctFrom => "IS DISTINCT FROM",
            BinaryOp::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
        }
    }
}

/// A logical expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column of the input.
    Column(ColumnRef),
    /// A constant.
    Literal(ScalarValue),
    /// `left op right`.
    Binary {
        /// Left operand.
        left: Box<Expr>,
        /// Operator.
        op: BinaryOp,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `NOT expr`.
    Not(Box<Expr>),
    /// `-expr`.
    Negative(Box<Expr>),
    /// `expr IS NULL`.
    IsNull(Box<Expr>),
    /// `expr IS NOT NULL`.
    IsNotNull(Box<Expr>),
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// Tested value.
        expr: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
    },
    /// `expr [NOT] LIKE/ILIKE pattern`.
    Like {
        /// Tested string.
        expr: Box<Expr>,
        /// The pattern (`%`, `_`).
        pattern: Box<Expr>,
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE`.
        case_insensitive: bool,
    },
    /// `expr [NOT] IN (list)`.
    InList {
        /// Tested value.
        expr: Box<Expr>,
        /// Candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// WHEN/THEN pairs, in order.
        when_then: Vec<(Expr, Expr)>,
        /// ELSE (NULL when absent).
        else_expr: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`, `expr::type`, or `TRY_CAST` (NULL instead of an error).
    Cast {
        /// The value.
        expr: Box<Expr>,
        /// Target type.
        data_type: DataType,
        /// TRY_CAST.
        try_cast: bool,
    },
    /// A scalar function call.
    Function {
        /// The function.
        func: ScalarFunc,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// An aggregate call (only inside an Aggregate node after planning).
    Aggregate {
        /// The function.
        func: AggFunc,
        /// Arguments (empty for `count(*)`).
        args: Vec<Expr>,
        /// `DISTINCT` inside the call.
        distinct: bool,
        /// `FILTER (WHERE …)`.
        filter: Option<Box<Expr>>,
        /// `ORDER BY` inside the call; the keys are the last `order_by.len()` arguments.
        order_by: Vec<crate::logical::aggregate::AggOrder>,
    },
    /// A column of an enclosing query, referenced from inside a subquery (`depth` levels
    /// up: 1 is the query the subquery sits in). Only inside the binder.
    OuterColumn {
        /// The column, as resolved in the enclosing query's scope.
        column: ColumnRef,
        /// Its type there.
        data_type: DataType,
        /// How many query levels up.
        depth: usize,
    },
    /// A subquery used as a value (scalar, EXISTS, IN). Only inside the binder, which
    /// decorrelates it into joins.
    Subquery(SubqueryExpr),
    /// A window function call (only inside a Window node after planning).
    Window(Box<WindowExpr>),
    /// `expr AS name`.
    Alias {
        /// The value.
        expr: Box<Expr>,
        /// Output name.
        name: String,
    },
}

impl Expr {
    /// Whether the expression calls a function whose result may differ between calls with
    /// the same arguments (`random()`, `now()`).
    pub fn is_volatile(&self) -> bool {
        self.exists(|n| Ok(matches!(n, Expr::Function { func, .. } if func.is_volatile())))
            .unwrap_or(true)
    }

    /// Whether one evaluation can stand for another over the same rows: nothing volatile
    /// and no subquery (what lets equal subplans be computed once).
    pub fn is_repeatable(&self) -> bool {
        !self.is_volatile() && !self.exists(|n| Ok(matches!(n, Expr::Subquery(_)))).unwrap_or(true)
    }

    /// Moves every outer reference at `from_depth` levels up or more by `delta` levels
    /// (`+1`: seen from one query further in; `-1`: one query further out).
    pub fn shift_outer_depth(self, delta: isize, from_depth: usize) -> crate::error::Result<Expr> {
        Ok(self
            .transform_up(|n| match n {
                Expr::OuterColumn {
                    column,
                    data_type,
                    depth,
                } if depth >= from_depth => Ok(Transformed::yes(Expr::OuterColumn {
                    column,
                    data_type,
                    depth: depth.saturating_add_signed(delta),
                })),
                other => Ok(Transformed::no(other)),
            })?
            .data)
    }

    /// A column reference by (unqualified) name.
    pub fn col(name: impl Into<String>) -> Expr {
        Expr::Column(ColumnRef::new(name))
    }

    /// A constant.
    pub fn lit(value: ScalarValue) -> Expr {
        Expr::Literal(value)
    }

    /// `self op other`.
    pub fn binary(self, op: BinaryOp, other: Expr) -> Expr {
        Expr::Binary {
            left: Box::new(self),
            op,
            right: Box::new(other),
        }
    }

    /// `self AND other`.
    pub fn and(self, other: Expr) -> Expr {
        self.binary(BinaryOp::And, other)
    }

    /// `self AS name`.
    pub fn alias(self, name: impl Into<String>) -> Expr {
        Expr::Alias {
            expr: Box::new(self.unalias()),
            name: name.into(),
        }
    }

    /// The expression without a top-level alias.
    pub fn unalias(self) -> Expr {
        match self {
            Expr::Alias { expr, .. } => *expr,
            e => e,
        }
    }

    /// The name of the output column this expression produces: the alias, the column
    /// name, or the expression's SQL text (as DuckDB names unaliased expressions).
    pub fn output_name(&self) -> String {
        match self {
            Expr::Alias { name, .. } => name.clone(),
            Expr::Column(c) => c.name.clone(),
            other => other.to_string(),
        }
    }

    /// Splits a conjunction into its terms: `a AND (b AND c)` → `[a, b, c]`.
    pub fn split_conjunction(self) -> Vec<Expr> {
        match self {
            Expr::Binary {
                left,
                op: BinaryOp::And,
                right,
            } => {
                let mut terms = left.split_conjunction();
                terms.extend(right.split_conjunction());
                terms
            }
            Expr::Alias { expr, .. } => expr.split_conjunction(),
            e => vec![e],
        }
    }

    /// ANDs `terms` together; `None` when empty.
    pub fn conjunction(terms: impl IntoIterator<Item = Expr>) -> Option<Expr> {
        terms.into_iter().reduce(Expr::and)
    }

    /// Every column this expression references.
    pub fn columns(&self) -> Vec<ColumnRef> {
        let mut out = Vec::new();
        let _ = self.apply(|e| {
            if let Expr::Column(c) = e {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        out
    }

    /// True when the expression contains an aggregate call.
    pub fn contains_aggregate(&self) -> bool {
        self.exists(|e| Ok(matches!(e, Expr::Aggregate { .. })))
            .unwrap_or(false)
    }

    /// True when the expression contains a window function call.
    pub fn contains_window(&self) -> bool {
        self.exists(|e| Ok(matches!(e, Expr::Window(_)))).unwrap_or(false)
    }

    /// True when the expression references no column, no aggregate and no window.
    pub fn is_constant(&self) -> bool {
        !self
            .exists(|e| {
                Ok(matches!(
                    e,
                    Expr::Column(_)
                        | Expr::Aggregate { .. }
                        | Expr::Window(_)
                        | Expr::OuterColumn { .. }
                        | Expr::Subquery(_)
                ))
            })
            .unwrap_or(true)
    }

    /// The literal's value, when this is a literal.
    pub fn as_literal(&self) -> Option<&ScalarValue> {
        match self {
            Expr::Literal(v) => Some(v),
            _ => None,
        }
    }
}

#[allow(clippy::boxed_local)] // the boxes are the tree's own children, moved in and out
fn map_box<F>(b: Box<Expr>, f: &mut F) -> datafusion_common::Result<Transformed<Box<Expr>>>
where
    F: FnMut(Expr) -> datafusion_common::Result<Transformed<Expr>>,
{
    Ok(f(*b)?.update_data(Box::new))
}

fn map_vec<F>(v: Vec<Expr>, f: &mut F) -> datafusion_common::Result<Transformed<Vec<Expr>>>
where
    F: FnMut(Expr) -> datafusion_common::Result<Transformed<Expr>>,
{
    let mut transformed = false;
    let mut out = Vec::with_capacity(v.len());
    for e in v {
        let t = f(e)?;
        transformed |= t.transformed;
        out.push(t.data);
    }
    Ok(Transformed::new_transformed(out, transformed))
}

impl TreeNode for Expr {
    fn apply_children<'n, F: FnMut(&'n Self) -> datafusion_common::Result<TreeNodeRecursion>>(
        &'n self,
        mut f: F,
    ) -> datafusion_common::Result<TreeNodeRecursion> {
        let children: Vec<&Expr> = match self {
            Expr::Column(_) | Expr::Literal(_) | Expr::OuterColumn { .. } => vec![],
            Expr::Subquery(s) => match &s.kind {
                SubqueryKind::In(e) | SubqueryKind::Quantified { lhs: e, .. } => vec![e.as_ref()],
                _ => vec![],
            },
            Expr::Binary { left, right, .. } => vec![left, right],
            Expr::Not(e) | Expr::Negative(e) | Expr::IsNull(e) | Expr::IsNotNull(e) => vec![e],
            Expr::Cast { expr, .. } | Expr::Alias { expr, .. } => vec![expr],
            Expr::Between { expr, low, high, .. } => vec![expr, low, high],
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
            Expr::InList { expr, list, .. } => std::iter::once(expr.as_ref()).chain(list.iter()).collect(),
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => operand
                .iter()
                .map(|b| b.as_ref())
                .chain(when_then.iter().flat_map(|(w, t)| [w, t]))
                .chain(else_expr.iter().map(|b| b.as_ref()))
                .collect(),
            Expr::Function { args, .. } => args.iter().collect(),
            Expr::Aggregate { args, filter, .. } => args.iter().chain(filter.iter().map(|b| b.as_ref())).collect(),
            Expr::Window(w) => w
                .args
                .iter()
                .chain(w.partition_by.iter())
                .chain(w.order_by.iter().map(|s| &s.expr))
                .collect(),
        };
        for child in children {
            match f(child)? {
                TreeNodeRecursion::Stop => return Ok(TreeNodeRecursion::Stop),
                _ => continue,
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn map_children<F: FnMut(Self) -> datafusion_common::Result<Transformed<Self>>>(
        self,
        mut f: F,
    ) -> datafusion_common::Result<Transformed<Self>> {
        let f = &mut f;
        Ok(match self {
            Expr::Column(_) | Expr::Literal(_) | Expr::OuterColumn { .. } => Transformed::no(self),
            Expr::Subquery(SubqueryExpr { kind, plan, sql }) => match kind {
                SubqueryKind::In(e) => map_box(e, f)?.update_data(|e| {
                    Expr::Subquery(SubqueryExpr {
                        kind: SubqueryKind::In(e),
                        plan,
                        sql,
                    })
                }),
                SubqueryKind::Quantified { lhs, op, all } => map_box(lhs, f)?.update_data(|lhs| {
                    Expr::Subquery(SubqueryExpr {
                        kind: SubqueryKind::Quantified { lhs, op, all },
                        plan,
                        sql,
                    })
                }),
                kind => Transformed::no(Expr::Subquery(SubqueryExpr { kind, plan, sql })),
            },
            Expr::Binary { left, op, right } => {
                let l = map_box(left, f)?;
                let r = map_box(right, f)?;
                Transformed::new_transformed(
                    Expr::Binary {
                        left: l.data,
                        op,
                        right: r.data,
                    },
                    l.transformed || r.transformed,
                )
            }
            Expr::Not(e) => map_box(e, f)?.update_data(Expr::Not),
            Expr::Negative(e) => map_box(e, f)?.update_data(Expr::Negative),
            Expr::IsNull(e) => map_box(e, f)?.update_data(Expr::IsNull),
            Expr::IsNotNull(e) => map_box(e, f)?.update_data(Expr::IsNotNull),
            Expr::Cast {
                expr,
                data_type,
                try_cast,
            } => map_box(expr, f)?.update_data(|expr| Expr::Cast {
                expr,
                data_type,
                try_cast,
            }),
            Expr::Alias { expr, name } => map_box(expr, f)?.update_data(|expr| Expr::Alias { expr, name }),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let e = map_box(expr, f)?;
                let l = map_box(low, f)?;
                let h = map_box(high, f)?;
                Transformed::new_transformed(
                    Expr::Between {
                        expr: e.data,
                        negated,
                        low: l.data,
                        high: h.data,
                    },
                    e.transformed || l.transformed || h.transformed,
                )
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let e = map_box(expr, f)?;
                let p = map_box(pattern, f)?;
                Transformed::new_transformed(
                    Expr::Like {
                        expr: e.data,
                        pattern: p.data,
                        negated,
                        case_insensitive,
                    },
                    e.transformed || p.transformed,
                )
            }
            Expr::InList { expr, list, negated } => {
                let e = map_box(expr, f)?;
                let l = map_vec(list, f)?;
                Transformed::new_transformed(
                    Expr::InList {
                        expr: e.data,
                        list: l.data,
                        negated,
                    },
                    e.transformed || l.transformed,
                )
            }
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                let mut transformed = false;
                let operand = match operand {
                    Some(o) => {
                        let t = map_box(o, f)?;
                        transformed |= t.transformed;
                        Some(t.data)
                    }
                    None => None,
                };
                let mut pairs = Vec::with_capacity(when_then.len());
                for (w, t) in when_then {
                    let w = f(w)?;
                    let t = f(t)?;
                    transformed |= w.transformed || t.transformed;
                    pairs.push((w.data, t.data));
                }
                let else_expr = match else_expr {
                    Some(e) => {
                        let t = map_box(e, f)?;
                        transformed |= t.transformed;
                        Some(t.data)
                    }
                    None => None,
                };
                Transformed::new_transformed(
                    Expr::Case {
                        operand,
                        when_then: pairs,
                        else_expr,
                    },
                    transformed,
                )
            }
            Expr::Function { func, args } => map_vec(args, f)?.update_data(|args| Expr::Function { func, args }),
            Expr::Aggregate {
                func,
                args,
                distinct,
                filter,
                order_by,
            } => {
                let a = map_vec(args, f)?;
                let (filter, ft) = match filter {
                    Some(e) => {
                        let t = map_box(e, f)?;
                        (Some(t.data), t.transformed)
                    }
                    None => (None, false),
                };
                Transformed::new_transformed(
                    Expr::Aggregate {
                        func,
                        args: a.data,
                        distinct,
                        filter,
                        order_by,
                    },
                    a.transformed || ft,
                )
            }
            Expr::Window(w) => {
                let mut w = *w;
                let a = map_vec(std::mem::take(&mut w.args), f)?;
                let p = map_vec(std::mem::take(&mut w.partition_by), f)?;
                let mut transformed = a.transformed || p.transformed;
                w.args = a.data;
                w.partition_by = p.data;
                for s in w.order_by.iter_mut() {
                    let t = f(std::mem::replace(&mut s.expr, Expr::Literal(ScalarValue::Null)))?;
                    transformed |= t.transformed;
                    s.expr = t.data;
                }
                Transformed::new_transformed(Expr::Window(Box::new(w)), transformed)
            }
        })
    }
}

/// Formats a literal the way DuckDB names a constant column: strings quoted, dates as
/// `'2020-01-01'::DATE`, numbers as written.
pub fn format_literal(v: &ScalarValue, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if v.is_null() {
        return f.write_str("NULL");
    }
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            write!(f, "'{}'", s.replace('\'', "''"))
        }
        ScalarValue::Date32(_) => write!(f, "'{v}'::DATE"),
        ScalarValue::Time64Nanosecond(Some(packed)) => {
            // TIMETZ (see `physical::datetime_text::encode_time_tz`).
            let mut text = String::new();
            crate::physical::datetime_text::format_time_tz(*packed, &mut text);
            write!(f, "'{text}'::TIMETZ")
        }
        ScalarValue::Boolean(Some(b)) => f.write_str(if *b { "true" } else { "false" }),
        ScalarValue::IntervalMonthDayNano(Some(i)) => {
            let mut parts = Vec::new();
            if i.months != 0 {
                parts.push(format!("{} months", i.months));
            }
            if i.days != 0 {
                parts.push(format!("{} days", i.days));
            }
            if i.nanoseconds != 0 || parts.is_empty() {
                parts.push(format!("{} microseconds", i.nanoseconds / 1000));
            }
            write!(f, "INTERVAL '{}'", parts.join(" "))
        }
        other => write!(f, "{other}"),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => write!(f, "{c}"),
            Expr::Literal(v) => format_literal(v, f),
            Expr::Binary { left, op, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Not(e) => write!(f, "(NOT {e})"),
            Expr::Negative(e) => write!(f, "-({e})"),
            Expr::IsNull(e) => write!(f, "({e} IS NULL)"),
            Expr::IsNotNull(e) => write!(f, "({e} IS NOT NULL)"),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => write!(
                f,
                "({expr} {}BETWEEN {low} AND {high})",
                if *negated { "NOT " } else { "" }
            ),
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => write!(
                f,
                "({expr} {}{} {pattern})",
                if *negated { "NOT " } else { "" },
                if *case_insensitive { "ILIKE" } else { "LIKE" }
            ),
            Expr::InList { expr, list, negated } => {
                let items: Vec<String> = list.iter().map(|e| e.to_string()).collect();
                write!(
                    f,
                    "({expr} {}IN ({}))",
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                f.write_str("CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for (w, t) in when_then {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = else_expr {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
            Expr::Cast {
                expr,
                data_type,
                try_cast,
            } => write!(
                f,
                "{}({expr} AS {})",
                if *try_cast { "TRY_CAST" } else { "CAST" },
                crate::logical::types::sql_type_name(data_type)
            ),
            Expr::Function { func, args } => {
                let items: Vec<String> = args.iter().map(|e| e.to_string()).collect();
                write!(f, "{}({})", func.name(), items.join(", "))
            }
            Expr::Aggregate {
                func,
                args,
                distinct,
                filter,
                order_by,
            } => {
                if args.is_empty() && *func == AggFunc::Count {
                    f.write_str("count_star()")?;
                } else {
                    let split = args.len().saturating_sub(order_by.len());
                    let items: Vec<String> = args[..split].iter().map(|e| e.to_string()).collect();
                    write!(
                        f,
                        "{}({}{}",
                        func.name(),
                        if *distinct { "DISTINCT " } else { "" },
                        items.join(", ")
                    )?;
                    if !order_by.is_empty() {
                        let keys: Vec<String> = args[split..]
                            .iter()
                            .zip(order_by)
                            .map(|(e, o)| format!("{e}{}", if o.asc { "" } else { " DESC" }))
                            .collect();
                        write!(f, " ORDER BY {}", keys.join(", "))?;
                    }
                    f.write_str(")")?;
                }
                if let Some(filter) = filter {
                    write!(f, " FILTER (WHERE {filter})")?;
                }
                Ok(())
            }
            Expr::OuterColumn { column, .. } => write!(f, "outer({column})"),
            Expr::Subquery(s) => write!(f, "{s}"),
            Expr::Window(w) => write!(f, "{w}"),
            Expr::Alias { expr, name } => write!(f, "{expr} AS {name}"),
        }
    }
}
