//! Pruning the files of a hive-partitioned source before any is opened: the scan's pushed
//! filters that read only partition columns are evaluated once per file, on a table of the
//! files' partition values, and files where one is not true are not read.

use arrow::array::{Array, BooleanArray};

use crate::error::Result;
use crate::io::FileSource;
use crate::logical::expr::Expr;
use crate::logical::schema::PlanSchema;
use crate::logical::typecheck::TypeOptions;
use crate::physical::planner::lower_expr;

/// Which files of `source` can hold rows passing `filters` (over the scan's output
/// `schema`, whose column `i` is source column `projection[i]`), or `None` when no filter
/// reads only partition columns.
pub fn files_to_read(
    source: &FileSource,
    filters: &[Expr],
    schema: &PlanSchema,
    projection: Option<&[usize]>,
    opts: TypeOptions,
) -> Result<Option<Vec<bool>>> {
    let Some(hive) = &source.hive else {
        return Ok(None);
    };
    let partition_column: Vec<Option<usize>> = (0..schema.len())
        .map(|i| {
            let s = projection.and_then(|p| p.get(i).copied()).unwrap_or(i);
            s.checked_sub(source.data_columns)
        })
        .collect();
    let usable: Vec<Expr> = filters
        .iter()
        .flat_map(|f| f.clone().split_conjunction())
        .filter(|f| {
            let cols = f.columns();
            !cols.is_empty()
                && cols.iter().all(|c| {
                    schema
                        .find(c)
                        .ok()
                        .flatten()
                        .is_some_and(|i| partition_column.get(i).copied().flatten().is_some())
                })
        })
        .collect();
    if usable.is_empty() {
        return Ok(None);
    }
    let table = hive.file_table(schema.arrow(), &partition_column)?;
    let mut keep = vec![true; source.files.len()];
    for f in &usable {
        // A filter that cannot be evaluated here prunes nothing; the scan still applies it.
        let Ok(expr) = lower_expr(f, schema, opts) else {
            continue;
        };
        let Ok(result) = expr.evaluate(&table) else {
            continue;
        };
        let Some(mask) = result.as_any().downcast_ref::<BooleanArray>() else {
            continue;
        };
        for (i, k) in keep.iter_mut().enumerate() {
            *k &= mask.is_valid(i) && mask.value(i);
        }
    }
    Ok(Some(keep))
}
