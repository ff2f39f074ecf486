//! The REPL's vocabulary: SQL keywords (highlighted and completed) and the names of every
//! scalar, aggregate, window and table function (completed), taken from the function
//! registries so they never drift from what the binder accepts.

use crate::logical::aggregate::AggFunc;
use crate::logical::functions::ScalarFunc;
use crate::logical::window::WindowFunc;

/// SQL keywords and type names, upper case, sorted.
pub const KEYWORDS: &[&str] = &[
    "ALL",
    "ANALYZE",
    "AND",
    "ANTI",
    "ANY",
    "AS",
    "ASC",
    "ASOF",
    "BETWEEN",
    "BIGINT",
    "BLOB",
    "BOOLEAN",
    "BY",
    "CASE",
    "CAST",
    "COPY",
    "CREATE",
    "CROSS",
    "CUBE",
    "CURRENT",
    "DATE",
    "DECIMAL",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DOUBLE",
    "DROP",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FILTER",
    "FIRST",
    "FLOAT",
    "FOLLOWING",
    "FORMAT",
    "FROM",
    "FULL",
    "GROUP",
    "GROUPING",
    "GROUPS",
    "HAVING",
    "HUGEINT",
    "IF",
    "ILIKE",
    "IN",
    "INNER",
    "INSERT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LAST",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATERIALIZED",
    "NATURAL",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "OVERWRITE",
    "PARTITION",
    "PRECEDING",
    "QUALIFY",
    "RANGE",
    "RECURSIVE",
    "RENAME",
    "REPLACE",
    "RIGHT",
    "ROLLUP",
    "ROW",
    "ROWS",
    "SELECT",
    "SEMI",
    "SET",
    "SETS",
    "SHOW",
    "SIMILAR",
    "SMALLINT",
    "SOME",
    "SUMMARIZE",
    "TABLE",
    "TABLES",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TINYINT",
    "TO",
    "TRUE",
    "TRY_CAST",
    "UNBOUNDED",
    "UNION",
    "UPDATE",
    "USING",
    "VALUES",
    "VARCHAR",
    "VIEW",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// Table functions, usable after `FROM`.
pub const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "range",
    "read_csv",
    "read_csv_auto",
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "read_parquet",
];

/// Whether `word` is a keyword, case-insensitively.
pub fn is_keyword(word: &str) -> bool {
    word.len() <= 16 && KEYWORDS.binary_search_by(|k| cmp_ignore_case(k, word)).is_ok()
}

fn cmp_ignore_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

/// Whether `name` (any case) is a scalar, aggregate, window or table function.
pub fn is_function(name: &str) -> bool {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut names = function_names();
        names.extend(TABLE_FUNCTIONS);
        names.sort_unstable();
        names
    });
    let lower = name.to_ascii_lowercase();
    names.binary_search(&lower.as_str()).is_ok()
}

/// Every scalar, aggregate and window function name, lower case, sorted, without repeats.
pub fn function_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ScalarFunc::all_names()
        .chain(AggFunc::all_names().iter().copied())
        .chain(WindowFunc::all_names().iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_and_known_to_the_parser() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        // SUMMARIZE is rewritten by rask before sqlparser sees it.
        for k in KEYWORDS.iter().filter(|k| **k != "SUMMARIZE") {
            assert!(
                sqlparser::keywords::ALL_KEYWORDS.contains(k),
                "{k} is not a sqlparser keyword"
            );
        }
        assert!(is_keyword("select") && is_keyword("FROM") && !is_keyword("sum"));
        assert!(is_function("RANGE") && is_function("left") && !is_function("from"));
    }

    #[test]
    fn functions_come_from_the_registries() {
        let names = function_names();
        for f in ["abs", "sum", "count", "row_number", "upper", "string_agg"] {
            assert!(names.contains(&f), "{f}");
        }
    }
}
