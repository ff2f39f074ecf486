//! DuckDB window syntax sqlparser does not parse, rewritten before parsing.
//!
//! * `f(x IGNORE NULLS) OVER …` becomes `f(x) IGNORE NULLS OVER …` (see [`null_treatment`]).
//! * Frame `EXCLUDE` clauses: each
//!   `<bound> EXCLUDE <mode>` at the end of a frame is rewritten into
//!   `__rask_exclude('<mode>', <bound>) FOLLOWING|PRECEDING`, a bound sqlparser accepts; the
//!   window binder decodes it back ([`decode`]) into the frame's end bound and exclusion.

use regex::Regex;
use sqlparser::ast;

use crate::logical::window::FrameExclusion;

/// The marker function's name.
const MARKER: &str = "__rask_exclude";

/// `sql` with every frame EXCLUDE clause rewritten, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let clause = Regex::new(r"(?i)\bEXCLUDE\s+(CURRENT\s+ROW|GROUP|TIES|NO\s+OTHERS)\b").ok()?;
    let keyword = Regex::new(r"(?i)\b(AND|ROWS|RANGE|GROUPS)\s+").ok()?;
    let bound_re = Regex::new(r"(?is)^(.*?)\s+(FOLLOWING|PRECEDING)$").ok()?;
    let mut out = String::with_capacity(sql.len() + 64);
    let mut copied = 0;
    let mut found = false;
    for m in clause.captures_iter(sql) {
        let (whole, mode) = (m.get(0)?, m.get(1)?);
        let head = &sql[copied..whole.start()];
        let Some(k) = keyword.find_iter(head).last() else {
            continue;
        };
        let bound = head[k.end()..].trim();
        let mode: String = mode
            .as_str()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        let (arg, direction) = if bound.eq_ignore_ascii_case("CURRENT ROW")
            || bound.split_whitespace().map(str::to_uppercase).collect::<Vec<_>>() == ["CURRENT", "ROW"]
        {
            ("'current'".to_string(), "FOLLOWING")
        } else {
            let b = bound_re.captures(bound)?;
            let (value, dir) = (b.get(1)?.as_str(), b.get(2)?.as_str().to_uppercase());
            let dir = if dir == "FOLLOWING" { "FOLLOWING" } else { "PRECEDING" };
            if value.eq_ignore_ascii_case("UNBOUNDED") {
                ("'unbounded'".to_string(), dir)
            } else {
                (format!("({value})"), dir)
            }
        };
        out.push_str(&head[..k.end()]);
        out.push_str(&format!("{MARKER}('{mode}', {arg}) {direction}"));
        copied = whole.end();
        found = true;
    }
    if !found {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// `sql` with `IGNORE NULLS` / `RESPECT NULLS` moved from the end of a call's argument list
/// to just after it, or `None` when there is none.
pub fn null_treatment(sql: &str) -> Option<String> {
    let inside = Regex::new(r"(?i)\s+(IGNORE|RESPECT)\s+NULLS\s*\)").ok()?;
    if !inside.is_match(sql) {
        return None;
    }
    Some(inside.replace_all(sql, ") $1 NULLS").into_owned())
}

/// If `bound` is a rewritten one, the original bound and the exclusion.
pub fn decode(bound: &ast::WindowFrameBound) -> Option<(ast::WindowFrameBound, FrameExclusion)> {
    let (expr, following) = match bound {
        ast::WindowFrameBound::Following(Some(e)) => (e, true),
        ast::WindowFrameBound::Preceding(Some(e)) => (e, false),
        _ => return None,
    };
    let ast::Expr::Function(f) = expr.as_ref() else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case(MARKER) {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let arg = |i: usize| match list.args.get(i) {
        Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))) => Some(e.clone()),
        _ => None,
    };
    let text = |e: &ast::Expr| match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    let exclusion = match text(&arg(0)?)?.as_str() {
        "CURRENT ROW" => FrameExclusion::CurrentRow,
        "GROUP" => FrameExclusion::Group,
        "TIES" => FrameExclusion::Ties,
        _ => FrameExclusion::NoOthers,
    };
    let value = arg(1)?;
    let original = match text(&value).as_deref() {
        Some("current") => ast::WindowFrameBound::CurrentRow,
        Some("unbounded") if following => ast::WindowFrameBound::Following(None),
        Some("unbounded") => ast::WindowFrameBound::Preceding(None),
        _ if following => ast::WindowFrameBound::Following(Some(Box::new(value))),
        _ => ast::WindowFrameBound::Preceding(Some(Box::new(value))),
    };
    Some((original, exclusion))
}
