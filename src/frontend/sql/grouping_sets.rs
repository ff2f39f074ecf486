//! `GROUP BY` with GROUPING SETS, ROLLUP, CUBE and `grouping()`.
//!
//! The GROUP BY list expands into grouping sets (each a list of key indices): a plain key is
//! one set of one key, a tuple one set of its keys, `ROLLUP (a, b)` the prefixes `(a, b), (a),
//! ()`, `CUBE` every subset, `GROUPING SETS (...)` the union of its members, and the list
//! itself the cross product of its elements. Several sets are planned as a UNION ALL of one
//! ordinary (partitioned, partial/final) hash aggregate per set, each projected to all keys —
//! NULL for the keys outside the set — then the aggregates, then one constant column per
//! `grouping(...)` call (its bit mask for that set).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;
use sqlparser::ast::{self, GroupByWithModifier};

use super::select::canonical_columns;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::builder;
use crate::logical::expr::Expr;
use crate::logical::plan::LogicalPlan;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::expr_type;

/// The bound GROUP BY: distinct keys and the grouping sets over them.
pub(super) struct GroupBy {
    /// Every key, in order of first appearance.
    pub keys: Vec<Expr>,
    /// The grouping sets (indices into `keys`); `None` for a plain GROUP BY of all keys.
    pub sets: Option<Vec<Vec<usize>>>,
}

type Sets = Vec<Vec<ast::Expr>>;

/// DuckDB's limit on the number of grouping sets of one GROUP BY.
const MAX_GROUPING_SETS: usize = 65535;

fn cross(a: Sets, b: &Sets) -> Result<Sets> {
    if a.len().saturating_mul(b.len()) > MAX_GROUPING_SETS {
        return Err(Error::plan(format!(
            "Maximum grouping set count of {MAX_GROUPING_SETS} exceeded"
        )));
    }
    Ok(a.iter()
        .flat_map(|x| b.iter().map(move |y| x.iter().chain(y).cloned().collect()))
        .collect())
}

fn cross_all(elements: &[ast::Expr]) -> Result<Sets> {
    let mut out: Sets = vec![vec![]];
    for e in elements {
        out = cross(out, &expand(e)?)?;
    }
    Ok(out)
}

/// The keys of one ROLLUP/CUBE item (a key or a tuple of keys).
fn item_keys(item: &[ast::Expr]) -> Result<Vec<ast::Expr>> {
    let sets = cross_all(item)?;
    match <[Vec<ast::Expr>; 1]>::try_from(sets) {
        Ok([keys]) => Ok(keys),
        Err(_) => Err(Error::not_supported("nested grouping sets inside ROLLUP or CUBE")),
    }
}

fn rollup(items: &[Vec<ast::Expr>]) -> Result<Sets> {
    if items.is_empty() {
        return Err(Error::plan("ROLLUP needs at least one element"));
    }
    let keys = items.iter().map(|i| item_keys(i)).collect::<Result<Vec<_>>>()?;
    Ok((0..=keys.len())
        .rev()
        .map(|n| keys[..n].iter().flatten().cloned().collect())
        .collect())
}

fn cube(items: &[Vec<ast::Expr>]) -> Result<Sets> {
    if items.is_empty() {
        return Err(Error::plan("CUBE needs at least one element"));
    }
    let keys = items.iter().map(|i| item_keys(i)).collect::<Result<Vec<_>>>()?;
    if keys.len() > 12 {
        return Err(Error::not_supported("CUBE with more than 12 elements"));
    }
    Ok((0..1usize << keys.len())
        .rev()
        .map(|mask| {
            keys.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << (keys.len() - 1 - i)) != 0)
                .flat_map(|(_, k)| k.iter().cloned())
                .collect()
        })
        .collect())
}

/// The grouping sets of one GROUP BY element.
fn expand(e: &ast::Expr) -> Result<Sets> {
    Ok(match e {
        ast::Expr::GroupingSets(sets) => {
            let mut out = Vec::new();
            for set in sets {
                out.extend(cross_all(set)?);
            }
            out
        }
        ast::Expr::Rollup(items) => rollup(items)?,
        ast::Expr::Cube(items) => cube(items)?,
        ast::Expr::Tuple(items) => cross_all(items)?,
        ast::Expr::Nested(inner) if is_grouping_construct(inner) => expand(inner)?,
        ast::Expr::Function(f) if matches!(f.name.to_string().to_lowercase().as_str(), "rollup" | "cube") => {
            let ast::FunctionArguments::List(list) = &f.args else {
                return Err(Error::plan(format!("{} needs arguments", f.name)));
            };
            let items = list
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(vec![e.clone()]),
                    other => Err(Error::not_supported(format!("{} argument {other}", f.name))),
                })
                .collect::<Result<Vec<_>>>()?;
            if f.name.to_string().eq_ignore_ascii_case("rollup") {
                rollup(&items)?
            } else {
                cube(&items)?
            }
        }
        other => vec![vec![other.clone()]],
    })
}

fn is_grouping_construct(e: &ast::Expr) -> bool {
    matches!(
        e,
        ast::Expr::GroupingSets(_) | ast::Expr::Rollup(_) | ast::Expr::Cube(_) | ast::Expr::Tuple(_)
    )
}

impl Binder<'_> {
    /// Binds a GROUP BY list (with its `WITH ROLLUP`/`WITH CUBE` modifiers) into keys and sets.
    pub(super) fn bind_group_by(
        &self,
        exprs: &[ast::Expr],
        modifiers: &[GroupByWithModifier],
        items: &[Expr],
        from: &PlanSchema,
    ) -> Result<GroupBy> {
        let wrapped: [ast::Expr; 1];
        let elements: &[ast::Expr] = match modifiers {
            [] => exprs,
            [m] => {
                let listed = exprs.iter().map(|e| vec![e.clone()]).collect();
                wrapped = [match m {
                    GroupByWithModifier::Rollup => ast::Expr::Rollup(listed),
                    GroupByWithModifier::Cube => ast::Expr::Cube(listed),
                    other => return Err(Error::not_supported(format!("GROUP BY modifier {other}"))),
                }];
                &wrapped
            }
            _ => return Err(Error::not_supported("several GROUP BY modifiers")),
        };
        let sets = cross_all(elements)?;
        let grouping = sets.len() != 1;
        self.bind_sets(&sets, items, from, grouping)
    }

    fn bind_sets(&self, sets: &[Vec<ast::Expr>], items: &[Expr], from: &PlanSchema, grouping: bool) -> Result<GroupBy> {
        let mut keys: Vec<Expr> = Vec::new();
        let mut bound_sets = Vec::with_capacity(sets.len());
        for set in sets {
            let mut indices = Vec::new();
            for e in set {
                let key = self.bind_group_key(e, items, from)?;
                let canonical = canonical_columns(&key, from);
                let i = match keys.iter().position(|k| canonical_columns(k, from) == canonical) {
                    Some(i) => i,
                    None => {
                        keys.push(key);
                        keys.len() - 1
                    }
                };
                if !indices.contains(&i) {
                    indices.push(i);
                }
            }
            bound_sets.push(indices);
        }
        Ok(GroupBy {
            keys,
            sets: grouping.then_some(bound_sets),
        })
    }

    /// Plans the aggregation of `input` over several grouping sets: a UNION ALL of one
    /// aggregate per set. The output is `keys, aggregates, grouping calls`, like one
    /// aggregate followed by the constant grouping columns. `groups` and `aggregates` are
    /// already coerced; `grouping_calls` are `grouping(...)` calls whose arguments are keys.
    pub(super) fn plan_grouping_sets(
        &self,
        input: LogicalPlan,
        groups: &[Expr],
        aggregates: &[Expr],
        grouping_calls: &[Expr],
        raw_groups: &[Expr],
        sets: &[Vec<usize>],
    ) -> Result<LogicalPlan> {
        let input = Arc::new(input);
        let in_schema = input.schema();
        let raw_groups: Vec<Expr> = raw_groups.iter().map(|g| canonical_columns(g, &in_schema)).collect();
        let key_types = groups
            .iter()
            .map(|g| expr_type(g, &in_schema, self.opts))
            .collect::<Result<Vec<_>>>()?;
        let masks = grouping_calls
            .iter()
            .map(|call| grouping_arguments(&canonical_columns(call, &in_schema), &raw_groups))
            .collect::<Result<Vec<_>>>()?;
        let mut branches = Vec::with_capacity(sets.len());
        for set in sets {
            let set_keys: Vec<Expr> = set.iter().map(|&i| groups[i].clone()).collect();
            let agg = builder::aggregate(Arc::clone(&input), set_keys, aggregates.to_vec(), self.opts)?;
            let schema = agg.schema();
            let mut exprs = Vec::with_capacity(groups.len() + aggregates.len() + masks.len());
            for (k, key) in groups.iter().enumerate() {
                let name = key.output_name();
                exprs.push(match set.iter().position(|&i| i == k) {
                    Some(p) => Expr::Column(schema.column_ref(p)).alias(name),
                    None => null_of(&key_types[k]).alias(name),
                });
            }
            for a in 0..aggregates.len() {
                exprs.push(Expr::Column(schema.column_ref(set.len() + a)));
            }
            for (call, args) in grouping_calls.iter().zip(&masks) {
                let value = args
                    .iter()
                    .fold(0i64, |acc, k| (acc << 1) | i64::from(!set.contains(k)));
                exprs.push(Expr::Literal(ScalarValue::Int64(Some(value))).alias(call.output_name()));
            }
            branches.push(Arc::new(builder::project(Arc::new(agg), exprs, self.opts)?));
        }
        if branches.len() == 1 {
            if let Some(only) = branches.pop() {
                return Ok(Arc::unwrap_or_clone(only));
            }
        }
        builder::union_all(branches)
    }
}

fn null_of(t: &DataType) -> Expr {
    Expr::Cast {
        expr: Box::new(Expr::Literal(ScalarValue::Null)),
        data_type: t.clone(),
        try_cast: false,
    }
}

/// The key index of every argument of a `grouping(...)` call (every key for `grouping()`).
fn grouping_arguments(call: &Expr, keys: &[Expr]) -> Result<Vec<usize>> {
    let Expr::Aggregate { args, .. } = call else {
        return Err(Error::internal("grouping() expected"));
    };
    if keys.is_empty() {
        return Err(Error::plan("GROUPING statement cannot be used without groups"));
    }
    if args.is_empty() {
        // `grouping()` covers every key.
        return Ok((0..keys.len()).collect());
    }
    if args.len() > 63 {
        return Err(Error::plan("GROUPING statement cannot have more than 64 groups"));
    }
    args.iter()
        .map(|a| {
            keys.iter()
                .position(|k| k == a)
                .ok_or_else(|| Error::plan("GROUPING child must be a grouping column"))
        })
        .collect()
}

/// Whether `e` is a `grouping(...)` call.
pub(super) fn is_grouping_call(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Aggregate {
            func: AggFunc::Grouping,
            ..
        }
    )
}
