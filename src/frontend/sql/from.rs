//! Binding FROM: tables, views, CTEs, files and globs (`FROM 'data/*.csv'`), table
//! functions (`read_csv`, `read_parquet`, `read_json`), subqueries and joins.

use std::sync::Arc;

use sqlparser::ast::{self, FunctionArg, FunctionArgExpr, JoinConstraint, JoinOperator, ObjectNamePart, TableFactor};

use super::expr::{at_ident, ident_name};
use super::flatten::{flatten, has_local, null_safe_eq, shift_out};
use super::Binder;
use crate::catalog::CatalogEntry;
use crate::error::{Error, Result};
use crate::io::{CsvOptions, FileFormat, FileSource, ReadOptions};
use crate::logical::builder;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::{LogicalPlan, TableSource};

/// How deep views may expand inside one another.
const MAX_VIEW_DEPTH: usize = 32;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::coerce;

impl Binder<'_> {
    /// Binds a FROM list; several items are cross-joined (the optimizer turns WHERE
    /// equalities into join keys).
    pub(super) fn bind_from(&mut self, from: &[ast::TableWithJoins]) -> Result<LogicalPlan> {
        let mut plan: Option<LogicalPlan> = None;
        for item in from {
            plan = Some(self.bind_table_with_joins(item, plan)?);
        }
        Ok(plan.unwrap_or_else(builder::one_row))
    }

    /// Binds one FROM item; `left` (the items before it) is cross-joined in front of it. A
    /// subquery in it may read `left`'s columns (DuckDB binds such subqueries as LATERAL).
    fn bind_table_with_joins(&mut self, twj: &ast::TableWithJoins, left: Option<LogicalPlan>) -> Result<LogicalPlan> {
        let (first, lateral) = self.bind_table_factor(&twj.relation, left.as_ref())?;
        let (mut plan, pending) = match left {
            Some(l) if lateral => (self.lateral_join(l, first, JoinType::Inner, None)?, None),
            other => (first, other),
        };
        for join in &twj.joins {
            let (right, lateral) = self.bind_table_factor(&join.relation, Some(&plan))?;
            let (join_type, constraint) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinType::Inner, Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinType::Left, Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinType::Right, Some(c)),
                JoinOperator::FullOuter(c) => (JoinType::Full, Some(c)),
                JoinOperator::CrossJoin(_) => (JoinType::Inner, None),
                JoinOperator::Semi(c) | JoinOperator::LeftSemi(c) => (JoinType::LeftSemi, Some(c)),
                JoinOperator::Anti(c) | JoinOperator::LeftAnti(c) => (JoinType::LeftAnti, Some(c)),
                other => return Err(Error::not_supported(format!("join {other:?}"))),
            };
            plan = self.bind_join(plan, right, join_type, constraint, lateral)?;
        }
        Ok(match pending {
            Some(l) => builder::join(Arc::new(l), Arc::new(plan), vec![], None, JoinType::Inner),
            None => plan,
        })
    }

    pub(super) fn bind_join(
        &mut self,
        left: LogicalPlan,
        right: LogicalPlan,
        join_type: JoinType,
        constraint: Option<&JoinConstraint>,
        lateral: bool,
    ) -> Result<LogicalPlan> {
        let (ls, rs) = (left.schema(), right.schema());
        let joined = ls.join(&rs);
        let condition = match constraint {
            None | Some(JoinConstraint::None) => None,
            Some(JoinConstraint::On(e)) => {
                let bound = coerce(self.bind_expr(e, &joined)?, &joined, self.opts)?;
                Some(crate::logical::typecheck::require_boolean(
                    bound,
                    &joined,
                    self.opts,
                    "JOIN condition",
                )?)
            }
            Some(JoinConstraint::Using(names)) => {
                let mut terms = Vec::new();
                for name in names {
                    let n = name.to_string();
                    let l = ls.resolve(&crate::logical::ColumnRef::new(&n))?;
                    let r = rs.resolve(&crate::logical::ColumnRef::new(&n))?;
                    terms.push(Expr::Column(ls.column_ref(l)).binary(BinaryOp::Eq, Expr::Column(rs.column_ref(r))));
                }
                Expr::conjunction(terms)
                    .map(|e| coerce(e, &joined, self.opts))
                    .transpose()?
            }
            Some(JoinConstraint::Natural) => {
                // The columns both sides have, joined as USING.
                let mut common: Vec<ast::ObjectName> = Vec::new();
                for (_, f) in ls.iter() {
                    let name = f.name();
                    let in_right = rs.iter().any(|(_, g)| g.name().eq_ignore_ascii_case(name));
                    let seen = common.iter().any(|c| c.to_string().eq_ignore_ascii_case(name));
                    if in_right && !seen {
                        common.push(ast::ObjectName::from(vec![ast::Ident::new(name.as_str())]));
                    }
                }
                if common.is_empty() {
                    return Err(Error::plan(
                        "No columns found to join on in NATURAL JOIN. Use CROSS JOIN if you intended for this to be a cross-product.",
                    ));
                }
                return self.bind_join(left, right, join_type, Some(&JoinConstraint::Using(common)), lateral);
            }
        };
        if lateral {
            if matches!(constraint, Some(JoinConstraint::Using(_))) {
                return Err(Error::not_supported("USING or NATURAL with a LATERAL subquery"));
            }
            if condition.as_ref().is_some_and(super::subquery::contains_subquery) {
                return Err(Error::not_supported("a subquery in the ON condition of a LATERAL join"));
            }
            return self.lateral_join(left, right, join_type, condition);
        }
        if let Some(c) = condition.as_ref().filter(|c| super::subquery::contains_subquery(c)) {
            if join_type != JoinType::Inner {
                return self.outer_join_with_subqueries(left, right, join_type, c.clone());
            }
            // An inner join's ON is a filter over the cross product: subqueries become joins.
            let cross = builder::join(Arc::new(left), Arc::new(right), vec![], None, JoinType::Inner);
            let filtered = self.filter_with_subqueries(cross, c.clone())?;
            // Without the subqueries' columns.
            let fs = filtered.schema();
            let exprs = (0..ls.len() + rs.len())
                .map(|i| Expr::Column(fs.column_ref(i)))
                .collect();
            return builder::project(Arc::new(filtered), exprs, self.opts);
        }
        let (on, filter) = split_join_condition(condition, &ls, &rs)?;
        let joined_plan = builder::join(Arc::new(left), Arc::new(right), on, filter, join_type);
        match constraint {
            Some(JoinConstraint::Using(names)) if !matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti) => {
                self.merge_using_columns(joined_plan, names, &ls, &rs, join_type)
            }
            _ => Ok(joined_plan),
        }
    }

    /// `USING (k)` shows `k` once, as DuckDB does: the left column (or, for RIGHT and FULL
    /// joins, the first non-NULL of both), followed by the other columns of both sides.
    fn merge_using_columns(
        &self,
        plan: LogicalPlan,
        names: &[ast::ObjectName],
        ls: &PlanSchema,
        rs: &PlanSchema,
        join_type: JoinType,
    ) -> Result<LogicalPlan> {
        let using: Vec<String> = names.iter().map(|n| n.to_string().to_lowercase()).collect();
        let is_using = |name: &str| using.contains(&name.to_lowercase());
        let mut exprs = Vec::new();
        for i in 0..ls.len() {
            let left_col = Expr::Column(ls.column_ref(i));
            let name = ls.field(i).name().clone();
            if is_using(&name) && matches!(join_type, JoinType::Right | JoinType::Full) {
                let r = rs.resolve(&crate::logical::ColumnRef::new(&name))?;
                let merged = Expr::Function {
                    func: crate::logical::functions::ScalarFunc::Coalesce,
                    args: vec![left_col, Expr::Column(rs.column_ref(r))],
                };
                exprs.push(coerce(merged, &ls.join(rs), self.opts)?.alias(name));
            } else {
                exprs.push(left_col);
            }
        }
        for i in 0..rs.len() {
            if !is_using(rs.field(i).name()) {
                exprs.push(Expr::Column(rs.column_ref(i)));
            }
        }
        builder::project(Arc::new(plan), exprs, self.opts)
    }

    /// Binds a FROM item. A derived table is bound with `left` (the FROM items before it) as
    /// an enclosing scope; the flag tells whether it reads `left`'s columns (a lateral join).
    fn bind_table_factor(&mut self, factor: &TableFactor, left: Option<&LogicalPlan>) -> Result<(LogicalPlan, bool)> {
        if let (TableFactor::Derived { subquery, alias, .. }, Some(left)) = (factor, left) {
            let plan = {
                let mut child = self.child(&left.schema());
                let lifted = std::rc::Rc::default();
                if let Some(last) = child.outer_lifted.last_mut() {
                    *last = std::rc::Rc::clone(&lifted);
                }
                let plan = child.bind_query(subquery)?;
                if !lifted.borrow().is_empty() {
                    return Err(Error::not_supported(
                        "an aggregate of only outer columns in a LATERAL subquery",
                    ));
                }
                plan
            };
            let plan = self.apply_alias(plan, alias.as_ref(), Some("unnamed_subquery"))?;
            return if has_local(&plan) {
                Ok((plan, true))
            } else {
                Ok((shift_out(&plan)?, false))
            };
        }
        self.bind_table_factor_plain(factor).map(|p| (p, false))
    }

    pub(super) fn bind_table_factor_plain(&mut self, factor: &TableFactor) -> Result<LogicalPlan> {
        match factor {
            TableFactor::Table { name, alias, args, .. } => {
                if let Some(args) = args {
                    let plan = self.bind_table_function(&name.to_string(), &args.args)?;
                    return self.apply_alias(plan, alias.as_ref(), None);
                }
                let parts: Vec<&ast::Ident> = name
                    .0
                    .iter()
                    .filter_map(|p| match p {
                        ObjectNamePart::Identifier(i) => Some(i),
                        _ => None,
                    })
                    .collect();
                let ident = parts
                    .last()
                    .ok_or_else(|| Error::plan(format!("invalid table name {name}")))?;
                let table_name = ident_name(ident);
                if parts.len() == 1 {
                    if let Some(cte) = self.cte(&table_name) {
                        let plan = builder::alias(cte, &table_name, &[])?;
                        return self.apply_alias(plan, alias.as_ref(), None);
                    }
                }
                if let Some(entry) = self.catalog.get(&table_name) {
                    let plan = match entry {
                        CatalogEntry::Table(t) => {
                            builder::scan(&table_name, TableSource::Memory(Arc::clone(t)), Some(&table_name))
                        }
                        CatalogEntry::View(v) => {
                            if self.view_depth > MAX_VIEW_DEPTH {
                                return Err(Error::plan(format!(
                                    "view {table_name} is nested in more than {MAX_VIEW_DEPTH} views (does a view refer to itself?)"
                                )));
                            }
                            let def = Arc::clone(v);
                            self.view_depth += 1;
                            let bound = self.bind_query(&def.query);
                            self.view_depth -= 1;
                            builder::alias(Arc::new(bound?), &table_name, &def.columns)?
                        }
                        CatalogEntry::Frame(p) => builder::alias(Arc::new(self.catalog.refresh(p)?), &table_name, &[])?,
                    };
                    return self.apply_alias(plan, alias.as_ref(), None);
                }
                // `FROM 'file.csv'`, `FROM "data/*.parquet"`, `FROM data.csv`.
                let full = parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
                if ident.quote_style == Some('\'') || looks_like_path(&full) {
                    let plan = self.bind_file(&full, ReadOptions::default())?;
                    return self.apply_alias(plan, alias.as_ref(), None);
                }
                Err(at_ident(
                    self.catalog.lookup(&table_name).map(|_| ()).unwrap_err(),
                    ident,
                ))
            }
            TableFactor::Function { name, args, alias, .. } => {
                let plan = self.bind_table_function(&name.to_string(), args)?;
                self.apply_alias(plan, alias.as_ref(), None)
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let plan = self.bind_query(subquery)?;
                let fallback = "unnamed_subquery";
                let explicit: Vec<String> = alias
                    .iter()
                    .flat_map(|a| a.columns.iter().map(|c| ident_name(&c.name)))
                    .collect();
                match unique_column_names(&plan.schema(), &explicit) {
                    Some(names) => {
                        let name = alias.as_ref().map(|a| ident_name(&a.name));
                        builder::alias(Arc::new(plan), name.as_deref().unwrap_or(fallback), &names)
                    }
                    None => self.apply_alias(plan, alias.as_ref(), Some(fallback)),
                }
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let plan = self.bind_table_with_joins(table_with_joins, None)?;
                self.apply_alias(plan, alias.as_ref(), None)
            }
            other => Err(Error::not_supported(format!("FROM item {other}"))),
        }
    }

    /// `left` joined with a subquery that reads its columns: the subquery is flattened
    /// against `left`'s distinct values of those columns and joined back on them.
    fn lateral_join(
        &self,
        left: LogicalPlan,
        right: LogicalPlan,
        join_type: JoinType,
        condition: Option<Expr>,
    ) -> Result<LogicalPlan> {
        if !matches!(join_type, JoinType::Inner | JoinType::Left) {
            return Err(Error::not_supported(format!(
                "a LATERAL subquery in a {join_type} join"
            )));
        }
        let id = self.next_subquery_id();
        let width = right.schema().len();
        let flat = flatten(&left, &right, id, self.opts)?;
        let (ls, fs) = (left.schema(), flat.plan.schema());
        let mut terms = Vec::new();
        for (j, (column, data_type)) in flat.outer.iter().enumerate() {
            terms.extend(null_safe_eq(
                Expr::Column(column.clone()),
                Expr::Column(fs.column_ref(width + j)),
                data_type,
            ));
        }
        terms.extend(condition.map(Expr::split_conjunction).unwrap_or_default());
        let (on, filter) = split_join_condition(Expr::conjunction(terms), &ls, &fs)?;
        let joined = builder::join(Arc::new(left), Arc::new(flat.plan), on, filter, join_type);
        let js = joined.schema();
        let exprs = (0..ls.len() + width).map(|i| Expr::Column(js.column_ref(i))).collect();
        builder::project(Arc::new(joined), exprs, self.opts)
    }

    fn apply_alias(
        &self,
        plan: LogicalPlan,
        alias: Option<&ast::TableAlias>,
        fallback: Option<&str>,
    ) -> Result<LogicalPlan> {
        match alias {
            Some(a) => {
                let cols: Vec<String> = a.columns.iter().map(|c| ident_name(&c.name)).collect();
                builder::alias(Arc::new(plan), &ident_name(&a.name), &cols)
            }
            None => match fallback {
                Some(name) => builder::alias(Arc::new(plan), name, &[]),
                None => Ok(plan),
            },
        }
    }

    fn bind_file(&self, location: &str, options: ReadOptions) -> Result<LogicalPlan> {
        // A source that counts skipped rows is opened per reference, so each reference
        // reports its own.
        let key = (!options.csv.ignore_errors).then(|| format!("{location}\u{0}{options:?}"));
        let opened = key.as_ref().and_then(|k| self.opened_files.borrow().get(k).cloned());
        let source = match (opened, key) {
            (Some(source), _) => source,
            (None, key) => {
                let source = self.open_file(location, &options)?;
                if let Some(key) = key {
                    self.opened_files.borrow_mut().insert(key, Arc::clone(&source));
                }
                source
            }
        };
        let qualifier = file_stem(location);
        Ok(builder::scan(location, TableSource::File(source), Some(&qualifier)))
    }

    /// Opens `location`, or in remote mode a file only the cluster can read.
    fn open_file(&self, location: &str, options: &ReadOptions) -> Result<Arc<FileSource>> {
        Ok(match FileSource::open(location, options) {
            Ok(source) => source,
            // Remote mode: a file rask cannot read may be one only the cluster can reach.
            Err(local) => match self.catalog.remote_files() {
                Some(remote) => {
                    let format = options
                        .format
                        .or_else(|| crate::io::glob::format_from_extension(std::path::Path::new(location)))
                        .unwrap_or(crate::io::FileFormat::Parquet);
                    let schema = remote.schema(location, format).map_err(|e| {
                        let local = local.to_string();
                        let local = local.trim_start_matches("Invalid Input Error: ");
                        Error::InvalidInput(format!(
                            "{location}: rask cannot read it ({local}), nor could the cluster: {e}"
                        ))
                    })?;
                    FileSource::remote(location, format, schema)
                }
                None => return Err(local),
            },
        })
    }

    pub(super) fn bind_table_function(&self, name: &str, args: &[FunctionArg]) -> Result<LogicalPlan> {
        let lname = name.to_lowercase();
        let format = match lname.as_str() {
            "range" | "generate_series" => return self.bind_range(&lname, args),
            "read_csv" | "read_csv_auto" => FileFormat::Csv,
            "read_parquet" | "parquet_scan" => FileFormat::Parquet,
            "read_json" | "read_json_auto" | "read_ndjson" | "read_ndjson_auto" => FileFormat::Json,
            other => return Err(Error::plan(format!("Table Function with name {other} does not exist!"))),
        };
        let mut location: Option<String> = None;
        let mut csv = CsvOptions::default();
        let mut hive_partitioning = None;
        let mut union_by_name = false;
        let mut hive_types = crate::io::hive::HiveTypes::default();
        let mut list_of_paths: Vec<String> = Vec::new();
        let mut filename: Option<String> = None;
        for arg in args {
            let (key, value) = match arg {
                FunctionArg::Named {
                    name,
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => (Some(name.value.to_lowercase()), e),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Eq,
                    right,
                })) if matches!(left.as_ref(), ast::Expr::Identifier(_)) => {
                    (Some(left.to_string().to_lowercase()), right.as_ref())
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (None, e),
                other => return Err(Error::plan(format!("invalid argument {other} to {lname}"))),
            };
            if let Some("types" | "dtypes" | "column_types") = key.as_deref() {
                csv.types = column_types(value)?;
                continue;
            }
            if let (None, ast::Expr::Array(list)) = (key.as_deref(), value) {
                if location.is_some() || !list_of_paths.is_empty() {
                    return Err(Error::plan(format!(
                        "{lname} takes one positional argument (the path, glob or list of them)"
                    )));
                }
                list_of_paths = list
                    .elem
                    .iter()
                    .map(|e| match e {
                        ast::Expr::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(p) | ast::Value::DoubleQuotedString(p) => Ok(p.clone()),
                            other => Err(Error::plan(format!("{lname}: expected a path, got {other}"))),
                        },
                        other => Err(Error::plan(format!("{lname}: expected a path, got {other}"))),
                    })
                    .collect::<Result<_>>()?;
                if list_of_paths.is_empty() {
                    return Err(Error::plan(format!("{lname}: the list of files is empty")));
                }
                continue;
            }
            if let Some("hive_types") = key.as_deref() {
                hive_types.given = column_types(value)?
                    .into_iter()
                    .map(|(name, t)| {
                        name.map(|n| (n, t))
                            .ok_or_else(|| Error::plan("hive_types must be a struct {'key': 'TYPE'}"))
                    })
                    .collect::<Result<_>>()?;
                continue;
            }
            let value = self.bind_value(match value {
                ast::Expr::Value(v) => &v.value,
                other => return Err(Error::plan(format!("argument {other} of {lname} must be a constant"))),
            })?;
            let text = || match &value {
                datafusion_common::ScalarValue::Utf8(Some(s)) => Ok(s.clone()),
                other => Err(Error::plan(format!("{lname}: expected a string, got {other}"))),
            };
            match key.as_deref() {
                None if location.is_none() && list_of_paths.is_empty() => location = Some(text()?),
                None => {
                    return Err(Error::plan(format!(
                        "{lname} takes one positional argument (the path or glob)"
                    )))
                }
                Some("header") => csv.header = Some(flag(&value, "header")?),
                Some("delim" | "sep" | "delimiter") => {
                    let t = text()?;
                    let t = if t == "\\t" { "\t".to_string() } else { t };
                    if t.len() != 1 {
                        return Err(Error::plan(format!("delim must be a single character, not '{t}'")));
                    }
                    csv.delimiter = Some(t.as_bytes()[0]);
                }
                Some("quote") => csv.quote = Some(*text()?.as_bytes().first().unwrap_or(&b'"')),
                Some("escape") => csv.escape = text()?.as_bytes().first().copied(),
                Some("nullstr" | "null") => csv.null_string = Some(text()?),
                Some("sample_size") => {
                    if let datafusion_common::ScalarValue::Int32(Some(n)) = value {
                        // -1: every row.
                        csv.sample_rows = usize::try_from(n).map_or(usize::MAX, |n| n.max(1));
                    }
                }
                Some("ignore_errors") => csv.ignore_errors = flag(&value, "ignore_errors")?,
                Some("hive_partitioning") => hive_partitioning = Some(flag(&value, "hive_partitioning")?),
                Some("union_by_name") => union_by_name = flag(&value, "union_by_name")?,
                Some("hive_types_autocast") => hive_types.autocast = flag(&value, "hive_types_autocast")?,
                Some("filename") => {
                    filename = match &value {
                        datafusion_common::ScalarValue::Utf8(Some(name)) => Some(name.clone()),
                        other => flag(other, "filename")?.then(|| "filename".to_string()),
                    }
                }
                Some("auto_detect" | "format" | "compression") => {}
                Some(other) => return Err(Error::plan(format!("{lname} has no option named {other}"))),
            }
        }
        let options = ReadOptions {
            format: Some(format),
            csv,
            hive_partitioning,
            union_by_name,
            hive_types,
            filename,
        };
        if !list_of_paths.is_empty() {
            let source = FileSource::open_list(&list_of_paths, &options)?;
            let qualifier = file_stem(&list_of_paths[0]);
            return Ok(builder::scan(
                &source.location,
                TableSource::File(source.clone()),
                Some(&qualifier),
            ));
        }
        let location =
            location.ok_or_else(|| Error::plan(format!("{lname} needs a path or glob as its first argument")))?;
        self.bind_file(&location, options)
    }
}

/// A boolean option's value (`true`, `false`, `1`, `0`).
fn flag(value: &datafusion_common::ScalarValue, name: &str) -> Result<bool> {
    match value {
        datafusion_common::ScalarValue::Boolean(Some(b)) => Ok(*b),
        datafusion_common::ScalarValue::Int32(Some(i)) => Ok(*i != 0),
        datafusion_common::ScalarValue::Int64(Some(i)) => Ok(*i != 0),
        other => Err(Error::plan(format!("{name} must be true or false, not {other}"))),
    }
}

/// The `types` option: `{'name': 'TYPE', …}` (by name) or `['TYPE', …]` (by position).
fn column_types(value: &ast::Expr) -> Result<Vec<(Option<String>, arrow::datatypes::DataType)>> {
    let type_of = |e: &ast::Expr| -> Result<arrow::datatypes::DataType> {
        match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(t) | ast::Value::DoubleQuotedString(t) => {
                    crate::logical::types::parse_sql_type(t)
                }
                other => Err(Error::plan(format!("types: expected a type name, got {other}"))),
            },
            other => Err(Error::plan(format!("types: expected a type name, got {other}"))),
        }
    };
    match value {
        ast::Expr::Dictionary(fields) => fields
            .iter()
            .map(|f| Ok((Some(f.key.value.clone()), type_of(&f.value)?)))
            .collect(),
        ast::Expr::Array(a) => a.elem.iter().map(|e| Ok((None, type_of(e)?))).collect(),
        other => Err(Error::plan(format!(
            "types must be a struct {{'column': 'TYPE'}} or a list ['TYPE', …], not {other}"
        ))),
    }
}

/// Equi-join key pairs (left expression, right expression) and the residual condition.
pub type JoinCondition = (Vec<(Expr, Expr)>, Option<Expr>);

/// Splits a join condition into equi-join key pairs (left expr, right expr) and the rest.
pub fn split_join_condition(condition: Option<Expr>, left: &PlanSchema, right: &PlanSchema) -> Result<JoinCondition> {
    let mut on = Vec::new();
    let mut rest = Vec::new();
    for term in condition.map(Expr::split_conjunction).unwrap_or_default() {
        if let Expr::Binary {
            left: a,
            op: BinaryOp::Eq,
            right: b,
        } = &term
        {
            if refers_only_to(a, left)? && refers_only_to(b, right)? {
                on.push((a.as_ref().clone(), b.as_ref().clone()));
                continue;
            }
            if refers_only_to(a, right)? && refers_only_to(b, left)? {
                on.push((b.as_ref().clone(), a.as_ref().clone()));
                continue;
            }
        }
        rest.push(term);
    }
    Ok((on, Expr::conjunction(rest)))
}

/// True when `e` references columns and every one of them resolves in `schema`.
pub fn refers_only_to(e: &Expr, schema: &PlanSchema) -> Result<bool> {
    let cols = e.columns();
    if cols.is_empty() {
        return Ok(false);
    }
    for c in cols {
        if schema.find(&c).ok().flatten().is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

fn looks_like_path(name: &str) -> bool {
    name.contains(['/', '*', '?']) || name == "-" || {
        let lower = name.to_lowercase();
        [
            ".csv", ".tsv", ".parquet", ".json", ".ndjson", ".jsonl", ".gz", ".tbl", ".txt",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
    }
}

/// DuckDB names a file's relation after the file: `data/sales.csv` → `sales`.
fn file_stem(location: &str) -> String {
    if location == "-" || location == "/dev/stdin" {
        return "stdin".into();
    }
    // The last path component without wildcards: `data/sales/*.csv` → `sales`.
    let component = location
        .trim_end_matches('/')
        .rsplit('/')
        .find(|c| !c.contains(['*', '?', '[']) && !c.is_empty())
        .unwrap_or(location);
    let stem = component.split('.').next().unwrap_or(component);
    if stem.is_empty() {
        component.to_string()
    } else {
        stem.to_string()
    }
}

/// A derived table's column names when two of them would clash (DuckDB renames the later
/// ones `a_1`, `a_2`, … so each stays addressable), or `None` when they are already unique.
/// `explicit` names (from `AS t(x, y)`) come first.
fn unique_column_names(schema: &PlanSchema, explicit: &[String]) -> Option<Vec<String>> {
    let mut names: Vec<String> = (0..schema.len())
        .map(|i| {
            explicit
                .get(i)
                .cloned()
                .unwrap_or_else(|| schema.field(i).name().clone())
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut renamed = false;
    for name in names.iter_mut() {
        if seen.insert(name.to_lowercase()) {
            continue;
        }
        let base = name.clone();
        let mut k = 1;
        while seen.contains(&format!("{base}_{k}").to_lowercase()) {
            k += 1;
        }
        *name = format!("{base}_{k}");
        seen.insert(name.to_lowercase());
        renamed = true;
    }
    renamed.then_some(names)
}
