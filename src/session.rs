//! A session: configuration, the catalog of tables and views, the memory pool and the worker
//! pool. [`Session::run_script`] parses SQL, plans, optimizes, cuts the stage graph, runs it
//! and hands back one [`StatementResult`] per statement.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use sqlparser::ast::{ObjectType, Statement, TableObject};

use crate::catalog::{Catalog, CatalogEntry};
use crate::error::{Error, Result};
use crate::exec::memory::{parse_bytes, MemoryPool};
use crate::exec::metrics::QueryStats;
use crate::exec::task::{ExecConfig, QueryContext};
use crate::frontend::sql::{self, Binder};
use crate::logical::builder;
use crate::logical::plan::{LogicalPlan, RecursiveQuery, TableSource};
use crate::logical::typecheck::TypeOptions;
use crate::logical::types::{parse_sql_type, sql_type_name};
use crate::physical::expr::cast_array;
use crate::physical::plan::{BatchStream, PlanRef};
use crate::physical::planner::PhysicalPlanner;
use crate::stage::split_into_stages;

mod copy;
mod dsl;
mod explain;
pub use explain::Explained;
mod statements;
mod store;
mod warnings;

/// Session settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Execution settings (threads, partitions, batch size).
    pub exec: ExecConfig,
    /// Memory limit in bytes.
    pub memory_limit: usize,
    /// Optimizer rules switched off by name (e.g. `predicate_pushdown`).
    pub disabled_rules: BTreeSet<String>,
    /// `/` on integers gives an integer (SQLite/Postgres) instead of a double (DuckDB).
    pub integer_division: bool,
    /// `SET default_null_order = 'nulls_first'`: NULLs sort first unless a query says otherwise.
    pub nulls_first: bool,
    /// `SET order_by_non_integer_literal = true`: `ORDER BY 'x'` is allowed (and orders
    /// nothing) instead of an error.
    pub order_by_literals: bool,
    /// `SET scalar_subquery_error_on_multiple_rows = false`: a scalar subquery with several
    /// rows gives one of them instead of an error.
    pub scalar_subquery_any_row: bool,
    /// Remote mode (`--remote`, `SET remote`): queries run on this Spark Connect endpoint.
    pub remote: Option<crate::remote::Endpoint>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            exec: ExecConfig::default(),
            memory_limit: MemoryPool::default_limit(),
            disabled_rules: BTreeSet::new(),
            integer_division: false,
            nulls_first: false,
            order_by_literals: false,
            scalar_subquery_any_row: false,
            remote: None,
        }
    }
}

/// The rows a query produced.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names and types.
    pub schema: SchemaRef,
    /// The rows, in order.
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// The outcome of one statement.
#[derive(Debug)]
pub enum StatementResult {
    /// A query (SELECT, VALUES, EXPLAIN, DESCRIBE, SHOW TABLES): rows to print.
    Query(QueryResult),
    /// A query's rows delivered as they are read, when the session streams results (see
    /// [`Session::set_streaming`]): a result larger than memory is never collected.
    Stream(RowStream),
    /// A statement that changes state (CREATE, DROP, SET ...), with a short message and,
    /// where it applies, the number of rows written.
    Done {
        /// E.g. `CREATE TABLE`.
        message: String,
        /// Rows inserted/created, when meaningful.
        rows: Option<u64>,
    },
}

/// The rows of a query as a stream of batches.
pub struct RowStream {
    /// Column names and types.
    pub schema: SchemaRef,
    /// The batches, in order; reading them may fail (a spill file, Ctrl-C).
    pub batches: BatchStream,
}

impl RowStream {
    /// Reads every batch into a [`QueryResult`].
    pub fn collect(self) -> Result<QueryResult> {
        Ok(QueryResult {
            schema: self.schema,
            batches: self.batches.collect::<Result<Vec<_>>>()?,
        })
    }
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream").field("schema", &self.schema).finish()
    }
}

/// A rask session.
pub struct Session {
    config: SessionConfig,
    memory: Arc<MemoryPool>,
    cancel: Arc<AtomicBool>,
    catalog: Catalog,
    pool: rayon::ThreadPool,
    prepared: crate::prepared::PreparedStatements,
    last_stats: Arc<std::sync::Mutex<QueryStats>>,
    streaming: bool,
    table_spill: store::TableSpill,
    read_warnings: warnings::ReadWarnings,
    params: crate::params::Params,
    running: crate::exec::progress::RunningQuery,
    last_profile: Arc<std::sync::Mutex<Option<Arc<crate::exec::profile::QueryProfile>>>>,
    /// Every query's profile with its statement's text, kept when asked (`--trace`,
    /// `--report`).
    profiles: Option<Vec<(String, Arc<crate::exec::profile::QueryProfile>)>>,
    /// The text of the statement being run (for kept profiles).
    current_statement: String,
    /// The Spark Connect server of remote mode, once connected.
    remote: Arc<std::sync::Mutex<crate::remote::Connection>>,
}

/// Stack of each worker thread: expressions are evaluated recursively, and one nested to
/// the depth limit (`MAX_EXPRESSION_DEPTH`) must fit.
const WORKER_STACK_BYTES: usize = 16 << 20;

fn build_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .stack_size(WORKER_STACK_BYTES)
        .thread_name(|i| format!("rask-worker-{i}"))
        .build()
        .map_err(|e| Error::internal(format!("cannot start worker threads: {e}")))
}

/// Every result `run` passes to the callback it is given, in order.
fn collect_results(
    run: impl FnOnce(&mut dyn FnMut(StatementResult) -> Result<()>) -> Result<()>,
) -> Result<Vec<StatementResult>> {
    let mut results = Vec::new();
    run(&mut |r| {
        results.push(r);
        Ok(())
    })?;
    Ok(results)
}

pub(super) fn one_column(name: &str, values: Vec<String>) -> Result<QueryResult> {
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, true)]));
    let array: ArrayRef = Arc::new(StringArray::from(values));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![array])?;
    Ok(QueryResult {
        schema,
        batches: vec![batch],
    })
}

impl Session {
    /// A session with `config`.
    pub fn new(config: SessionConfig) -> Result<Self> {
        let memory = MemoryPool::for_memory_limit(config.memory_limit);
        let pool = build_pool(config.exec.threads)?;
        Ok(Self {
            config,
            memory,
            cancel: Arc::new(AtomicBool::new(false)),
            catalog: Catalog::default(),
            pool,
            prepared: Default::default(),
            last_stats: Default::default(),
            streaming: false,
            table_spill: Default::default(),
            read_warnings: Default::default(),
            params: Default::default(),
            running: Default::default(),
            last_profile: Default::default(),
            profiles: None,
            current_statement: String::new(),
            remote: Arc::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Mutable configuration (for `SET` and test harnesses). A changed thread count takes
    /// effect at the next query.
    pub fn config_mut(&mut self) -> &mut SessionConfig {
        &mut self.config
    }

    /// The flag that cancels the running query when set (the Ctrl-C handler sets it).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Where the memory and spill totals of the last query run are kept (a handle, so a
    /// caller can read them while a script runs).
    pub fn last_stats(&self) -> Arc<std::sync::Mutex<QueryStats>> {
        Arc::clone(&self.last_stats)
    }

    /// With `on`, queries hand back [`StatementResult::Stream`] instead of collected rows, so
    /// a caller that writes rows as they come (CSV to a pipe, a file) never holds them all.
    pub fn set_streaming(&mut self, on: bool) {
        self.streaming = on;
    }

    /// The profile of the last query run (stages, tasks, operators, spill): for EXPLAIN
    /// ANALYZE, traces and reports. A handle, readable while a script runs.
    pub fn last_profile(&self) -> Arc<std::sync::Mutex<Option<Arc<crate::exec::profile::QueryProfile>>>> {
        Arc::clone(&self.last_profile)
    }

    /// Keeps the profile of every query run from now on (for `--trace`).
    pub fn keep_profiles(&mut self) {
        self.profiles.get_or_insert_with(Vec::new);
    }

    /// The profiles kept since [`Session::keep_profiles`], in the order the queries ran, each
    /// with the text of the statement that ran it.
    pub fn profiles(&self) -> &[(String, Arc<crate::exec::profile::QueryProfile>)] {
        self.profiles.as_deref().unwrap_or(&[])
    }

    /// Notes the text of the statement about to run (kept profiles are labelled with it).
    pub(crate) fn set_current_statement(&mut self, text: String) {
        if self.profiles.is_some() {
            self.current_statement = text;
        }
    }

    /// Where the query being run can be watched from another thread (progress display).
    pub fn running_query(&self) -> crate::exec::progress::RunningQuery {
        self.running.clone()
    }

    /// The values of `$name` parameters (`--param name=value`).
    pub fn params_mut(&mut self) -> &mut crate::params::Params {
        &mut self.params
    }

    /// The memory pool.
    pub fn memory(&self) -> &Arc<MemoryPool> {
        &self.memory
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A physical planner with this session's settings and memory limit.
    fn physical_planner(&self) -> PhysicalPlanner {
        PhysicalPlanner::new(self.config.exec.clone(), self.type_options()).with_memory_limit(self.memory.limit())
    }

    fn type_options(&self) -> TypeOptions {
        TypeOptions {
            integer_division: self.config.integer_division,
            nulls_first: self.config.nulls_first,
            order_by_literals: self.config.order_by_literals,
            scalar_subquery_any_row: self.config.scalar_subquery_any_row,
        }
    }

    /// Runs every statement in `sql` in order, passing each result to `on_result` as soon as
    /// it is ready; stops at the first error.
    pub fn run_script(&mut self, sql: &str, mut on_result: impl FnMut(StatementResult) -> Result<()>) -> Result<()> {
        let statements = sql::parse(sql)?;
        let total = statements.len();
        let starts = if total > 1 {
            sql::statement_starts(sql)
        } else {
            Vec::new()
        };
        for (i, mut statement) in statements.into_iter().enumerate() {
            let in_statement = |e: Error| e.in_statement(i + 1, total, starts.get(i).copied());
            self.params.substitute(&mut statement).map_err(in_statement)?;
            self.set_current_statement(statement.to_string());
            let result = self.execute_statement(&statement).map_err(in_statement)?;
            on_result(result)?;
        }
        Ok(())
    }

    /// Runs every statement in `sql` and returns all results.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        collect_results(|on_result| self.run_script(sql, on_result))
    }

    /// Names of the tables and views in the catalog, sorted (for `.tables` and completion).
    pub fn table_names(&self) -> Vec<String> {
        self.catalog.names()
    }

    /// The schema of table or view `name`, if it exists (for `.schema` and completion).
    pub fn table_schema(&self, name: &str) -> Option<SchemaRef> {
        match self.catalog.get(name)? {
            CatalogEntry::Table(t) => Some(Arc::clone(&t.schema)),
            CatalogEntry::View(v) => {
                let plan = Binder::new(&self.catalog, self.type_options())
                    .bind_query(&v.query)
                    .ok()?;
                let schema = plan.schema();
                let fields: Vec<Field> = (0..schema.len())
                    .map(|i| {
                        let f = schema.field(i).as_ref().clone();
                        match v.columns.get(i) {
                            Some(n) => f.with_name(n),
                            None => f,
                        }
                    })
                    .collect();
                Some(Arc::new(Schema::new(fields)))
            }
            CatalogEntry::Frame(p) => Some(Arc::clone(p.schema().arrow())),
        }
    }

    pub(super) fn bind(&self, q: &sqlparser::ast::Query) -> Result<LogicalPlan> {
        Binder::new(&self.catalog, self.type_options()).bind_query(q)
    }

    /// Runs every `WITH RECURSIVE` CTE in `plan` to completion (innermost first) and puts a
    /// scan of its rows in its place.
    ///
    /// `row_cap` is how many rows the plan above can use at most (a LIMIT reached through
    /// nodes that keep rows as they are): a recursion that has produced that many stops
    /// there, so `WITH RECURSIVE … SELECT * FROM t LIMIT 10` ends even when `t` never would.
    fn materialize_recursive(&mut self, plan: &LogicalPlan, row_cap: Option<usize>) -> Result<LogicalPlan> {
        if !contains_recursive(plan) {
            return Ok(plan.clone());
        }
        let cap_below = match plan {
            LogicalPlan::Limit(l) => l.fetch.map(|f| l.skip.saturating_add(f)),
            LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => row_cap,
            _ => None,
        };
        let inputs = plan
            .inputs()
            .into_iter()
            .map(|i| self.materialize_recursive(i, cap_below).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let node = plan.with_new_inputs(inputs);
        match node {
            LogicalPlan::RecursiveQuery(r) => self.run_recursive(&r, row_cap),
            other => Ok(other),
        }
    }

    /// The rounds of one recursive CTE: each runs the recursive term over the rows the last
    /// round added (with UNION: minus every row seen so far) until a round adds none. Each
    /// round's rows are stored as a table (spilled when the pool refuses them); the rows so
    /// far share those tables' chunks.
    fn run_recursive(&mut self, r: &RecursiveQuery, row_cap: Option<usize>) -> Result<LogicalPlan> {
        let schema = Arc::clone(r.static_term.schema().arrow());
        let opts = self.type_options();
        let first = if r.distinct {
            builder::distinct(Arc::clone(&r.static_term))
        } else {
            r.static_term.as_ref().clone()
        };
        let mut work = self.store_query(first, &schema)?;
        let mut all = Arc::clone(&work);
        let mut rounds = 0usize;
        while work.num_rows() > 0 {
            if rounds > 0 {
                all = store::concat_tables(&all, &work);
            }
            rounds += 1;
            if row_cap.is_some_and(|cap| all.num_rows() >= cap) {
                break;
            }
            let scan = Arc::new(builder::scan(&r.name, TableSource::Memory(work), Some(&r.name)));
            let step = replace_work_table(&r.recursive_term, &r.name, &scan)?;
            let step = if r.distinct {
                let seen = Arc::new(builder::scan(&r.name, TableSource::Memory(Arc::clone(&all)), None));
                sql::setops::intersect_except(opts, Arc::new(step), seen, sql::setops::SetOp::Except, false)?
            } else {
                step
            };
            work = self.store_query(step, &schema)?;
        }
        Ok(builder::scan(&r.name, TableSource::Memory(all), None))
    }

    /// Optimizes, plans and runs a bound query, collecting its rows.
    pub(super) fn run_plan(&mut self, plan: LogicalPlan) -> Result<QueryResult> {
        let (schema, stream) = self.run_plan_streaming(plan)?;
        let batches = stream.collect::<Result<Vec<_>>>()?;
        Ok(QueryResult { schema, batches })
    }

    /// Optimizes, plans and runs a bound query; its rows are streamed (read back from spill
    /// files when the result did not fit in memory).
    pub(crate) fn run_plan_streaming(&mut self, plan: LogicalPlan) -> Result<(SchemaRef, BatchStream)> {
        let (schema, stream) = self.run_plan_with(plan, &|root, _| Ok(root))?;
        let out_schema = Arc::clone(&schema);
        let stream = stream.map(move |b| b.and_then(|b| conform(&b, &out_schema)));
        Ok((schema, Box::new(stream)))
    }

    /// Runs a bound query whose physical plan `wrap` puts under a new root (given the plan's
    /// output schema, e.g. a COPY's writer); returns that schema and the root's batches.
    pub(crate) fn run_plan_with(
        &mut self,
        plan: LogicalPlan,
        wrap: &dyn Fn(PlanRef, &SchemaRef) -> Result<PlanRef>,
    ) -> Result<(SchemaRef, BatchStream)> {
        if let Some(endpoint) = self.config.remote.clone() {
            return self.run_remote(plan, &endpoint);
        }
        let plan = self.materialize_recursive(&plan, None)?;
        let schema = Arc::clone(plan.schema().arrow());
        let optimized = crate::optimizer::optimize(plan, &self.config.disabled_rules, self.type_options())?;
        self.read_warnings.watch(&optimized.plan);
        let physical = self.physical_planner().plan(&optimized.plan)?;
        let graph = split_into_stages(wrap(physical, &schema)?)?;
        if self.pool.current_num_threads() != self.config.exec.threads.max(1) {
            self.pool = build_pool(self.config.exec.threads)?;
        }
        self.cancel.store(false, Ordering::Relaxed);
        self.memory.reset_peak();
        let query = Arc::new(QueryContext::new(
            self.config.exec.clone(),
            Arc::clone(&self.memory),
            Arc::clone(&self.cancel),
        ));
        self.running.set(&query);
        let result = crate::exec::scheduler::run_streaming(&graph, Arc::clone(&query), &self.pool);
        self.record_stats(&query);
        let profile = Arc::new(crate::exec::profile::QueryProfile::capture(&graph, &query));
        if let Some(kept) = &mut self.profiles {
            kept.push((self.current_statement.clone(), Arc::clone(&profile)));
        }
        if let Ok(mut last) = self.last_profile.lock() {
            *last = Some(profile);
        }
        drop(query);
        // A failed task raises the cancel flag to stop the others; the first error stands.
        self.cancel.store(false, Ordering::Relaxed);
        Ok((schema, result?))
    }

    /// Remote mode: optimizes `plan` here, renders it as Spark SQL and streams the rows the
    /// Spark Connect server at `endpoint` sends back (in the plan's schema, see `conform`).
    fn run_remote(
        &mut self,
        plan: LogicalPlan,
        endpoint: &crate::remote::Endpoint,
    ) -> Result<(SchemaRef, BatchStream)> {
        let schema = Arc::clone(plan.schema().arrow());
        let query = self.remote_query(plan)?;
        Ok((schema, self.run_remote_query(endpoint, &query)?))
    }

    /// A bound plan, optimized here, as the Spark SQL remote mode sends.
    pub(super) fn remote_query(&self, plan: LogicalPlan) -> Result<crate::remote::render::SparkQuery> {
        let optimized = crate::optimizer::optimize(plan, &self.config.disabled_rules, self.type_options())?;
        crate::remote::render::render_query(&optimized.plan, self.type_options())
    }

    /// Sends `query` to `endpoint` and streams what comes back (Ctrl-C interrupts it).
    pub(super) fn run_remote_query(
        &mut self,
        endpoint: &crate::remote::Endpoint,
        query: &crate::remote::render::SparkQuery,
    ) -> Result<BatchStream> {
        self.cancel.store(false, Ordering::Relaxed);
        let (_, rows) = self
            .remote_connection()?
            .run(endpoint, query, Arc::clone(&self.cancel))?;
        Ok(rows)
    }

    /// The remote-mode connection (connected on first use).
    pub(crate) fn remote_connection(&self) -> Result<std::sync::MutexGuard<'_, crate::remote::Connection>> {
        self.remote
            .lock()
            .map_err(|_| Error::internal("remote connection lock poisoned"))
    }

    fn record_stats(&self, query: &QueryContext) {
        if let Ok(mut stats) = self.last_stats.lock() {
            *stats = QueryStats {
                peak_memory: self.memory.peak(),
                memory_limit: self.memory.limit(),
                spill: query.spill.stats(),
            };
        }
    }

    /// Points the binder at the cluster for files rask cannot read, when remote mode is on
    /// (called before each statement: `SET remote` may have changed it).
    pub(super) fn refresh_remote_files(&mut self) {
        let remote_files = self.config.remote.clone().map(|endpoint| {
            Arc::new(crate::remote::RemoteSchemas::new(
                Arc::clone(&self.remote),
                endpoint,
                Arc::clone(&self.cancel),
            )) as Arc<dyn crate::catalog::RemoteFiles>
        });
        self.catalog.set_remote_files(remote_files);
    }

    fn execute_statement(&mut self, statement: &Statement) -> Result<StatementResult> {
        self.refresh_remote_files();
        if let Some(result) = self.run_session_statement(statement)? {
            return Ok(result);
        }
        let resolved = self.resolve_limits(statement)?;
        let statement = resolved.as_ref().unwrap_or(statement);
        match statement {
            Statement::Query(q) => {
                let plan = self.bind(q)?;
                if self.streaming {
                    let (schema, batches) = self.run_plan_streaming(plan)?;
                    Ok(StatementResult::Stream(RowStream { schema, batches }))
                } else {
                    Ok(StatementResult::Query(self.run_plan(plan)?))
                }
            }
            Statement::CreateView(v) => {
                // Bind once now so a broken view is an error at CREATE time.
                self.bind(&v.query)?;
                let def = crate::catalog::ViewDef {
                    query: v.query.as_ref().clone(),
                    columns: v.columns.iter().map(|c| c.name.value.clone()).collect(),
                };
                self.catalog
                    .register(&v.name.to_string(), CatalogEntry::View(Arc::new(def)), v.or_replace)?;
                Ok(StatementResult::Done {
                    message: "CREATE VIEW".into(),
                    rows: None,
                })
            }
            Statement::CreateTable(ct) => {
                let name = ct.name.to_string();
                if ct.if_not_exists && self.catalog.get(&name).is_some() {
                    return Ok(StatementResult::Done {
                        message: "CREATE TABLE".into(),
                        rows: Some(0),
                    });
                }
                let table = match &ct.query {
                    Some(q) => {
                        let plan = self.bind(q)?;
                        let (schema, stream) = self.run_plan_streaming(plan)?;
                        if ct.columns.is_empty() {
                            self.store_table(schema, stream)?
                        } else {
                            let target = declared_schema(&name, &ct.columns, &schema)?;
                            let cast_to = Arc::clone(&target);
                            self.store_table(target, stream.map(move |b| b.and_then(|b| cast_batch(&b, &cast_to))))?
                        }
                    }
                    None => {
                        let fields = ct
                            .columns
                            .iter()
                            .map(|c| {
                                Ok(Field::new(
                                    c.name.value.clone(),
                                    parse_sql_type(&c.data_type.to_string())?,
                                    true,
                                ))
                            })
                            .collect::<Result<Vec<_>>>()?;
                        self.store_table(Arc::new(Schema::new(fields)), std::iter::empty())?
                    }
                };
                let rows = table.num_rows() as u64;
                self.catalog
                    .register(&name, CatalogEntry::Table(table), ct.or_replace)?;
                Ok(StatementResult::Done {
                    message: "CREATE TABLE".into(),
                    rows: Some(rows),
                })
            }
            Statement::Insert(insert) => self.insert(insert),
            Statement::Call(call) if call.name.to_string().eq_ignore_ascii_case(crate::summarize::PROCEDURE) => {
                let source = summarize_source(call)?;
                self.summarize(&source)
            }
            Statement::Delete(delete) => {
                let rewrite = crate::dml::delete_as_queries(delete)?;
                self.rewrite_table(rewrite, "DELETE")
            }
            Statement::Update(update) => {
                let table = crate::dml::update_target(update)?;
                let columns: Vec<String> = match self.catalog.lookup(&table)? {
                    CatalogEntry::Table(t) => t.schema.fields().iter().map(|f| f.name().clone()).collect(),
                    _ => return Err(Error::plan(format!("cannot update view {table}"))),
                };
                let rewrite = crate::dml::update_as_queries(update, &columns)?;
                self.rewrite_table(rewrite, "UPDATE")
            }
            Statement::Copy {
                source,
                to: true,
                target,
                options,
                legacy_options,
                ..
            } => {
                let copy = crate::copy_to::CopyTo::from_statement(source, target, options, legacy_options)?;
                self.copy_to(&copy)
            }
            Statement::Copy {
                source,
                to: false,
                target,
                options,
                legacy_options,
                ..
            } => {
                let sql = crate::copy_from::copy_from_as_insert(source, target, options, legacy_options)?;
                let parsed = crate::frontend::sql::parse(&sql)?;
                match parsed.first() {
                    Some(Statement::Insert(insert)) => self.insert(insert),
                    _ => Err(Error::internal("COPY FROM did not become an INSERT")),
                }
            }
            Statement::Drop {
                object_type,
                names,
                if_exists,
                ..
            } => {
                if !matches!(object_type, ObjectType::Table | ObjectType::View) {
                    return Err(Error::not_supported(format!("DROP {object_type}")));
                }
                for name in names {
                    self.catalog.drop(&name.to_string(), *if_exists)?;
                }
                Ok(StatementResult::Done {
                    message: format!("DROP {object_type}"),
                    rows: None,
                })
            }
            Statement::ExplainTable { table_name, .. } => {
                let q = sql::parse(&format!("SELECT * FROM {table_name}"))?;
                let Some(Statement::Query(q)) = q.first() else {
                    return Err(Error::internal("DESCRIBE rewrite failed"));
                };
                let plan = self.bind(q)?;
                Ok(StatementResult::Query(describe(&plan.schema().arrow().clone())?))
            }
            Statement::Explain {
                statement,
                analyze,
                describe_alias,
                format,
                options,
                ..
            } => {
                let Statement::Query(q) = statement.as_ref() else {
                    return Err(Error::not_supported("EXPLAIN of a statement other than a query"));
                };
                if matches!(
                    describe_alias,
                    sqlparser::ast::DescribeAlias::Describe | sqlparser::ast::DescribeAlias::Desc
                ) {
                    let plan = self.bind(q)?;
                    return Ok(StatementResult::Query(describe(&plan.schema().arrow().clone())?));
                }
                let plan = self.bind(q)?;
                if explain::wants_json(format.as_ref(), options.as_deref()) {
                    if *analyze {
                        return Err(Error::not_supported("EXPLAIN ANALYZE (FORMAT json)"));
                    }
                    let json = self.explain_plan(plan)?.to_json();
                    return Ok(StatementResult::Query(one_column("plan", vec![json])?));
                }
                self.explain_result(plan, *analyze)
            }
            Statement::ShowTables { .. } => Ok(StatementResult::Query(one_column("name", self.catalog.names())?)),
            Statement::Set(set) => self.set(set),
            other => Err(Error::not_supported(format!(
                "statement {}",
                other
                    .to_string()
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))),
        }
    }

    /// Replaces a table's rows by the result of `rewrite.new_rows` (a DELETE or UPDATE),
    /// reporting the rows `rewrite.affected` counts. Nothing changes if either query fails.
    fn rewrite_table(&mut self, rewrite: crate::dml::DmlRewrite, verb: &str) -> Result<StatementResult> {
        let table = match self.catalog.lookup(&rewrite.table)? {
            CatalogEntry::Table(t) => Arc::clone(t),
            _ => return Err(Error::plan(format!("cannot {verb} a view: {}", rewrite.table))),
        };
        let affected = self.run_sql_query(&rewrite.affected)?;
        let rows = affected
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .map(|a| a.value(0))
            })
            .unwrap_or(0) as u64;
        let (_, stream) = self.stream_sql_query(&rewrite.new_rows)?;
        let target = Arc::clone(&table.schema);
        let cast_to = Arc::clone(&target);
        let new_table = self.store_table(target, stream.map(move |b| b.and_then(|b| cast_batch(&b, &cast_to))))?;
        self.catalog
            .register(&rewrite.table, CatalogEntry::Table(new_table), true)?;
        Ok(StatementResult::Done {
            message: verb.into(),
            rows: Some(rows),
        })
    }

    /// `SUMMARIZE source`: per-column statistics from one aggregate pass over the source.
    fn summarize(&mut self, source: &str) -> Result<StatementResult> {
        let relation = crate::summarize::source_relation(source);
        let parsed = crate::frontend::sql::parse(&format!("SELECT * FROM {relation}"))?;
        let Some(Statement::Query(q)) = parsed.first() else {
            return Err(Error::internal("SUMMARIZE source is not a query"));
        };
        let schema = Arc::clone(self.bind(q)?.schema().arrow());
        let stats = self.run_sql_query(&crate::summarize::statistics_query(&relation, &schema))?;
        let row = stats
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| Error::internal("SUMMARIZE: no statistics row"))?;
        let batch = crate::summarize::reshape(&schema, row)?;
        Ok(StatementResult::Query(QueryResult {
            schema: batch.schema(),
            batches: vec![batch],
        }))
    }

    /// Parses, binds and runs one SELECT given as text.
    fn run_sql_query(&mut self, sql: &str) -> Result<QueryResult> {
        let (schema, stream) = self.stream_sql_query(sql)?;
        Ok(QueryResult {
            schema,
            batches: stream.collect::<Result<Vec<_>>>()?,
        })
    }

    /// Parses, binds and runs one SELECT given as text, streaming its rows.
    fn stream_sql_query(&mut self, sql: &str) -> Result<(SchemaRef, BatchStream)> {
        let parsed = crate::frontend::sql::parse(sql)?;
        let Some(Statement::Query(q)) = parsed.first() else {
            return Err(Error::internal(format!("not a query: {sql}")));
        };
        let plan = self.bind(q)?;
        self.run_plan_streaming(plan)
    }

    fn insert(&mut self, insert: &sqlparser::ast::Insert) -> Result<StatementResult> {
        let TableObject::TableName(name) = &insert.table else {
            return Err(Error::not_supported("INSERT into a table function"));
        };
        let name = name.to_string();
        let table = match self.catalog.lookup(&name)? {
            CatalogEntry::Table(t) => Arc::clone(t),
            _ => return Err(Error::plan(format!("cannot insert into view {name}"))),
        };
        let source = insert
            .source
            .as_ref()
            .ok_or_else(|| Error::not_supported("INSERT without a query"))?;
        let plan = self.bind(source)?;
        let (schema, stream) = self.run_plan_streaming(plan)?;
        let target = Arc::clone(&table.schema);
        // Column i of the result goes to the listed column i (or table column i).
        let positions: Vec<usize> = if insert.columns.is_empty() {
            (0..target.fields().len()).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| {
                    let c = c.to_string();
                    target
                        .fields()
                        .iter()
                        .position(|f| f.name().eq_ignore_ascii_case(&c))
                        .ok_or_else(|| {
                            Error::plan(format!("Table \"{name}\" does not have a column with name \"{c}\""))
                        })
                })
                .collect::<Result<_>>()?
        };
        if schema.fields().len() != positions.len() {
            return Err(Error::plan(format!(
                "table {name} has {} columns but {} values were supplied",
                positions.len(),
                schema.fields().len()
            )));
        }
        let placed = stream.map(move |b| b.and_then(|b| place_columns(&b, &positions, &target)));
        let new_table = if self.catalog.unique_indexes(&name).is_empty() {
            self.append_table(&table, placed)?
        } else {
            let new = placed.collect::<Result<Vec<_>>>()?;
            let existing = table.batches().collect::<Result<Vec<_>>>()?;
            self.check_unique_indexes(&name, &existing, &new)?;
            self.append_table(&table, new.into_iter().map(Ok))?
        };
        let rows = new_table.num_rows().saturating_sub(table.num_rows()) as u64;
        self.catalog.register(&name, CatalogEntry::Table(new_table), true)?;
        Ok(StatementResult::Done {
            message: "INSERT".into(),
            rows: Some(rows),
        })
    }

    fn set(&mut self, set: &sqlparser::ast::Set) -> Result<StatementResult> {
        let sqlparser::ast::Set::SingleAssignment { variable, values, .. } = set else {
            return Err(Error::not_supported(format!("{set}")));
        };
        let name = variable.to_string().to_lowercase();
        let value = values
            .first()
            .map(|v| v.to_string().trim_matches('\'').to_string())
            .ok_or_else(|| Error::plan(format!("SET {name} needs a value")))?;
        let as_usize = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| Error::plan(format!("SET {name}: '{v}' is not a number")))
        };
        match name.as_str() {
            "threads" | "worker_threads" => {
                self.config.exec.threads = as_usize(&value)?.max(1);
                self.config.exec.target_partitions = self.config.exec.threads;
            }
            "memory_limit" | "max_memory" => {
                self.config.memory_limit = parse_bytes(&value)?;
                crate::exec::allocator::return_freed_memory_promptly();
                self.memory = MemoryPool::for_memory_limit(self.config.memory_limit);
            }
            "temp_directory" => {
                self.config.exec.temp_dir = Some(crate::exec::spill::checked_temp_dir(std::path::Path::new(&value))?);
            }
            "max_temp_directory_size" => {
                self.config.exec.max_temp_bytes = Some(parse_bytes(&value)? as u64);
            }
            "integer_division" => {
                self.config.integer_division = matches!(value.to_lowercase().as_str(), "true" | "1" | "on")
            }
            "scalar_subquery_error_on_multiple_rows" => {
                self.config.scalar_subquery_any_row =
                    !matches!(value.to_lowercase().as_str(), "true" | "1" | "on")
            }
            "default_null_order" | "null_order" => {
                self.config.nulls_first = match value.to_lowercase().as_str() {
                    "nulls_first" | "nulls first" => true,
                    "nulls_last" | "nulls last" => false,
                    v => return Err(Error::plan(format!("SET default_null_order: unknown value '{v}'"))),
                }
            }
            "order_by_non_integer_literal" => {
                self.config.order_by_literals = matches!(value.to_lowercase().as_str(), "true" | "1" | "on")
            }
            "remote" => {
                self.config.remote = match value.trim() {
                    "" | "local" | "none" => None,
                    endpoint => Some(crate::remote::Endpoint::parse(endpoint)?),
                };
            }
            other => {
                return Err(Error::plan(format!(
                    "unrecognized configuration parameter \"{other}\" (known: threads, memory_limit, temp_directory, max_temp_directory_size, integer_division, default_null_order, scalar_subquery_error_on_multiple_rows, order_by_non_integer_literal, remote)"
                )))
            }
        }
        Ok(StatementResult::Done {
            message: "SET".into(),
            rows: None,
        })
    }
}

/// Whether `plan` holds a recursive CTE.
fn contains_recursive(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::RecursiveQuery(_)) || plan.inputs().iter().any(|i| contains_recursive(i))
}

/// `plan` with the work table `name` replaced by `scan`.
fn replace_work_table(plan: &LogicalPlan, name: &str, scan: &Arc<LogicalPlan>) -> Result<LogicalPlan> {
    if let LogicalPlan::WorkTable(w) = plan {
        if w.name.eq_ignore_ascii_case(name) {
            return Ok(scan.as_ref().clone());
        }
    }
    let inputs = plan
        .inputs()
        .into_iter()
        .map(|i| replace_work_table(i, name, scan).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    Ok(if inputs.is_empty() {
        plan.clone()
    } else {
        plan.with_new_inputs(inputs)
    })
}

/// `batch` with the column types of `schema` (the plan's declared output types).
pub(crate) fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema() == *schema {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast_array(c, f.data_type(), false))
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// DESCRIBE's rows, as DuckDB shows them.
fn describe(schema: &Schema) -> Result<QueryResult> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let types: Vec<String> = schema.fields().iter().map(|f| sql_type_name(f.data_type())).collect();
    let nulls: Vec<String> = schema.fields().iter().map(|_| "YES".to_string()).collect();
    let n = names.len();
    let out = Arc::new(Schema::new(vec![
        Field::new("column_name", DataType::Utf8, true),
        Field::new("column_type", DataType::Utf8, true),
        Field::new("null", DataType::Utf8, true),
        Field::new("key", DataType::Utf8, true),
        Field::new("default", DataType::Utf8, true),
        Field::new("extra", DataType::Utf8, true),
    ]));
    let empty = || Arc::new(StringArray::from(vec![None::<&str>; n])) as ArrayRef;
    let batch = RecordBatch::try_new(
        Arc::clone(&out),
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(types)),
            Arc::new(StringArray::from(nulls)),
            empty(),
            empty(),
            empty(),
        ],
    )?;
    Ok(QueryResult {
        schema: out,
        batches: vec![batch],
    })
}

/// `CREATE TABLE t (a INT, b TEXT) AS query`: the table's schema, with the declared names
/// and types (a column declared without a type keeps the query's); the query's batches are
/// then cast with [`cast_batch`].
fn declared_schema(table: &str, declared: &[sqlparser::ast::ColumnDef], schema: &SchemaRef) -> Result<SchemaRef> {
    if declared.len() != schema.fields().len() {
        return Err(Error::plan(format!(
            "table {table} declares {} columns but the query produces {}",
            declared.len(),
            schema.fields().len()
        )));
    }
    let fields = declared
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            let data_type = match c.data_type {
                sqlparser::ast::DataType::Unspecified => f.data_type().clone(),
                ref t => parse_sql_type(&t.to_string())?,
            };
            Ok(Field::new(c.name.value.clone(), data_type, true))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// `batch` with column i cast to `target`'s field i (same column count).
fn cast_batch(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(a, f)| cast_array(a, f.data_type(), false))
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(target), columns)?)
}

/// An INSERT's `batch` as rows of `target`: its column i goes to table column
/// `positions[i]` (cast to its type); table columns not listed are NULL.
fn place_columns(batch: &RecordBatch, positions: &[usize], target: &SchemaRef) -> Result<RecordBatch> {
    let columns = target
        .fields()
        .iter()
        .enumerate()
        .map(|(ti, f)| match positions.iter().position(|&p| p == ti) {
            Some(src) => cast_array(batch.column(src), f.data_type(), false),
            None => Ok(arrow::array::new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(target), columns)?)
}

/// The source text of a `CALL __rask_summarize('…')` (what SUMMARIZE was rewritten into).
fn summarize_source(call: &sqlparser::ast::Function) -> Result<String> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments, Value};
    if let FunctionArguments::List(list) = &call.args {
        if let [FunctionArg::Unnamed(FunctionArgExpr::Expr(sqlparser::ast::Expr::Value(v)))] = list.args.as_slice() {
            if let Value::SingleQuotedString(s) = &v.value {
                return Ok(s.clone());
            }
        }
    }
    Err(Error::internal("SUMMARIZE: malformed source"))
}
