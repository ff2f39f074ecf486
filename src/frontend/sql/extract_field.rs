//! `EXTRACT(field FROM x)` with a field sqlparser does not know (DuckDB's `yearweek`, ...):
//! rewritten to `date_part('field', x)` before parsing again.

use regex::Regex;

/// `sql` with each `EXTRACT(word FROM` turned into `date_part('word',`, or `None` when there
/// is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let re = Regex::new(r"(?i)\bEXTRACT\s*\(\s*([A-Za-z_]+)\s+FROM\s").ok()?;
    if !re.is_match(sql) {
        return None;
    }
    Some(re.replace_all(sql, "date_part('$1', ").into_owned())
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn rewrites_extract() {
        assert_eq!(
            rewrite("SELECT EXTRACT(yearweek FROM d) FROM t").as_deref(),
            Some("SELECT date_part('yearweek', d) FROM t")
        );
        assert_eq!(rewrite("SELECT 1"), None);
    }
}
