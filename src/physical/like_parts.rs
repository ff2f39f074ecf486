//! `LIKE '%part%part%…%'`: patterns that are literal parts between `%` wildcards (two parts
//! or more, no `_`, case-sensitive). A row matches when the parts occur in it in order
//! without overlapping, which a search per part finds (the leftmost occurrence of each
//! part leaves the most room for the next). Arrow's `like` kernel turns such a pattern into
//! a regular expression; substring search (memchr's `memmem`) is several times faster.
//! One part (`%x%`) is Arrow's own substring search already.

use arrow::array::{Array, BooleanArray, StringArray};
use arrow::buffer::BooleanBuffer;
use memchr::memmem::Finder;

/// The literal parts of `pattern` when it has the form `%a%b…%` with at least two non-empty
/// parts and neither `_` nor `\` (which Arrow's kernel treats as an escape); else `None`.
pub fn parts(pattern: &str) -> Option<Vec<&str>> {
    let inner = pattern.strip_prefix('%')?.strip_suffix('%')?;
    if pattern.contains(['_', '\\']) {
        return None;
    }
    let parts: Vec<&str> = inner.split('%').filter(|p| !p.is_empty()).collect();
    (parts.len() >= 2).then_some(parts)
}

/// Per row of `values`: does it hold `parts` in order (`negated`: does it not)? NULL rows
/// stay NULL.
pub fn matches(values: &StringArray, parts: &[&str], negated: bool) -> BooleanArray {
    let finders: Vec<Finder<'_>> = parts.iter().map(|p| Finder::new(p.as_bytes())).collect();
    let found = BooleanBuffer::collect_bool(values.len(), |i| {
        let mut rest = values.value(i).as_bytes();
        finders.iter().all(|finder| match finder.find(rest) {
            Some(at) => {
                rest = &rest[at + finder.needle().len()..];
                true
            }
            None => false,
        })
    });
    let found = if negated { !&found } else { found };
    BooleanArray::new(found, values.nulls().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wildcard_framed_literal_patterns_qualify() {
        assert_eq!(parts("%special%requests%"), Some(vec!["special", "requests"]));
        assert_eq!(parts("%%a%%b%"), Some(vec!["a", "b"]));
        assert_eq!(parts("%a%"), None);
        assert_eq!(parts("a%b%"), None);
        assert_eq!(parts("%a%b"), None);
        assert_eq!(parts("%a_%b%"), None);
        assert_eq!(parts("%a\\%b%"), None);
        assert_eq!(parts("%"), None);
    }

    #[test]
    fn parts_must_appear_in_order_without_overlap() {
        let values = StringArray::from(vec![
            Some("the special requests"),
            Some("requests special"),
            Some("specialrequests"),
            Some("abab"),
            Some("aba"),
            None,
            Some(""),
        ]);
        let got = matches(&values, &["special", "requests"], false);
        assert_eq!(
            got,
            BooleanArray::from(vec![
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(false),
                None,
                Some(false)
            ])
        );
        // "aba" holds "ab" twice only if the two overlap.
        let got = matches(&values, &["ab", "ab"], true);
        assert_eq!(
            got,
            BooleanArray::from(vec![
                Some(true),
                Some(true),
                Some(true),
                Some(false),
                Some(true),
                None,
                Some(true)
            ])
        );
    }
}
