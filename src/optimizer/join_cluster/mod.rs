//! The flattened form of a tree of inner joins, shared by the rules that reorder and reshape
//! such trees (`join_reorder`, `eager_aggregation`).
//!
//! A maximal tree of inner joins is flattened into its leaves (every input that is not itself
//! an inner join) and its conditions (the equi-join keys and residual filters). Equalities
//! between plain columns are merged into equivalence classes, so `a.x = b.x AND b.x = c.x`
//! also lets `a` join `c` directly. [`Cluster::order`] then picks the join tree whose joins
//! cost least in all (each its result plus its smaller, hashed input): by trying every tree
//! of connected parts when there are at most [`exhaustive::MAX_LEAVES`] leaves, else greedily,
//! joining the two connected parts whose join is cheapest until one remains (a cross product
//! is only taken when no condition connects any two parts). Each condition is applied at the
//! lowest join that sees all the leaves it mentions.
//!
//! Join sizes follow the textbook estimate |A ⋈ B| = |A|·|B| / max(ndv(A.k), ndv(B.k)), with
//! the number of distinct values of every column of a class taken as the smallest unfiltered
//! row count among the class's tables (a foreign key has at most as many distinct values as
//! the key it references); a key of several classes has the product of theirs, capped by
//! each side's estimated rows and by the unfiltered rows of any leaf holding the whole key.

mod exhaustive;

use std::sync::Arc;

use crate::error::Result;
use crate::logical::builder;
use crate::logical::cardinality::{estimate_rows, filter_selectivity, unfiltered_rows};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;
use crate::logical::schema::ColumnRef;
use crate::logical::typecheck::TypeOptions;

/// The most pairs a join condition other than a key equality is assumed to keep (a
/// condition recognised as more selective, e.g. an OR of equalities, keeps fewer).
const RESIDUAL_SELECTIVITY: f64 = 0.3;

/// Collects the leaves (left to right) and conditions of the inner-join tree at `plan`.
pub(super) fn flatten(plan: &Arc<LogicalPlan>, leaves: &mut Vec<Arc<LogicalPlan>>, conditions: &mut Vec<Expr>) {
    match plan.as_ref() {
        LogicalPlan::Join(j) if j.join_type == JoinType::Inner => {
            flatten(&j.left, leaves, conditions);
            flatten(&j.right, leaves, conditions);
            conditions.extend(j.on.iter().map(|(l, r)| l.clone().binary(BinaryOp::Eq, r.clone())));
            if let Some(f) = &j.filter {
                conditions.extend(f.clone().split_conjunction());
            }
        }
        _ => leaves.push(Arc::clone(plan)),
    }
}

/// A column of a leaf: (leaf index, column).
pub(super) type LeafColumn = (usize, ColumnRef);

/// A condition that is not part of an equivalence class, with the leaves it mentions.
#[derive(Clone)]
pub(super) struct Condition {
    /// The condition.
    pub expr: Expr,
    /// A bit per leaf it mentions.
    pub leaves: u64,
}

/// The flattened join tree.
#[derive(Clone)]
pub(super) struct Cluster {
    /// The inputs that are not inner joins, with their single-leaf conditions as filters.
    pub leaves: Vec<Arc<LogicalPlan>>,
    /// Estimated output rows of each leaf.
    pub rows: Vec<f64>,
    /// Classes of columns known equal; each has members in at least two leaves.
    pub classes: Vec<Vec<LeafColumn>>,
    /// Smallest unfiltered row count among each class's leaves (its distinct-value bound).
    pub class_ndv: Vec<f64>,
    /// Each leaf's unfiltered rows: how many distinct combinations of its columns there can
    /// be, which bounds a key of several classes that one leaf holds all of.
    pub leaf_ndv: Vec<f64>,
    /// The conditions over two leaves or more that are not column equalities.
    pub conditions: Vec<Condition>,
}

/// One part of the plan under construction: a joined set of leaves.
pub(super) struct Part {
    /// The joined leaves.
    pub plan: Arc<LogicalPlan>,
    /// A bit per leaf joined.
    pub leaves: u64,
    /// Estimated output rows.
    pub rows: f64,
}

impl Cluster {
    /// Analyses the leaves and conditions; `None` when a column cannot be placed in exactly
    /// one leaf (the written order is then kept).
    pub fn new(leaves: Vec<Arc<LogicalPlan>>, conditions: Vec<Expr>) -> Option<Cluster> {
        let mut seen = std::collections::HashSet::new();
        for leaf in &leaves {
            let schema = leaf.schema();
            for i in 0..schema.len() {
                let c = schema.column_ref(i);
                if !seen.insert((c.qualifier.map(|q| q.to_lowercase()), c.name.to_lowercase())) {
                    return None;
                }
            }
        }
        let leaf_of = |c: &ColumnRef| leaf_providing(&leaves, c);
        let mut union = UnionFind::default();
        let mut members: Vec<LeafColumn> = Vec::new();
        let mut rest = Vec::new();
        for expr in conditions {
            let columns = expr.columns();
            let mut mask = 0u64;
            for c in &columns {
                mask |= 1 << leaf_of(c)?;
            }
            if let Some((a, b)) = column_equality(&expr, &leaves, &leaf_of) {
                let ia = member_index(&mut members, a);
                let ib = member_index(&mut members, b);
                union.union(ia, ib);
                continue;
            }
            rest.push(Condition { expr, leaves: mask });
        }
        let mut classes: Vec<Vec<LeafColumn>> = Vec::new();
        let mut class_of_root = std::collections::HashMap::new();
        for (i, m) in members.into_iter().enumerate() {
            let root = union.find(i);
            let k = *class_of_root.entry(root).or_insert_with(|| {
                classes.push(Vec::new());
                classes.len() - 1
            });
            classes[k].push(m);
        }
        // Members of one class inside one leaf must be equal there: filter the leaf.
        let mut leaves = leaves;
        for class in &mut classes {
            class.sort_by_key(|(leaf, _)| *leaf);
            let mut kept: Vec<LeafColumn> = Vec::new();
            for (leaf, column) in class.drain(..) {
                match kept.iter().find(|(l, _)| *l == leaf) {
                    Some((_, first)) => rest.push(Condition {
                        expr: Expr::Column(first.clone()).binary(BinaryOp::Eq, Expr::Column(column)),
                        leaves: 1 << leaf,
                    }),
                    None => kept.push((leaf, column)),
                }
            }
            *class = kept;
        }
        let rows: Vec<f64> = leaves.iter().map(|l| estimate_rows(l).max(1.0)).collect();
        let leaf_ndv: Vec<f64> = leaves.iter().map(|l| unfiltered_rows(l).max(1.0)).collect();
        let class_ndv = classes
            .iter()
            .map(|class| {
                class
                    .iter()
                    .map(|(leaf, _)| leaf_ndv[*leaf])
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        // Single-leaf conditions become filters on their leaf.
        let mut multi = Vec::new();
        for c in rest {
            if c.leaves.count_ones() == 1 {
                let i = c.leaves.trailing_zeros() as usize;
                leaves[i] = Arc::new(LogicalPlan::Filter(Filter {
                    input: Arc::clone(&leaves[i]),
                    predicate: c.expr,
                }));
            } else {
                multi.push(c);
            }
        }
        Some(Cluster {
            leaves,
            rows,
            classes,
            class_ndv,
            leaf_ndv,
            conditions: multi,
        })
    }

    /// The leaf that provides `column`, when exactly one does.
    pub fn leaf_of(&self, column: &ColumnRef) -> Option<usize> {
        leaf_providing(&self.leaves, column)
    }

    /// The cluster over the leaves `index` keeps (`index[i]` is leaf `i`'s new position; several
    /// leaves may share one, which then stands for all of them). A class keeps its first member
    /// in each new leaf and is dropped when fewer than two remain; a condition is kept when all
    /// its leaves remain and it still spans two of them, or when it mentions no leaf (a
    /// constant, which every cluster applies on top). New leaves take the first old leaf's
    /// plan and rows; callers replace those that stand for several.
    pub fn reindex(&self, index: &[Option<usize>]) -> Cluster {
        let cluster = self;
        let count = index.iter().flatten().map(|i| i + 1).max().unwrap_or(0);
        let mut leaves: Vec<Option<Arc<LogicalPlan>>> = vec![None; count];
        let mut rows = vec![1.0; count];
        let mut leaf_ndv = vec![1.0; count];
        for (old, new) in index.iter().enumerate() {
            if let Some(new) = *new {
                if leaves[new].is_none() {
                    leaves[new] = Some(Arc::clone(&cluster.leaves[old]));
                    rows[new] = cluster.rows[old];
                    leaf_ndv[new] = cluster.leaf_ndv[old];
                }
            }
        }
        let mut classes = Vec::new();
        let mut class_ndv = Vec::new();
        for (class, ndv) in cluster.classes.iter().zip(&cluster.class_ndv) {
            let mut kept: Vec<LeafColumn> = Vec::new();
            for (leaf, column) in class {
                if let Some(new) = index[*leaf] {
                    if !kept.iter().any(|(l, _)| *l == new) {
                        kept.push((new, column.clone()));
                    }
                }
            }
            if kept.len() >= 2 {
                classes.push(kept);
                class_ndv.push(*ndv);
            }
        }
        let conditions = cluster
            .conditions
            .iter()
            .filter_map(|c| {
                let mut mask = 0u64;
                for old in (0..cluster.leaves.len()).filter(|i| c.leaves & (1 << i) != 0) {
                    mask |= 1 << index[old]?;
                }
                (mask.count_ones() >= 2 || c.leaves == 0).then(|| Condition {
                    expr: c.expr.clone(),
                    leaves: mask,
                })
            })
            .collect();
        Cluster {
            leaves: leaves.into_iter().flatten().collect(),
            rows,
            classes,
            class_ndv,
            leaf_ndv,
            conditions,
        }
    }

    /// The join of all the leaves: the cheapest tree (see [`join_cost`]) found by trying
    /// every one ([`exhaustive`]) when the leaves are few and connected, else greedily.
    pub fn order(self, opts: TypeOptions) -> Result<Part> {
        match self.cheapest_tree() {
            Some(tree) => self.build(tree, opts),
            None => self.greedy(opts),
        }
    }

    /// The estimated rows of the join of all the leaves, as [`Cluster::order`] would join
    /// them (without building the plan when the tree is found exhaustively).
    pub fn joined_rows(&self, opts: TypeOptions) -> Result<f64> {
        match self.cheapest_tree() {
            Some(tree) => Ok(tree.rows()),
            None => Ok(self.clone().greedy(opts)?.rows),
        }
    }

    /// Joins the parts greedily, cheapest first (see [`join_cost`]). Cheapest first is not
    /// cheapest overall: TPC-H q05 joined 20k suppliers to their 5 nations first, after which
    /// the 1.5M customers could only meet those nations many-to-many, and went through the
    /// orders and lineitem joins unfiltered instead of first keeping the 20% in the region.
    fn greedy(mut self, opts: TypeOptions) -> Result<Part> {
        let mut parts: Vec<Part> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(i, l)| Part {
                plan: Arc::clone(l),
                leaves: 1 << i,
                rows: self.rows[i],
            })
            .collect();
        while parts.len() > 1 {
            let mut best: Option<(bool, f64, f64, usize, usize)> = None;
            for i in 0..parts.len() {
                for j in i + 1..parts.len() {
                    let (connected, rows) =
                        self.estimate(parts[i].leaves, parts[i].rows, parts[j].leaves, parts[j].rows);
                    let cost = join_cost(rows, parts[i].rows, parts[j].rows);
                    let better = match best {
                        None => true,
                        Some((bc, _, best_cost, _, _)) => (connected && !bc) || (connected == bc && cost < best_cost),
                    };
                    if better {
                        best = Some((connected, rows, cost, i, j));
                    }
                }
            }
            let Some((_, rows, _, i, j)) = best else { break };
            let b = parts.remove(j);
            let a = parts.remove(i);
            let joined = self.join(a, b, rows);
            parts.insert(i, joined);
        }
        let top = parts.remove(0);
        self.finish(top, opts)
    }

    /// `top`, the join of every leaf, with the conditions no join took (constants: they
    /// mention no leaf) filtering it.
    fn finish(&mut self, mut top: Part, opts: TypeOptions) -> Result<Part> {
        let leftover: Vec<Expr> = self.conditions.drain(..).map(|c| c.expr).collect();
        if let Some(p) = Expr::conjunction(leftover) {
            top.plan = Arc::new(builder::filter(top.plan, p, opts)?);
        }
        Ok(top)
    }

    /// Whether a condition connects the leaves `a` (estimated at `a_rows` joined) and the
    /// leaves `b` (`b_rows`), and the estimated rows of their join.
    fn estimate(&self, a: u64, a_rows: f64, b: u64, b_rows: f64) -> (bool, f64) {
        // A key of several columns has at most the product of their distinct counts
        // (TPC-H q09's (partkey, suppkey) into partsupp: 200k · 10k, so every partsupp row
        // is a distinct key, not one of 200k).
        let mut key_ndv: f64 = 1.0;
        let mut keyed = false;
        // Per leaf, whether it holds a member of every class joined so far.
        let mut holds_all = u64::MAX;
        for (k, class) in self.classes.iter().enumerate() {
            let in_a = class.iter().any(|(l, _)| a & (1 << l) != 0);
            let in_b = class.iter().any(|(l, _)| b & (1 << l) != 0);
            if in_a && in_b {
                keyed = true;
                key_ndv *= self.class_ndv[k];
                holds_all &= class.iter().fold(0, |m, (l, _)| m | 1 << l);
            }
        }
        // ... and at most as many as a leaf holding the whole key has rows (q09's lineitem
        // joins partsupp on (partkey, suppkey): 8M pairs, not 2M parts times 100k suppliers).
        if keyed {
            for (leaf, ndv) in self.leaf_ndv.iter().enumerate() {
                if holds_all & (a | b) & (1 << leaf) != 0 {
                    key_ndv = key_ndv.min(*ndv);
                }
            }
        }
        let mut divisor = if keyed {
            key_ndv.min(a_rows).max(key_ndv.min(b_rows))
        } else {
            1.0
        };
        let both = a | b;
        let mut residual = false;
        let mut selectivity = 1.0;
        for c in &self.conditions {
            if c.leaves & !both == 0 && c.leaves & !a != 0 && c.leaves & !b != 0 {
                match equality_sides(&c.expr, &self.leaves, a, b) {
                    Some(_) => {
                        keyed = true;
                        divisor = divisor.max(a_rows.max(b_rows));
                    }
                    None => {
                        residual = true;
                        selectivity *= filter_selectivity(&c.expr).min(RESIDUAL_SELECTIVITY);
                    }
                }
            }
        }
        let mut rows = a_rows * b_rows / divisor;
        rows *= selectivity;
        (keyed || residual, rows.max(1.0))
    }

    /// Joins `a` and `b` on every class and condition that connects them.
    fn join(&mut self, a: Part, b: Part, rows: f64) -> Part {
        // The larger part probes, the smaller one builds (the planner may still swap).
        let (left, right) = if b.rows > a.rows { (b, a) } else { (a, b) };
        let mut on = Vec::new();
        for class in &self.classes {
            let l = class.iter().find(|(leaf, _)| left.leaves & (1 << leaf) != 0);
            let r = class.iter().find(|(leaf, _)| right.leaves & (1 << leaf) != 0);
            if let (Some((_, l)), Some((_, r))) = (l, r) {
                on.push((Expr::Column(l.clone()), Expr::Column(r.clone())));
            }
        }
        let both = left.leaves | right.leaves;
        let mut filters = Vec::new();
        let mut pending = Vec::new();
        for c in self.conditions.drain(..) {
            let applies = c.leaves & !both == 0 && c.leaves & !left.leaves != 0 && c.leaves & !right.leaves != 0;
            if !applies {
                pending.push(c);
                continue;
            }
            match equality_sides(&c.expr, &self.leaves, left.leaves, right.leaves) {
                Some(pair) => on.push(pair),
                None => filters.push(c.expr),
            }
        }
        self.conditions = pending;
        let plan = builder::join(left.plan, right.plan, on, Expr::conjunction(filters), JoinType::Inner);
        Part {
            plan: Arc::new(plan),
            leaves: both,
            rows,
        }
    }
}

/// What joining two parts of `a_rows` and `b_rows` into `rows` costs: its result plus its
/// smaller input (the side that is hashed). With the result alone, two joins estimated alike
/// are a coin toss even when one hashes 400 rows and the other 150,000 (TPC-H q21 probed 3.8
/// million lineitem rows into 729 thousand orders before the 411 suppliers that keep 4% of
/// them).
fn join_cost(rows: f64, a_rows: f64, b_rows: f64) -> f64 {
    rows + a_rows.min(b_rows)
}

/// The one leaf among `leaves` that provides `column` (`None` when none or several do).
fn leaf_providing(leaves: &[Arc<LogicalPlan>], column: &ColumnRef) -> Option<usize> {
    let mut found = leaves
        .iter()
        .enumerate()
        .filter(|(_, l)| l.schema().find(column).ok().flatten().is_some());
    let first = found.next()?.0;
    found.next().is_none().then_some(first)
}

/// `l = r` where `l` only mentions leaves in `left` and `r` only leaves in `right` (or the
/// other way round): the pair, oriented left then right.
fn equality_sides(expr: &Expr, leaves: &[Arc<LogicalPlan>], left: u64, right: u64) -> Option<(Expr, Expr)> {
    let Expr::Binary {
        left: x,
        op: BinaryOp::Eq,
        right: y,
    } = expr
    else {
        return None;
    };
    let mask = |e: &Expr| -> Option<u64> {
        let mut m = 0u64;
        for c in e.columns() {
            let i = leaves
                .iter()
                .position(|l| l.schema().find(&c).ok().flatten().is_some())?;
            m |= 1 << i;
        }
        (m != 0).then_some(m)
    };
    let (mx, my) = (mask(x)?, mask(y)?);
    if mx & !left == 0 && my & !right == 0 {
        Some((x.as_ref().clone(), y.as_ref().clone()))
    } else if mx & !right == 0 && my & !left == 0 {
        Some((y.as_ref().clone(), x.as_ref().clone()))
    } else {
        None
    }
}

/// `a.x = b.y` between plain columns of two different leaves with the same type.
fn column_equality(
    expr: &Expr,
    leaves: &[Arc<LogicalPlan>],
    leaf_of: &dyn Fn(&ColumnRef) -> Option<usize>,
) -> Option<(LeafColumn, LeafColumn)> {
    let Expr::Binary {
        left,
        op: BinaryOp::Eq,
        right,
    } = expr
    else {
        return None;
    };
    let (Expr::Column(a), Expr::Column(b)) = (left.as_ref(), right.as_ref()) else {
        return None;
    };
    let (la, lb) = (leaf_of(a)?, leaf_of(b)?);
    if la == lb {
        return None;
    }
    let type_of = |leaf: usize, c: &ColumnRef| -> Option<arrow::datatypes::DataType> {
        let schema = leaves[leaf].schema();
        let i = schema.find(c).ok().flatten()?;
        Some(schema.field(i).data_type().clone())
    };
    if type_of(la, a)? != type_of(lb, b)? {
        return None;
    }
    // Qualify both so they stay unambiguous wherever the join puts them.
    let qualify = |leaf: usize, c: &ColumnRef| -> Option<ColumnRef> {
        let schema = leaves[leaf].schema();
        Some(schema.column_ref(schema.find(c).ok().flatten()?))
    };
    Some(((la, qualify(la, a)?), (lb, qualify(lb, b)?)))
}

fn member_index(members: &mut Vec<LeafColumn>, m: LeafColumn) -> usize {
    match members.iter().position(|x| *x == m) {
        Some(i) => i,
        None => {
            members.push(m);
            members.len() - 1
        }
    }
}

/// A plain union-find over member indices.
#[derive(Default)]
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn find(&mut self, i: usize) -> usize {
        while self.parent.len() <= i {
            self.parent.push(self.parent.len());
        }
        let mut root = i;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        let mut x = i;
        while self.parent[x] != root {
            let next = self.parent[x];
            self.parent[x] = root;
            x = next;
        }
        root
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
        }
    }
}
