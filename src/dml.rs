//! `DELETE FROM t [WHERE …]` and `UPDATE t SET c = e, … [WHERE …]` on in-memory tables, as
//! queries over the table: the new contents are computed by a SELECT (the rows the WHERE
//! does not hold for; or every row with `CASE WHEN <where> THEN <new value> ELSE c END` per
//! assigned column), and a second query counts the rows affected. The session swaps the
//! table's contents only when both have run, so a failing statement changes nothing.

use sqlparser::ast::{AssignmentTarget, Delete, FromTable, TableFactor, TableWithJoins, Update};

use crate::error::{Error, Result};

/// A DML statement as queries over its table.
#[derive(Debug, Clone, PartialEq)]
pub struct DmlRewrite {
    /// The table written to.
    pub table: String,
    /// The table's new rows, in its column order.
    pub new_rows: String,
    /// `SELECT count(*)` of the rows deleted or updated.
    pub affected: String,
}

/// `"name"` with embedded quotes doubled.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The one plain table a DELETE or UPDATE names (no joins, no table functions).
fn single_table(tables: &[TableWithJoins], what: &str) -> Result<String> {
    match tables {
        [TableWithJoins { relation, joins }] if joins.is_empty() => match relation {
            TableFactor::Table { name, alias: None, .. } => Ok(name.to_string()),
            TableFactor::Table { alias: Some(_), .. } => {
                Err(Error::not_supported(format!("{what} with a table alias")))
            }
            other => Err(Error::not_supported(format!("{what} of {other}"))),
        },
        _ => Err(Error::not_supported(format!("{what} of more than one table"))),
    }
}

/// The condition as a boolean that is false (not NULL) where the WHERE does not hold.
fn holds(selection: Option<&sqlparser::ast::Expr>) -> String {
    match selection {
        Some(e) => format!("COALESCE(({e}), false)"),
        None => "true".to_string(),
    }
}

/// `DELETE FROM t [WHERE cond]`.
pub fn delete_as_queries(d: &Delete) -> Result<DmlRewrite> {
    if d.using.is_some() {
        return Err(Error::not_supported("DELETE … USING"));
    }
    if d.returning.is_some() {
        return Err(Error::not_supported("DELETE … RETURNING"));
    }
    if d.limit.is_some() || !d.order_by.is_empty() || !d.tables.is_empty() {
        return Err(Error::not_supported("DELETE with ORDER BY, LIMIT or several tables"));
    }
    let tables = match &d.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
    };
    let table = single_table(tables, "DELETE")?;
    let cond = holds(d.selection.as_ref());
    Ok(DmlRewrite {
        new_rows: format!("SELECT * FROM {table} WHERE NOT {cond}"),
        affected: format!("SELECT count(*) FROM {table} WHERE {cond}"),
        table,
    })
}

/// The table an UPDATE writes to.
pub fn update_target(u: &Update) -> Result<String> {
    single_table(std::slice::from_ref(&u.table), "UPDATE")
}

/// `UPDATE t SET c = e, … [WHERE cond]`; `columns` are the table's columns in order.
pub fn update_as_queries(u: &Update, columns: &[String]) -> Result<DmlRewrite> {
    if u.from.is_some() {
        return Err(Error::not_supported("UPDATE … FROM"));
    }
    if u.returning.is_some() {
        return Err(Error::not_supported("UPDATE … RETURNING"));
    }
    if u.limit.is_some() || !u.order_by.is_empty() || u.or.is_some() {
        return Err(Error::not_supported("UPDATE with ORDER BY, LIMIT or OR"));
    }
    let table = update_target(u)?;
    let mut values: Vec<Option<String>> = vec![None; columns.len()];
    for a in &u.assignments {
        let AssignmentTarget::ColumnName(name) = &a.target else {
            return Err(Error::not_supported("UPDATE of a tuple of columns"));
        };
        let column = name.0.last().map(|p| p.to_string()).unwrap_or_default();
        let column = column.trim_matches('"');
        let i = columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))
            .ok_or_else(|| Error::plan(format!("Referenced update column {column} not found in table!")))?;
        if values[i].is_some() {
            return Err(Error::plan(format!("Multiple assignments to same column \"{column}\"")));
        }
        values[i] = Some(a.value.to_string());
    }
    let cond = holds(u.selection.as_ref());
    let select: Vec<String> = columns
        .iter()
        .zip(&values)
        .map(|(c, v)| match v {
            Some(v) if u.selection.is_some() => format!("CASE WHEN {cond} THEN ({v}) ELSE {} END", quote(c)),
            Some(v) => format!("({v})"),
            None => quote(c),
        })
        .collect();
    Ok(DmlRewrite {
        new_rows: format!("SELECT {} FROM {table}", select.join(", ")),
        affected: format!("SELECT count(*) FROM {table} WHERE {cond}"),
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::Statement;

    fn parse(sql: &str) -> Statement {
        crate::frontend::sql::parse(sql).expect("parse").remove(0)
    }

    #[test]
    fn delete_keeps_rows_where_the_condition_is_not_true() {
        let Statement::Delete(d) = parse("DELETE FROM t WHERE a > 1") else {
            panic!("not a delete")
        };
        let r = delete_as_queries(&d).expect("rewrite");
        assert_eq!(r.table, "t");
        assert_eq!(r.new_rows, "SELECT * FROM t WHERE NOT COALESCE((a > 1), false)");
        assert_eq!(r.affected, "SELECT count(*) FROM t WHERE COALESCE((a > 1), false)");
    }

    #[test]
    fn update_sets_assigned_columns_where_the_condition_holds() {
        let Statement::Update(u) = parse("UPDATE t SET b = b + 1 WHERE a = 2") else {
            panic!("not an update")
        };
        let r = update_as_queries(&u, &["a".into(), "b".into()]).expect("rewrite");
        assert_eq!(
            r.new_rows,
            "SELECT \"a\", CASE WHEN COALESCE((a = 2), false) THEN (b + 1) ELSE \"b\" END FROM t"
        );
        let Statement::Update(u) = parse("UPDATE t SET c = 1") else {
            panic!("not an update")
        };
        assert!(update_as_queries(&u, &["a".into()]).is_err());
    }
}
