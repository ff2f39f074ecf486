//! Cardinality estimates: rough row counts and output sizes of logical plans, used to order
//! joins, to pick the build side of a hash join and to decide when to broadcast. File scans
//! start from the source's statistics (exact for Parquet, from the file size for CSV),
//! tables from their row counts; filters on a Parquet column scale by what its metadata
//! says (the share of the row groups' min/max ranges a range covers, one over the
//! dictionary size for an equality), other filters, aggregates and joins by fixed
//! selectivities.

use arrow::datatypes::DataType;

use crate::io::{ColumnPredicate, PredicateOp};
use crate::logical::expr::{BinaryOp, Expr};
use crate::logical::join_type::JoinType;
use crate::logical::plan::*;

/// A rough row count for planning.
pub fn estimate_rows(plan: &LogicalPlan) -> f64 {
    match plan {
        LogicalPlan::Scan(s) => {
            let base = match &s.source {
                TableSource::File(f) => {
                    let st = f.statistics();
                    st.num_rows.map(|r| r as f64).unwrap_or(st.total_bytes as f64 / 64.0)
                }
                TableSource::Memory(m) => m.num_rows() as f64,
            };
            base * scan_selectivity(s)
        }
        LogicalPlan::Filter(f) => {
            let selectivity: f64 = f
                .predicate
                .clone()
                .split_conjunction()
                .iter()
                .map(filter_selectivity)
                .product();
            estimate_rows(&f.input) * selectivity
        }
        LogicalPlan::Aggregate(a) if a.group_exprs.is_empty() => 1.0,
        LogicalPlan::Aggregate(a) => estimate_rows(&a.input) * 0.2,
        LogicalPlan::Join(j) => {
            let (left, right) = (estimate_rows(&j.left), estimate_rows(&j.right));
            match j.join_type {
                // A semi join keeps at most the rows of its side that find a match.
                JoinType::LeftSemi => left.min(right),
                JoinType::RightSemi => right.min(left),
                JoinType::LeftAnti => left,
                JoinType::RightAnti => right,
                JoinType::Inner if !j.on.is_empty() => equi_join_rows(j, left, right),
                JoinType::Left if !j.on.is_empty() => equi_join_rows(j, left, right).max(left),
                JoinType::Right if !j.on.is_empty() => equi_join_rows(j, left, right).max(right),
                _ => left.max(right),
            }
        }
        LogicalPlan::Limit(l) => l.fetch.map(|f| f as f64).unwrap_or_else(|| estimate_rows(&l.input)),
        LogicalPlan::Values(v) => v.rows.len() as f64,
        LogicalPlan::EmptyRelation(_) => 1.0,
        LogicalPlan::Range(r) => r.count as f64,
        LogicalPlan::Union(u) => u.inputs.iter().map(|i| estimate_rows(i)).sum(),
        other => other.inputs().first().map(|i| estimate_rows(i)).unwrap_or(1.0),
    }
}

/// The fraction of rows a scan's filters keep. On a Parquet source, range conditions on
/// one column (`x >= a AND x < b`, `x BETWEEN a AND b`) are estimated together from the row
/// groups' min/max statistics, and equalities (`x = a`, `x IN (a, b)`) from the column's
/// dictionary sizes (see [`crate::io::parquet_stats`]); the rest, and what the statistics
/// cannot tell, take [`filter_selectivity`]'s fixed guesses.
fn scan_selectivity(s: &Scan) -> f64 {
    let source = match &s.source {
        TableSource::File(f) => Some(f),
        TableSource::Memory(_) => None,
    };
    let mut selectivity = 1.0;
    let mut ranges: Vec<(usize, Vec<ColumnPredicate>, f64)> = Vec::new();
    for conjunct in s.filters.iter().flat_map(|f| f.clone().split_conjunction()) {
        let guess = filter_selectivity(&conjunct);
        let Some(source) = source else {
            selectivity *= guess;
            continue;
        };
        if let Some((column, values)) = s.equality_count(&conjunct) {
            let measured = source.equal_fraction(column).map(|f| (f * values as f64).min(1.0));
            selectivity *= measured.unwrap_or(guess);
            continue;
        }
        let predicates = s.conjunct_predicates(&conjunct);
        let column = predicates.first().map(|p| p.column);
        let one_range = predicates
            .iter()
            .all(|p| p.op != PredicateOp::Eq && Some(p.column) == column);
        match column {
            Some(column) if one_range => match ranges.iter_mut().find(|(c, _, _)| *c == column) {
                Some((_, on_column, guesses)) => {
                    on_column.extend(predicates);
                    *guesses *= guess;
                }
                None => ranges.push((column, predicates, guess)),
            },
            _ => selectivity *= guess,
        }
    }
    for (column, predicates, guess) in ranges {
        let measured = source.and_then(|f| f.range_fraction(column, &predicates));
        selectivity *= measured.unwrap_or(guess);
    }
    selectivity
}

/// Rows of an equi-join by the textbook estimate |L ⋈ R| = |L|·|R| / ndv, where the key's
/// distinct values are bounded by the smaller side's unfiltered table (a foreign key has at
/// most as many distinct values as the key it references) and by each side's rows.
fn equi_join_rows(j: &Join, left: f64, right: f64) -> f64 {
    let ndv = unfiltered_rows(&j.left).min(unfiltered_rows(&j.right));
    let divisor = ndv.min(left).max(ndv.min(right)).max(1.0);
    (left * right / divisor).max(1.0)
}

/// Rows of the tables under `plan` before any filter: a bound on the distinct values of a
/// column it reads (for a join, of its larger input, where the key may come from).
pub fn unfiltered_rows(plan: &LogicalPlan) -> f64 {
    match plan {
        LogicalPlan::Filter(f) => unfiltered_rows(&f.input),
        LogicalPlan::Projection(p) => unfiltered_rows(&p.input),
        LogicalPlan::SubqueryAlias(a) => unfiltered_rows(&a.input),
        LogicalPlan::Join(j) => unfiltered_rows(&j.left).max(unfiltered_rows(&j.right)),
        LogicalPlan::Scan(s) => {
            let unfiltered = LogicalPlan::Scan(Scan {
                filters: vec![],
                ..s.clone()
            });
            estimate_rows(&unfiltered)
        }
        other => estimate_rows(other),
    }
}

/// A rough size in bytes of `plan`'s output, for broadcast and build-side decisions.
pub fn estimate_bytes(plan: &LogicalPlan) -> u64 {
    estimate_bytes_of(plan, estimate_rows(plan))
}

/// [`estimate_bytes`] of `plan` when its rows are already estimated as `rows`.
pub fn estimate_bytes_of(plan: &LogicalPlan, rows: f64) -> u64 {
    let width: u64 = plan
        .schema()
        .arrow()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Binary => 24,
            DataType::Decimal128(_, _) => 16,
            DataType::Boolean | DataType::Int8 | DataType::UInt8 => 1,
            DataType::Int16 | DataType::UInt16 => 2,
            DataType::Int32 | DataType::UInt32 | DataType::Float32 | DataType::Date32 => 4,
            _ => 8,
        })
        .sum::<u64>()
        .max(1);
    (rows * width as f64) as u64
}

/// The assumed fraction of rows that pass one conjunct of a filter: fixed guesses for
/// comparisons, combined through AND (product) and OR (as for independent events).
pub fn filter_selectivity(conjunct: &Expr) -> f64 {
    match conjunct {
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => filter_selectivity(left) * filter_selectivity(right),
        Expr::Binary {
            op: BinaryOp::Or,
            left,
            right,
        } => {
            let (a, b) = (filter_selectivity(left), filter_selectivity(right));
            a + b - a * b
        }
        Expr::Binary { op: BinaryOp::Eq, .. } => 0.1,
        Expr::Like { negated: false, .. } => 0.1,
        Expr::Like { negated: true, .. } => 0.9,
        // Both bounds of a range: about as selective as the two comparisons together.
        Expr::Between { negated: false, .. } => 0.33 * 0.33,
        Expr::Between { negated: true, .. } => 1.0 - 0.33 * 0.33,
        Expr::Binary {
            op: BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq,
            ..
        } => 0.33,
        _ => 0.5,
    }
}
