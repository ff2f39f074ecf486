//! Making plan nodes: the one place output schemas are derived. The SQL binder and the DSL
//! both build plans through these functions.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};

use crate::error::{Error, Result};
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;
use crate::logical::schema::{PlanSchema, PlanSchemaRef};
use crate::logical::typecheck::{expr_type, TypeOptions};
use crate::logical::types::sql_type_name;

/// The output field of `expr` over `schema`: its name, type and (for plain columns) qualifier.
pub fn expr_field(expr: &Expr, schema: &PlanSchema, opts: TypeOptions) -> Result<(Option<String>, Arc<Field>)> {
    let data_type = expr_type(expr, schema, opts)?;
    let data_type = if data_type == DataType::Null {
        DataType::Int32
    } else {
        data_type
    };
    let qualifier = match expr {
        Expr::Column(c) => schema.find(c)?.and_then(|i| schema.qualifier(i).map(str::to_string)),
        _ => None,
    };
    Ok((qualifier, Arc::new(Field::new(expr.output_name(), data_type, true))))
}

/// A scan of `source` whose columns are qualified by `qualifier`.
pub fn scan(table_name: &str, source: TableSource, qualifier: Option<&str>) -> LogicalPlan {
    let arrow = match &source {
        TableSource::File(f) => Arc::clone(&f.schema),
        TableSource::Memory(m) => Arc::clone(&m.schema),
    };
    let nullable: Vec<Arc<Field>> = arrow
        .fields()
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
        .collect();
    let schema = PlanSchema::new(
        nullable
            .into_iter()
            .map(|f| (qualifier.map(str::to_string), f))
            .collect(),
    );
    LogicalPlan::Scan(Scan {
        table_name: table_name.to_string(),
        source,
        projection: None,
        filters: vec![],
        schema: Arc::new(schema),
    })
}

/// `SELECT exprs FROM input`.
pub fn project(input: Arc<LogicalPlan>, exprs: Vec<Expr>, opts: TypeOptions) -> Result<LogicalPlan> {
    let in_schema = input.schema();
    let fields = exprs
        .iter()
        .map(|e| expr_field(e, &in_schema, opts))
        .collect::<Result<Vec<_>>>()?;
    Ok(LogicalPlan::Projection(Projection {
        input,
        exprs,
        schema: Arc::new(PlanSchema::new(fields)),
    }))
}

/// `input` narrowed to the columns of `schema` (each one of `input`'s, found by its
/// qualified name), with exactly that schema: a wider plan standing in for a narrower one.
pub fn project_to(input: Arc<LogicalPlan>, schema: PlanSchemaRef) -> LogicalPlan {
    let exprs = (0..schema.len()).map(|i| Expr::Column(schema.column_ref(i))).collect();
    LogicalPlan::Projection(Projection { input, exprs, schema })
}

/// `input WHERE predicate` (the predicate must be boolean).
pub fn filter(input: Arc<LogicalPlan>, predicate: Expr, opts: TypeOptions) -> Result<LogicalPlan> {
    let t = expr_type(&predicate, &input.schema(), opts)?;
    let predicate = if t == DataType::Null {
        crate::logical::typecheck::cast_if_needed(predicate, &t, &DataType::Boolean)
    } else {
        predicate
    };
    if !matches!(t, DataType::Boolean | DataType::Null) {
        return Err(Error::plan(format!(
            "WHERE clause must be a BOOLEAN, but \"{predicate}\" is of type {}",
            sql_type_name(&t)
        )));
    }
    Ok(LogicalPlan::Filter(Filter { input, predicate }))
}

/// `GROUP BY group_exprs` computing `aggr_exprs`.
pub fn aggregate(
    input: Arc<LogicalPlan>,
    group_exprs: Vec<Expr>,
    aggr_exprs: Vec<Expr>,
    opts: TypeOptions,
) -> Result<LogicalPlan> {
    let in_schema = input.schema();
    let fields = group_exprs
        .iter()
        .chain(aggr_exprs.iter())
        .map(|e| expr_field(e, &in_schema, opts))
        .collect::<Result<Vec<_>>>()?;
    Ok(LogicalPlan::Aggregate(Aggregate {
        input,
        group_exprs,
        aggr_exprs,
        schema: Arc::new(PlanSchema::new(fields)),
    }))
}

/// The output schema of a join.
pub fn join_schema(left: &PlanSchema, right: &PlanSchema, join_type: JoinType) -> PlanSchema {
    match join_type {
        JoinType::Inner => left.join(right),
        JoinType::Left => left.join(&right.as_nullable()),
        JoinType::Right => left.as_nullable().join(right),
        JoinType::Full => left.as_nullable().join(&right.as_nullable()),
        JoinType::LeftSemi | JoinType::LeftAnti => left.clone(),
        JoinType::RightSemi | JoinType::RightAnti => right.clone(),
    }
}

/// A join of `left` and `right`.
pub fn join(
    left: Arc<LogicalPlan>,
    right: Arc<LogicalPlan>,
    on: Vec<(Expr, Expr)>,
    filter: Option<Expr>,
    join_type: JoinType,
) -> LogicalPlan {
    let schema = join_schema(&left.schema(), &right.schema(), join_type);
    LogicalPlan::Join(Join {
        left,
        right,
        on,
        filter,
        join_type,
        schema: Arc::new(schema),
    })
}

/// Window calls over `input` (all with one PARTITION BY / ORDER BY spec): the input's
/// columns, then one column per call, named by the call's display.
pub fn window(input: Arc<LogicalPlan>, window_exprs: Vec<Expr>, opts: TypeOptions) -> Result<LogicalPlan> {
    let in_schema = input.schema();
    let mut fields: Vec<(Option<String>, Arc<Field>)> = in_schema
        .iter()
        .map(|(q, f)| (q.map(str::to_string), Arc::clone(f)))
        .collect();
    for e in &window_exprs {
        if !matches!(e, Expr::Window(_)) {
            return Err(Error::internal(format!("{e} is not a window function call")));
        }
        fields.push(expr_field(e, &in_schema, opts)?);
    }
    Ok(LogicalPlan::Window(Window {
        input,
        window_exprs,
        schema: Arc::new(PlanSchema::new(fields)),
    }))
}

/// `ORDER BY exprs`.
pub fn sort(input: Arc<LogicalPlan>, exprs: Vec<SortExpr>, fetch: Option<usize>) -> LogicalPlan {
    LogicalPlan::Sort(Sort { input, exprs, fetch })
}

/// `OFFSET skip LIMIT fetch`.
pub fn limit(input: Arc<LogicalPlan>, skip: usize, fetch: Option<usize>) -> LogicalPlan {
    LogicalPlan::Limit(Limit { input, skip, fetch })
}

/// Each row of `input` repeated `count` (a BIGINT over the input) times.
pub fn replicate(input: Arc<LogicalPlan>, count: Expr) -> LogicalPlan {
    LogicalPlan::Replicate(Replicate { input, count })
}

/// `SELECT DISTINCT`.
pub fn distinct(input: Arc<LogicalPlan>) -> LogicalPlan {
    LogicalPlan::Distinct(Distinct { input })
}

/// Requalifies `input` as `alias`, optionally renaming its columns.
pub fn alias(input: Arc<LogicalPlan>, alias: &str, column_names: &[String]) -> Result<LogicalPlan> {
    let schema = input.schema();
    if column_names.len() > schema.len() {
        return Err(Error::plan(format!(
            "table \"{alias}\" has {} columns available but {} columns specified",
            schema.len(),
            column_names.len()
        )));
    }
    let fields = schema
        .iter()
        .enumerate()
        .map(|(i, (_, f))| {
            let field = match column_names.get(i) {
                Some(n) => Arc::new(f.as_ref().clone().with_name(n)),
                None => Arc::clone(f),
            };
            (Some(alias.to_string()), field)
        })
        .collect();
    Ok(LogicalPlan::SubqueryAlias(SubqueryAlias {
        input,
        alias: alias.to_string(),
        schema: Arc::new(PlanSchema::new(fields)),
    }))
}

/// `VALUES` rows (already coerced to common column types) with the given column names.
pub fn values(rows: Vec<Vec<Expr>>, names: Vec<String>, types: Vec<DataType>) -> LogicalPlan {
    let fields = names
        .into_iter()
        .zip(types)
        .map(|(n, t)| {
            (
                None,
                // An all-NULL column keeps DuckDB's NULL type (it compares with anything).
                Arc::new(Field::new(n, t, true)),
            )
        })
        .collect();
    LogicalPlan::Values(Values {
        rows,
        schema: Arc::new(PlanSchema::new(fields)),
    })
}

/// The BIGINT series `start, start + step, …` up to `stop` (included when `inclusive`), in a
/// column called `name`; empty when `stop` lies before `start` in the step's direction.
pub fn range(name: &str, start: i64, stop: i64, step: i64, inclusive: bool) -> Result<LogicalPlan> {
    if step == 0 {
        return Err(Error::plan("interval cannot be 0!"));
    }
    let (start_w, stop_w, step_w) = (i128::from(start), i128::from(stop), i128::from(step));
    let span = if step > 0 { stop_w - start_w } else { start_w - stop_w };
    let abs_step = step_w.abs();
    let count = if inclusive {
        if span < 0 {
            0
        } else {
            span / abs_step + 1
        }
    } else if span <= 0 {
        0
    } else {
        (span + abs_step - 1) / abs_step
    };
    let field = Arc::new(Field::new(name, DataType::Int64, true));
    Ok(LogicalPlan::Range(Range {
        start,
        step,
        count: count as u64,
        schema: Arc::new(PlanSchema::new(vec![(None, field)])),
    }))
}

/// One row with no columns (`SELECT 1`).
pub fn one_row() -> LogicalPlan {
    LogicalPlan::EmptyRelation(EmptyRelation {
        produce_one_row: true,
        schema: Arc::new(PlanSchema::empty()),
    })
}

/// UNION ALL of `inputs` whose output keeps the first input's qualified names (for plans
/// that split one relation's rows into parts, such as an outer join built from pieces).
pub fn union_all_qualified(inputs: Vec<Arc<LogicalPlan>>) -> Result<LogicalPlan> {
    let plan = union_all(inputs)?;
    let LogicalPlan::Union(mut u) = plan else {
        return Ok(plan);
    };
    u.schema = u.inputs[0].schema();
    Ok(LogicalPlan::Union(u))
}

/// UNION ALL of `inputs` (same column count; names from the first).
pub fn union_all(inputs: Vec<Arc<LogicalPlan>>) -> Result<LogicalPlan> {
    let first: PlanSchemaRef = inputs
        .first()
        .ok_or_else(|| Error::internal("UNION without inputs"))?
        .schema();
    for input in &inputs[1..] {
        if input.schema().len() != first.len() {
            return Err(Error::plan(format!(
                "Set operations can only apply to expressions with the same number of result columns ({} vs {})",
                first.len(),
                input.schema().len()
            )));
        }
    }
    let schema = PlanSchema::new(first.iter().map(|(_, f)| (None, Arc::clone(f))).collect());
    Ok(LogicalPlan::Union(Union {
        inputs,
        schema: Arc::new(schema),
    }))
}
