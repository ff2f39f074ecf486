//! DuckDB's prefix aliases, `SELECT j : 42` and `FROM b : a`, which sqlparser does not parse:
//! rewritten in the SQL text to `SELECT 42 AS j` and `FROM a AS b` before a second parse. A
//! select or FROM item that starts with a name (bare or double-quoted; single-quoted in FROM)
//! followed by a single `:` gets the name moved after the item as its alias.

/// Keywords that end a select or FROM item.
const ITEM_END: [&str; 17] = [
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "QUALIFY",
    "WINDOW",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "JOIN",
    "ON",
    "USING",
    "LEFT",
    "INNER",
];

#[derive(Clone, Copy, PartialEq)]
enum Clause {
    Select,
    From,
    Other,
}

fn word_at(text: &str, i: usize) -> Option<&str> {
    let rest = &text[i..];
    let len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map(|(n, _)| n)
        .unwrap_or(rest.len());
    let starts_word = i == 0 || !text[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    (len > 0 && starts_word).then(|| &rest[..len])
}

/// The end of a quoted token starting at `i` (exclusive).
fn quoted_end(bytes: &[u8], i: usize) -> usize {
    let q = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() && bytes[j] != q {
        j += 1;
    }
    (j + 1).min(bytes.len())
}

/// The end of the item starting at `i` (before trailing spaces): the next comma, closing
/// parenthesis, `;` or item-ending keyword outside parentheses.
fn item_end(text: &str, mut i: usize) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                i = quoted_end(bytes, i);
                continue;
            }
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            b',' | b';' if depth == 0 => break,
            c if depth == 0 && c.is_ascii_alphabetic() => {
                if let Some(w) = word_at(text, i) {
                    if ITEM_END.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                        break;
                    }
                    i += w.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    text[..i].trim_end().len()
}

/// The alias at the start of an item at `i`: (alias as an identifier, where the item's
/// expression starts), when the item is `name : …`.
fn prefix_alias(text: &str, i: usize, clause: Clause) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let start = i + text[i..].len() - text[i..].trim_start().len();
    let (name, after) = match bytes.get(start)? {
        b'"' => {
            let end = quoted_end(bytes, start);
            if bytes.get(end - 1) != Some(&b'"') || end - 1 == start {
                return None;
            }
            (text[start..end].to_string(), end)
        }
        b'\'' if clause == Clause::From => {
            let end = quoted_end(bytes, start);
            // A quote never closed is no alias (and `end - 1` could fall inside a character).
            if bytes.get(end - 1) != Some(&b'\'') || end - 1 == start {
                return None;
            }
            (format!("\"{}\"", &text[start + 1..end - 1]), end)
        }
        c if c.is_ascii_alphabetic() || *c == b'_' => {
            let w = word_at(text, start)?;
            (w.to_string(), start + w.len())
        }
        _ => return None,
    };
    let colon = after + text[after..].len() - text[after..].trim_start().len();
    if bytes.get(colon) != Some(&b':') || bytes.get(colon + 1) == Some(&b':') {
        return None;
    }
    Some((name, colon + 1))
}

/// `sql` with prefix aliases moved after their items, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut clauses = vec![Clause::Other];
    // (start of `name :`, start of the expression, end of the item, alias)
    let mut edits: Vec<(usize, usize, usize, String)> = Vec::new();
    let mut item_start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(at) = item_start.take() {
            let clause = *clauses.last()?;
            if let Some((alias, expr)) = prefix_alias(sql, at, clause) {
                edits.push((at, expr, item_end(sql, expr), alias));
            }
        }
        match bytes[i] {
            b'\'' | b'"' => {
                i = quoted_end(bytes, i);
                continue;
            }
            b'(' => clauses.push(Clause::Other),
            b')' if clauses.len() > 1 => {
                clauses.pop();
            }
            b',' if matches!(clauses.last(), Some(Clause::Select | Clause::From)) => item_start = Some(i + 1),
            c if c.is_ascii_alphabetic() => {
                if let Some(w) = word_at(sql, i) {
                    let upper = w.to_ascii_uppercase();
                    let clause = match upper.as_str() {
                        "SELECT" => Some(Clause::Select),
                        "FROM" => Some(Clause::From),
                        k if ITEM_END.contains(&k) => Some(Clause::Other),
                        _ => None,
                    };
                    if let (Some(c), Some(last)) = (clause, clauses.last_mut()) {
                        *last = c;
                        if c != Clause::Other {
                            item_start = Some(i + w.len());
                        }
                    }
                    i += w.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut copied = 0;
    for (at, expr, end, alias) in edits {
        if at < copied || end < expr {
            return None;
        }
        out.push_str(&sql[copied..at]);
        out.push(' ');
        out.push_str(sql[expr..end].trim());
        out.push_str(" AS ");
        out.push_str(&alias);
        copied = end;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// `j : i` with a column after the colon parses as a JSON path access `j:i`; DuckDB reads it
/// as the column `i` with the prefix alias `j`. Returns (alias, column).
pub(super) fn json_colon_alias(e: &sqlparser::ast::Expr) -> Option<(String, sqlparser::ast::Expr)> {
    use sqlparser::ast::{Expr, Ident, JsonPathElem};
    let Expr::JsonAccess { value, path } = e else {
        return None;
    };
    let Expr::Identifier(alias) = value.as_ref() else {
        return None;
    };
    match path.path.as_slice() {
        [JsonPathElem::Dot { key, quoted }] => {
            let column = if *quoted {
                Ident::with_quote('"', key.clone())
            } else {
                Ident::new(key.clone())
            };
            Some((alias.value.clone(), Expr::Identifier(column)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn moves_prefix_aliases() {
        assert_eq!(
            rewrite("SELECT j1 : 42, 42 AS j2, \"x y\": f(1, 2) FROM b : a WHERE i::INT > 1").as_deref(),
            Some("SELECT 42 AS j1, 42 AS j2, f(1, 2) AS \"x y\" FROM a AS b WHERE i::INT > 1")
        );
        assert_eq!(
            rewrite("from 'v' : (values(42))").as_deref(),
            Some("from (values(42)) AS \"v\"")
        );
        assert_eq!(rewrite("SELECT i::INT FROM t"), None);
    }

    /// Found by the `sql_frontend` fuzz target: a quote never closed before multi-byte text
    /// sliced the text inside a character.
    #[test]
    fn an_unclosed_quote_is_no_alias_even_before_multibyte_text() {
        assert_eq!(rewrite("SELECT 1 FROM 'Ünïcödé', 'ï"), None);
        assert_eq!(rewrite("SELECT 1 FROM \"ï"), None);
        assert_eq!(rewrite("SELECT 1 FROM '"), None);
    }
}
