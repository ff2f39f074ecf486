//! `FROM VALUES (…), (…) [AS] t(a, b)`: DuckDB's VALUES list as a table without the
//! parentheses sqlparser needs; rewritten in the SQL text to `FROM (VALUES (…), (…)) t(a, b)`
//! before a second parse.

use regex::Regex;

/// The end (exclusive) of the parenthesized group opening at `open`, skipping quoted text.
fn group_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `sql` with every bare `FROM VALUES` list parenthesized, or `None` when there is none.
pub fn rewrite(sql: &str) -> Option<String> {
    let from_values = Regex::new(r"(?i)\bFROM\s+VALUES\s*\(").ok()?;
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    for m in from_values.find_iter(sql) {
        if m.start() < copied {
            continue;
        }
        // The rows: `(…)` groups separated by commas.
        let values_at = m.as_str().to_ascii_uppercase().find("VALUES")? + m.start();
        let mut end = group_end(bytes, m.end() - 1)?;
        loop {
            let next = skip_space(bytes, end);
            if bytes.get(next) != Some(&b',') {
                break;
            }
            let open = skip_space(bytes, next + 1);
            if bytes.get(open) != Some(&b'(') {
                break;
            }
            end = group_end(bytes, open)?;
        }
        out.push_str(&sql[copied..values_at]);
        out.push('(');
        out.push_str(&sql[values_at..end]);
        out.push(')');
        copied = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn parenthesizes_the_rows() {
        assert_eq!(
            rewrite("SELECT * FROM VALUES (1, 'a)'), (2, 'b') v(i, s)").as_deref(),
            Some("SELECT * FROM (VALUES (1, 'a)'), (2, 'b')) v(i, s)")
        );
        assert_eq!(rewrite("SELECT * FROM (VALUES (1)) v(i)"), None);
    }
}
