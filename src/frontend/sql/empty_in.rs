//! `x IN ()` and `x NOT IN ()` (SQLite accepts an empty list; sqlparser does not): the empty
//! list is rewritten to an empty subquery, which gives the same answers (false, and true for
//! NOT IN, whatever `x` is, NULL included).

use regex::Regex;

/// `sql` with each empty IN list replaced, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let re = Regex::new(r"(?i)\bIN\s*\(\s*\)").ok()?;
    if !re.is_match(sql) {
        return None;
    }
    Some(re.replace_all(sql, "IN (SELECT NULL WHERE FALSE)").into_owned())
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn rewrites_empty_lists() {
        assert_eq!(
            rewrite("SELECT 1 WHERE 1 NOT IN ( )").as_deref(),
            Some("SELECT 1 WHERE 1 NOT IN (SELECT NULL WHERE FALSE)")
        );
        assert_eq!(rewrite("SELECT 1 IN (1)"), None);
    }
}
