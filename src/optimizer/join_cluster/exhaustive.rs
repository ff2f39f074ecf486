//! The cheapest join tree of a small cluster, found by dynamic programming over the subsets
//! of its leaves: the best tree of a set of leaves is, among every split of the set into two
//! connected halves, the one whose halves' best trees and whose join cost least (DPsub, as
//! in Selinger-style optimizers, bushy trees included). A set of `n` leaves has `3^n` splits
//! in all, which bounds the clusters tried this way.

use std::sync::Arc;

use super::{join_cost, Cluster, Part};
use crate::error::Result;
use crate::logical::typecheck::TypeOptions;

/// Clusters of more leaves are ordered greedily (3^10 is 59k splits, each estimated once).
pub(super) const MAX_LEAVES: usize = 10;

/// The cheapest tree found for one set of leaves.
#[derive(Clone, Copy)]
struct Best {
    /// The summed cost of every join in the tree.
    cost: f64,
    /// The estimated rows of the set's join.
    rows: f64,
    /// The half joined on the left (the other is the set without it); 0 for a single leaf.
    split: u64,
}

/// The chosen tree: for each set of leaves (by bit mask), how it is best joined.
pub(super) struct Tree {
    best: Vec<Option<Best>>,
}

impl Tree {
    /// The estimated rows of the join of every leaf.
    pub(super) fn rows(&self) -> f64 {
        self.best.last().copied().flatten().map_or(1.0, |b| b.rows)
    }
}

impl Cluster {
    /// The tree joining every leaf at least cost, or `None` when there are more than
    /// [`MAX_LEAVES`] leaves or some leaf is not connected to the others by any condition (a
    /// cross product): [`Cluster::greedy`] orders those.
    pub(super) fn cheapest_tree(&self) -> Option<Tree> {
        let n = self.leaves.len();
        if n > MAX_LEAVES {
            return None;
        }
        let all: u64 = (1 << n) - 1;
        let mut best: Vec<Option<Best>> = vec![None; 1 << n];
        for (i, rows) in self.rows.iter().enumerate() {
            best[1 << i] = Some(Best {
                cost: 0.0,
                rows: *rows,
                split: 0,
            });
        }
        for set in 1..=all {
            if set.count_ones() < 2 {
                continue;
            }
            let lowest = set & set.wrapping_neg();
            let mut found: Option<Best> = None;
            // Each split once: the half holding the set's lowest leaf goes first.
            let mut half = (set - 1) & set;
            while half > 0 {
                if half & lowest != 0 {
                    let other = set & !half;
                    if let (Some(a), Some(b)) = (best[half as usize], best[other as usize]) {
                        let (connected, rows) = self.estimate(half, a.rows, other, b.rows);
                        let cost = a.cost + b.cost + join_cost(rows, a.rows, b.rows);
                        if connected && found.is_none_or(|f| cost < f.cost) {
                            found = Some(Best {
                                cost,
                                rows,
                                split: half,
                            });
                        }
                    }
                }
                half = (half - 1) & set;
            }
            best[set as usize] = found;
        }
        best[all as usize]?;
        Some(Tree { best })
    }

    /// Builds `tree`, applying each condition at the lowest join that sees its leaves.
    pub(super) fn build(mut self, tree: Tree, opts: TypeOptions) -> Result<Part> {
        let all: u64 = (1 << self.leaves.len()) - 1;
        let top = self.build_set(&tree, all);
        self.finish(top, opts)
    }

    /// The join of the leaves `set` by `tree`.
    fn build_set(&mut self, tree: &Tree, set: u64) -> Part {
        let best = tree.best[set as usize];
        match best {
            Some(Best { split, rows, .. }) if split != 0 => {
                let a = self.build_set(tree, split);
                let b = self.build_set(tree, set & !split);
                self.join(a, b, rows)
            }
            _ => {
                let i = set.trailing_zeros() as usize;
                Part {
                    plan: Arc::clone(&self.leaves[i]),
                    leaves: set,
                    rows: self.rows[i],
                }
            }
        }
    }
}
