//! `*` with DuckDB's modifiers: `* EXCLUDE (a, t.b)` (also BigQuery's `* EXCEPT (a)`) leaves
//! columns out, `* REPLACE (expr AS a)` computes a column in its place, and
//! `* RENAME (a AS b)` renames one; `t.*` takes them too.

use sqlparser::ast::{self, ExcludeSelectItem, RenameSelectItem, WildcardAdditionalOptions};

use super::expr::ident_name;
use super::Binder;
use crate::error::{Error, Result};
use crate::logical::expr::Expr;
use crate::logical::schema::{ColumnRef, PlanSchema};

impl Binder<'_> {
    /// The select items `*` (or `t.*`) stands for: the columns of `scope` at `columns`, with
    /// `options` applied.
    pub(super) fn expand_star(
        &self,
        options: &WildcardAdditionalOptions,
        scope: &PlanSchema,
        columns: Vec<usize>,
    ) -> Result<Vec<Expr>> {
        if let Some(ilike) = &options.opt_ilike {
            return Err(Error::not_supported(format!("* {ilike}")));
        }
        let find = |name: &ColumnRef, list: &str| -> Result<usize> {
            columns
                .iter()
                .copied()
                .find(|&i| {
                    scope.field(i).name().eq_ignore_ascii_case(&name.name)
                        && name
                            .qualifier
                            .as_ref()
                            .is_none_or(|q| scope.qualifier(i).is_some_and(|fq| fq.eq_ignore_ascii_case(q)))
                })
                .ok_or_else(|| Error::plan(format!("Column \"{name}\" in {list} list not found in FROM clause")))
        };
        let mut excluded: Vec<usize> = Vec::new();
        let excludes: Vec<ColumnRef> = match &options.opt_exclude {
            Some(ExcludeSelectItem::Single(name)) => vec![object_column(name)],
            Some(ExcludeSelectItem::Multiple(names)) => names.iter().map(object_column).collect(),
            None => Vec::new(),
        };
        for name in &excludes {
            excluded.push(find(name, "EXCLUDE")?);
        }
        if let Some(except) = &options.opt_except {
            for ident in std::iter::once(&except.first_element).chain(&except.additional_elements) {
                excluded.push(find(&ColumnRef::new(ident_name(ident)), "EXCEPT")?);
            }
        }
        let mut replaced: Vec<(usize, Expr)> = Vec::new();
        if let Some(replace) = &options.opt_replace {
            for element in &replace.items {
                let name = ident_name(&element.column_name);
                let i = find(&ColumnRef::new(name.clone()), "REPLACE")?;
                replaced.push((i, self.bind_expr(&element.expr, scope)?.alias(name)));
            }
        }
        let mut renamed: Vec<(usize, String)> = Vec::new();
        let renames: Vec<&ast::IdentWithAlias> = match &options.opt_rename {
            Some(RenameSelectItem::Single(r)) => vec![r],
            Some(RenameSelectItem::Multiple(rs)) => rs.iter().collect(),
            None => Vec::new(),
        };
        for r in renames {
            let i = find(&ColumnRef::new(ident_name(&r.ident)), "RENAME")?;
            renamed.push((i, ident_name(&r.alias)));
        }
        let items: Vec<Expr> = columns
            .into_iter()
            .filter(|i| !excluded.contains(i))
            .map(|i| {
                let column = Expr::Column(scope.column_ref(i));
                match (
                    replaced.iter().find(|(r, _)| *r == i),
                    renamed.iter().find(|(r, _)| *r == i),
                ) {
                    (Some((_, e)), _) => e.clone(),
                    (None, Some((_, name))) => column.alias(name.clone()),
                    (None, None) => column,
                }
            })
            .collect();
        if items.is_empty() {
            return Err(Error::plan("SELECT list is empty after resolving * expressions!"));
        }
        Ok(items)
    }
}

/// A column named by `a` or `t.a`.
fn object_column(name: &ast::ObjectName) -> ColumnRef {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [.., q, n] => ColumnRef::qualified(q.clone(), n.clone()),
        [n] => ColumnRef::new(n.clone()),
        [] => ColumnRef::new(name.to_string()),
    }
}
