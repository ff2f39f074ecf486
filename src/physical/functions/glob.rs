//! `s GLOB pattern`, DuckDB's byte-wise glob: `*` any run, `?` one byte, `[abc0-9]` and
//! `[!…]` classes (a `]` right after `[` or `[!` is literal), `\` escapes the next byte. An
//! unclosed class or a trailing `\` never matches. Stars backtrack to the last star only,
//! which keeps matching linear in practice (`*a*a*a…b` does not explode).

use arrow::array::ArrayRef;

use super::{bool_rows, str_arg};
use crate::error::Result;

/// `glob(s, pattern)` over two VARCHAR columns.
pub(super) fn evaluate(args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let (s, p) = (str_arg(args, 0)?, str_arg(args, 1)?);
    bool_rows(args, rows, |i| Ok(glob(s.value(i).as_bytes(), p.value(i).as_bytes())))
}

/// What one pattern element does at the current string byte.
enum Step {
    /// A run of stars; the index after it.
    Star(usize),
    /// Matched one byte; the pattern index after the element.
    Matched(usize),
    /// The element does not match here.
    Failed,
}

/// Whether `s` matches `p`.
pub fn glob(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    // Where to resume after the last star: (pattern index after it, string index tried).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if si == s.len() {
            while p.get(pi) == Some(&b'*') {
                pi += 1;
            }
            return pi == p.len();
        }
        let step = if pi < p.len() { step(s[si], p, pi) } else { Step::Failed };
        match step {
            Step::Star(next) => {
                if next == p.len() {
                    return true;
                }
                star = Some((next, si));
                pi = next;
            }
            Step::Matched(next) => {
                si += 1;
                pi = next;
            }
            Step::Failed => match star {
                Some((after, tried)) => {
                    star = Some((after, tried + 1));
                    si = tried + 1;
                    pi = after;
                }
                None => return false,
            },
        }
    }
}

fn step(c: u8, p: &[u8], pi: usize) -> Step {
    match p[pi] {
        b'*' => {
            let mut next = pi;
            while p.get(next) == Some(&b'*') {
                next += 1;
            }
            Step::Star(next)
        }
        b'?' => Step::Matched(pi + 1),
        b'[' => bracket(c, p, pi + 1),
        b'\\' => match p.get(pi + 1) {
            Some(&e) if e == c => Step::Matched(pi + 2),
            _ => Step::Failed,
        },
        other if other == c => Step::Matched(pi + 1),
        _ => Step::Failed,
    }
}

/// A `[…]` class starting at `pi` (just after the `[`).
fn bracket(c: u8, p: &[u8], mut pi: usize) -> Step {
    let invert = p.get(pi) == Some(&b'!');
    if invert {
        pi += 1;
    }
    let start = pi;
    let mut matched = false;
    while pi < p.len() {
        let e = p[pi];
        if e == b']' && pi > start {
            return if matched != invert {
                Step::Matched(pi + 1)
            } else {
                Step::Failed
            };
        }
        if pi + 1 == p.len() {
            break;
        }
        if p[pi + 1] == b'-' {
            let Some(&hi) = p.get(pi + 2) else {
                break;
            };
            matched |= e <= c && c <= hi;
            pi += 3;
        } else {
            matched |= e == c;
            pi += 1;
        }
    }
    Step::Failed
}

#[cfg(test)]
mod tests {
    use super::glob;

    fn g(s: &str, p: &str) -> bool {
        glob(s.as_bytes(), p.as_bytes())
    }

    #[test]
    fn duckdb_cases() {
        assert!(g("aaa", "a?a") && !g("aaa", "a?") && g("aaa", "??*") && !g("aaa", "????*"));
        assert!(g("ababac", "*abac") && g("b3", "[abc0-9][abc0-9]") && !g("d3", "[abc0-9][abc0-9]"));
        assert!(g("a", "[!0-9]") && !g("1", "[!0-9]") && g("*", "\\*") && !g("a", "\\*"));
        assert!(g("\\", "\\\\") && g("3]", "[]3][]]") && !g("3", "[3") && !g("3", "[3-"));
        assert!(!g("3", "\\") && g("1245", "**1***2*******4*5***") && g("6", "[1-35-7]"));
        assert!(!g("4", "[1-35-7]") && !g("4", "[") && g("abac", "*a[bc]") && !g("abad", "*a[bc]"));
        assert!(g("xx*", "*\\*") && !g("xxa", "*\\*") && g("ab", "*?") && !g("abc", "*["));
        assert!(!g(&format!("{}c", "a".repeat(35)), "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"));
        assert!(g("", "") && g("", "*") && !g("", "?"));
    }
}
