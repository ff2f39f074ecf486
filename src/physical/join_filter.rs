//! Dynamic join filters: a broadcast hash join, once its build side is in memory, publishes
//! a Bloom filter of the build keys to the scan on its probe side, which drops the rows
//! whose keys cannot match as it reads them. The join would drop them too, but only after
//! they went through every operator between (other joins' probes above all): in TPC-H q08
//! the lineitem rows first probe 91 thousand orders and only then the 1,451 parts that keep
//! 0.7% of them; with the parts' filter at the scan, the orders probe sees 1% of the rows.
//!
//! [`push_join_filters`] wires them at planning: a `CollectLeft` join whose unmatched probe
//! rows produce nothing, with plain-column keys of fixed-width types, gets a [`JoinFilter`],
//! and the scan its probe keys come from (through projections, filters and the probe sides
//! of other such joins, within the stage) gets the filter and the key columns. A filter
//! most rows pass is dropped once that shows ([`PassRate`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, BooleanArray};
use arrow::buffer::BooleanBuffer;
use arrow::compute::filter_record_batch;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::exec::shuffle::hash_rows;
use crate::physical::ops::filter::FilterExec;
use crate::physical::ops::hash_join::bloom::{KeyBloom, PassRate};
use crate::physical::ops::hash_join::{key_validity, HashJoinExec, JoinMode};
use crate::physical::ops::projection::ProjectionExec;
use crate::physical::ops::scan::ScanExec;
use crate::physical::plan::{ExecutionPlan, PlanRef};

/// The filter a join publishes for its probe side's scan.
#[derive(Debug, Default)]
pub struct JoinFilter {
    bloom: OnceLock<Arc<KeyBloom>>,
    pass_rate: PassRate,
    /// The join keys (positions in its key list) the filter is over; all when `None`.
    build_keys: Option<Vec<usize>>,
}

impl JoinFilter {
    /// A filter over the join keys at `positions` of the join's key list alone (the probe
    /// side's scan has only those).
    pub fn on_keys(positions: Vec<usize>) -> Self {
        Self {
            build_keys: Some(positions),
            ..Self::default()
        }
    }

    /// The join keys the filter is over (positions in the join's key list); `None` for all.
    pub fn build_keys(&self) -> Option<&[usize]> {
        self.build_keys.as_deref()
    }

    /// Publishes the build keys' filter (once; later calls are ignored).
    pub fn publish(&self, bloom: Arc<KeyBloom>) {
        let _ = self.bloom.set(bloom);
    }

    /// Whether the filter is published and still pays for checking.
    pub fn is_active(&self) -> bool {
        self.bloom.get().is_some() && self.pass_rate.is_useful()
    }

    /// Which rows of `batch` to keep: those whose `keys` (its columns) may match the build
    /// side, with no NULL among them. `None` while nothing is published, once the filter
    /// stopped paying, or when every row passes.
    pub fn mask(&self, batch: &RecordBatch, keys: &[usize]) -> Result<Option<BooleanArray>> {
        let Some(bloom) = self.bloom.get() else {
            return Ok(None);
        };
        if !self.pass_rate.is_useful() || batch.num_rows() == 0 {
            return Ok(None);
        }
        let columns: Vec<ArrayRef> = keys.iter().map(|&i| Arc::clone(batch.column(i))).collect();
        let rows = batch.num_rows();
        let mut hashes = Vec::with_capacity(rows);
        hash_rows(&columns, rows, &mut hashes)?;
        let valid = key_validity(&columns);
        let keep = BooleanArray::new(
            BooleanBuffer::collect_bool(rows, |row| {
                valid.as_ref().is_none_or(|v| v.is_valid(row)) && bloom.may_contain(hashes[row])
            }),
            None,
        );
        let passed = keep.true_count();
        self.pass_rate.record(rows, passed);
        Ok((passed < rows).then_some(keep))
    }

    /// `batch` without the rows whose `keys` (its columns) cannot match the build side, or
    /// with NULL in any of them. Unchanged while nothing is published or once the filter
    /// stopped paying.
    pub fn apply(&self, batch: RecordBatch, keys: &[usize]) -> Result<RecordBatch> {
        match self.mask(&batch, keys)? {
            Some(keep) => Ok(filter_record_batch(&batch, &keep)?),
            None => Ok(batch),
        }
    }
}

/// Key types a filter is published for: their hash is the same whatever operator computes
/// it (strings may reach a scan's output dictionary-encoded, floats are canonicalized).
fn filterable(data_type: &DataType) -> bool {
    data_type.is_integer()
        || matches!(
            data_type,
            DataType::Date32 | DataType::Date64 | DataType::Decimal128(_, _) | DataType::Decimal256(_, _)
        )
}

/// Where columns of a node's output come from in one of its children: the child's index
/// and the columns there; `None` when some column is computed, comes from a build side, or
/// the node is not one the filters pass through.
fn through(plan: &PlanRef, columns: &[usize]) -> Option<(usize, Vec<usize>)> {
    let any = plan.as_any();
    if let Some(p) = any.downcast_ref::<ProjectionExec>() {
        let mapped = columns
            .iter()
            .map(|&c| p.exprs().get(c)?.column_index())
            .collect::<Option<Vec<usize>>>()?;
        return Some((0, mapped));
    }
    if any.downcast_ref::<FilterExec>().is_some() {
        return Some((0, columns.to_vec()));
    }
    if let Some(join) = any.downcast_ref::<HashJoinExec>() {
        if join.mode() != JoinMode::CollectLeft {
            return None;
        }
        // Columns past the build side's are the probe side's (in join types that output both).
        let offset = join.probe_column_offset()?;
        let mapped = columns
            .iter()
            .map(|&c| c.checked_sub(offset))
            .collect::<Option<Vec<usize>>>()?;
        return Some((1, mapped));
    }
    None
}

/// Whether `columns` of `plan`'s output can be traced to a scan through [`through`],
/// passing no subtree that has other parents (see [`is_shared`]).
fn reaches_scan(plan: &PlanRef, columns: &[usize]) -> bool {
    if is_shared(plan) {
        return false;
    }
    if plan.as_any().downcast_ref::<ScanExec>().is_some() {
        return true;
    }
    match through(plan, columns) {
        Some((child, mapped)) => plan.children().get(child).is_some_and(|c| reaches_scan(c, &mapped)),
        None => false,
    }
}

/// A filter on its way down to a scan: the columns of the current node's output it reads.
struct Pending {
    filter: Arc<JoinFilter>,
    columns: Vec<usize>,
}

/// Gives every eligible broadcast join of `plan` a [`JoinFilter`] and the scan on its probe
/// side the filter to apply (see the module documentation). A subtree shared by several
/// parents takes no filter from above (each parent's would hold for the others' rows
/// too) and is rewritten once, so its parents still share it.
pub fn push_join_filters(plan: PlanRef) -> Result<PlanRef> {
    rewrite(plan, Vec::new(), false, &mut HashMap::new())
}

/// Whether a node has parents other than the one it was reached from (a subtree the
/// planner shares, see [`crate::physical::shared_subplans`]): rewriting it for one parent
/// would run it twice.
fn is_shared(plan: &PlanRef) -> bool {
    Arc::strong_count(plan) > 1
}

/// The rewritten shared subtrees, by the address of the original.
type RewrittenShared = HashMap<usize, PlanRef>;

/// Rewrites `plan` with `pending` filters to place; `shared` when it has other parents
/// (then it takes none of them, and is rewritten once for all its parents).
fn rewrite(plan: PlanRef, pending: Vec<Pending>, shared: bool, done: &mut RewrittenShared) -> Result<PlanRef> {
    if shared {
        let address = crate::exec::op_metrics::node_key(&plan);
        if let Some(rewritten) = done.get(&address) {
            return Ok(Arc::clone(rewritten));
        }
        let rewritten = rewrite(Arc::clone(&plan), Vec::new(), false, done)?;
        done.insert(address, Arc::clone(&rewritten));
        return Ok(rewritten);
    }
    if let Some(scan) = plan.as_any().downcast_ref::<ScanExec>() {
        if pending.is_empty() {
            return Ok(plan);
        }
        let filters = pending.into_iter().map(|p| (p.filter, p.columns)).collect();
        return Ok(Arc::new(scan.with_join_filters(filters)));
    }
    let mut own: Option<Arc<JoinFilter>> = None;
    let mut to_children: Vec<Vec<Pending>> = plan.children().iter().map(|_| Vec::new()).collect();
    for p in pending {
        if let Some((child, columns)) = through(&plan, &p.columns) {
            if let Some(slot) = to_children.get_mut(child) {
                slot.push(Pending {
                    filter: p.filter,
                    columns,
                });
            }
        }
    }
    if let Some(join) = plan.as_any().downcast_ref::<HashJoinExec>() {
        let reaching = plan
            .children()
            .get(1)
            .and_then(|probe| eligible_probe_keys(join).and_then(|keys| keys_reaching_scan(probe, &keys)));
        if let Some((positions, keys)) = reaching {
            let filter = Arc::new(if positions.len() == join.on().len() {
                JoinFilter::default()
            } else {
                JoinFilter::on_keys(positions)
            });
            // Ahead of the filters of the joins above: the scan applies them in order,
            // and the join nearest the scan is the one the optimizer judged most selective.
            to_children[1].insert(
                0,
                Pending {
                    filter: Arc::clone(&filter),
                    columns: keys,
                },
            );
            own = Some(filter);
        }
    }
    // Judged before the children are cloned below (each clone is one more reference).
    let shared_children: Vec<bool> = plan.children().into_iter().map(is_shared).collect();
    let children: Vec<PlanRef> = plan.children().into_iter().cloned().collect();
    let mut changed = false;
    let mut new_children = Vec::with_capacity(children.len());
    for ((child, pending), shared) in children.into_iter().zip(to_children).zip(shared_children) {
        let new = rewrite(Arc::clone(&child), pending, shared, done)?;
        changed |= !Arc::ptr_eq(&new, &child);
        new_children.push(new);
    }
    let plan = if changed {
        plan.with_new_children(new_children)?
    } else {
        plan
    };
    Ok(match own {
        Some(filter) => match plan.as_any().downcast_ref::<HashJoinExec>() {
            Some(join) => Arc::new(join.with_join_filter(filter)),
            None => plan,
        },
        None => plan,
    })
}

/// The probe key columns of a join that may publish a filter, per key (`None` for a key
/// that is computed or of a type no filter is published for): a broadcast join whose
/// unmatched probe rows produce nothing.
fn eligible_probe_keys(join: &HashJoinExec) -> Option<Vec<Option<usize>>> {
    if join.mode() != JoinMode::CollectLeft || join.emits_unmatched_probe() || join.on().is_empty() {
        return None;
    }
    let probe_schema = join.children().get(1)?.schema();
    Some(
        join.on()
            .iter()
            .map(|(_, r)| {
                let index = r.column_index()?;
                probe_schema
                    .fields()
                    .get(index)
                    .filter(|f| filterable(f.data_type()))
                    .map(|_| index)
            })
            .collect(),
    )
}

/// The keys a filter for the scan below `probe` can be over: all of `keys` (the probe
/// columns of each join key, `None` for one no filter can be over) when they reach one
/// scan, else those that reach it together, else the first that reaches one alone (TPC-H
/// q05 joins suppliers on their nation and key, and only the key comes from lineitem).
/// Their positions among the join keys, and their probe columns.
fn keys_reaching_scan(probe: &PlanRef, keys: &[Option<usize>]) -> Option<(Vec<usize>, Vec<usize>)> {
    let usable: Vec<(usize, usize)> = keys
        .iter()
        .enumerate()
        .filter_map(|(position, column)| column.map(|c| (position, c)))
        .collect();
    let split = |pairs: &[(usize, usize)]| -> (Vec<usize>, Vec<usize>) { pairs.iter().copied().unzip() };
    let (positions, columns) = split(&usable);
    if !columns.is_empty() && reaches_scan(probe, &columns) {
        return Some((positions, columns));
    }
    let reaching: Vec<(usize, usize)> = usable
        .iter()
        .copied()
        .filter(|&(_, c)| reaches_scan(probe, &[c]))
        .collect();
    let (positions, columns) = split(&reaching);
    if reaching.len() > 1 && reaches_scan(probe, &columns) {
        return Some((positions, columns));
    }
    reaching
        .first()
        .map(|&(position, column)| (vec![position], vec![column]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    fn batch(keys: Vec<Option<i64>>) -> RecordBatch {
        let names: Vec<String> = (0..keys.len()).map(|i| format!("row{i}")).collect();
        let schema = Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("k", DataType::Int64, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(names)), Arc::new(Int64Array::from(keys))],
        )
        .unwrap()
    }

    fn bloom_of(keys: &[i64]) -> Arc<KeyBloom> {
        let array: ArrayRef = Arc::new(Int64Array::from(keys.to_vec()));
        let mut hashes = Vec::new();
        hash_rows(&[array], keys.len(), &mut hashes).unwrap();
        Arc::new(KeyBloom::of_hashes(&hashes, None, false))
    }

    #[test]
    fn rows_whose_keys_cannot_match_and_null_keys_are_dropped() {
        let filter = JoinFilter::default();
        let input = batch(vec![Some(1), Some(2), None, Some(3), Some(1_000_000), Some(3)]);
        // Nothing published yet: every row stays.
        assert_eq!(filter.apply(input.clone(), &[1]).unwrap().num_rows(), 6);
        filter.publish(bloom_of(&[3, 1, 42]));
        let out = filter.apply(input, &[1]).unwrap();
        let keys = out.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        // A Bloom filter may let a non-member through; with 3 keys in 128 bits these do not.
        assert_eq!(keys.iter().collect::<Vec<_>>(), vec![Some(1), Some(3), Some(3)]);
        let names = out.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            vec![Some("row0"), Some("row3"), Some("row5")]
        );
    }

    #[test]
    fn a_filter_nearly_every_row_passes_is_dropped() {
        let filter = JoinFilter::default();
        filter.publish(bloom_of(&(0..1000).collect::<Vec<_>>()));
        let all_match = batch((0..1000).map(|i| Some(i % 1000)).collect());
        for _ in 0..70 {
            assert_eq!(filter.apply(all_match.clone(), &[1]).unwrap().num_rows(), 1000);
        }
        // Past 64k rows at a 100% pass rate the filter stops filtering, even rows it would drop.
        let none_match = batch((0..10).map(|i| Some(5000 + i)).collect());
        assert_eq!(filter.apply(none_match, &[1]).unwrap().num_rows(), 10);
    }

    #[test]
    fn only_fixed_width_keys_are_filterable() {
        assert!(filterable(&DataType::Int64));
        assert!(filterable(&DataType::Date32));
        assert!(filterable(&DataType::Decimal128(15, 2)));
        assert!(!filterable(&DataType::Utf8));
        assert!(!filterable(&DataType::Float64));
    }
}
