//! Running DSL scripts in a session: `name = chain` binds a lazy frame (a catalog entry SQL
//! sees as a view), a bare chain computes and prints, `persist()` computes now and keeps the
//! rows under the memory pool, and the actions (`show`, `count`, `explain`, `visualize`,
//! `to_csv`, `to_parquet`, `to_json`) do their work.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Explained, RowStream, Session, StatementResult};
use crate::catalog::CatalogEntry;
use crate::error::{closest_name, Error, Location, Result};
use crate::frontend::dsl::ast::{Call, Chain, Source, Statement, Value};
use crate::frontend::dsl::lower::{self, boolean, located, Lowered};
use crate::frontend::dsl::verbs::{self, Role};
use crate::frontend::dsl::{self};
use crate::frontend::sql::{select_of, Binder};
use crate::logical::builder;
use crate::logical::plan::{LogicalPlan, TableSource};

impl Session {
    /// Runs every statement of DSL `script` in order, passing each result to `on_result` as
    /// soon as it is ready; stops at the first error. The whole script is parsed first, so a
    /// syntax error anywhere runs nothing.
    pub fn run_dsl(&mut self, script: &str, mut on_result: impl FnMut(StatementResult) -> Result<()>) -> Result<()> {
        for mut statement in dsl::parse(script)? {
            self.bind_params(&mut statement.chain)?;
            if let Some(call) = sql_statements(&statement) {
                // `sql("CREATE TABLE …; INSERT …")` alone runs SQL statements of any kind.
                let text = lower::sql_text(call)?;
                for result in self.execute(&text)? {
                    on_result(result)?;
                }
                continue;
            }
            self.refresh_remote_files();
            let result = self
                .run_dsl_statement(&statement)
                .map_err(|e| e.at(statement.location()))?;
            on_result(result)?;
        }
        Ok(())
    }

    /// Runs DSL `script` and returns every result.
    pub fn execute_dsl(&mut self, script: &str) -> Result<Vec<StatementResult>> {
        super::collect_results(|on_result| self.run_dsl(script, on_result))
    }

    /// Runs all but the last statement of `script` and explains the last, a chain without an
    /// action, as EXPLAIN would its query.
    pub fn explain_dsl(&mut self, script: &str) -> Result<Explained> {
        let mut statements = dsl::parse(script)?;
        let last = statements
            .pop()
            .ok_or_else(|| Error::plan("explain_dsl: the script has no statements"))?;
        for statement in &mut statements {
            self.bind_params(&mut statement.chain)?;
            self.run_dsl_statement(statement)?;
        }
        let mut last = last;
        self.bind_params(&mut last.chain)?;
        let plan = self.lower_chain(&last.chain)?;
        self.explain_plan(plan)
    }

    /// Puts the values of `$name` parameters in place, in SQL arguments and string ones.
    fn bind_params(&self, chain: &mut Chain) -> Result<()> {
        let calls: Vec<&mut Call> = match &mut chain.source {
            Source::Call(call) => std::iter::once(call).chain(chain.calls.iter_mut()).collect(),
            Source::Name(_) => chain.calls.iter_mut().collect(),
        };
        for call in calls {
            for arg in &mut call.args {
                let location = arg.location;
                let bound = match &mut arg.value {
                    Value::Expr(e) => self.params.substitute(e.as_mut()),
                    Value::Item(i) => self.params.substitute(i.as_mut()),
                    Value::Order(o) => self.params.substitute(o.as_mut()),
                    Value::Frame(c) => self.bind_params(c),
                    Value::Param(name) => match self.params.get(name) {
                        Some(v) => {
                            arg.value = Value::Str(v.to_string());
                            Ok(())
                        }
                        None => Err(Error::InvalidInput(format!(
                            "parameter ${name} has no value: pass --param {name}=VALUE"
                        ))),
                    },
                    Value::Str(_) | Value::Int(_) => Ok(()),
                };
                bound.map_err(|e| e.at(location))?;
            }
        }
        Ok(())
    }

    fn run_dsl_statement(&mut self, statement: &Statement) -> Result<StatementResult> {
        let chain = &statement.chain;
        for call in chain.calls.iter().rev().skip(1) {
            if verbs::lookup(&call.verb).is_some_and(|s| s.role == Role::Action) {
                return Err(Error::Bind {
                    message: format!("{}(…) ends a chain: nothing can follow it", call.verb),
                    location: call.location,
                });
            }
        }
        let action = chain
            .calls
            .last()
            .filter(|c| verbs::lookup(&c.verb).is_some_and(|s| s.role == Role::Action));
        let frame = Chain {
            source: chain.source.clone(),
            calls: chain.calls[..chain.calls.len() - usize::from(action.is_some())].to_vec(),
        };
        if let (Some(target), Some(action)) = (&statement.target, action) {
            return Err(Error::Bind {
                message: format!(
                    "{}(…) is an action and gives no frame to bind to {}: drop the action or the name",
                    action.verb, target.name
                ),
                location: action.location,
            });
        }
        let plan = self.lower_chain(&frame)?;
        match (&statement.target, action) {
            (Some(target), _) => {
                self.bind_frame(&target.name, target.location, plan)?;
                Ok(StatementResult::Done {
                    message: String::new(),
                    rows: None,
                })
            }
            (None, None) => self.compute(plan),
            (None, Some(action)) => self.dsl_action(plan, action).map_err(|e| e.at(action.location)),
        }
    }

    /// Binds `name` to a lazy frame; SQL sees it as a view. A table or view of the same name
    /// is not replaced.
    fn bind_frame(&mut self, name: &str, location: Location, plan: LogicalPlan) -> Result<()> {
        match self.catalog.get(name) {
            None | Some(CatalogEntry::Frame(_)) => {
                self.catalog.register(name, CatalogEntry::Frame(Arc::new(plan)), true)
            }
            Some(_) => Err(Error::Bind {
                message: format!(
                    "{name} is a SQL table or view; bind the frame to another name (read it with table(\"{name}\"))"
                ),
                location,
            }),
        }
    }

    /// The plan of a chain without actions.
    fn lower_chain(&mut self, chain: &Chain) -> Result<LogicalPlan> {
        let mut state = Lowered::Frame(self.lower_source(&chain.source)?);
        for call in &chain.calls {
            state = self.lower_call(state, call)?;
        }
        match state {
            Lowered::Frame(plan) => Ok(plan),
            Lowered::Grouped { keys, .. } => Err(Error::Bind {
                message: "groupby(…) must be followed by .agg(name = aggregate, …)".into(),
                location: keys.location,
            }),
        }
    }

    fn lower_source(&mut self, source: &Source) -> Result<LogicalPlan> {
        let opts = self.type_options();
        match source {
            Source::Name(name) => match self.catalog.get(&name.name) {
                Some(CatalogEntry::Frame(plan)) => self.catalog.refresh(plan),
                Some(_) => located(Binder::new(&self.catalog, opts).table_named(&name.name), name.location),
                None => {
                    let names = self.catalog.names();
                    let hint = closest_name(&name.name, names.iter().map(String::as_str))
                        .map(|n| format!("; did you mean {n}?"))
                        .unwrap_or_default();
                    let source_hint = verbs::lookup(&name.name.to_lowercase())
                        .filter(|s| s.role == Role::Source)
                        .map(|s| format!("; a source is called: {}", s.usage))
                        .unwrap_or_default();
                    Err(Error::Bind {
                        message: format!("no frame, table or view named {}{hint}{source_hint}", name.name),
                        location: name.location,
                    })
                }
            },
            Source::Call(call) => lower::source(&mut Binder::new(&self.catalog, opts), call),
        }
    }

    fn lower_call(&mut self, state: Lowered, call: &Call) -> Result<Lowered> {
        if call.verb == "persist" {
            return match state {
                Lowered::Frame(plan) => Ok(Lowered::Frame(self.persist(plan)?)),
                Lowered::Grouped { .. } => Err(Error::Bind {
                    message: "persist() needs a frame: call .agg(…) after groupby(…) first".into(),
                    location: call.location,
                }),
            };
        }
        let mut frames = Vec::new();
        for arg in &call.args {
            if let Value::Frame(chain) = &arg.value {
                frames.push(self.lower_chain(chain)?);
            }
        }
        let opts = self.type_options();
        lower::verb(&mut Binder::new(&self.catalog, opts), state, call, frames)
    }

    /// Runs `plan` now and keeps its rows as a table held under the memory pool (spilled to
    /// disk when the pool is full); later uses scan the rows instead of recomputing them.
    fn persist(&mut self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let (schema, stream) = self.run_plan_streaming(plan)?;
        let table = self.store_table(schema, stream)?;
        Ok(builder::scan("persisted", TableSource::Memory(table), None))
    }

    /// Runs a plan and hands back its rows (streamed when the session streams).
    fn compute(&mut self, plan: LogicalPlan) -> Result<StatementResult> {
        if self.streaming {
            let (schema, batches) = self.run_plan_streaming(plan)?;
            Ok(StatementResult::Stream(RowStream { schema, batches }))
        } else {
            Ok(StatementResult::Query(self.run_plan(plan)?))
        }
    }

    fn dsl_action(&mut self, plan: LogicalPlan, call: &Call) -> Result<StatementResult> {
        let path = || match call.positional().next().map(|a| &a.value) {
            Some(Value::Str(p)) => Ok(PathBuf::from(p)),
            _ => Err(Error::internal(format!("{} without a path", call.verb))),
        };
        match call.verb.as_str() {
            "show" => match call.positional().next().map(|a| &a.value) {
                Some(Value::Int(n)) => self.compute(builder::limit(Arc::new(plan), 0, Some(*n as usize))),
                _ => self.compute(plan),
            },
            "count" => {
                let select = select_of("SELECT count(*) AS count")?;
                let opts = self.type_options();
                let counted = Binder::new(&self.catalog, opts).select_over(plan, &select)?;
                Ok(StatementResult::Query(self.run_plan(counted)?))
            }
            "explain" => {
                let analyze = call.keyword("analyze").map(boolean).transpose()?.unwrap_or(false);
                self.explain_result(plan, analyze)
            }
            "visualize" => {
                let path = path()?;
                let dot = match self.explain_plan(plan)?.execution {
                    crate::session::explain::Execution::Local(stages) => stages.to_dot(),
                    crate::session::explain::Execution::Remote { .. } => {
                        return Err(Error::not_supported(
                            "visualize in remote mode: the stage graph is Spark's (see EXPLAIN)",
                        ))
                    }
                };
                crate::stage::dot::write_graph(&path, &dot)?;
                Ok(StatementResult::Done {
                    message: format!("wrote {}", path.display()),
                    rows: None,
                })
            }
            "to_csv" | "to_parquet" | "to_json" => {
                let format = call.verb.trim_start_matches("to_");
                let header = call.keyword("header").map(boolean).transpose()?.unwrap_or(true);
                let delimiter = match call.keyword("delim").map(|a| &a.value) {
                    Some(Value::Expr(e)) => Some(single_char(&e.to_string()).ok_or_else(|| Error::Bind {
                        message: format!("delim must be one character, not {e}"),
                        location: call.location,
                    })?),
                    _ => None,
                };
                let copy = crate::copy_to::CopyTo::new(String::new(), path()?, Some(format), header, delimiter)?;
                let (schema, mut stream) = self.run_plan_streaming(plan)?;
                let memory = Arc::clone(&self.memory);
                let rows = copy.write(&schema, &mut stream, &memory)?;
                Ok(StatementResult::Done {
                    message: "COPY".into(),
                    rows: Some(rows),
                })
            }
            other => Err(Error::internal(format!("{other} is not an action"))),
        }
    }
}

/// The `sql("…")` call of a statement that is nothing else: its SQL may be any statements.
fn sql_statements(statement: &Statement) -> Option<&Call> {
    match (&statement.target, &statement.chain.source) {
        (None, Source::Call(call)) if call.verb == "sql" && statement.chain.calls.is_empty() => Some(call),
        _ => None,
    }
}

/// The one character of a quoted delimiter literal (`','`, `'\t'`).
fn single_char(literal: &str) -> Option<char> {
    let inner = literal.trim_matches(|c| c == '\'' || c == '"');
    match inner {
        "\\t" => Some('\t'),
        s if s.chars().count() == 1 => s.chars().next(),
        _ => None,
    }
}
