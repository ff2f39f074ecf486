//! DuckDB's `GLOB` operator (and its symbol `~~~`), which sqlparser does not parse: the SQL
//! text is rewritten so that each becomes `RLIKE`, a keyword DuckDB lacks but sqlparser
//! parses at LIKE's precedence; the binder reads `x RLIKE p` back as `x GLOB p`.

/// `sql` with every `GLOB` keyword and `~~~` operator outside quotes and comments replaced
/// by `RLIKE`, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    let mut i = 0;
    let mut found = false;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                // Skip to the closing quote (a doubled quote is an escaped one).
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == q {
                        if bytes.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'~' if bytes[i..].starts_with(b"~~~") => {
                out.push_str(&sql[copied..i]);
                out.push_str(" RLIKE ");
                i += 3;
                copied = i;
                found = true;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
                    i += 1;
                }
                if sql[start..i].eq_ignore_ascii_case("glob") && !is_table_function(&sql[..start]) {
                    out.push_str(&sql[copied..start]);
                    out.push_str("RLIKE");
                    copied = i;
                    found = true;
                }
            }
            _ => i += 1,
        }
    }
    if !found {
        return None;
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    Some(out)
}

/// Whether a `glob` word after `before` is the table function (`FROM glob('*.csv')`), not
/// the operator: the operator always follows an operand.
fn is_table_function(before: &str) -> bool {
    let before = before.trim_end();
    let last_word = before
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    before.is_empty()
        || before.ends_with([',', '(', '.'])
        || ["from", "join", "select"]
            .iter()
            .any(|k| last_word.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn rewrites_the_operator_only() {
        assert_eq!(
            rewrite("SELECT 'glob' GLOB 'g*', a NOT glob b -- glob\nFROM glob('x')").as_deref(),
            Some("SELECT 'glob' RLIKE 'g*', a NOT RLIKE b -- glob\nFROM glob('x')")
        );
        assert_eq!(
            rewrite("SELECT 'a' ~~~ 'a*'").as_deref(),
            Some("SELECT 'a'  RLIKE  'a*'")
        );
        assert_eq!(rewrite("SELECT 1"), None);
    }
}
