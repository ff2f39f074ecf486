//! A limit on how deeply expressions nest (`1+1+…+1` with 100,000 terms parses into a tree
//! 100,000 levels deep). Binding, optimizing and evaluating walk expressions recursively,
//! so a tree deeper than the limit is refused with an error right after parsing rather
//! than overflowing the stack. The limit is DuckDB's default `max_expression_depth`.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Visit, Visitor};

use crate::error::{Error, Result};

/// The deepest expression nesting rask accepts.
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

/// Fails when an expression in `node` nests deeper than [`MAX_EXPRESSION_DEPTH`]. Stops
/// descending at the limit, so checking a deeper tree costs no more stack than the limit.
pub fn check_expression_depth<V: Visit>(node: &V) -> Result<()> {
    let mut depth = Depth { current: 0 };
    match node.visit(&mut depth) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Error::plan(format!(
            "Max expression depth limit of {MAX_EXPRESSION_DEPTH} exceeded: the expression nests too deeply \
             (write a long chain of ORs as an IN list, or split the expression)"
        ))),
    }
}

struct Depth {
    current: usize,
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<()> {
        self.current += 1;
        if self.current > MAX_EXPRESSION_DEPTH {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<()> {
        self.current -= 1;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parsing builds (and dropping frees) the whole 100,000-deep tree before the check can
    /// refuse it: that needs the big stack the binary's main thread has, so the test gives
    /// its thread the same.
    #[test]
    fn deep_chains_are_refused_and_shallow_ones_pass() {
        let check = || {
            let ok = format!("SELECT {}", vec!["1"; MAX_EXPRESSION_DEPTH / 2].join(" + "));
            assert!(crate::frontend::sql::parse(&ok).is_ok());
            let deep = format!("SELECT {}", vec!["1"; 100_000].join(" + "));
            let err = crate::frontend::sql::parse(&deep).unwrap_err();
            assert!(
                err.to_string().contains("Max expression depth limit of 1000 exceeded"),
                "{err}"
            );
        };
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(check)
            .unwrap()
            .join()
            .unwrap();
    }
}
