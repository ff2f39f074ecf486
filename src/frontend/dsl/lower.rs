//! Lowering DSL calls into logical plans through the SQL binder's clause operations
//! ([`Binder::select_over`] and friends), one verb at a time: `filter` is WHERE, `select` and
//! `assign` are select lists, `groupby(…).agg(…)` is GROUP BY, `sort` is ORDER BY, `head` is
//! LIMIT, `join` and `union` are JOIN and UNION ALL. Actions and `persist` run queries, so the
//! session handles them (`session/dsl.rs`).

use std::sync::Arc;

use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArgOperator, Ident, SelectItem};
use sqlparser::ast::{Visit, Visitor};

use super::ast::{Arg, Call, Value};
use crate::error::{Error, Location, Result};
use crate::frontend::sql::{empty_select, Binder};
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::LogicalPlan;

/// A chain part-way through lowering.
#[derive(Debug, Clone)]
pub enum Lowered {
    /// A frame.
    Frame(LogicalPlan),
    /// A frame after `groupby(keys)`, waiting for `agg`.
    Grouped {
        /// The frame grouped.
        input: LogicalPlan,
        /// The `groupby` call (its arguments are the keys).
        keys: Call,
    },
}

/// Rows `head()` keeps without an argument (as pandas and Dask).
pub const DEFAULT_HEAD_ROWS: u64 = 5;

/// The plan of a source call (`read_csv`, `read_parquet`, `read_json`, `table`, `sql`).
pub fn source(binder: &mut Binder, call: &Call) -> Result<LogicalPlan> {
    match call.verb.as_str() {
        "table" => {
            let arg = first(call)?;
            located(binder.table_named(string(arg)?), arg.location)
        }
        "sql" => {
            let arg = first(call)?;
            let statements = crate::frontend::sql::parse(&sql_text(call)?)?;
            match statements.as_slice() {
                [ast::Statement::Query(q)] => located(binder.bind_query(q), arg.location),
                _ => Err(Error::Bind {
                    message: "sql(…) takes one query (a SELECT, VALUES or WITH …)".into(),
                    location: arg.location,
                }),
            }
        }
        name => {
            let args = call.args.iter().map(function_arg).collect::<Result<Vec<_>>>()?;
            located(binder.table_function(name, &args), call.location)
        }
    }
}

/// The SQL text of a `sql("…")` call, placed at the string's position in the script (just
/// past its quote), so errors point into it.
pub fn sql_text(call: &Call) -> Result<String> {
    let arg = first(call)?;
    let text = string(arg)?;
    Ok(format!(
        "{}{}{text}",
        "\n".repeat(arg.location.line.saturating_sub(1) as usize),
        " ".repeat(arg.location.column as usize)
    ))
}

/// Applies one verb to `state`. `frames` are the plans of the call's chain arguments (the
/// other side of a join or union), lowered by the caller.
pub fn verb(binder: &mut Binder, state: Lowered, call: &Call, frames: Vec<LogicalPlan>) -> Result<Lowered> {
    let plan = match (state, call.verb.as_str()) {
        (Lowered::Grouped { input, keys }, "agg") => aggregate(binder, input, Some(&keys), call)?,
        (Lowered::Grouped { .. }, other) => {
            return Err(Error::Bind {
                message: format!("groupby(…) must be followed by .agg(name = aggregate, …), not .{other}(…)"),
                location: call.location,
            })
        }
        (Lowered::Frame(input), "groupby") => {
            return Ok(Lowered::Grouped {
                input,
                keys: call.clone(),
            })
        }
        (Lowered::Frame(input), verb) => frame_verb(binder, input, verb, call, frames)?,
    };
    Ok(Lowered::Frame(plan))
}

fn frame_verb(
    binder: &mut Binder,
    input: LogicalPlan,
    verb: &str,
    call: &Call,
    frames: Vec<LogicalPlan>,
) -> Result<LogicalPlan> {
    match verb {
        "filter" => {
            let mut plan = input;
            for arg in call.positional() {
                plan = located(binder.filter_over(plan, expr(arg)?), arg.location)?;
            }
            Ok(plan)
        }
        "select" => {
            let mut select = empty_select()?;
            select.projection = call.args.iter().map(select_item).collect::<Result<_>>()?;
            located(binder.select_over(input, &select), call.location)
        }
        "assign" => assign(binder, input, call),
        "drop" => drop_columns(binder, input, call),
        "rename" => rename(binder, input, call),
        "agg" => aggregate(binder, input, None, call),
        "join" => join(binder, input, frames, call),
        "sort" => {
            let terms = call
                .positional()
                .map(|a| match &a.value {
                    Value::Order(o) => Ok(o.as_ref().clone()),
                    _ => Err(Error::internal("sort term is not an ORDER BY term")),
                })
                .collect::<Result<Vec<_>>>()?;
            located(binder.sort_over(input, &terms), call.location)
        }
        "head" => {
            let n = match call.positional().next().map(|a| &a.value) {
                Some(Value::Int(n)) => *n,
                _ => DEFAULT_HEAD_ROWS,
            };
            Ok(builder::limit(Arc::new(input), 0, Some(n as usize)))
        }
        "distinct" => Ok(builder::distinct(Arc::new(input))),
        "union" => {
            let other = frames
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("union without a frame"))?;
            let by_name = match call.keyword("by_name") {
                Some(arg) => boolean(arg)?,
                None => false,
            };
            located(binder.union_over(input, other, by_name), call.location)
        }
        other => Err(Error::Bind {
            message: format!("{other}(…) cannot be used here"),
            location: call.location,
        }),
    }
}

/// `assign(name = expr, …)`: every column, with `name` replaced where it exists and added at
/// the end where it does not. A value may use a name assigned before it in the same call
/// (as in pandas), which splits the call into successive select lists.
fn assign(binder: &mut Binder, input: LogicalPlan, call: &Call) -> Result<LogicalPlan> {
    let mut plan = input;
    let mut batch: Vec<(&str, &ast::Expr)> = Vec::new();
    for arg in &call.args {
        let name = keyword(arg)?;
        let value = expr(arg)?;
        if mentions(value, batch.iter().map(|(n, _)| *n)) {
            plan = assign_batch(binder, plan, &batch, call.location)?;
            batch.clear();
        }
        batch.push((name, value));
    }
    assign_batch(binder, plan, &batch, call.location)
}

fn assign_batch(
    binder: &mut Binder,
    input: LogicalPlan,
    batch: &[(&str, &ast::Expr)],
    location: Location,
) -> Result<LogicalPlan> {
    let schema = input.schema();
    let mut items: Vec<SelectItem> = Vec::new();
    let mut taken = vec![false; batch.len()];
    for i in 0..schema.len() {
        let name = schema.field(i).name();
        match batch.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(j) => {
                taken[j] = true;
                items.push(aliased(batch[j].1.clone(), batch[j].0));
            }
            None => items.push(SelectItem::UnnamedExpr(column_reference(&schema, i)?)),
        }
    }
    for (j, (name, value)) in batch.iter().enumerate() {
        if !taken[j] {
            items.push(aliased((*value).clone(), name));
        }
    }
    let mut select = empty_select()?;
    select.projection = items;
    located(binder.select_over(input, &select), location)
}

/// A SQL reference to column `i` of `schema`: its name, qualified when the name alone is
/// ambiguous.
fn column_reference(schema: &crate::logical::schema::PlanSchema, i: usize) -> Result<ast::Expr> {
    let name = schema.field(i).name();
    let same_name = (0..schema.len())
        .filter(|&k| schema.field(k).name().eq_ignore_ascii_case(name))
        .count();
    if same_name == 1 {
        return Ok(ast::Expr::Identifier(Ident::with_quote('"', name)));
    }
    match schema.qualifier(i) {
        Some(q) => Ok(ast::Expr::CompoundIdentifier(vec![
            Ident::with_quote('"', q),
            Ident::with_quote('"', name),
        ])),
        None => Err(Error::plan(format!(
            "column \"{name}\" appears more than once; rename(…) one of them first"
        ))),
    }
}

/// True when `e` reads a column named like one of `names`.
fn mentions<'a>(e: &ast::Expr, names: impl Iterator<Item = &'a str>) -> bool {
    struct Finder<'n> {
        names: Vec<&'n str>,
    }
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            let found = match e {
                ast::Expr::Identifier(id) => self.names.iter().any(|n| n.eq_ignore_ascii_case(&id.value)),
                _ => false,
            };
            if found {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        }
    }
    let mut finder = Finder { names: names.collect() };
    !finder.names.is_empty() && e.visit(&mut finder).is_break()
}

/// `drop(column, …)`: every other column.
fn drop_columns(binder: &mut Binder, input: LogicalPlan, call: &Call) -> Result<LogicalPlan> {
    let schema = input.schema();
    let mut dropped = vec![false; schema.len()];
    for arg in call.positional() {
        let column = column_ref(arg)?;
        let i = located(schema.resolve(&column), arg.location)?;
        dropped[i] = true;
    }
    let kept: Vec<Expr> = (0..schema.len())
        .filter(|&i| !dropped[i])
        .map(|i| Expr::Column(schema.column_ref(i)))
        .collect();
    if kept.is_empty() {
        return Err(Error::Bind {
            message: "drop(…) would remove every column".into(),
            location: call.location,
        });
    }
    located(
        builder::project(Arc::new(input), kept, binder.type_options()),
        call.location,
    )
}

/// `rename(new = old, …)`: the same columns with some renamed.
fn rename(binder: &mut Binder, input: LogicalPlan, call: &Call) -> Result<LogicalPlan> {
    let schema = input.schema();
    let mut names: Vec<Option<String>> = vec![None; schema.len()];
    for arg in &call.args {
        let new = keyword(arg)?;
        let old = column_ref(arg)?;
        let i = match schema.find(&old) {
            Ok(Some(i)) => i,
            Ok(None) => {
                let swapped = crate::logical::ColumnRef::new(new);
                let hint = if matches!(schema.find(&swapped), Ok(Some(_))) {
                    format!(" (rename takes new_name = old_name: did you mean rename({old} = {new})?)")
                } else {
                    String::new()
                };
                let err = match schema.not_found(&old) {
                    Error::Plan(m) => Error::plan(format!("{m}{hint}")),
                    other => other,
                };
                return located(Err(err), arg.location);
            }
            Err(e) => return located(Err(e), arg.location),
        };
        names[i] = Some(new.to_string());
    }
    let exprs = (0..schema.len())
        .map(|i| {
            let column = Expr::Column(schema.column_ref(i));
            match &names[i] {
                Some(n) => column.alias(n.clone()),
                None => column,
            }
        })
        .collect();
    located(
        builder::project(Arc::new(input), exprs, binder.type_options()),
        call.location,
    )
}

/// `groupby(keys).agg(items)` (or `agg(items)` over the whole frame): the keys, then the
/// aggregates, as `SELECT keys, items … GROUP BY keys`.
fn aggregate(binder: &mut Binder, input: LogicalPlan, keys: Option<&Call>, call: &Call) -> Result<LogicalPlan> {
    let mut select = empty_select()?;
    let mut items = Vec::new();
    let mut group_by = Vec::new();
    for key in keys.iter().flat_map(|k| k.args.iter()) {
        let e = expr(key)?;
        group_by.push(e.clone());
        items.push(match &key.keyword {
            Some(name) => aliased(e.clone(), &name.name),
            None => SelectItem::UnnamedExpr(e.clone()),
        });
    }
    for arg in &call.args {
        items.push(select_item(arg)?);
    }
    select.projection = items;
    select.group_by = ast::GroupByExpr::Expressions(group_by, vec![]);
    let location = keys.map(|k| k.location).unwrap_or(call.location);
    located(binder.select_over(input, &select), location)
}

/// `join(other, on = …, how = …)`.
fn join(binder: &mut Binder, left: LogicalPlan, frames: Vec<LogicalPlan>, call: &Call) -> Result<LogicalPlan> {
    let right = frames
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("join without a frame"))?;
    let how = match call.keyword("how") {
        Some(arg) => string(arg)?.to_ascii_lowercase(),
        None => "inner".to_string(),
    };
    let how_location = call.keyword("how").map(|a| a.location).unwrap_or(call.location);
    let join_type = match how.as_str() {
        "inner" | "cross" => JoinType::Inner,
        "left" => JoinType::Left,
        "right" => JoinType::Right,
        "full" | "outer" => JoinType::Full,
        "semi" => JoinType::LeftSemi,
        "anti" => JoinType::LeftAnti,
        other => {
            return Err(Error::Bind {
                message: format!(
                    "join: how = \"{other}\" is not a join type (inner, left, right, full, semi, anti, cross)"
                ),
                location: how_location,
            })
        }
    };
    let constraint = match (call.keyword("on"), how.as_str()) {
        (None, "cross") => ast::JoinConstraint::None,
        (Some(arg), "cross") => {
            return Err(Error::Bind {
                message: "a cross join takes no on = …".into(),
                location: arg.location,
            })
        }
        (None, _) => {
            return Err(Error::Bind {
                message: "join needs on = column | (col1, col2) | condition, or how = \"cross\"".into(),
                location: call.location,
            })
        }
        (Some(arg), _) => join_constraint(expr(arg)?),
    };
    let location = call.keyword("on").map(|a| a.location).unwrap_or(call.location);
    located(binder.join_over(left, right, join_type, &constraint), location)
}

/// `on = k` and `on = (k1, k2)` join on same-named columns (USING, the key shown once);
/// anything else is an ON condition.
fn join_constraint(on: &ast::Expr) -> ast::JoinConstraint {
    let name = |e: &ast::Expr| match e {
        ast::Expr::Identifier(id) => Some(ast::ObjectName::from(vec![id.clone()])),
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(ast::ObjectName::from(vec![Ident::new(s.as_str())])),
            _ => None,
        },
        _ => None,
    };
    let names: Option<Vec<ast::ObjectName>> = match on {
        ast::Expr::Tuple(items) => items.iter().map(name).collect(),
        ast::Expr::Nested(inner) => name(inner).map(|n| vec![n]),
        single => name(single).map(|n| vec![n]),
    };
    match names {
        Some(names) => ast::JoinConstraint::Using(names),
        None => ast::JoinConstraint::On(on.clone()),
    }
}

/// A source option as a SQL function argument; a double-quoted word is a string there.
fn function_arg(arg: &Arg) -> Result<FunctionArg> {
    let value = match (&arg.value, arg.value.as_expr()) {
        (Value::Str(s), _) => ast::Expr::value(ast::Value::SingleQuotedString(s.clone())),
        (_, Some(ast::Expr::Identifier(id))) if id.quote_style == Some('"') => {
            ast::Expr::value(ast::Value::SingleQuotedString(id.value.clone()))
        }
        (_, Some(e)) => e.clone(),
        _ => return Err(Error::internal("source argument is not an expression")),
    };
    Ok(match &arg.keyword {
        Some(k) => FunctionArg::Named {
            name: Ident::new(k.name.as_str()),
            arg: FunctionArgExpr::Expr(value),
            operator: FunctionArgOperator::Equals,
        },
        None => FunctionArg::Unnamed(FunctionArgExpr::Expr(value)),
    })
}

fn select_item(arg: &Arg) -> Result<SelectItem> {
    match (&arg.keyword, &arg.value) {
        (Some(name), Value::Expr(e)) => Ok(aliased(e.as_ref().clone(), &name.name)),
        (None, Value::Item(item)) => Ok(item.as_ref().clone()),
        _ => Err(Error::internal("select argument is not a select item")),
    }
}

fn aliased(expr: ast::Expr, name: &str) -> SelectItem {
    SelectItem::ExprWithAlias {
        expr,
        alias: Ident::with_quote('"', name),
    }
}

fn first(call: &Call) -> Result<&Arg> {
    call.positional()
        .next()
        .ok_or_else(|| Error::internal(format!("{} without its argument", call.verb)))
}

fn string(arg: &Arg) -> Result<&str> {
    match &arg.value {
        Value::Str(s) => Ok(s),
        _ => Err(Error::internal("argument is not a string")),
    }
}

fn expr(arg: &Arg) -> Result<&ast::Expr> {
    match &arg.value {
        Value::Expr(e) => Ok(e),
        _ => Err(Error::internal("argument is not an expression")),
    }
}

fn keyword(arg: &Arg) -> Result<&str> {
    arg.keyword
        .as_ref()
        .map(|k| k.name.as_str())
        .ok_or_else(|| Error::Bind {
            message: "expected name = value".into(),
            location: arg.location,
        })
}

/// A `true`/`false` argument.
pub fn boolean(arg: &Arg) -> Result<bool> {
    match arg.value.as_expr() {
        Some(ast::Expr::Value(v)) => match &v.value {
            ast::Value::Boolean(b) => Ok(*b),
            _ => Err(Error::Bind {
                message: format!("expected true or false, found {}", v.value),
                location: arg.location,
            }),
        },
        _ => Err(Error::Bind {
            message: "expected true or false".into(),
            location: arg.location,
        }),
    }
}

/// The column an argument names (`a` or `t.a`).
fn column_ref(arg: &Arg) -> Result<crate::logical::ColumnRef> {
    match arg.value.as_expr() {
        Some(ast::Expr::Identifier(id)) => Ok(crate::logical::ColumnRef::new(id.value.as_str())),
        Some(ast::Expr::CompoundIdentifier(parts)) if parts.len() == 2 => Ok(crate::logical::ColumnRef::qualified(
            parts[0].value.as_str(),
            parts[1].value.as_str(),
        )),
        Some(other) => Err(Error::Bind {
            message: format!("expected a column name, found {other}"),
            location: arg.location,
        }),
        None => Err(Error::Bind {
            message: "expected a column name".into(),
            location: arg.location,
        }),
    }
}

/// Gives an error without a position the position of the argument or call it came from.
pub fn located<T>(result: Result<T>, location: Location) -> Result<T> {
    result.map_err(|e| e.at(location))
}
