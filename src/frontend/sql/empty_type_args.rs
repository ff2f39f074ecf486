//! `NUMERIC()` / `DECIMAL()` with empty parentheses (DuckDB reads them as the bare type;
//! sqlparser wants a number): the parentheses are dropped before parsing again.

use regex::Regex;

/// `sql` with each `NUMERIC()` / `DECIMAL()` / `DEC()` made bare, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let re = Regex::new(r"(?i)\b(NUMERIC|DECIMAL|DEC)\s*\(\s*\)").ok()?;
    if !re.is_match(sql) {
        return None;
    }
    Some(re.replace_all(sql, "$1").into_owned())
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn drops_empty_modifiers() {
        assert_eq!(
            rewrite("CREATE TABLE t(i NUMERIC(), j decimal ( ))").as_deref(),
            Some("CREATE TABLE t(i NUMERIC, j decimal)")
        );
        assert_eq!(rewrite("SELECT 1::DECIMAL(3)"), None);
    }
}
