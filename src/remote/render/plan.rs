//! Plan nodes as Spark SQL. Every node becomes one `SELECT` whose output columns are named
//! positionally, `_c0`, `_c1`, … in the order of the node's schema, and reads its inputs as
//! aliased subqueries (`(…) AS t3`). Names never clash however the user's columns are named,
//! and each node's rendering is local: it only needs its inputs' widths.

use std::collections::HashMap;
use std::path::Path;

use super::expr::{column_name, render, Scope};
use super::types::{quote_identifier, quote_string, spark_type};
use crate::error::{Error, Result};
use crate::io::{FileFormat, FileSource};
use crate::logical::join_type::JoinType;
use crate::logical::plan::{LogicalPlan, Scan, TableSource};
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;

/// The placeholder column of a node without columns (Spark has no empty SELECT list).
const EMPTY_COLUMN: &str = "_rask_empty";

/// Renders one query's plan tree, collecting the statements that must run before it.
pub struct PlanRenderer {
    opts: TypeOptions,
    next_alias: usize,
    /// Statements to run first (temporary views over CSV and JSON files).
    pub setup: Vec<String>,
    /// The view made for each file source (by its address), so a source read twice is
    /// declared once.
    views: HashMap<usize, String>,
}

impl PlanRenderer {
    /// A renderer using `opts` for expression types.
    pub fn new(opts: TypeOptions) -> Self {
        PlanRenderer {
            opts,
            next_alias: 0,
            setup: Vec::new(),
            views: HashMap::new(),
        }
    }

    fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("t{}", self.next_alias)
    }

    /// `plan` as a SELECT whose columns are `_c0…` (or [`EMPTY_COLUMN`] alone when the plan
    /// has no columns).
    pub fn node(&mut self, plan: &LogicalPlan) -> Result<String> {
        let opts = self.opts;
        match plan {
            LogicalPlan::Scan(s) => self.scan(s),
            LogicalPlan::SubqueryAlias(a) => self.node(&a.input),
            LogicalPlan::Filter(f) => {
                let (input, alias) = self.input(&f.input)?;
                let scope = Scope::new(&f.input.schema(), &alias, opts);
                Ok(format!("SELECT * FROM {input} WHERE {}", render(&f.predicate, &scope)?))
            }
            LogicalPlan::Projection(p) => {
                let (input, alias) = self.input(&p.input)?;
                let scope = Scope::new(&p.input.schema(), &alias, opts);
                let items = p.exprs.iter().map(|e| render(e, &scope)).collect::<Result<Vec<_>>>()?;
                Ok(format!("SELECT {} FROM {input}", select_list(items)))
            }
            LogicalPlan::Aggregate(a) => {
                let (input, alias) = self.input(&a.input)?;
                let scope = Scope::new(&a.input.schema(), &alias, opts);
                let keys = a
                    .group_exprs
                    .iter()
                    .map(|e| render(e, &scope))
                    .collect::<Result<Vec<_>>>()?;
                let aggs = a
                    .aggr_exprs
                    .iter()
                    .map(|e| render(e, &scope))
                    .collect::<Result<Vec<_>>>()?;
                let group_by = if keys.is_empty() {
                    String::new()
                } else {
                    format!(" GROUP BY {}", keys.join(", "))
                };
                let items = keys.into_iter().chain(aggs).collect();
                Ok(format!("SELECT {} FROM {input}{group_by}", select_list(items)))
            }
            LogicalPlan::Join(j) => self.join(j),
            LogicalPlan::Sort(s) => {
                let (input, alias) = self.input(&s.input)?;
                let scope = Scope::new(&s.input.schema(), &alias, opts);
                let keys = s
                    .exprs
                    .iter()
                    .map(|k| {
                        Ok(format!(
                            "{} {} NULLS {}",
                            render(&k.expr, &scope)?,
                            if k.asc { "ASC" } else { "DESC" },
                            if k.nulls_first { "FIRST" } else { "LAST" }
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let limit = s.fetch.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
                Ok(format!("SELECT * FROM {input} ORDER BY {}{limit}", keys.join(", ")))
            }
            LogicalPlan::Limit(l) => {
                let (input, _) = self.input(&l.input)?;
                let mut out = format!("SELECT * FROM {input}");
                if let Some(n) = l.fetch {
                    out.push_str(&format!(" LIMIT {n}"));
                }
                if l.skip > 0 {
                    out.push_str(&format!(" OFFSET {}", l.skip));
                }
                Ok(out)
            }
            LogicalPlan::Distinct(d) => {
                let (input, _) = self.input(&d.input)?;
                Ok(format!("SELECT DISTINCT * FROM {input}"))
            }
            LogicalPlan::Window(w) => {
                let (input, alias) = self.input(&w.input)?;
                let scope = Scope::new(&w.input.schema(), &alias, opts);
                let width = w.input.schema().len();
                let mut items: Vec<String> = (0..width).map(|i| format!("{alias}.{}", column_name(i))).collect();
                for (k, e) in w.window_exprs.iter().enumerate() {
                    items.push(format!("{} AS {}", render(e, &scope)?, column_name(width + k)));
                }
                Ok(format!("SELECT {} FROM {input}", items.join(", ")))
            }
            LogicalPlan::Union(u) => {
                let parts = u
                    .inputs
                    .iter()
                    .map(|i| Ok(format!("SELECT * FROM {}", self.input(i)?.0)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(parts.join(" UNION ALL "))
            }
            LogicalPlan::Replicate(r) => {
                let (input, alias) = self.input(&r.input)?;
                let scope = Scope::new(&r.input.schema(), &alias, opts);
                let count = render(&r.count, &scope)?;
                Ok(format!(
                    "SELECT {alias}.* FROM {input} LATERAL VIEW explode(array_repeat(0, \
                     CAST(greatest(coalesce({count}, 0), 0) AS INT))) {}",
                    self.alias()
                ))
            }
            LogicalPlan::Values(v) => {
                if v.schema.is_empty() {
                    return Err(Error::not_supported("remote mode: VALUES without columns"));
                }
                let alias = self.alias();
                let empty = PlanSchema::empty();
                let scope = Scope::new(&empty, &alias, opts);
                let rows = v
                    .rows
                    .iter()
                    .map(|row| {
                        let cells = row.iter().map(|e| render(e, &scope)).collect::<Result<Vec<_>>>()?;
                        Ok(format!("({})", cells.join(", ")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let names: Vec<String> = (0..v.schema.len()).map(column_name).collect();
                Ok(format!(
                    "SELECT * FROM VALUES {} AS {alias}({})",
                    rows.join(", "),
                    names.join(", ")
                ))
            }
            LogicalPlan::EmptyRelation(e) => {
                let schema = e.schema.arrow();
                let items = schema
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        Ok(format!(
                            "CAST(NULL AS {}) AS {}",
                            spark_type(f.data_type())?,
                            column_name(i)
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let filter = if e.produce_one_row { "" } else { " WHERE false" };
                Ok(format!("SELECT {}{filter}", select_list(items)))
            }
            LogicalPlan::Range(r) => {
                let end = i64::try_from(r.count)
                    .ok()
                    .and_then(|n| n.checked_mul(r.step))
                    .and_then(|span| r.start.checked_add(span))
                    .ok_or_else(|| Error::not_supported("remote mode: a range() this long"))?;
                Ok(format!(
                    "SELECT id AS {} FROM range({}L, {end}L, {}L)",
                    column_name(0),
                    r.start,
                    r.step
                ))
            }
            LogicalPlan::RecursiveQuery(_) | LogicalPlan::WorkTable(_) => Err(Error::not_supported(
                "remote mode: WITH RECURSIVE (Spark 4.0 has no recursive queries)",
            )),
        }
    }

    /// `plan` rendered as an aliased subquery, with its alias.
    fn input(&mut self, plan: &LogicalPlan) -> Result<(String, String)> {
        let sql = self.node(plan)?;
        let alias = self.alias();
        Ok((format!("({sql}) AS {alias}"), alias))
    }

    fn join(&mut self, j: &crate::logical::plan::Join) -> Result<String> {
        // Spark has LEFT SEMI/ANTI joins only: a right one swaps its inputs.
        let (left, right, join_type) = match j.join_type {
            JoinType::RightSemi | JoinType::RightAnti => (&j.right, &j.left, j.join_type.swapped()),
            _ => (&j.left, &j.right, j.join_type),
        };
        let (l_sql, l_alias) = self.input(left)?;
        let (r_sql, r_alias) = self.input(right)?;
        let (ls, rs) = (left.schema(), right.schema());
        // The ON keys and filter are written over the join's own left and right.
        let (own_l, own_r) = if std::ptr::eq(left, &j.left) {
            (l_alias.as_str(), r_alias.as_str())
        } else {
            (r_alias.as_str(), l_alias.as_str())
        };
        let (own_ls, own_rs) = (j.left.schema(), j.right.schema());
        let left_scope = Scope::new(&own_ls, own_l, self.opts);
        let right_scope = Scope::new(&own_rs, own_r, self.opts);
        let both = Scope::joined(&[(&own_ls, own_l), (&own_rs, own_r)], self.opts);
        let mut conditions =
            j.on.iter()
                .map(|(l, r)| Ok(format!("({} = {})", render(l, &left_scope)?, render(r, &right_scope)?)))
                .collect::<Result<Vec<_>>>()?;
        if let Some(f) = &j.filter {
            conditions.push(render(f, &both)?);
        }
        let on = if conditions.is_empty() {
            "TRUE".to_string()
        } else {
            conditions.join(" AND ")
        };
        let keyword = match join_type {
            JoinType::Inner => "INNER JOIN",
            JoinType::Left => "LEFT OUTER JOIN",
            JoinType::Right => "RIGHT OUTER JOIN",
            JoinType::Full => "FULL OUTER JOIN",
            JoinType::LeftSemi => "LEFT SEMI JOIN",
            JoinType::LeftAnti => "LEFT ANTI JOIN",
            JoinType::RightSemi | JoinType::RightAnti => {
                return Err(Error::internal("remote: right semi/anti join not swapped"))
            }
        };
        let columns: Vec<String> = if join_type.is_one_sided() {
            (0..ls.len()).map(|i| format!("{l_alias}.{}", column_name(i))).collect()
        } else {
            (0..ls.len())
                .map(|i| format!("{l_alias}.{}", column_name(i)))
                .chain((0..rs.len()).map(|i| format!("{r_alias}.{}", column_name(i))))
                .collect()
        };
        Ok(format!(
            "SELECT {} FROM {l_sql} {keyword} {r_sql} ON {on}",
            select_list(columns)
        ))
    }

    fn scan(&mut self, s: &Scan) -> Result<String> {
        let source = match &s.source {
            TableSource::File(f) => f,
            TableSource::Memory(_) => {
                return Err(Error::not_supported(format!(
                    "remote mode: table {} is held by this rask session, which the cluster cannot read; \
                     query the files it came from instead",
                    s.table_name
                )))
            }
        };
        let relation = self.file_relation(source)?;
        let names: Vec<&str> = match &s.projection {
            Some(p) => p.iter().map(|&i| source.schema.field(i).name().as_str()).collect(),
            None => source.schema.fields().iter().map(|f| f.name().as_str()).collect(),
        };
        let src = self.alias();
        let items = names
            .iter()
            .zip(s.schema.arrow().fields())
            .map(|(name, field)| {
                let column = format!("{src}.{}", quote_identifier(name));
                Ok(match source.format {
                    // Spark infers JSON types its own way: give each column rask's type.
                    FileFormat::Json => format!("CAST({column} AS {})", spark_type(field.data_type())?),
                    _ => column,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let read = format!("SELECT {} FROM {relation} AS {src}", select_list(items));
        if s.filters.is_empty() {
            return Ok(read);
        }
        let alias = self.alias();
        let scope = Scope::new(&s.schema, &alias, self.opts);
        let filters = s
            .filters
            .iter()
            .map(|f| render(f, &scope))
            .collect::<Result<Vec<_>>>()?;
        Ok(format!(
            "SELECT * FROM ({read}) AS {alias} WHERE {}",
            filters.join(" AND ")
        ))
    }

    /// What a FROM clause names to read `source`: `parquet.`path`` directly, a temporary
    /// view (declared in `setup`) for CSV and JSON, whose options Spark takes only there.
    fn file_relation(&mut self, source: &FileSource) -> Result<String> {
        if source.hive.is_some() {
            return Err(Error::not_supported(
                "remote mode: hive partition columns (the cluster discovers partitions itself; read the \
                 directory)",
            ));
        }
        let path = cluster_path(&source.location)?;
        if source.format == FileFormat::Parquet {
            return Ok(format!("parquet.{}", quote_identifier(&path)));
        }
        let key = source as *const FileSource as usize;
        if let Some(view) = self.views.get(&key) {
            return Ok(view.clone());
        }
        let view = format!("rask_source_{}", self.views.len() + 1);
        let columns = source
            .schema
            .fields()
            .iter()
            .map(|f| Ok(format!("{} {}", quote_identifier(f.name()), spark_type(f.data_type())?)))
            .collect::<Result<Vec<_>>>()?;
        let mut options = vec![format!("path {}", quote_string(&path))];
        let (format, schema) = match source.format {
            FileFormat::Csv => {
                let csv = &source.csv;
                let byte = |b: u8| quote_string(&char::from(b).to_string());
                options.push(format!("header '{}'", csv.header.unwrap_or(true)));
                options.push(format!("sep {}", byte(csv.delimiter.unwrap_or(b','))));
                options.push(format!("quote {}", byte(csv.quote.unwrap_or(b'"'))));
                options.push(format!("escape {}", byte(csv.escape.unwrap_or(b'"'))));
                options.push(format!(
                    "nullValue {}",
                    quote_string(csv.null_string.as_deref().unwrap_or(""))
                ));
                options.push(format!(
                    "mode '{}'",
                    if csv.ignore_errors { "DROPMALFORMED" } else { "FAILFAST" }
                ));
                ("csv", format!(" ({})", columns.join(", ")))
            }
            FileFormat::Json => ("json", String::new()),
            other => {
                return Err(Error::not_supported(format!(
                    "remote mode: reading {other:?} files on the cluster"
                )))
            }
        };
        self.setup.push(format!(
            "CREATE OR REPLACE TEMPORARY VIEW {view}{schema} USING {format} OPTIONS ({})",
            options.join(", ")
        ));
        self.views.insert(key, view.clone());
        Ok(view)
    }
}

/// A location as the cluster must see it: URIs (`s3a://…`, `hdfs://…`) as written, local
/// paths made absolute (the cluster shares the filesystem, not rask's working directory).
/// Lists of files and standard input cannot be sent.
pub fn cluster_path(location: &str) -> Result<String> {
    if location.starts_with('[') || location == "-" || location == "/dev/stdin" {
        return Err(Error::not_supported(format!(
            "remote mode: the cluster cannot read {location}; name one path or glob it can reach"
        )));
    }
    if location.contains("://") {
        return Ok(location.to_string());
    }
    let path = Path::new(location);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("the current directory", e))?
            .join(path)
    };
    Ok(absolute.to_string_lossy().into_owned())
}

/// `items` named `_c0`, `_c1`, … (the placeholder column when there are none).
fn select_list(items: Vec<String>) -> String {
    if items.is_empty() {
        format!("1 AS {EMPTY_COLUMN}")
    } else {
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| format!("{item} AS {}", column_name(i)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
