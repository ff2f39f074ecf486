//! The logical plan tree. Each node holds (or derives from its input) a [`PlanSchema`];
//! schemas are computed in one place, `builder.rs`, when nodes are made.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};

use crate::exec::table::TablePartition;
use crate::io::FileSource;
use crate::logical::expr::Expr;
use crate::logical::join_type::JoinType;
use crate::logical::schema::PlanSchemaRef;

/// A stored table (CREATE TABLE … AS, INSERT, persisted frames): partitions of batches
/// held in memory while the pool grants their bytes, else in spill files on disk (see
/// [`crate::exec::table`]). Immutable: INSERT, UPDATE and DELETE make a new table.
#[derive(Debug)]
pub struct MemTable {
    /// Its schema.
    pub schema: SchemaRef,
    /// Its rows: one entry per partition, scanned in parallel.
    pub partitions: Vec<TablePartition>,
    /// The partition the next appended batch goes to (batches are dealt round-robin).
    pub next_partition: usize,
}

impl MemTable {
    /// Number of rows (counted when written; no file is read).
    pub fn num_rows(&self) -> usize {
        self.partitions.iter().map(TablePartition::num_rows).sum()
    }

    /// How many partitions hold rows on disk.
    pub fn spilled_partitions(&self) -> usize {
        self.partitions.iter().filter(|p| p.is_spilled()).count()
    }

    /// Every batch, partition by partition, streamed (spilled ones read back one at a time).
    pub fn batches(&self) -> impl Iterator<Item = crate::error::Result<RecordBatch>> + Send + 'static {
        let partitions = self.partitions.clone();
        partitions.into_iter().flat_map(|p| p.read(None))
    }
}

/// Where a scan reads from.
#[derive(Clone)]
pub enum TableSource {
    /// Files (a path, a glob or stdin).
    File(Arc<FileSource>),
    /// A stored table (in memory, or partly spilled to disk).
    Memory(Arc<MemTable>),
}

/// A source prints as its identity (the address of the one shared source object), not its
/// contents: two scans print the same exactly when they read the same source, which
/// [`crate::physical::shared_subplans`] relies on, and a table's rows are never printed.
impl std::fmt::Debug for TableSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableSource::File(s) => write!(f, "File({:?} at {:p})", s.location, Arc::as_ptr(s)),
            TableSource::Memory(t) => write!(f, "Memory({:p})", Arc::as_ptr(t)),
        }
    }
}

/// Reads a table. `projection` (indices into the source schema) and `filters` are filled in
/// by projection and predicate pushdown.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Name shown in EXPLAIN (table name or location).
    pub table_name: String,
    /// The data.
    pub source: TableSource,
    /// Columns read, by index into the source schema (`None` = all).
    pub projection: Option<Vec<usize>>,
    /// Conjuncts pushed into the scan: used to skip data (Parquet row groups); the scan
    /// also applies them exactly, so no Filter is needed above.
    pub filters: Vec<Expr>,
    /// Output schema (after projection).
    pub schema: PlanSchemaRef,
}

/// Keeps the rows where `predicate` is true.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// A boolean expression.
    pub predicate: Expr,
}

/// Computes `exprs` for each row.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Output expressions (named by alias or display).
    pub exprs: Vec<Expr>,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

/// Groups by `group_exprs` and computes `aggr_exprs` (each an `Expr::Aggregate`) per group.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Grouping keys.
    pub group_exprs: Vec<Expr>,
    /// Aggregate calls.
    pub aggr_exprs: Vec<Expr>,
    /// Output schema: keys, then aggregates.
    pub schema: PlanSchemaRef,
}

/// Joins two inputs on equality of `on` pairs plus an optional residual `filter`.
#[derive(Debug, Clone)]
pub struct Join {
    /// Left input.
    pub left: Arc<LogicalPlan>,
    /// Right input.
    pub right: Arc<LogicalPlan>,
    /// Equi-join keys: (expression over left, expression over right).
    pub on: Vec<(Expr, Expr)>,
    /// Other conditions, over the joined schema.
    pub filter: Option<Expr>,
    /// Join type.
    pub join_type: JoinType,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortExpr {
    /// The key.
    pub expr: Expr,
    /// Ascending.
    pub asc: bool,
    /// NULLs before other values.
    pub nulls_first: bool,
}

/// Orders rows; with `fetch`, only the first `fetch` rows are needed (top-k).
#[derive(Debug, Clone)]
pub struct Sort {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// Keys, most significant first.
    pub exprs: Vec<SortExpr>,
    /// Rows needed, when a LIMIT follows.
    pub fetch: Option<usize>,
}

/// Skips `skip` rows, then passes at most `fetch`.
#[derive(Debug, Clone)]
pub struct Limit {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// OFFSET.
    pub skip: usize,
    /// LIMIT.
    pub fetch: Option<usize>,
}

/// Removes duplicate rows.
#[derive(Debug, Clone)]
pub struct Distinct {
    /// Input.
    pub input: Arc<LogicalPlan>,
}

/// UNION ALL of inputs with the same column types.
#[derive(Debug, Clone)]
pub struct Union {
    /// Inputs.
    pub inputs: Vec<Arc<LogicalPlan>>,
    /// Output schema (names from the first input).
    pub schema: PlanSchemaRef,
}

/// Emits each input row `count` times (0 for NULL or negative counts); INTERSECT ALL and
/// EXCEPT ALL are planned as a per-row count followed by this.
#[derive(Debug, Clone)]
pub struct Replicate {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// BIGINT copies of each row, evaluated over the input.
    pub count: Expr,
}

/// Renames the input's relation (`(subquery) AS alias`, `table AS alias`).
#[derive(Debug, Clone)]
pub struct SubqueryAlias {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// The alias.
    pub alias: String,
    /// The input's schema requalified by `alias`.
    pub schema: PlanSchemaRef,
}

/// Literal rows (`VALUES (…), (…)`).
#[derive(Debug, Clone)]
pub struct Values {
    /// Rows of constant expressions, already cast to the column types.
    pub rows: Vec<Vec<Expr>>,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

/// `range(…)` / `generate_series(…)`: `count` BIGINTs `start, start + step, …` in one column.
#[derive(Debug, Clone)]
pub struct Range {
    /// First value.
    pub start: i64,
    /// Difference between consecutive values (not 0).
    pub step: i64,
    /// Number of values.
    pub count: u64,
    /// Output schema (one BIGINT column named after the function).
    pub schema: PlanSchemaRef,
}

/// `WITH RECURSIVE name AS (static_term UNION [ALL] recursive_term)`: the static term's rows,
/// then the recursive term run again and again over the rows the previous round added (its
/// [`WorkTable`] leaves) until a round adds none. With UNION, rows already produced are
/// dropped from each round. The session runs these rounds before planning the rest.
#[derive(Debug, Clone)]
pub struct RecursiveQuery {
    /// The CTE's name (its work table's name).
    pub name: String,
    /// The non-recursive part.
    pub static_term: Arc<LogicalPlan>,
    /// The part that reads the work table (cast to the static term's columns).
    pub recursive_term: Arc<LogicalPlan>,
    /// UNION (true) rather than UNION ALL.
    pub distinct: bool,
}

/// The rows of a recursive CTE's previous round, read inside its recursive term.
#[derive(Debug, Clone)]
pub struct WorkTable {
    /// The CTE's name.
    pub name: String,
    /// The static term's schema.
    pub schema: PlanSchemaRef,
}

/// Computes window function calls over the input: the output is the input's columns
/// followed by one column per call. All calls share one PARTITION BY / ORDER BY spec.
#[derive(Debug, Clone)]
pub struct Window {
    /// Input.
    pub input: Arc<LogicalPlan>,
    /// The calls (each an `Expr::Window`).
    pub window_exprs: Vec<Expr>,
    /// Output schema.
    pub schema: PlanSchemaRef,
}

/// No input table: one row with no columns (`SELECT 1`) or none at all.
#[derive(Debug, Clone)]
pub struct EmptyRelation {
    /// One row (true) or zero rows.
    pub produce_one_row: bool,
    /// Output schema (usually empty).
    pub schema: PlanSchemaRef,
}

/// A logical plan node.
#[derive(Debug, Clone)]
pub enum LogicalPlan {
    /// Read a table.
    Scan(Scan),
    /// Keep rows.
    Filter(Filter),
    /// Compute columns.
    Projection(Projection),
    /// Group and aggregate.
    Aggregate(Aggregate),
    /// Join two inputs.
    Join(Join),
    /// Order rows.
    Sort(Sort),
    /// OFFSET/LIMIT.
    Limit(Limit),
    /// Remove duplicates.
    Distinct(Distinct),
    /// Window functions.
    Window(Window),
    /// UNION ALL.
    Union(Union),
    /// Repeat each row a computed number of times.
    Replicate(Replicate),
    /// Rename the relation.
    SubqueryAlias(SubqueryAlias),
    /// Literal rows.
    Values(Values),
    /// No table.
    EmptyRelation(EmptyRelation),
    /// A generated series of integers.
    Range(Range),
    /// WITH RECURSIVE.
    RecursiveQuery(RecursiveQuery),
    /// A recursive CTE's previous round.
    WorkTable(WorkTable),
}

impl LogicalPlan {
    /// The output schema.
    pub fn schema(&self) -> PlanSchemaRef {
        match self {
            LogicalPlan::Scan(s) => Arc::clone(&s.schema),
            LogicalPlan::Filter(f) => f.input.schema(),
            LogicalPlan::Projection(p) => Arc::clone(&p.schema),
            LogicalPlan::Aggregate(a) => Arc::clone(&a.schema),
            LogicalPlan::Join(j) => Arc::clone(&j.schema),
            LogicalPlan::Sort(s) => s.input.schema(),
            LogicalPlan::Limit(l) => l.input.schema(),
            LogicalPlan::Distinct(d) => d.input.schema(),
            LogicalPlan::Window(w) => Arc::clone(&w.schema),
            LogicalPlan::Union(u) => Arc::clone(&u.schema),
            LogicalPlan::Replicate(r) => r.input.schema(),
            LogicalPlan::SubqueryAlias(s) => Arc::clone(&s.schema),
            LogicalPlan::Values(v) => Arc::clone(&v.schema),
            LogicalPlan::EmptyRelation(e) => Arc::clone(&e.schema),
            LogicalPlan::Range(r) => Arc::clone(&r.schema),
            LogicalPlan::RecursiveQuery(r) => r.static_term.schema(),
            LogicalPlan::WorkTable(w) => Arc::clone(&w.schema),
        }
    }

    /// The inputs.
    pub fn inputs(&self) -> Vec<&Arc<LogicalPlan>> {
        match self {
            LogicalPlan::Scan(_)
            | LogicalPlan::Values(_)
            | LogicalPlan::EmptyRelation(_)
            | LogicalPlan::Range(_)
            | LogicalPlan::WorkTable(_) => vec![],
            LogicalPlan::Filter(f) => vec![&f.input],
            LogicalPlan::Projection(p) => vec![&p.input],
            LogicalPlan::Aggregate(a) => vec![&a.input],
            LogicalPlan::Join(j) => vec![&j.left, &j.right],
            LogicalPlan::Sort(s) => vec![&s.input],
            LogicalPlan::Limit(l) => vec![&l.input],
            LogicalPlan::Distinct(d) => vec![&d.input],
            LogicalPlan::Window(w) => vec![&w.input],
            LogicalPlan::Union(u) => u.inputs.iter().collect(),
            LogicalPlan::Replicate(r) => vec![&r.input],
            LogicalPlan::RecursiveQuery(r) => vec![&r.static_term, &r.recursive_term],
            LogicalPlan::SubqueryAlias(s) => vec![&s.input],
        }
    }

    /// The same node over new inputs (same order as [`Self::inputs`]); schemas of nodes that
    /// store one are kept (rules that change columns rebuild nodes through the builder).
    pub fn with_new_inputs(&self, mut inputs: Vec<Arc<LogicalPlan>>) -> LogicalPlan {
        let mut next = || inputs.remove(0);
        match self {
            LogicalPlan::Scan(_)
            | LogicalPlan::Values(_)
            | LogicalPlan::EmptyRelation(_)
            | LogicalPlan::Range(_)
            | LogicalPlan::WorkTable(_) => self.clone(),
            LogicalPlan::Filter(f) => LogicalPlan::Filter(Filter {
                input: next(),
                predicate: f.predicate.clone(),
            }),
            LogicalPlan::Projection(p) => LogicalPlan::Projection(Projection {
                input: next(),
                ..p.clone()
            }),
            LogicalPlan::Aggregate(a) => LogicalPlan::Aggregate(Aggregate {
                input: next(),
                ..a.clone()
            }),
            LogicalPlan::Join(j) => {
                let left = next();
                let right = next();
                LogicalPlan::Join(Join {
                    left,
                    right,
                    ..j.clone()
                })
            }
            LogicalPlan::Sort(s) => LogicalPlan::Sort(Sort {
                input: next(),
                ..s.clone()
            }),
            LogicalPlan::Limit(l) => LogicalPlan::Limit(Limit {
                input: next(),
                ..l.clone()
            }),
            LogicalPlan::Distinct(_) => LogicalPlan::Distinct(Distinct { input: next() }),
            LogicalPlan::Window(w) => LogicalPlan::Window(Window {
                input: next(),
                ..w.clone()
            }),
            LogicalPlan::Union(u) => LogicalPlan::Union(Union {
                inputs: std::mem::take(&mut inputs),
                schema: Arc::clone(&u.schema),
            }),
            LogicalPlan::RecursiveQuery(r) => {
                let static_term = next();
                let recursive_term = next();
                LogicalPlan::RecursiveQuery(RecursiveQuery {
                    name: r.name.clone(),
                    static_term,
                    recursive_term,
                    distinct: r.distinct,
                })
            }
            LogicalPlan::Replicate(r) => LogicalPlan::Replicate(Replicate {
                input: next(),
                count: r.count.clone(),
            }),
            LogicalPlan::SubqueryAlias(s) => LogicalPlan::SubqueryAlias(SubqueryAlias {
                input: next(),
                ..s.clone()
            }),
        }
    }

    /// The expressions this node evaluates (for rules that inspect or rewrite them).
    pub fn expressions(&self) -> Vec<&Expr> {
        match self {
            LogicalPlan::Scan(s) => s.filters.iter().collect(),
            LogicalPlan::Filter(f) => vec![&f.predicate],
            LogicalPlan::Projection(p) => p.exprs.iter().collect(),
            LogicalPlan::Aggregate(a) => a.group_exprs.iter().chain(a.aggr_exprs.iter()).collect(),
            LogicalPlan::Join(j) => j.on.iter().flat_map(|(l, r)| [l, r]).chain(j.filter.iter()).collect(),
            LogicalPlan::Sort(s) => s.exprs.iter().map(|e| &e.expr).collect(),
            LogicalPlan::Values(v) => v.rows.iter().flatten().collect(),
            LogicalPlan::Replicate(r) => vec![&r.count],
            LogicalPlan::Window(w) => w.window_exprs.iter().collect(),
            _ => vec![],
        }
    }

    /// One line describing this node for EXPLAIN.
    pub fn describe(&self) -> String {
        let list = |exprs: &[Expr]| exprs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ");
        match self {
            LogicalPlan::Scan(s) => {
                let mut line = format!("Scan: {}", s.table_name);
                let names: Vec<&str> = s.schema.arrow().fields().iter().map(|f| f.name().as_str()).collect();
                if s.projection.is_some() {
                    line.push_str(&format!(" projection=[{}]", names.join(", ")));
                }
                if !s.filters.is_empty() {
                    line.push_str(&format!(" filters=[{}]", list(&s.filters)));
                }
                line
            }
            LogicalPlan::Filter(f) => format!("Filter: {}", f.predicate),
            LogicalPlan::Projection(p) => format!("Projection: {}", list(&p.exprs)),
            LogicalPlan::Aggregate(a) => format!(
                "Aggregate: groupBy=[{}], aggr=[{}]",
                list(&a.group_exprs),
                list(&a.aggr_exprs)
            ),
            LogicalPlan::Join(j) => {
                let on: Vec<String> = j.on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
                let mut line = format!("{} Join: {}", j.join_type, on.join(" AND "));
                if let Some(f) = &j.filter {
                    line.push_str(&format!(" filter={f}"));
                }
                line
            }
            LogicalPlan::Sort(s) => {
                let keys: Vec<String> = s
                    .exprs
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {} NULLS {}",
                            e.expr,
                            if e.asc { "ASC" } else { "DESC" },
                            if e.nulls_first { "FIRST" } else { "LAST" }
                        )
                    })
                    .collect();
                match s.fetch {
                    Some(n) => format!("Sort: {} fetch={n}", keys.join(", ")),
                    None => format!("Sort: {}", keys.join(", ")),
                }
            }
            LogicalPlan::Limit(l) => format!(
                "Limit: skip={}, fetch={}",
                l.skip,
                l.fetch.map(|f| f.to_string()).unwrap_or_else(|| "None".into())
            ),
            LogicalPlan::Distinct(_) => "Distinct".into(),
            LogicalPlan::Window(w) => format!("Window: {}", list(&w.window_exprs)),
            LogicalPlan::Union(_) => "Union".into(),
            LogicalPlan::Replicate(r) => format!("Replicate: count={}", r.count),
            LogicalPlan::SubqueryAlias(s) => format!("SubqueryAlias: {}", s.alias),
            LogicalPlan::Values(v) => format!("Values: {} rows", v.rows.len()),
            LogicalPlan::EmptyRelation(e) => format!("EmptyRelation: rows={}", u8::from(e.produce_one_row)),
            LogicalPlan::RecursiveQuery(r) => format!(
                "RecursiveQuery: {} {}",
                r.name,
                if r.distinct { "UNION" } else { "UNION ALL" }
            ),
            LogicalPlan::WorkTable(w) => format!("WorkTable: {}", w.name),
            LogicalPlan::Range(r) => format!("Range: start={}, step={}, count={}", r.start, r.step, r.count),
        }
    }
}

impl fmt::Display for LogicalPlan {
    /// An indented tree, one node per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn walk(plan: &LogicalPlan, depth: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            writeln!(f, "{}{}", "  ".repeat(depth), plan.describe())?;
            for input in plan.inputs() {
                walk(input, depth + 1, f)?;
            }
            Ok(())
        }
        walk(self, 0, f)
    }
}

impl TreeNode for LogicalPlan {
    fn apply_children<'n, F: FnMut(&'n Self) -> datafusion_common::Result<TreeNodeRecursion>>(
        &'n self,
        mut f: F,
    ) -> datafusion_common::Result<TreeNodeRecursion> {
        for input in self.inputs() {
            if f(input.as_ref())? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn map_children<F: FnMut(Self) -> datafusion_common::Result<Transformed<Self>>>(
        self,
        mut f: F,
    ) -> datafusion_common::Result<Transformed<Self>> {
        let inputs = self.inputs();
        if inputs.is_empty() {
            return Ok(Transformed::no(self));
        }
        let mut transformed = false;
        let mut new_inputs = Vec::with_capacity(inputs.len());
        for input in inputs {
            let t = f(input.as_ref().clone())?;
            transformed |= t.transformed;
            new_inputs.push(Arc::new(t.data));
        }
        if transformed {
            Ok(Transformed::yes(self.with_new_inputs(new_inputs)))
        } else {
            Ok(Transformed::no(self))
        }
    }
}
