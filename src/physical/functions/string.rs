//! String functions: case, trimming, padding, searching, splitting, regular expressions and
//! LIKE with an escape character.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, StringArray, StringBuilder};
use arrow::datatypes::{Int32Type, Int64Type};
use regex::Regex;

use super::{bool_rows, borrowed_string_rows, i64_rows, prim_arg, str_arg, string_rows};
use crate::error::{Error, Result};
use crate::logical::functions::ScalarFunc as F;

/// Evaluates the string functions; `None` for other functions.
pub(super) fn evaluate(func: F, args: &[ArrayRef], rows: usize) -> Result<Option<ArrayRef>> {
    let s = |i: usize| str_arg(args, i);
    let n = |i: usize| prim_arg::<Int64Type>(args, i);
    Ok(Some(match func {
        F::Lower | F::Upper => {
            let a = s(0)?;
            let out: StringArray = if func == F::Lower {
                a.iter().map(|v| v.map(str::to_lowercase)).collect()
            } else {
                a.iter().map(|v| v.map(str::to_uppercase)).collect()
            };
            Arc::new(out)
        }
        F::Trim | F::LTrim | F::RTrim => {
            let a = s(0)?;
            let chars = args.get(1).map(|_| s(1)).transpose()?;
            string_rows(args, rows, |i, out| {
                let v = a.value(i);
                let set: Vec<char> = chars.map(|c| c.value(i).chars().collect()).unwrap_or_else(|| vec![' ']);
                let t = match func {
                    F::LTrim => v.trim_start_matches(set.as_slice()),
                    F::RTrim => v.trim_end_matches(set.as_slice()),
                    _ => v.trim_matches(set.as_slice()),
                };
                out.push_str(t);
                Ok(())
            })?
        }
        F::Length => {
            let a = s(0)?;
            let out: Int64Array = a.iter().map(|v| v.map(|v| v.chars().count() as i64)).collect();
            Arc::new(out)
        }
        F::Reverse => {
            let a = s(0)?;
            string_rows(args, rows, |i, out| {
                out.extend(a.value(i).chars().rev());
                Ok(())
            })?
        }
        F::Substring => {
            let (a, start) = (s(0)?, n(1)?);
            let len = args.get(2).map(|_| n(2)).transpose()?;
            let offsets = a.value_offsets();
            let bytes = (offsets[offsets.len() - 1] - offsets[0]) as usize;
            borrowed_string_rows(args, rows, bytes, |i| {
                Ok(substring(a.value(i), start.value(i), len.map(|l| l.value(i))))
            })?
        }
        F::Concat => {
            let parts = (0..args.len()).map(s).collect::<Result<Vec<_>>>()?;
            string_rows(&[], rows, |i, out| {
                for p in parts.iter().filter(|p| !p.is_null(i)) {
                    out.push_str(p.value(i));
                }
                Ok(())
            })?
        }
        F::ConcatWs => {
            let sep = s(0)?;
            let parts = (1..args.len()).map(s).collect::<Result<Vec<_>>>()?;
            string_rows(&args[..1], rows, |i, out| {
                let mut first = true;
                for p in parts.iter().filter(|p| !p.is_null(i)) {
                    if !first {
                        out.push_str(sep.value(i));
                    }
                    first = false;
                    out.push_str(p.value(i));
                }
                Ok(())
            })?
        }
        F::Replace => {
            let (a, from, to) = (s(0)?, s(1)?, s(2)?);
            string_rows(args, rows, |i, out| {
                let (v, f) = (a.value(i), from.value(i));
                if f.is_empty() {
                    out.push_str(v);
                } else {
                    out.push_str(&v.replace(f, to.value(i)));
                }
                Ok(())
            })?
        }
        F::Translate => {
            let (a, from, to) = (s(0)?, s(1)?, s(2)?);
            string_rows(args, rows, |i, out| {
                let from: Vec<char> = from.value(i).chars().collect();
                let to: Vec<char> = to.value(i).chars().collect();
                for c in a.value(i).chars() {
                    match from.iter().position(|f| *f == c) {
                        Some(k) => out.extend(to.get(k)),
                        None => out.push(c),
                    }
                }
                Ok(())
            })?
        }
        F::Overlay => {
            let (a, r, from) = (s(0)?, s(1)?, n(2)?);
            let len = args.get(3).map(|_| n(3)).transpose()?;
            string_rows(args, rows, |i, out| {
                let (v, r) = (a.value(i), r.value(i));
                let r_len = r.chars().count() as i64;
                let count = len.map(|l| l.value(i)).filter(|l| *l >= 0).unwrap_or(r_len);
                let start = from.value(i) - 1;
                out.extend(v.chars().take(start.max(0) as usize));
                out.push_str(r);
                out.extend(v.chars().skip(start.saturating_add(count).max(0) as usize));
                Ok(())
            })?
        }
        F::SplitPart => {
            let (a, delim, index) = (s(0)?, s(1)?, n(2)?);
            string_rows(args, rows, |i, out| {
                let (v, d, k) = (a.value(i), delim.value(i), index.value(i));
                let parts: Vec<&str> = if d.is_empty() {
                    v.char_indices().map(|(p, c)| &v[p..p + c.len_utf8()]).collect()
                } else {
                    v.split(d).collect()
                };
                let pick = if k > 0 {
                    parts.get((k - 1) as usize)
                } else if k < 0 {
                    parts
                        .len()
                        .checked_sub(k.unsigned_abs() as usize)
                        .and_then(|p| parts.get(p))
                } else {
                    return Err(Error::execution("Out of Range Error: index must be non-zero"));
                };
                out.push_str(pick.copied().unwrap_or(""));
                Ok(())
            })?
        }
        F::StartsWith | F::EndsWith | F::Contains => {
            let (a, b) = (s(0)?, s(1)?);
            bool_rows(args, rows, |i| {
                let (v, p) = (a.value(i), b.value(i));
                Ok(match func {
                    F::StartsWith => v.starts_with(p),
                    F::EndsWith => v.ends_with(p),
                    _ => v.contains(p),
                })
            })?
        }
        F::StrPos => {
            let (a, b) = (s(0)?, s(1)?);
            i64_rows(args, rows, |i| {
                let v = a.value(i);
                Ok(v.find(b.value(i))
                    .map(|p| v[..p].chars().count() as i64 + 1)
                    .unwrap_or(0))
            })?
        }
        F::LPad | F::RPad => {
            let (a, len, fill) = (s(0)?, n(1)?, s(2)?);
            string_rows(args, rows, |i, out| {
                pad(a.value(i), len.value(i), fill.value(i), func == F::LPad, out)
            })?
        }
        F::Left | F::Right | F::Repeat => {
            let (a, k) = (s(0)?, n(1)?);
            string_rows(args, rows, |i, out| {
                let (v, k) = (a.value(i), k.value(i));
                if func == F::Repeat {
                    if k > 0 {
                        out.push_str(&v.repeat(k as usize));
                    }
                    return Ok(());
                }
                let count = v.chars().count() as i64;
                let (from, to) = match (func, k >= 0) {
                    (F::Left, true) => (0, k.min(count)),
                    (F::Left, false) => (0, (count + k).max(0)),
                    (_, true) => ((count - k).max(0), count),
                    (_, false) => ((-k).min(count), count),
                };
                out.extend(v.chars().skip(from as usize).take((to - from).max(0) as usize));
                Ok(())
            })?
        }
        F::Ascii => {
            let a = s(0)?;
            let out: Int32Array = a
                .iter()
                .map(|v| v.map(|v| v.chars().next().map(|c| c as i32).unwrap_or(0)))
                .collect();
            Arc::new(out)
        }
        F::Chr => {
            let code = prim_arg::<Int32Type>(args, 0)?;
            string_rows(args, rows, |i, out| {
                let c = u32::try_from(code.value(i))
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| Error::execution(format!("Invalid UTF8 Codepoint {}", code.value(i))))?;
                out.push(c);
                Ok(())
            })?
        }
        F::RegexpMatches | F::RegexpFullMatch => {
            let (a, p) = (s(0)?, s(1)?);
            let flags = args.get(2).map(|_| s(2)).transpose()?;
            let mut cache = RegexCache::default();
            let full = func == F::RegexpFullMatch;
            bool_rows(args, rows, |i| {
                let re = cache.get(p.value(i), flags.map(|f| f.value(i)), full)?;
                Ok(re.is_match(a.value(i)))
            })?
        }
        F::RegexpReplace => {
            let (a, p, r) = (s(0)?, s(1)?, s(2)?);
            let flags = args.get(3).map(|_| s(3)).transpose()?;
            let mut cache = RegexCache::default();
            string_rows(args, rows, |i, out| {
                let f = flags.map(|f| f.value(i)).unwrap_or("");
                let re = cache.get(p.value(i), Some(f), false)?;
                let rep = replacement(r.value(i));
                let v = a.value(i);
                if f.contains('g') {
                    out.push_str(&re.replace_all(v, rep.as_str()));
                } else {
                    out.push_str(&re.replace(v, rep.as_str()));
                }
                Ok(())
            })?
        }
        F::RegexpExtract => {
            let (a, p) = (s(0)?, s(1)?);
            let group = args.get(2).map(|_| n(2)).transpose()?;
            let mut cache = RegexCache::default();
            string_rows(args, rows, |i, out| {
                let re = cache.get(p.value(i), None, false)?;
                let g = group.map(|g| g.value(i)).unwrap_or(0);
                if g < 0 || g as usize >= re.captures_len() {
                    return Err(Error::execution(
                        "Invalid Input Error: Pattern has fewer groups than index",
                    ));
                }
                if let Some(m) = re.captures(a.value(i)).and_then(|c| c.get(g as usize)) {
                    out.push_str(m.as_str());
                }
                Ok(())
            })?
        }
        F::LikeEscape | F::ILikeEscape => like_escape(args, func == F::ILikeEscape)?,
        _ => return Ok(None),
    }))
}

/// SQL substring: 1-based start (≤ 0 counts from before the first character), in characters.
fn substring(s: &str, start: i64, len: Option<i64>) -> &str {
    // ASCII text (most of it) has a character per byte: no need to walk the characters.
    let ascii = s.is_ascii();
    let n = if ascii { s.len() } else { s.chars().count() } as i64;
    let (from, to) = if start > 0 {
        let from = start - 1;
        (from, len.map(|l| from.saturating_add(l.max(0))).unwrap_or(n))
    } else if start < 0 {
        let from = (n + start).max(0);
        (from, len.map(|l| from.saturating_add(l.max(0))).unwrap_or(n))
    } else {
        (0, len.map(|l| l.saturating_sub(1).max(0)).unwrap_or(n))
    };
    let (from, to) = (from.clamp(0, n) as usize, to.clamp(0, n) as usize);
    if from >= to {
        return "";
    }
    if ascii {
        return &s[from..to];
    }
    let byte = |k: usize| s.char_indices().nth(k).map(|(b, _)| b).unwrap_or(s.len());
    &s[byte(from)..byte(to)]
}

/// `lpad`/`rpad`: pads `v` to `len` characters with `fill` repeated, or cuts it to `len`.
fn pad(v: &str, len: i64, fill: &str, left: bool, out: &mut String) -> Result<()> {
    let len = len.max(0) as usize;
    let count = v.chars().count();
    if count >= len {
        out.extend(v.chars().take(len));
        return Ok(());
    }
    if fill.is_empty() {
        return Err(Error::execution("Insufficient padding in PAD"));
    }
    let padding = fill.chars().cycle().take(len - count);
    if left {
        out.extend(padding);
        out.push_str(v);
    } else {
        out.push_str(v);
        out.extend(padding);
    }
    Ok(())
}

/// DuckDB's `\1` group references in a replacement → the regex crate's `${1}`.
fn replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// The last compiled pattern: consecutive rows with the same pattern (the common case of a
/// constant pattern) compile once.
#[derive(Default)]
struct RegexCache {
    key: Option<(String, String, bool)>,
    re: Option<Regex>,
}

impl RegexCache {
    fn get(&mut self, pattern: &str, flags: Option<&str>, full: bool) -> Result<&Regex> {
        let flags = flags.unwrap_or("");
        let same = self
            .key
            .as_ref()
            .is_some_and(|(p, f, w)| p == pattern && f == flags && *w == full);
        if !same || self.re.is_none() {
            let mut prefix = String::new();
            for f in flags.chars() {
                match f {
                    'i' => prefix.push_str("(?i)"),
                    's' => prefix.push_str("(?s)"),
                    'm' | 'n' | 'p' => prefix.push_str("(?m)"),
                    'c' | 'g' | 'l' => {}
                    other => {
                        return Err(Error::execution(format!(
                            "Invalid Input Error: Unrecognized Regex option {other}"
                        )))
                    }
                }
            }
            let text = if full {
                format!("{prefix}^(?:{pattern})$")
            } else {
                format!("{prefix}{pattern}")
            };
            let re = Regex::new(&text).map_err(|e| Error::execution(format!("Invalid Input Error: {e}")))?;
            self.key = Some((pattern.to_string(), flags.to_string(), full));
            self.re = Some(re);
        }
        self.re.as_ref().ok_or_else(|| Error::internal("regex cache is empty"))
    }
}

/// `s [I]LIKE pattern ESCAPE e`: the pattern is rewritten to Arrow's backslash escapes and
/// matched by Arrow's LIKE kernels.
fn like_escape(args: &[ArrayRef], case_insensitive: bool) -> Result<ArrayRef> {
    let (a, p, e) = (str_arg(args, 0)?, str_arg(args, 1)?, str_arg(args, 2)?);
    let mut patterns = StringBuilder::with_capacity(p.len(), p.value_data().len() + p.len());
    for i in 0..p.len() {
        if p.is_null(i) || e.is_null(i) {
            patterns.append_null();
            continue;
        }
        let mut esc = e.value(i).chars();
        let escape = esc.next();
        if esc.next().is_some() {
            return Err(Error::execution(
                "Invalid Input Error: Like pattern escape must be a single character",
            ));
        }
        let mut out = String::new();
        let mut chars = p.value(i).chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                out.push('\\');
                match chars.next() {
                    Some(next) => out.push(next),
                    None => {
                        return Err(Error::execution(
                            "Invalid Input Error: Like pattern must not end with escape character!",
                        ))
                    }
                }
            } else if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        patterns.append_value(out);
    }
    let patterns = patterns.finish();
    let out = if case_insensitive {
        arrow::compute::kernels::comparison::ilike(a, &patterns)?
    } else {
        arrow::compute::kernels::comparison::like(a, &patterns)?
    };
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `execution` fuzz target: from position 0, the most negative length
    /// overflowed computing where the substring ends (DuckDB refuses lengths below -2^32).
    #[test]
    fn substring_from_zero_with_the_most_negative_length_is_empty() {
        assert_eq!(substring("abc", 0, Some(i64::MIN)), "");
        assert_eq!(substring("abc", 0, Some(2)), "a");
    }

    #[test]
    fn substring_is_one_based() {
        assert_eq!(substring("hello", 2, Some(3)), "ell");
        assert_eq!(substring("hello", -3, None), "llo");
        assert_eq!(substring("hello", 10, Some(3)), "");
        assert_eq!(substring("héllo", 2, Some(3)), "éll");
        assert_eq!(substring("héllo", -2, None), "lo");
        assert_eq!(substring("hello", 0, Some(2)), "h");
    }

    #[test]
    fn replacement_groups() {
        assert_eq!(replacement("\\1-$"), "${1}-$$");
    }
}
