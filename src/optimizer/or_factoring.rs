//! Pulls the terms every branch of an OR shares out of it:
//! `(a AND b) OR (a AND c)` → `a AND (b OR c)`.
//!
//! Predicate pushdown uses this when it splits a filter into conjuncts, so a join key written
//! inside each branch of a disjunction (TPC-H q19: `(p_partkey = l_partkey AND …) OR
//! (p_partkey = l_partkey AND …)`) becomes a separate conjunct that can turn a cross join into
//! a hash join, and single-table terms can reach the scans.

use crate::error::Result;
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::schema::PlanSchema;

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

/// A condition on `schema`'s columns alone implied by the OR `term`: the OR, over its
/// branches, of each branch's conjuncts that read only those columns (`None` when `term` is
/// not an OR or some branch has no such conjunct). TPC-H q19's join condition
/// `(p_brand = 'Brand#12' AND l_quantity <= 11 AND …) OR (p_brand = 'Brand#23' AND …) OR …`
/// implies `(p_brand = 'Brand#12' AND …) OR (p_brand = 'Brand#23' AND …) OR …` on part, which
/// can filter part's scan before the join; the join keeps the whole condition.
pub fn implied_on(term: &Expr, schema: &PlanSchema) -> Result<Option<Expr>> {
    if !matches!(term, Expr::Binary { op: BinaryOp::Or, .. }) {
        return Ok(None);
    }
    let mut implied: Vec<Expr> = Vec::new();
    for branch in split_disjunction(term.clone()) {
        let mut kept = Vec::new();
        for conjunct in branch.split_conjunction() {
            if crate::frontend::sql::refers_only_to(&conjunct, schema)? {
                kept.push(conjunct);
            }
        }
        match Expr::conjunction(kept) {
            Some(e) => implied.push(e),
            None => return Ok(None),
        }
    }
    Ok(implied.into_iter().reduce(|a, b| Expr::Binary {
        left: Box::new(a),
        op: BinaryOp::Or,
        right: Box::new(b),
    }))
}

/// The branches of a chain of ORs.
pub(super) fn split_disjunction(expr: Expr) -> Vec<Expr> {
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
