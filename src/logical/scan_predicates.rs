//! A scan's filters as column predicates (`column op constant` on a source column): what
//! the Parquet reader tests against row-group statistics to skip row groups, and what
//! cardinality estimates take range selectivities from.

use crate::io::{ColumnPredicate, PredicateOp};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::plan::Scan;
use crate::logical::ColumnRef;

impl Scan {
    /// Every predicate of every conjunct of the scan's filters.
    pub fn column_predicates(&self) -> Vec<ColumnPredicate> {
        self.filters
            .iter()
            .flat_map(|f| f.clone().split_conjunction())
            .flat_map(|conjunct| self.conjunct_predicates(&conjunct))
            .collect()
    }

    /// The source column (index into the source's schema) that scan column `c` reads.
    pub fn source_column(&self, c: &ColumnRef) -> Option<usize> {
        let i = self.schema.find(c).ok().flatten()?;
        Some(self.projection.as_deref().map(|p| p[i]).unwrap_or(i))
    }

    /// For a conjunct that holds when one source column equals one of some constants
    /// (`x = a`, `x IN (a, b)`, `x = a OR x = b`): that column and how many constants.
    pub fn equality_count(&self, conjunct: &Expr) -> Option<(usize, usize)> {
        match conjunct {
            Expr::Binary {
                left,
                op: BinaryOp::Or,
                right,
            } => {
                let (a, n) = self.equality_count(left)?;
                let (b, m) = self.equality_count(right)?;
                (a == b).then_some((a, n + m))
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } => match expr.as_ref() {
                Expr::Column(c) if list.iter().all(|e| matches!(e, Expr::Literal(_))) => {
                    Some((self.source_column(c)?, list.len()))
                }
                _ => None,
            },
            _ => match self.conjunct_predicates(conjunct).as_slice() {
                [p] if p.op == PredicateOp::Eq => Some((p.column, 1)),
                _ => None,
            },
        }
    }

    /// The predicates one conjunct amounts to: one for `column op constant`, two for
    /// `column BETWEEN constant AND constant`, none for anything else (or a NULL constant).
    pub fn conjunct_predicates(&self, conjunct: &Expr) -> Vec<ColumnPredicate> {
        let source_index = |c: &ColumnRef| self.source_column(c);
        match conjunct {
            Expr::Binary { left, op, right } => {
                let (column, value, op) = match (left.as_ref(), right.as_ref()) {
                    (Expr::Column(c), Expr::Literal(v)) => (c, v, *op),
                    (Expr::Literal(v), Expr::Column(c)) => match op.swap() {
                        Some(swapped) => (c, v, swapped),
                        None => return vec![],
                    },
                    _ => return vec![],
                };
                match (source_index(column), predicate_op(op)) {
                    (Some(column), Some(op)) if !value.is_null() => vec![ColumnPredicate {
                        column,
                        op,
                        value: value.clone(),
                    }],
                    _ => vec![],
                }
            }
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => match (expr.as_ref(), low.as_ref(), high.as_ref()) {
                (Expr::Column(c), Expr::Literal(lo), Expr::Literal(hi)) if !lo.is_null() && !hi.is_null() => {
                    match source_index(c) {
                        Some(column) => vec![
                            ColumnPredicate {
                                column,
                                op: PredicateOp::GtEq,
                                value: lo.clone(),
                            },
                            ColumnPredicate {
                                column,
                                op: PredicateOp::LtEq,
                                value: hi.clone(),
                            },
                        ],
                        None => vec![],
                    }
                }
                _ => vec![],
            },
            _ => vec![],
        }
    }
}

fn predicate_op(op: BinaryOp) -> Option<PredicateOp> {
    Some(match op {
        BinaryOp::Eq => PredicateOp::Eq,
        BinaryOp::Lt => PredicateOp::Lt,
        BinaryOp::LtEq => PredicateOp::LtEq,
        BinaryOp::Gt => PredicateOp::Gt,
        BinaryOp::GtEq => PredicateOp::GtEq,
        _ => return None,
    })
}
