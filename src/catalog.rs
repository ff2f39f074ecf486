//! The catalog: named in-memory tables and views. Names are case-insensitive and keep the
//! spelling they were created with. File sources are not registered: `FROM 'x.csv'` makes a
//! fresh source each time it is bound.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{closest_name, Error, Result};
use crate::logical::plan::{LogicalPlan, MemTable};

/// A SQL view: its query, bound afresh wherever the view is used (so it sees the current
/// tables), and optional column names.
#[derive(Debug, Clone)]
pub struct ViewDef {
    /// The view's query.
    pub query: sqlparser::ast::Query,
    /// Column names given in `CREATE VIEW v(a, b)`.
    pub columns: Vec<String>,
}

/// What a name stands for.
#[derive(Debug, Clone)]
pub enum CatalogEntry {
    /// An in-memory table.
    Table(Arc<MemTable>),
    /// A SQL view.
    View(Arc<ViewDef>),
    /// A lazy frame: a logical plan (DSL bindings).
    Frame(Arc<LogicalPlan>),
}

/// Tables and views by name.
#[derive(Debug, Default)]
pub struct Catalog {
    entries: BTreeMap<String, (String, CatalogEntry)>,
}

impl Catalog {
    /// The entry named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.get(&name.to_lowercase()).map(|(_, e)| e)
    }

    /// The entry named `name`, or an error suggesting the closest existing name.
    pub fn lookup(&self, name: &str) -> Result<&CatalogEntry> {
        self.get(name).ok_or_else(|| {
            let hint = closest_name(name, self.entries.values().map(|(n, _)| n.as_str()))
                .map(|n| format!("\nDid you mean \"{n}\"?"))
                .unwrap_or_default();
            Error::plan(format!(
                "Table with name {name} does not exist!{}",
                hint.replace('\n', " ")
            ))
        })
    }

    /// Adds `entry` as `name`; fails when the name is taken unless `replace`.
    pub fn register(&mut self, name: &str, entry: CatalogEntry, replace: bool) -> Result<()> {
        let key = name.to_lowercase();
        if !replace && self.entries.contains_key(&key) {
            return Err(Error::plan(format!("Table with name \"{name}\" already exists!")));
        }
        self.entries.insert(key, (name.to_string(), entry));
        Ok(())
    }

    /// Removes `name`; errors when absent unless `if_exists`.
    pub fn drop(&mut self, name: &str, if_exists: bool) -> Result<()> {
        match self.entries.remove(&name.to_lowercase()) {
            Some(_) => Ok(()),
            None if if_exists => Ok(()),
            None => Err(Error::plan(format!("Table with name {name} does not exist!"))),
        }
    }

    /// Every name, sorted, as created.
    pub fn names(&self) -> Vec<String> {
        self.entries.values().map(|(n, _)| n.clone()).collect()
    }
}
