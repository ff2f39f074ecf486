//! `WITH t AS [NOT] MATERIALIZED (…)`: sqlparser reads these CTE hints only in its PostgreSQL
//! dialect, so they are dropped from the token stream before parsing with the DuckDB one.
//! rask binds every CTE the same way (its plan is shared), so the hint changes no result.

use std::borrow::Cow;

use sqlparser::dialect::DuckDbDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

/// `sql` without `[NOT] MATERIALIZED` between a CTE's `AS` and its `(`; unchanged (and
/// borrowed) when there is none or it does not tokenize.
pub(super) fn strip_cte_materialized(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_lowercase().contains("materialized") {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = Tokenizer::new(&DuckDbDialect {}, sql).tokenize() else {
        return Cow::Borrowed(sql);
    };
    let is_kw = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
    // Indices of the significant (non-whitespace) tokens.
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let mut drop = vec![false; tokens.len()];
    for (k, &i) in sig.iter().enumerate() {
        if !is_kw(&tokens[i], Keyword::MATERIALIZED) || k == 0 {
            continue;
        }
        let next_is_paren = sig.get(k + 1).is_some_and(|&j| tokens[j] == Token::LParen);
        let prev = sig[k - 1];
        if next_is_paren && is_kw(&tokens[prev], Keyword::AS) {
            drop[i] = true;
        } else if next_is_paren
            && is_kw(&tokens[prev], Keyword::NOT)
            && k >= 2
            && is_kw(&tokens[sig[k - 2]], Keyword::AS)
        {
            drop[i] = true;
            drop[prev] = true;
        }
    }
    if !drop.iter().any(|d| *d) {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(
        tokens
            .iter()
            .zip(drop)
            .filter(|(_, d)| !d)
            .map(|(t, _)| t.to_string())
            .collect(),
    )
}
