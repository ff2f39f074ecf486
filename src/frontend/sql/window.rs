//! Binding window functions: `f(…) OVER (…)` calls and their frames, named windows
//! (`WINDOW w AS (…)`), and planning the calls of a SELECT block into `Window` nodes (one per
//! distinct PARTITION BY / ORDER BY spec, chained) whose output columns replace the calls.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::ScalarValue;
use sqlparser::ast::{self, FunctionArg, FunctionArgumentClause, NullTreatment, WindowFrameUnits, WindowType};

use super::expr::ident_name;
use super::query::sort_expr;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::{coerce, TypeOptions};
use crate::logical::window::{FrameBound, FrameExclusion, FrameUnits, WindowExpr, WindowFrame, WindowFunc};

use super::exclude;
use crate::physical::planner::lower_constant;

/// Replaces references to named windows (`OVER w`, `OVER (w ORDER BY …)`) in `select` and
/// `order_by` by the window definitions of the block's WINDOW clause.
pub(super) fn inline_named_windows(select: &mut ast::Select, order_by: &mut [ast::OrderByExpr]) -> Result<()> {
    if select.named_window.is_empty() {
        return Ok(());
    }
    let mut defs: Vec<(String, ast::WindowSpec)> = Vec::new();
    for ast::NamedWindowDefinition(name, expr) in &select.named_window {
        let spec = match expr {
            ast::NamedWindowExpr::WindowSpec(spec) => resolve_spec(spec, &defs)?,
            ast::NamedWindowExpr::NamedWindow(other) => find_window(&defs, other)?,
        };
        let key = ident_name(name);
        if defs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&key)) {
            return Err(Error::plan(format!("window \"{key}\" is already defined")));
        }
        defs.push((key, spec));
    }
    let mut error = None;
    let mut visit = |e: &mut ast::Expr| {
        if let ast::Expr::Function(f) = e {
            let resolved = match &f.over {
                Some(WindowType::NamedWindow(name)) => Some(find_window(&defs, name)),
                Some(WindowType::WindowSpec(spec)) if spec.window_name.is_some() => Some(resolve_spec(spec, &defs)),
                _ => None,
            };
            match resolved {
                Some(Ok(spec)) => f.over = Some(WindowType::WindowSpec(spec)),
                Some(Err(err)) => {
                    error = Some(err);
                    return ControlFlow::Break(());
                }
                None => {}
            }
        }
        ControlFlow::Continue(())
    };
    let _ = ast::visit_expressions_mut(select, &mut visit);
    for o in order_by.iter_mut() {
        let _ = ast::visit_expressions_mut(&mut o.expr, &mut visit);
    }
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn find_window(defs: &[(String, ast::WindowSpec)], name: &ast::Ident) -> Result<ast::WindowSpec> {
    let key = ident_name(name);
    defs.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&key))
        .map(|(_, s)| s.clone())
        .ok_or_else(|| Error::plan(format!("window \"{key}\" does not exist")))
}

/// A spec that names a base window inherits its partitioning, ordering and frame.
fn resolve_spec(spec: &ast::WindowSpec, defs: &[(String, ast::WindowSpec)]) -> Result<ast::WindowSpec> {
    let Some(base_name) = &spec.window_name else {
        return Ok(spec.clone());
    };
    let base = find_window(defs, base_name)?;
    if !spec.partition_by.is_empty() {
        return Err(Error::plan(format!(
            "cannot override PARTITION BY clause of window \"{}\"",
            ident_name(base_name)
        )));
    }
    if !spec.order_by.is_empty() && !base.order_by.is_empty() {
        return Err(Error::plan(format!(
            "cannot override ORDER BY clause of window \"{}\"",
            ident_name(base_name)
        )));
    }
    if base.window_frame.is_some() {
        return Err(Error::plan(format!(
            "cannot copy window \"{}\" because it has a frame clause",
            ident_name(base_name)
        )));
    }
    Ok(ast::WindowSpec {
        window_name: None,
        partition_by: base.partition_by,
        order_by: if spec.order_by.is_empty() {
            base.order_by
        } else {
            spec.order_by.clone()
        },
        window_frame: spec.window_frame.clone().or(base.window_frame),
    })
}

impl Binder<'_> {
    /// Binds `name(args) OVER (spec)`.
    pub(super) fn bind_window_call(
        &self,
        f: &ast::Function,
        name: &str,
        args: &[&FunctionArg],
        distinct: bool,
        scope: &PlanSchema,
    ) -> Result<Expr> {
        let spec = match &f.over {
            Some(WindowType::WindowSpec(spec)) => spec,
            Some(WindowType::NamedWindow(w)) => {
                return Err(Error::plan(format!("window \"{}\" does not exist", ident_name(w))))
            }
            None => return Err(Error::internal("window call without OVER")),
        };
        let func = match (AggFunc::from_name(name), WindowFunc::from_name(name)) {
            (Some(a), _) => WindowFunc::Aggregate(a),
            (None, Some(w)) => w,
            (None, None) => {
                return Err(Error::plan(format!(
                    "Catalog Error: Window Function with name {name} does not exist!"
                )))
            }
        };
        if distinct && !matches!(func, WindowFunc::Aggregate(_)) {
            return Err(Error::plan(format!(
                "DISTINCT is not allowed in window function {name}"
            )));
        }
        let mut ignore_nulls = matches!(f.null_treatment, Some(NullTreatment::IgnoreNulls));
        let mut argument_order: Option<&[ast::OrderByExpr]> = None;
        if let ast::FunctionArguments::List(list) = &f.args {
            for clause in &list.clauses {
                match clause {
                    FunctionArgumentClause::IgnoreOrRespectNulls(t) => {
                        ignore_nulls = matches!(t, NullTreatment::IgnoreNulls)
                    }
                    FunctionArgumentClause::OrderBy(order) => argument_order = Some(order),
                    other => return Err(Error::not_supported(format!("{other} in window function {name}"))),
                }
            }
        }
        let args: Vec<&FunctionArg> = args
            .iter()
            .copied()
            .filter(|a| !super::window_args::is_marker(a))
            .collect();
        let args = args.as_slice();
        // first(x IGNORE NULLS) / last(…) are the value functions.
        let func = match func {
            WindowFunc::Aggregate(AggFunc::First) if ignore_nulls => WindowFunc::FirstValue,
            WindowFunc::Aggregate(AggFunc::Last) if ignore_nulls => WindowFunc::LastValue,
            other => other,
        };
        let value_function = matches!(
            func,
            WindowFunc::Lag | WindowFunc::Lead | WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue
        );
        if ignore_nulls && !value_function {
            return Err(Error::not_supported(format!("IGNORE NULLS in window function {name}")));
        }
        let is_count_star = func == WindowFunc::Aggregate(AggFunc::Count)
            && args.len() == 1
            && matches!(args[0], FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard));
        let bound_args = if is_count_star {
            vec![]
        } else if matches!(func, WindowFunc::Lag | WindowFunc::Lead) && args.iter().any(|a| named(a).is_some()) {
            self.bind_lead_lag_named(name, args, scope)?
        } else {
            self.bind_args(args, scope)?
        };
        // FILTER (WHERE c) on a window aggregate: rows where c is not true count as NULL.
        let bound_args = match (&f.filter, func) {
            (None, _) => bound_args,
            (Some(cond), WindowFunc::Aggregate(_)) => {
                let cond = self.bind_expr(cond, scope)?;
                let args = if bound_args.is_empty() {
                    vec![Expr::Literal(ScalarValue::Int32(Some(1)))]
                } else {
                    bound_args
                };
                args.into_iter()
                    .map(|a| Expr::Case {
                        operand: None,
                        when_then: vec![(cond.clone(), a)],
                        else_expr: None,
                    })
                    .collect()
            }
            (Some(_), _) => return Err(Error::not_supported(format!("FILTER in window function {name}"))),
        };
        if bound_args.iter().any(Expr::contains_window) {
            return Err(Error::plan("window function calls cannot be nested"));
        }
        let partition_by = spec
            .partition_by
            .iter()
            .map(|e| self.bind_expr(e, scope))
            .collect::<Result<Vec<_>>>()?;
        let order_by = spec
            .order_by
            .iter()
            .map(|o| Ok(sort_expr(self.bind_expr(&o.expr, scope)?, &o.options, self.opts)))
            .collect::<Result<Vec<_>>>()?;
        let mut frame = match &spec.window_frame {
            Some(frame) => self.bind_frame(frame, order_by.len())?,
            None => WindowFrame::default_for(!order_by.is_empty()),
        };
        let mut order_by = order_by;
        if let Some(order) = argument_order {
            let argument_order = order
                .iter()
                .map(|o| Ok(sort_expr(self.bind_expr(&o.expr, scope)?, &o.options, self.opts)))
                .collect::<Result<Vec<_>>>()?;
            let ranking = matches!(
                func,
                WindowFunc::RowNumber
                    | WindowFunc::Rank
                    | WindowFunc::DenseRank
                    | WindowFunc::PercentRank
                    | WindowFunc::CumeDist
                    | WindowFunc::Ntile
            );
            // The argument ordering orders the frame's rows for the function. When the frame
            // is the whole partition that is the window ordering with the whole-partition frame.
            let whole_partition = (order_by.is_empty() && spec.window_frame.is_none())
                || (frame.start == FrameBound::UnboundedPreceding
                    && frame.end == FrameBound::UnboundedFollowing
                    && frame.exclusion == FrameExclusion::NoOthers);
            // rank only counts the rows before the current one: a frame from the
            // partition's start holds them all when the argument ordering is a prefix of the
            // window's.
            let prefix =
                argument_order.len() <= order_by.len() && order_by[..argument_order.len()] == argument_order[..];
            let from_start = frame.start == FrameBound::UnboundedPreceding
                && !matches!(frame.end, FrameBound::Preceding(_) | FrameBound::UnboundedPreceding)
                && frame.exclusion == FrameExclusion::NoOthers;
            if func == WindowFunc::DenseRank {
                return Err(Error::plan(
                    "ORDER BY is not supported for the window function \"dense_rank\"",
                ));
            }
            if func == WindowFunc::Rank && prefix && from_start {
                order_by = argument_order;
            } else if argument_order == order_by && !ranking {
                // Ordering the frame as the window already does.
            } else if whole_partition {
                order_by = argument_order;
                frame = WindowFrame {
                    units: FrameUnits::Rows,
                    start: FrameBound::UnboundedPreceding,
                    end: FrameBound::UnboundedFollowing,
                    exclusion: FrameExclusion::NoOthers,
                };
            } else {
                return Err(Error::not_supported(format!(
                    "ORDER BY in window function {name} other than the window's ordering"
                )));
            }
        }
        Ok(Expr::Window(Box::new(WindowExpr {
            func,
            args: bound_args,
            partition_by,
            order_by,
            frame,
            ignore_nulls,
            distinct,
        })))
    }

    /// `lead(col := x, "offset" := n, "default" := d)`: named arguments in their positions
    /// (a default without an offset gets offset 1).
    fn bind_lead_lag_named(&self, name: &str, args: &[&FunctionArg], scope: &PlanSchema) -> Result<Vec<Expr>> {
        const PARAMETERS: [&str; 3] = ["col", "offset", "default"];
        let mut slots: [Option<Expr>; 3] = [None, None, None];
        for (i, arg) in args.iter().enumerate() {
            let (slot, e) = match named(arg) {
                Some((n, e)) => {
                    let slot = PARAMETERS
                        .iter()
                        .position(|p| p.eq_ignore_ascii_case(n))
                        .ok_or_else(|| Error::plan(format!("Function {name} has no parameter named \"{n}\"")))?;
                    (slot, e)
                }
                None => match arg {
                    FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => (i, e),
                    other => return Err(Error::not_supported(format!("function argument {other}"))),
                },
            };
            if slot >= slots.len() || slots[slot].is_some() {
                return Err(Error::plan(format!(
                    "Function {name} got parameter {} twice",
                    PARAMETERS[slot.min(2)]
                )));
            }
            slots[slot] = Some(self.bind_expr(e, scope)?);
        }
        if slots[2].is_some() && slots[1].is_none() {
            slots[1] = Some(Expr::Literal(ScalarValue::Int64(Some(1))));
        }
        let [col, offset, default] = slots;
        let col = col.ok_or_else(|| Error::plan(format!("Function {name} needs the parameter col")))?;
        Ok(std::iter::once(col).chain(offset).chain(default).collect())
    }

    fn bind_frame(&self, frame: &ast::WindowFrame, order_keys: usize) -> Result<WindowFrame> {
        let units = match frame.units {
            WindowFrameUnits::Rows => FrameUnits::Rows,
            WindowFrameUnits::Range => FrameUnits::Range,
            WindowFrameUnits::Groups => FrameUnits::Groups,
        };
        // A rewritten EXCLUDE clause sits in the last bound written (see `exclude.rs`).
        let (start_ast, end_ast, exclusion) = match &frame.end_bound {
            Some(b) => match exclude::decode(b) {
                Some((original, x)) => (frame.start_bound.clone(), Some(original), x),
                None => (frame.start_bound.clone(), Some(b.clone()), FrameExclusion::NoOthers),
            },
            None => match exclude::decode(&frame.start_bound) {
                Some((original, x)) => (original, None, x),
                None => (frame.start_bound.clone(), None, FrameExclusion::NoOthers),
            },
        };
        let start = self.bind_bound(&start_ast)?;
        let end = match &end_ast {
            Some(b) => self.bind_bound(b)?,
            None => FrameBound::CurrentRow,
        };
        if matches!(start, FrameBound::UnboundedFollowing) {
            return Err(Error::plan("frame start cannot be UNBOUNDED FOLLOWING"));
        }
        if matches!(end, FrameBound::UnboundedPreceding) {
            return Err(Error::plan("frame end cannot be UNBOUNDED PRECEDING"));
        }
        let has_offset = |b: &FrameBound| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_));
        if units == FrameUnits::Range && (has_offset(&start) || has_offset(&end)) && order_keys != 1 {
            return Err(Error::plan(
                "RANGE frames with an offset need exactly one ORDER BY expression",
            ));
        }
        if units == FrameUnits::Groups && order_keys == 0 {
            return Err(Error::plan("GROUPS mode requires an ORDER BY clause"));
        }
        Ok(WindowFrame {
            units,
            start,
            end,
            exclusion,
        })
    }

    fn bind_bound(&self, b: &ast::WindowFrameBound) -> Result<FrameBound> {
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(self.frame_offset(e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(self.frame_offset(e)?),
        })
    }

    /// A frame offset: a constant, not NULL and not negative.
    fn frame_offset(&self, e: &ast::Expr) -> Result<ScalarValue> {
        let empty = PlanSchema::empty();
        let bound = coerce(self.bind_expr(e, &empty)?, &empty, self.opts)?;
        if !bound.is_constant() {
            return Err(Error::not_supported(format!("non-constant window frame offset {e}")));
        }
        let v = lower_constant(&bound)?.evaluate_constant()?;
        if v.is_null() {
            return Err(Error::plan("window frame offset cannot be NULL"));
        }
        let negative = match &v {
            ScalarValue::IntervalMonthDayNano(Some(i)) => i.months < 0 || i.days < 0 || i.nanoseconds < 0,
            other => other
                .cast_to(&arrow::datatypes::DataType::Float64)
                .ok()
                .is_some_and(|f| matches!(f, ScalarValue::Float64(Some(x)) if x < 0.0)),
        };
        if negative {
            return Err(Error::plan("window frame offset must not be negative"));
        }
        Ok(v)
    }
}

/// Plans every window call found in `targets` (already typed over `plan`'s schema) as
/// `Window` nodes above `plan`, and rewrites the targets to read the calls' output columns.
pub(super) fn plan_windows(mut plan: LogicalPlan, targets: &mut [&mut Expr], opts: TypeOptions) -> Result<LogicalPlan> {
    let mut calls: Vec<Expr> = Vec::new();
    for t in targets.iter() {
        t.apply(|node| {
            if let Expr::Window(_) = node {
                if !calls.contains(node) {
                    calls.push(node.clone());
                }
                return Ok(TreeNodeRecursion::Jump);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    if calls.is_empty() {
        return Ok(plan);
    }
    // Group calls by spec, keeping first-seen order; remember each call's output column.
    let mut groups: Vec<Vec<Expr>> = Vec::new();
    for call in &calls {
        let Expr::Window(w) = call else { continue };
        let slot = groups.iter().position(|g| match g.first() {
            Some(Expr::Window(first)) => first.same_spec(w),
            _ => false,
        });
        match slot {
            Some(i) => groups[i].push(call.clone()),
            None => groups.push(vec![call.clone()]),
        }
    }
    let mut columns: Vec<(Expr, usize)> = Vec::new();
    for group in groups {
        let base = plan.schema().len();
        for (i, call) in group.iter().enumerate() {
            columns.push((call.clone(), base + i));
        }
        plan = builder::window(Arc::new(plan), group, opts)?;
    }
    let schema = plan.schema();
    for t in targets.iter_mut() {
        let rewritten = std::mem::replace(&mut **t, Expr::Literal(ScalarValue::Null))
            .transform_down(|node| {
                if let Some((_, i)) = columns.iter().find(|(c, _)| *c == node) {
                    return Ok(Transformed::new(
                        Expr::Column(schema.column_ref(*i)),
                        true,
                        TreeNodeRecursion::Jump,
                    ));
                }
                Ok(Transformed::no(node))
            })?
            .data;
        **t = rewritten;
    }
    Ok(plan)
}

/// QUALIFY may name select-list aliases: replaces identifiers that are not FROM columns but
/// are aliases of `select`'s items by the aliased expressions.
pub(super) fn inline_select_aliases(expr: &ast::Expr, select: &ast::Select, from: &PlanSchema) -> ast::Expr {
    let mut out = expr.clone();
    let _ = ast::visit_expressions_mut(&mut out, |e| {
        if let ast::Expr::Identifier(ident) = e {
            let name = ident_name(ident);
            let is_column = from
                .find(&crate::logical::schema::ColumnRef::new(name.clone()))
                .ok()
                .flatten()
                .is_some();
            if !is_column {
                let aliased = select.projection.iter().find_map(|item| match item {
                    ast::SelectItem::ExprWithAlias { expr, alias } if ident_name(alias).eq_ignore_ascii_case(&name) => {
                        Some(expr.clone())
                    }
                    _ => None,
                });
                if let Some(a) = aliased {
                    *e = ast::Expr::Nested(Box::new(a));
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// A named argument `name := value` (or `name => value`): its name and value.
fn named(arg: &FunctionArg) -> Option<(&str, &ast::Expr)> {
    match arg {
        FunctionArg::Named {
            name,
            arg: ast::FunctionArgExpr::Expr(e),
            ..
        } => Some((name.value.as_str(), e)),
        _ => None,
    }
}
