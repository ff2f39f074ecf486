//! EXPLAIN: the logical plan, the optimized plan with the rules that fired, and the stage
//! graph — as text, as one JSON document (`EXPLAIN (FORMAT json)`), and with what the query
//! did (`EXPLAIN ANALYZE`).

use std::fmt::Write as _;

use sqlparser::ast::Statement;

use super::{one_column, Session, StatementResult};
use crate::error::{Error, Result};
use crate::exec::profile::{json_string, ProfileNode, QueryProfile};
use crate::frontend::sql;
use crate::logical::plan::LogicalPlan;
use crate::stage::{split_into_stages, StageGraph};

/// Everything EXPLAIN shows about a query.
#[derive(Debug)]
pub struct Explained {
    /// The plan as bound.
    pub logical: LogicalPlan,
    /// The plan after the optimizer.
    pub optimized: LogicalPlan,
    /// Rules that changed the plan, in order.
    pub rules_fired: Vec<&'static str>,
    /// Where the query runs: the stage graph, or the Spark SQL remote mode sends.
    pub execution: Execution,
}

/// How an explained query would run.
#[derive(Debug)]
pub enum Execution {
    /// Here, as this stage graph.
    Local(StageGraph),
    /// On a Spark cluster (remote mode), as this Spark SQL.
    Remote {
        /// The endpoint (`sc://host:port`).
        endpoint: String,
        /// What is sent.
        query: crate::remote::render::SparkQuery,
    },
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "== Logical plan ==")?;
        write!(f, "{}", self.logical)?;
        writeln!(
            f,
            "== Optimized plan (rules fired: {}) ==",
            if self.rules_fired.is_empty() {
                "none".to_string()
            } else {
                self.rules_fired.join(", ")
            }
        )?;
        write!(f, "{}", self.optimized)?;
        match &self.execution {
            Execution::Local(stages) => {
                writeln!(f, "== Stage graph ==")?;
                write!(f, "{stages}")
            }
            Execution::Remote { endpoint, query } => {
                writeln!(f, "== Spark SQL (sent to {endpoint}) ==")?;
                writeln!(f, "{query}")
            }
        }
    }
}

impl Session {
    /// Plans `sql` (one query) and returns its plans and stage graph without running it.
    pub fn explain(&self, sql: &str) -> Result<Explained> {
        let statements = sql::parse(sql)?;
        match statements.as_slice() {
            [Statement::Query(q)] => self.explain_query(q),
            _ => Err(Error::plan("EXPLAIN takes exactly one query")),
        }
    }

    fn explain_query(&self, q: &sqlparser::ast::Query) -> Result<Explained> {
        self.explain_plan(self.bind(q)?)
    }

    /// The optimized plan and stage graph of a bound plan.
    pub(crate) fn explain_plan(&self, logical: LogicalPlan) -> Result<Explained> {
        let optimized = crate::optimizer::optimize(logical.clone(), &self.config.disabled_rules, self.type_options())?;
        let execution = match &self.config.remote {
            Some(endpoint) => Execution::Remote {
                endpoint: endpoint.to_string(),
                query: crate::remote::render::render_query(&optimized.plan, self.type_options())?,
            },
            None => Execution::Local(split_into_stages(self.physical_planner().plan(&optimized.plan)?)?),
        };
        Ok(Explained {
            logical,
            optimized: optimized.plan,
            rules_fired: optimized.fired,
            execution,
        })
    }

    /// EXPLAIN [ANALYZE] of a bound plan as a one-column result (`plan`), one line a row.
    pub(crate) fn explain_result(&mut self, plan: LogicalPlan, analyze: bool) -> Result<StatementResult> {
        let mut text = self.explain_plan(plan.clone())?.to_string();
        if analyze {
            let started = std::time::Instant::now();
            let result = self.run_plan(plan)?;
            let stats = self.last_stats.lock().map(|s| s.clone()).unwrap_or_default();
            text.push_str(&format!(
                "== Analyze ==\nrows: {}\nelapsed: {:.3}s\n{}\n",
                result.num_rows(),
                started.elapsed().as_secs_f64(),
                stats.summary()
            ));
            for line in stats.spill_lines() {
                text.push_str(&line);
                text.push('\n');
            }
            if let Some(profile) = self.last_profile.lock().ok().and_then(|p| p.clone()) {
                text.push_str(&profile.analyze_text());
            }
        }
        Ok(StatementResult::Query(one_column(
            "plan",
            text.lines().map(str::to_string).collect(),
        )?))
    }
}

/// True for `EXPLAIN FORMAT JSON …` and `EXPLAIN (FORMAT json) …`.
pub(super) fn wants_json(
    format: Option<&sqlparser::ast::AnalyzeFormatKind>,
    options: Option<&[sqlparser::ast::UtilityOption]>,
) -> bool {
    use sqlparser::ast::{AnalyzeFormat, AnalyzeFormatKind};
    let keyword = matches!(
        format,
        Some(AnalyzeFormatKind::Keyword(AnalyzeFormat::JSON) | AnalyzeFormatKind::Assignment(AnalyzeFormat::JSON))
    );
    let option = options.unwrap_or_default().iter().any(|o| {
        o.name.value.eq_ignore_ascii_case("format")
            && o.arg
                .as_ref()
                .is_some_and(|a| a.to_string().eq_ignore_ascii_case("json"))
    });
    keyword || option
}

impl Explained {
    /// The JSON form of the explanation.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n  \"logical_plan\": ");
        logical_json(&self.logical, &mut out);
        out.push_str(",\n  \"optimized_plan\": ");
        logical_json(&self.optimized, &mut out);
        let rules: Vec<String> = self.rules_fired.iter().map(|r| json_string(r)).collect();
        let _ = write!(out, ",\n  \"rules_fired\": [{}],", rules.join(", "));
        let stages = match &self.execution {
            Execution::Local(stages) => stages,
            Execution::Remote { endpoint, query } => {
                let _ = write!(
                    out,
                    "\n  \"remote\": {},\n  \"spark_sql\": {},\n  \"stages\": []\n}}\n",
                    json_string(endpoint),
                    json_string(&query.to_string())
                );
                return out;
            }
        };
        out.push_str("\n  \"stages\": [");
        for (i, s) in QueryProfile::shape(stages).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let inputs: Vec<String> = s.inputs.iter().map(|i| i.to_string()).collect();
            let _ = write!(
                out,
                "\n    {{\"id\": {}, \"kind\": {}, \"tasks\": {}, \"sink\": {}, \"inputs\": [{}], \"operators\": ",
                s.id,
                json_string(s.kind),
                s.tasks,
                json_string(&s.sink),
                inputs.join(", ")
            );
            operator_json(&s.root, &mut out);
            out.push('}');
        }
        out.push_str("\n  ]\n}\n");
        out
    }
}

/// `{"name": …, "details": …, "children": […]}` of a logical plan node.
fn logical_json(plan: &LogicalPlan, out: &mut String) {
    let line = plan.describe();
    let (name, details) = line.split_once(": ").unwrap_or((line.as_str(), ""));
    let _ = write!(
        out,
        "{{\"name\": {}, \"details\": {}, \"children\": [",
        json_string(name),
        json_string(details)
    );
    for (i, child) in plan.inputs().into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        logical_json(child, out);
    }
    out.push_str("]}");
}

fn operator_json(node: &ProfileNode, out: &mut String) {
    let _ = write!(
        out,
        "{{\"name\": {}, \"details\": {}, \"children\": [",
        json_string(&node.name),
        json_string(&node.details)
    );
    for (i, child) in node.children.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        operator_json(child, out);
    }
    out.push_str("]}");
}
