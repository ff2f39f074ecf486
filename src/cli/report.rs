//! `--report FILE.html`: one self-contained HTML page about a run — for each query its text,
//! its stage graph and task timeline as inline SVG (drawn here, so Graphviz is not needed and
//! nothing is fetched when the page is viewed), per-stage timings, and EXPLAIN ANALYZE's
//! per-operator lines.

use std::fmt::Write as _;
use std::time::Duration;

use crate::exec::profile::{QueryProfile, StageProfile};

/// One query of the report: its text and profile.
pub struct ReportQuery<'a> {
    /// The statement's text.
    pub text: &'a str,
    /// What it did.
    pub profile: &'a QueryProfile,
}

/// The whole HTML page.
pub fn html(title: &str, queries: &[ReportQuery]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    if queries.is_empty() {
        out.push_str("<p>No query ran.</p>\n");
    }
    for (i, q) in queries.iter().enumerate() {
        let _ = write!(
            out,
            "<section>\n<h2>Query {}</h2>\n<pre class=\"sql\">{}</pre>\n",
            i + 1,
            escape(q.text.trim())
        );
        out.push_str("<h3>Stage graph</h3>\n");
        out.push_str(&stage_graph_svg(&q.profile.stages));
        out.push_str("<h3>Stages</h3>\n");
        out.push_str(&stage_table(q.profile));
        out.push_str("<h3>Task timeline</h3>\n");
        out.push_str(&timeline_svg(q.profile));
        let _ = write!(
            out,
            "<h3>Operators</h3>\n<pre>{}</pre>\n</section>\n",
            escape(&q.profile.analyze_text())
        );
    }
    out.push_str("</body></html>\n");
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.2em;border-top:1px solid #ccc;padding-top:1em}\
h3{font-size:1em;margin-top:1.5em}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}pre.sql{white-space:pre-wrap}\
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th{background:#eee}td:first-child,td:nth-child(2){text-align:left}svg{max-width:100%;height:auto}";

/// Stage colours, cycled.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

fn colour(stage: usize) -> &'static str {
    COLOURS[stage % COLOURS.len()]
}

/// Stages as columns (by how many stages lie before them), each a box holding a node per task,
/// with an arrow from every stage to each one that reads it, labelled with the exchange.
fn stage_graph_svg(stages: &[StageProfile]) -> String {
    let mut depth: Vec<usize> = Vec::with_capacity(stages.len());
    for s in stages {
        let d = s
            .inputs
            .iter()
            .filter_map(|i| {
                stages
                    .iter()
                    .position(|x| x.id == *i)
                    .map(|p| depth.get(p).copied().unwrap_or(0) + 1)
            })
            .max()
            .unwrap_or(0);
        depth.push(d);
    }
    const COL_W: usize = 230;
    const BOX_W: usize = 170;
    const TASK_H: usize = 16;
    const MAX_TASKS_DRAWN: usize = 12;
    let mut row_in_col: Vec<usize> = vec![0; depth.iter().max().map(|d| d + 1).unwrap_or(1)];
    let mut boxes: Vec<(usize, usize, usize, usize)> = Vec::new(); // x, y, w, h
    for (i, s) in stages.iter().enumerate() {
        let shown = s.tasks.clamp(1, MAX_TASKS_DRAWN);
        let h = 40 + shown * (TASK_H + 4);
        let x = 20 + depth[i] * COL_W;
        let y = 20 + row_in_col[depth[i]];
        row_in_col[depth[i]] += h + 30;
        boxes.push((x, y, BOX_W, h));
    }
    let width = 40 + row_in_col.len() * COL_W;
    let height = 40 + row_in_col.iter().max().copied().unwrap_or(0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"11\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n"
    );
    for (i, s) in stages.iter().enumerate() {
        for input in &s.inputs {
            let Some(p) = stages.iter().position(|x| x.id == *input) else {
                continue;
            };
            let (fx, fy, fw, fh) = boxes[p];
            let (tx, ty, _, th) = boxes[i];
            let kind = stages[p].exchange_kind();
            let dash = if kind == "hash" {
                " stroke-dasharray=\"5,3\""
            } else {
                ""
            };
            let (x1, y1, x2, y2) = (fx + fw, fy + fh / 2, tx, ty + th / 2);
            let _ = writeln!(
                svg,
                "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#555\"{dash} marker-end=\"url(#arrow)\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"#555\">{}</text>",
                x1 + 4,
                y1.min(y2).saturating_sub(6),
                escape(kind)
            );
        }
    }
    for (i, s) in stages.iter().enumerate() {
        let (x, y, w, h) = boxes[i];
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"6\" fill=\"#fafafa\" stroke=\"{}\" stroke-width=\"2\"/>\
             <text x=\"{}\" y=\"{}\" font-weight=\"bold\">stage {} ({}, {} tasks)</text>",
            colour(s.id),
            x + 8,
            y + 16,
            s.id,
            s.kind,
            s.tasks
        );
        let pipeline = crate::stage::dot::pipeline(&s.root);
        let short: String = if pipeline.chars().count() > 26 {
            format!(
                "…{}",
                pipeline
                    .chars()
                    .rev()
                    .take(25)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            )
        } else {
            pipeline.clone()
        };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"#666\"><title>{}</title>{}</text>",
            x + 8,
            y + 30,
            escape(&pipeline),
            escape(&short)
        );
        let shown = s.tasks.clamp(1, MAX_TASKS_DRAWN);
        for t in 0..shown {
            let ty = y + 38 + t * (TASK_H + 4);
            let label = if t + 1 == shown && s.tasks > MAX_TASKS_DRAWN {
                format!("… {} tasks", s.tasks)
            } else {
                format!("task {t}")
            };
            let _ = writeln!(
                svg,
                "<rect x=\"{}\" y=\"{ty}\" width=\"{}\" height=\"{TASK_H}\" rx=\"3\" fill=\"{}\" opacity=\"0.8\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"white\">{label}</text>",
                x + 10,
                w - 20,
                colour(s.id),
                x + 16,
                ty + 12
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// A row per worker thread, a bar per task from its start to its end, coloured by stage.
fn timeline_svg(profile: &QueryProfile) -> String {
    let mut workers: Vec<usize> = profile.tasks.iter().map(|t| t.worker).collect();
    workers.sort_unstable();
    workers.dedup();
    let end = profile
        .tasks
        .iter()
        .map(|t| t.start + t.elapsed)
        .max()
        .unwrap_or_default()
        .max(Duration::from_micros(1));
    const LEFT: f64 = 80.0;
    const PLOT_W: f64 = 800.0;
    const ROW_H: usize = 24;
    let height = 40 + workers.len().max(1) * ROW_H;
    let x_of = |d: Duration| LEFT + d.as_secs_f64() / end.as_secs_f64() * PLOT_W;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" font-size=\"11\">\n",
        LEFT as usize + PLOT_W as usize + 20,
        LEFT as usize + PLOT_W as usize + 20
    );
    for (row, w) in workers.iter().enumerate() {
        let y = 10 + row * ROW_H;
        let _ = writeln!(svg, "<text x=\"4\" y=\"{}\">worker {w}</text>", y + 15);
        for t in profile.tasks.iter().filter(|t| t.worker == *w) {
            let x = x_of(t.start);
            let width = (x_of(t.start + t.elapsed) - x).max(1.0);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"{}\" stroke=\"white\"><title>stage {} task {}: {:.3}s, {} rows, {} bytes</title></rect>",
                ROW_H - 4,
                colour(t.stage_id),
                t.stage_id,
                t.partition,
                t.elapsed.as_secs_f64(),
                t.output_rows,
                t.output_bytes
            );
        }
    }
    let axis_y = 20 + workers.len().max(1) * ROW_H;
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"#999\"/>\
         <text x=\"{LEFT}\" y=\"{}\">0s</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3}s</text>",
        LEFT + PLOT_W,
        axis_y + 14,
        LEFT + PLOT_W,
        axis_y + 14,
        end.as_secs_f64()
    );
    svg.push_str("</svg>\n");
    svg
}

/// Per stage: kind, tasks, wall time and the spread of task times.
fn stage_table(profile: &QueryProfile) -> String {
    let mut out = String::from(
        "<table><tr><th>stage</th><th>kind → sink</th><th>tasks</th><th>wall</th><th>task min</th><th>median</th><th>max</th><th>rows out</th></tr>\n",
    );
    let secs = |d: Duration| format!("{:.3}s", d.as_secs_f64());
    for s in &profile.stages {
        let timing = profile.stage_timing(s.id);
        let (min, median, max) = match timing.spread {
            Some((a, b, c)) => (secs(a), secs(b), secs(c)),
            None => Default::default(),
        };
        let _ = writeln!(
            out,
            "<tr><td><span style=\"color:{}\">■</span> {}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{min}</td><td>{median}</td><td>{max}</td><td>{}</td></tr>",
            colour(s.id),
            s.id,
            s.kind,
            escape(&s.sink),
            s.tasks,
            secs(timing.wall),
            timing.rows
        );
    }
    out.push_str("</table>\n");
    out
}

/// `s` with HTML's special characters escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(escape("a < b & \"c\""), "a &lt; b &amp; &quot;c&quot;");
    }
}
