//! The task graph as Graphviz DOT, drawn as Dask draws its graphs: each stage a cluster
//! labelled with its pipeline of operators, each task a node, and the data's way between
//! them — every map task to every reduce task for a hash shuffle (dashed), to every task for
//! a broadcast (bold), to the one task for a gather — and the result. Past a few hundred
//! task-to-task edges, one edge between the clusters stands for them.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::exec::profile::{ProfileNode, StageProfile};

/// More task-to-task edges than this between two stages are drawn as one cluster edge.
const MAX_TASK_EDGES: usize = 400;

/// The DOT text of `stages` (in dependency order, the last one the result).
pub fn to_dot(stages: &[StageProfile]) -> String {
    let mut out = String::from(
        "digraph rask {\n  rankdir=LR;\n  compound=true;\n  node [shape=box, style=rounded, fontsize=10];\n",
    );
    for s in stages {
        let _ = writeln!(
            out,
            "  subgraph cluster_{} {{\n    label=\"stage {} ({}, {} tasks)\\n{}\";\n    fontsize=11;",
            s.id,
            s.id,
            s.kind,
            s.tasks,
            escape(&pipeline(&s.root))
        );
        for p in 0..s.tasks.max(1) {
            let _ = writeln!(out, "    s{}_t{} [label=\"{}:{}\"];", s.id, p, s.id, p);
        }
        out.push_str("  }\n");
    }
    for s in stages {
        for &input in &s.inputs {
            let Some(from) = stages.iter().find(|f| f.id == input) else {
                continue;
            };
            edges(&mut out, from, s);
        }
    }
    if let Some(last) = stages.last() {
        out.push_str("  result [shape=oval, label=\"result\"];\n");
        for p in 0..last.tasks.max(1) {
            let _ = writeln!(out, "  s{}_t{p} -> result;", last.id);
        }
    }
    out.push_str("}\n");
    out
}

/// The edges from the tasks of `from` to those of `to`, by the kind of exchange between them.
fn edges(out: &mut String, from: &StageProfile, to: &StageProfile) {
    let label = from.exchange_kind();
    let (style, all_to_all) = match label {
        "hash" => ("dashed", true),
        "broadcast" => ("bold", true),
        _ => ("solid", false),
    };
    let (m, n) = (from.tasks.max(1), to.tasks.max(1));
    let pairs = if all_to_all { m * n } else { m };
    if pairs > MAX_TASK_EDGES {
        let _ = writeln!(
            out,
            "  s{}_t0 -> s{}_t0 [ltail=cluster_{}, lhead=cluster_{}, style={style}, label=\"{label} ({m}×{n})\"];",
            from.id, to.id, from.id, to.id
        );
        return;
    }
    for a in 0..m {
        if all_to_all {
            for b in 0..n {
                let _ = writeln!(out, "  s{}_t{a} -> s{}_t{b} [style={style}];", from.id, to.id);
            }
        } else {
            let _ = writeln!(out, "  s{}_t{a} -> s{}_t0 [style={style}];", from.id, to.id);
        }
    }
}

/// The operators of a stage from its leaves up: `Scan → Filter → HashAggregate`.
pub fn pipeline(root: &ProfileNode) -> String {
    fn walk(node: &ProfileNode, out: &mut Vec<String>) {
        for c in &node.children {
            walk(c, out);
        }
        out.push(node.name.clone());
    }
    let mut names = Vec::new();
    walk(root, &mut names);
    names.join(" → ")
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Writes the task graph: DOT as is to `.dot` (or `.gv`), and through Graphviz's `dot` to
/// `.svg` (or `.png`, `.pdf`). The file appears only when complete.
pub fn write_graph(path: &Path, dot: &str) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "dot" | "gv" => dot.as_bytes().to_vec(),
        "svg" | "png" | "pdf" => render_with_graphviz(dot, &ext)?,
        _ => {
            return Err(Error::InvalidInput(format!(
                "cannot tell the graph format of '{}'; use a .svg, .png, .pdf or .dot file",
                path.display()
            )))
        }
    };
    crate::io::write_atomically(path, &bytes, "visualize")
}

fn render_with_graphviz(dot: &str, format: &str) -> Result<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::InvalidInput(format!(
                "drawing a .{format} needs Graphviz's dot program, which could not be started ({e}); \
                 install graphviz, or write a .dot file instead"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot.as_bytes()).map_err(|e| Error::io("dot", e))?;
    }
    let output = child.wait_with_output().map_err(|e| Error::io("dot", e))?;
    if !output.status.success() {
        return Err(Error::execution(format!(
            "dot failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}
