//! `GROUP BY *` and `ORDER BY *`: DuckDB's other spelling of GROUP BY ALL / ORDER BY ALL,
//! which sqlparser does not parse; rewritten in the SQL text before a second parse.

use regex::Regex;

/// `sql` with `GROUP BY *` / `ORDER BY *` spelled with ALL, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let star = Regex::new(r"(?i)\b(GROUP|ORDER)(\s+)BY(\s+)\*").ok()?;
    if !star.is_match(sql) {
        return None;
    }
    Some(star.replace_all(sql, "${1}${2}BY${3}ALL").into_owned())
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn star_becomes_all() {
        assert_eq!(
            rewrite("SELECT g FROM t GROUP BY * ORDER  BY *").as_deref(),
            Some("SELECT g FROM t GROUP BY ALL ORDER  BY ALL")
        );
        assert_eq!(rewrite("SELECT * FROM t"), None);
    }
}
