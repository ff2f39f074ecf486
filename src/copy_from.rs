//! `COPY table [(columns)] FROM 'file' [(options)]`: loads a file into an existing table, as
//! an `INSERT INTO table [(columns)] SELECT * FROM read_csv(…)` (or `read_parquet` /
//! `read_json` with `FORMAT`). Options follow DuckDB: `DELIMITER`/`DELIM`/`SEP`, `HEADER`
//! (default false), `FORMAT csv|parquet|json`; anything else is refused by name.

use sqlparser::ast::{CopyLegacyOption, CopyOption, CopySource, CopyTarget};

use crate::error::{Error, Result};

/// The INSERT statement that performs `COPY source FROM target (options)`.
pub fn copy_from_as_insert(
    source: &CopySource,
    target: &CopyTarget,
    options: &[CopyOption],
    legacy_options: &[CopyLegacyOption],
) -> Result<String> {
    let CopySource::Table { table_name, columns } = source else {
        return Err(Error::not_supported("COPY (query) FROM"));
    };
    let CopyTarget::File { filename } = target else {
        return Err(Error::not_supported(format!("COPY FROM {target}")));
    };
    let mut format = "csv".to_string();
    let mut delimiter: Option<char> = None;
    let mut header = false;
    for option in options {
        match option {
            CopyOption::Format(f) => format = f.value.to_ascii_lowercase(),
            CopyOption::Delimiter(c) => delimiter = Some(*c),
            CopyOption::Header(h) => header = *h,
            other => return Err(Error::not_supported(format!("COPY option {other}"))),
        }
    }
    for option in legacy_options {
        match option {
            CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
            CopyLegacyOption::Header => header = true,
            other => return Err(Error::not_supported(format!("COPY option {other}"))),
        }
    }
    let path = quote(filename);
    let reader = match format.as_str() {
        "csv" => {
            let delim = delimiter
                .map(|d| format!(", delim = {}", quote(&d.to_string())))
                .unwrap_or_default();
            format!("read_csv({path}, header = {header}{delim})")
        }
        "parquet" => format!("read_parquet({path})"),
        "json" | "ndjson" => format!("read_json({path})"),
        other => return Err(Error::not_supported(format!("COPY FROM with FORMAT {other}"))),
    };
    let column_list = if columns.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        format!(" ({})", names.join(", "))
    };
    Ok(format!("INSERT INTO {table_name}{column_list} SELECT * FROM {reader}"))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    use super::*;

    fn rewrite(sql: &str) -> Result<String> {
        let statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        let Statement::Copy {
            source,
            target,
            options,
            legacy_options,
            ..
        } = &statements[0]
        else {
            panic!("not a COPY");
        };
        copy_from_as_insert(source, target, options, legacy_options)
    }

    #[test]
    fn csv_with_delimiter_and_columns() {
        assert_eq!(
            rewrite("COPY nation (a, b) FROM 'x''s.tbl' (DELIMITER '|')").unwrap(),
            "INSERT INTO nation (a, b) SELECT * FROM read_csv('x''s.tbl', header = false, delim = '|')"
        );
        assert_eq!(
            rewrite("COPY t FROM 'x.parquet' (FORMAT parquet)").unwrap(),
            "INSERT INTO t SELECT * FROM read_parquet('x.parquet')"
        );
    }

    #[test]
    fn unknown_options_are_named() {
        let err = rewrite("COPY t FROM 'x.csv' (FORMAT xlsx)").unwrap_err();
        assert!(err.to_string().contains("FORMAT xlsx"), "{err}");
    }
}
