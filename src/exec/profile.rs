//! What a finished query did, kept after it ends for EXPLAIN ANALYZE and `--trace`: the shape
//! of its stage graph (operators by name and details — not the plan itself, so no data stays
//! alive), every task's timing, every operator's measurements, and the spill files written.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use crate::exec::memory::human_bytes;
use crate::exec::metrics::TaskMetrics;
use crate::exec::op_metrics::{node_key, OpMetrics};
use crate::exec::spill::{SpillEvent, SpillStats};
use crate::exec::task::QueryContext;
use crate::physical::plan::PlanRef;
use crate::stage::{StageGraph, StageSink};

/// One operator with its measurements.
#[derive(Debug, Clone)]
pub struct ProfileNode {
    /// Its name (`HashAggregate`).
    pub name: String,
    /// Its parameters as EXPLAIN shows them.
    pub details: String,
    /// What it did over all tasks (time includes its inputs').
    pub metrics: OpMetrics,
    /// Its inputs.
    pub children: Vec<ProfileNode>,
}

impl ProfileNode {
    fn capture(plan: &PlanRef, measured: &HashMap<usize, OpMetrics>) -> Self {
        ProfileNode {
            name: plan.name().to_string(),
            details: plan.details(),
            metrics: measured.get(&node_key(plan)).cloned().unwrap_or_default(),
            children: plan
                .children()
                .into_iter()
                .map(|c| ProfileNode::capture(c, measured))
                .collect(),
        }
    }

    /// Rows its inputs produced.
    pub fn rows_in(&self) -> u64 {
        self.children.iter().map(|c| c.metrics.rows).sum()
    }

    /// Its own time: its time less its inputs'.
    pub fn own_time(&self) -> Duration {
        let inputs: Duration = self.children.iter().map(|c| c.metrics.time).sum();
        self.metrics.time.saturating_sub(inputs)
    }
}

/// One stage.
#[derive(Debug, Clone)]
pub struct StageProfile {
    /// Its id.
    pub id: usize,
    /// `map`, `reduce`, `merge` or `result`.
    pub kind: &'static str,
    /// Its tasks.
    pub tasks: usize,
    /// Where its output goes (`exchange hash([k@0], 4)`, `result`).
    pub sink: String,
    /// The stages it reads.
    pub inputs: Vec<usize>,
    /// Its operators.
    pub root: ProfileNode,
}

impl StageProfile {
    /// The kind of exchange its output goes through (`hash`, `broadcast`, `gather`), or
    /// `result`.
    pub fn exchange_kind(&self) -> &str {
        let sink = self.sink.strip_prefix("exchange ").unwrap_or(&self.sink);
        sink.split('(').next().unwrap_or(sink)
    }
}

/// How long a stage took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTiming {
    /// From its first task's start to its last task's end.
    pub wall: Duration,
    /// Its task times: shortest, median and longest (none when no task ran).
    pub spread: Option<(Duration, Duration, Duration)>,
    /// Rows its tasks produced.
    pub rows: u64,
}

/// A finished query's profile.
#[derive(Debug, Clone)]
pub struct QueryProfile {
    /// The stages.
    pub stages: Vec<StageProfile>,
    /// Every task that ran.
    pub tasks: Vec<TaskMetrics>,
    /// Spill files written, in order.
    pub spill_events: Vec<SpillEvent>,
    /// Spill totals per operator.
    pub spill: BTreeMap<String, SpillStats>,
}

impl QueryProfile {
    /// The profile of `query`, which ran `graph`.
    pub fn capture(graph: &StageGraph, query: &QueryContext) -> Self {
        QueryProfile {
            stages: Self::stages(graph, &query.operators.snapshot()),
            tasks: query.metrics.tasks(),
            spill_events: query.spill.events(),
            spill: query.spill.stats(),
        }
    }

    /// The stages of `graph` without measurements (for drawing a graph not run).
    pub fn shape(graph: &StageGraph) -> Vec<StageProfile> {
        Self::stages(graph, &HashMap::new())
    }

    fn stages(graph: &StageGraph, measured: &HashMap<usize, OpMetrics>) -> Vec<StageProfile> {
        graph
            .stages
            .iter()
            .map(|s| StageProfile {
                id: s.id,
                kind: s.kind(),
                tasks: s.partitions,
                sink: match &s.sink {
                    StageSink::Exchange(p) => format!("exchange {p}"),
                    StageSink::Result => "result".to_string(),
                },
                inputs: s.inputs.clone(),
                root: ProfileNode::capture(&s.root, measured),
            })
            .collect()
    }

    /// The tasks of stage `id`.
    pub fn stage_tasks(&self, id: usize) -> impl Iterator<Item = &TaskMetrics> {
        self.tasks.iter().filter(move |t| t.stage_id == id)
    }

    /// How long stage `id` took: from its first task's start to its last one's end, and the
    /// spread of its task times.
    pub fn stage_timing(&self, id: usize) -> StageTiming {
        let mut times: Vec<Duration> = self.stage_tasks(id).map(|t| t.elapsed).collect();
        times.sort();
        let start = self.stage_tasks(id).map(|t| t.start).min().unwrap_or_default();
        let end = self
            .stage_tasks(id)
            .map(|t| t.start + t.elapsed)
            .max()
            .unwrap_or_default();
        let spread = match (times.first(), times.last()) {
            (Some(min), Some(max)) => Some((*min, times[times.len() / 2], *max)),
            _ => None,
        };
        StageTiming {
            wall: end.saturating_sub(start),
            spread,
            rows: self.stage_tasks(id).map(|t| t.output_rows).sum(),
        }
    }

    /// EXPLAIN ANALYZE's per-stage and per-operator lines.
    pub fn analyze_text(&self) -> String {
        let mut out = String::new();
        for s in &self.stages {
            let timing = self.stage_timing(s.id);
            let _ = write!(
                out,
                "Stage {} ({}, {} tasks) -> {}: wall {}",
                s.id,
                s.kind,
                s.tasks,
                s.sink,
                seconds(timing.wall)
            );
            if let Some((min, median, max)) = timing.spread {
                let _ = write!(
                    out,
                    ", task time min {} / median {} / max {}",
                    seconds(min),
                    seconds(median),
                    seconds(max)
                );
            }
            out.push('\n');
            self.operator_lines(&s.root, s.id, 1, &mut out);
        }
        out
    }

    fn operator_lines(&self, node: &ProfileNode, stage: usize, depth: usize, out: &mut String) {
        let m = &node.metrics;
        let _ = write!(out, "{}{}", "  ".repeat(depth), node.name);
        if !node.details.is_empty() {
            let _ = write!(out, ": {}", node.details);
        }
        let _ = write!(out, "  [rows ");
        if !node.children.is_empty() {
            let _ = write!(out, "{} in, ", node.rows_in());
        }
        let _ = write!(
            out,
            "{} out in {} batches, {}",
            m.rows,
            m.batches,
            seconds(node.own_time())
        );
        if m.peak_memory > 0 {
            let _ = write!(out, ", peak memory {}", human_bytes(m.peak_memory));
        }
        if let Some(spill) = self.spill.get(&format!("{} (stage {stage})", node.name)) {
            let _ = write!(
                out,
                ", spilled {} files, {}",
                spill.files,
                human_bytes(spill.bytes as usize)
            );
        }
        out.push_str("]\n");
        for c in &node.children {
            self.operator_lines(c, stage, depth + 1, out);
        }
    }

    /// A Chrome trace-event file (it opens in Perfetto and chrome://tracing): one track per
    /// worker thread, a slice per task with its rows and bytes, and an instant event per
    /// spill file. `pid` tells queries apart in one file; `name` labels the process.
    pub fn trace_events(&self, pid: usize, name: &str) -> Vec<String> {
        let mut events = vec![format!(
            r#"{{"name":"process_name","ph":"M","pid":{pid},"tid":0,"args":{{"name":{}}}}}"#,
            json_string(name)
        )];
        let mut workers: Vec<usize> = self.tasks.iter().map(|t| t.worker).collect();
        workers.sort_unstable();
        workers.dedup();
        for w in &workers {
            events.push(format!(
                r#"{{"name":"thread_name","ph":"M","pid":{pid},"tid":{w},"args":{{"name":"worker {w}"}}}}"#
            ));
        }
        for t in &self.tasks {
            let kind = self
                .stages
                .iter()
                .find(|s| s.id == t.stage_id)
                .map(|s| s.kind)
                .unwrap_or("stage");
            events.push(format!(
                r#"{{"name":"stage {} task {}","cat":"{kind}","ph":"X","ts":{},"dur":{},"pid":{pid},"tid":{},"args":{{"stage":{},"partition":{},"rows":{},"bytes":{}}}}}"#,
                t.stage_id,
                t.partition,
                t.start.as_micros(),
                t.elapsed.as_micros().max(1),
                t.worker,
                t.stage_id,
                t.partition,
                t.output_rows,
                t.output_bytes
            ));
        }
        for e in &self.spill_events {
            events.push(format!(
                r#"{{"name":"spill","cat":"spill","ph":"i","s":"p","ts":{},"pid":{pid},"tid":0,"args":{{"operator":{},"bytes":{},"rows":{}}}}}"#,
                e.at.as_micros(),
                json_string(&e.operator),
                e.bytes,
                e.rows
            ));
        }
        events
    }
}

/// A whole trace file of the profiles given, one process per query.
pub fn trace_file<'a>(profiles: impl IntoIterator<Item = (&'a str, &'a QueryProfile)>) -> String {
    let events: Vec<String> = profiles
        .into_iter()
        .enumerate()
        .flat_map(|(i, (name, p))| p.trace_events(i + 1, name))
        .collect();
    format!("{{\"traceEvents\":[\n{}\n]}}\n", events.join(",\n"))
}

fn seconds(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
