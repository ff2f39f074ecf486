//! `rank(ORDER BY x) OVER …`: a window call whose only argument clause is an ORDER BY, which
//! sqlparser does not parse without an argument before it. The text is rewritten to put a
//! marker argument (`__rask_no_args()`) there; the window binder drops it.

use regex::Regex;

/// The marker function's name.
pub const MARKER: &str = "__rask_no_args";

/// `sql` with every `f(ORDER BY` given the marker argument, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let call = Regex::new(r"(?i)\b(\w+)(\s*)\(\s*ORDER(\s+)BY\b").ok()?;
    let mut changed = false;
    let out = call.replace_all(sql, |c: &regex::Captures| {
        let word = c.get(1).map(|m| m.as_str()).unwrap_or_default();
        // `OVER (ORDER BY …)` and `AS (ORDER BY …)` are window specifications, not calls.
        if ["OVER", "AS"].iter().any(|k| word.eq_ignore_ascii_case(k)) {
            return c.get(0).map(|m| m.as_str().to_string()).unwrap_or_default();
        }
        changed = true;
        let (space, gap) = (&c[2], &c[3]);
        format!("{word}{space}({MARKER}() ORDER{gap}BY")
    });
    changed.then(|| out.into_owned())
}

/// True for the marker argument.
pub fn is_marker(arg: &sqlparser::ast::FunctionArg) -> bool {
    use sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr};
    matches!(arg, FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(f)))
        if f.name.to_string().eq_ignore_ascii_case(MARKER))
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn marks_argumentless_order_by() {
        assert_eq!(
            rewrite("SELECT rank(ORDER BY x) OVER ()").as_deref(),
            Some("SELECT rank(__rask_no_args() ORDER BY x) OVER ()")
        );
        assert_eq!(
            rewrite("SELECT rank() OVER (ORDER BY x) FROM t WINDOW w AS (ORDER BY y)"),
            None
        );
        assert_eq!(
            rewrite("SELECT cume_dist(ORDER BY x) OVER (ORDER BY y)").as_deref(),
            Some("SELECT cume_dist(__rask_no_args() ORDER BY x) OVER (ORDER BY y)")
        );
    }
}
