//! Pulls the terms every branch of an OR shares out of it:
//! `(a AND b) OR (a AND c)` → `a AND (b OR c)`.
//!
//! Predicate pushdown uses this when it splits a filter into conjuncts, so a join key written
//! inside each branch of a disjunction (TPC-H q19: `(p_partkey = l_partkey AND …) OR
//! (p_partkey = l_partkey AND …)`) becomes a separate conjunct that can turn a cross join into
//! a hash join, and single-table terms can reach the scans.

use crate::logical::expr::{BinaryOp, Expr};

/// Splits `expr` into conjuncts, first factoring the common terms out of every OR among them.
pub fn split_conjunction_factored(expr: Expr) -> Vec<Expr> {
    expr.split_conjunction().into_iter().flat_map(factor_or).collect()
}

/// `term` as conjuncts: the terms shared by all its OR branches, then the OR of what is left
/// of each branch (dropped when a branch has nothing left, since the OR is then implied).
fn factor_or(term: Expr) -> Vec<Expr> {
    if !matches!(term, Expr::Binary { op: BinaryOp::Or, .. }) {
        return vec![term];
    }
    let branches = split_disjunction(term.clone());
    let branches: Vec<Vec<Expr>> = branches.into_iter().map(Expr::split_conjunction).collect();
    let common: Vec<Expr> = branches[0]
        .iter()
        .filter(|t| branches[1..].iter().all(|b| b.contains(t)))
        .fold(Vec::new(), |mut acc, t| {
            if !acc.contains(t) {
                acc.push(t.clone());
            }
            acc
        });
    if common.is_empty() {
        return vec![term];
    }
    let rests: Vec<Option<Expr>> = branches
        .into_iter()
        .map(|b| Expr::conjunction(b.into_iter().filter(|t| !common.contains(t))))
        .collect();
    let mut out = common;
    if let Some(rests) = rests.into_iter().collect::<Option<Vec<Expr>>>() {
        if let Some(or) = rests.into_iter().reduce(|a, b| Expr::Binary {
            left: Box::new(a),
            op: BinaryOp::Or,
            right: Box::new(b),
        }) {
            out.push(or);
        }
    }
    out
}

fn split_disjunction(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::Binary {
            left,
            op: BinaryOp::Or,
            right,
        } => {
            let mut terms = split_disjunction(*left);
            terms.extend(split_disjunction(*right));
            terms
        }
        e => vec![e],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn or(a: Expr, b: Expr) -> Expr {
        Expr::Binary {
            left: Box::new(a),
            op: BinaryOp::Or,
            right: Box::new(b),
        }
    }

    #[test]
    fn shared_terms_leave_the_or() {
        let (a, b, c, d) = (Expr::col("a"), Expr::col("b"), Expr::col("c"), Expr::col("d"));
        let e = or(
            a.clone().and(b.clone()),
            or(c.clone().and(a.clone()), a.clone().and(d.clone())),
        );
        let got = split_conjunction_factored(e);
        assert_eq!(got, vec![a, or(or(b, c), d)]);
    }

    #[test]
    fn a_branch_that_is_only_shared_terms_drops_the_or() {
        let (a, b) = (Expr::col("a"), Expr::col("b"));
        let got = split_conjunction_factored(or(a.clone(), a.clone().and(b)));
        assert_eq!(got, vec![a]);
    }

    #[test]
    fn nothing_shared_keeps_the_term() {
        let (a, b) = (Expr::col("a"), Expr::col("b"));
        let e = or(a, b);
        assert_eq!(split_conjunction_factored(e.clone()), vec![e]);
    }
}
