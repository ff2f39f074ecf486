//! Rule `limit_pushdown`: a LIMIT directly above a sort tells the sort it only needs the
//! first `skip + fetch` rows, so each partition keeps a top-k instead of sorting everything.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use super::OptimizerRule;
use crate::error::Result;
use crate::logical::plan::*;
use crate::logical::typecheck::TypeOptions;

/// See the module documentation.
pub struct LimitPushdown;

impl OptimizerRule for LimitPushdown {
    fn name(&self) -> &'static str {
        "limit_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan, _opts: TypeOptions) -> Result<(LogicalPlan, bool)> {
        let out = plan.transform_down(|node| {
            let LogicalPlan::Limit(limit) = &node else {
                return Ok(Transformed::no(node));
            };
            let Some(fetch) = limit.fetch else {
                return Ok(Transformed::no(node));
            };
            let needed = limit.skip.saturating_add(fetch);
            match limit.input.as_ref() {
                LogicalPlan::Sort(sort) if sort.fetch.is_none_or(|f| f > needed) => {
                    let new_sort = LogicalPlan::Sort(Sort {
                        fetch: Some(needed),
                        ..sort.clone()
                    });
                    Ok(Transformed::yes(LogicalPlan::Limit(Limit {
                        input: Arc::new(new_sort),
                        ..limit.clone()
                    })))
                }
                _ => Ok(Transformed::no(node)),
            }
        })?;
        Ok((out.data, out.transformed))
    }
}
