//! `EXPLAIN (FORMAT json)`: what EXPLAIN shows — the logical plan, the optimized plan with
//! the rules that fired, and the stage graph — as one JSON document, for tools.

use std::fmt::Write as _;

use super::Explained;
use crate::exec::profile::{json_string, ProfileNode, QueryProfile};
use crate::logical::plan::LogicalPlan;

impl Explained {
    /// The JSON form of the explanation.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n  \"logical_plan\": ");
        logical_json(&self.logical, &mut out);
        out.push_str(",\n  \"optimized_plan\": ");
        logical_json(&self.optimized, &mut out);
        let rules: Vec<String> = self.rules_fired.iter().map(|r| json_string(r)).collect();
        let _ = write!(out, ",\n  \"rules_fired\": [{}],\n  \"stages\": [", rules.join(", "));
        for (i, s) in QueryProfile::shape(&self.stages).iter().enumerate() {
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
