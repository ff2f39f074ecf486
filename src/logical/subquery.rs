//! Subquery expressions as the binder produces them (`(SELECT …)`, `EXISTS (…)`,
//! `x IN (SELECT …)`), and references from inside a subquery to a column of an enclosing
//! query. Both live only inside the SQL binder: it decorrelates every subquery into joins and
//! aggregates before a plan leaves it, so optimizer rules and the physical planner never see
//! them (the physical planner reports one that slipped through as not supported).

use std::fmt;
use std::sync::Arc;

use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::plan::LogicalPlan;

/// What a subquery expression asks of its rows.
#[derive(Debug, Clone, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT x …)`: the single value of a one-column, at most one-row result.
    Scalar,
    /// `EXISTS (…)`: whether there is any row.
    Exists,
    /// `expr IN (SELECT x …)` (`NOT IN` is `NOT` around it).
    In(Box<Expr>),
    /// `expr op ANY (SELECT x …)` or, `all`, `expr op ALL (…)`, for the comparisons that are
    /// not IN / NOT IN (`= ANY` is IN, `<> ALL` is NOT IN).
    Quantified {
        /// The left operand.
        lhs: Box<Expr>,
        /// The comparison.
        op: BinaryOp,
        /// ALL (else ANY).
        all: bool,
    },
}

impl SubqueryKind {
    /// True for the kinds a WHERE conjunct can plan as a semi or anti join (EXISTS, IN).
    pub fn is_semi_join(&self) -> bool {
        matches!(self, SubqueryKind::Exists | SubqueryKind::In(_))
    }
}

/// A subquery used as an expression.
#[derive(Debug, Clone)]
pub struct SubqueryExpr {
    /// Scalar, EXISTS, IN or a quantified comparison.
    pub kind: SubqueryKind,
    /// The bound subquery; references to enclosing queries are [`Expr::OuterColumn`]s.
    pub plan: Arc<LogicalPlan>,
    /// The subquery's SQL text: it names the expression, as DuckDB does, so that two
    /// subqueries in one select list get different column names.
    pub sql: Arc<str>,
}

impl PartialEq for SubqueryExpr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.plan, &other.plan)
    }
}

impl fmt::Display for SubqueryExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SubqueryKind::Scalar => write!(f, "({})", self.sql),
            SubqueryKind::Exists => write!(f, "EXISTS({})", self.sql),
            SubqueryKind::In(e) => write!(f, "({e} IN ({}))", self.sql),
            SubqueryKind::Quantified { lhs, op, all } => {
                let q = if *all { "ALL" } else { "ANY" };
                write!(f, "({lhs} {} {q}({}))", op.symbol(), self.sql)
            }
        }
    }
}
