//! Which columns a plan's output is already hash-partitioned on: every set of rows equal in
//! those columns comes out of one partition. An aggregate whose keys include all of them
//! needs no shuffle of its own: it aggregates each partition once, in the same stage (TPC-H
//! q13 groups a join partitioned on `c_custkey` by `c_custkey`, and used to shuffle the join
//! result on it a second time).
//!
//! Known through hash exchanges on plain columns, projections that keep those columns,
//! filters, and partitioned hash joins, for the side whose key columns cannot come out NULL
//! for rows of the other side (the left side of inner, left, left semi and left anti
//! joins; the right side of right, right semi and right anti joins).

use crate::logical::join_type::JoinType;
use crate::physical::expr::PhysExprRef;
use crate::physical::ops::exchange::{ExchangeExec, Partitioning};
use crate::physical::ops::filter::FilterExec;
use crate::physical::ops::hash_join::{HashJoinExec, JoinMode};
use crate::physical::ops::projection::ProjectionExec;
use crate::physical::plan::PlanRef;

/// Output columns `plan`'s rows are hash-partitioned on; `None` when unknown.
pub fn partitioned_on(plan: &PlanRef) -> Option<Vec<usize>> {
    let any = plan.as_any();
    if let Some(exchange) = any.downcast_ref::<ExchangeExec>() {
        return match &exchange.partitioning {
            Partitioning::Hash(keys, _) if !keys.is_empty() => keys.iter().map(|k| k.column_index()).collect(),
            Partitioning::Forward(_) => partitioned_on(&exchange.input),
            _ => None,
        };
    }
    if let Some(projection) = any.downcast_ref::<ProjectionExec>() {
        let inner = partitioned_on(projection.input())?;
        return inner
            .iter()
            .map(|&col| projection.exprs().iter().position(|e| e.column_index() == Some(col)))
            .collect();
    }
    if any.downcast_ref::<FilterExec>().is_some() {
        return partitioned_on(plan.children().first()?);
    }
    if let Some(join) = any.downcast_ref::<HashJoinExec>() {
        if join.mode() != JoinMode::Partitioned {
            return None;
        }
        let children = plan.children();
        return match join.join_type() {
            JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => {
                partitioned_on(children.first()?)
            }
            JoinType::Right | JoinType::RightSemi | JoinType::RightAnti => {
                let offset = join.probe_column_offset()?;
                let right = partitioned_on(children.get(1)?)?;
                Some(right.into_iter().map(|c| c + offset).collect())
            }
            JoinType::Full => None,
        };
    }
    None
}

/// Whether grouping `plan`'s output by `keys` keeps every group within one partition: the
/// columns it is partitioned on are all plain-column keys.
pub fn groups_stay_in_partitions(plan: &PlanRef, keys: &[PhysExprRef]) -> bool {
    match partitioned_on(plan) {
        Some(columns) => columns
            .iter()
            .all(|c| keys.iter().any(|k| k.column_index() == Some(*c))),
        None => false,
    }
}
