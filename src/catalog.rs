//! The catalog: named in-memory tables and views. Names are case-insensitive and keep the
//! spelling they were created with. File sources are not registered: `FROM 'x.csv'` makes a
//! fresh source each time it is bound.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};

use crate::error::{closest_name, Error, Result};
use crate::logical::plan::{LogicalPlan, MemTable, TableSource};

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

/// Tables and views by name, and the indexes on the tables.
#[derive(Debug, Default)]
pub struct Catalog {
    entries: BTreeMap<String, (String, CatalogEntry)>,
    indexes: BTreeMap<String, IndexDef>,
    remote_files: RemoteFilesHook,
}

/// Reads the schema of files only a Spark cluster can reach (remote mode: `s3a://…`, or a
/// path on the cluster's own filesystem).
pub trait RemoteFiles: Send + Sync {
    /// The schema Spark reads from `location` in `format`.
    fn schema(&self, location: &str, format: crate::io::FileFormat) -> Result<arrow::datatypes::SchemaRef>;
}

#[derive(Default, Clone)]
struct RemoteFilesHook(Option<Arc<dyn RemoteFiles>>);

impl std::fmt::Debug for RemoteFilesHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RemoteFiles(set)"
        } else {
            "RemoteFiles(none)"
        })
    }
}

/// `CREATE [UNIQUE] INDEX name ON table(columns)`: an index changes no query result in rask;
/// a UNIQUE one is a constraint that INSERT checks.
#[derive(Debug, Clone)]
pub struct IndexDef {
    /// The index's name as created.
    pub name: String,
    /// The indexed table (lower case).
    pub table: String,
    /// The indexed column positions in the table.
    pub columns: Vec<usize>,
    /// UNIQUE: no two rows without NULLs in the columns may agree on them.
    pub unique: bool,
}

impl Catalog {
    /// Where to ask for the schema of files rask cannot read itself (remote mode), if anywhere.
    pub fn set_remote_files(&mut self, remote: Option<Arc<dyn RemoteFiles>>) {
        self.remote_files = RemoteFilesHook(remote);
    }

    /// The remote-mode schema reader, when remote mode is on.
    pub fn remote_files(&self) -> Option<&Arc<dyn RemoteFiles>> {
        self.remote_files.0.as_ref()
    }

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

    /// `plan` (a frame bound earlier) with each scan of a catalog table reading the table's
    /// current rows, so a frame sees rows inserted, updated or deleted since, as a view does.
    /// Scans of tables since dropped or re-created with other columns stay as they were.
    pub fn refresh(&self, plan: &LogicalPlan) -> Result<LogicalPlan> {
        let out = plan.clone().transform_up(|node| {
            let LogicalPlan::Scan(scan) = &node else {
                return Ok(Transformed::no(node));
            };
            let TableSource::Memory(bound) = &scan.source else {
                return Ok(Transformed::no(node));
            };
            let is_catalog_table = scan.schema.qualifier(0).is_some_and(|q| q == scan.table_name);
            match self.get(&scan.table_name) {
                Some(CatalogEntry::Table(current))
                    if is_catalog_table && !Arc::ptr_eq(current, bound) && current.schema == bound.schema =>
                {
                    let mut fresh = scan.clone();
                    fresh.source = TableSource::Memory(Arc::clone(current));
                    Ok(Transformed::yes(LogicalPlan::Scan(fresh)))
                }
                _ => Ok(Transformed::no(node)),
            }
        })?;
        Ok(out.data)
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

    /// Removes `name` (and its indexes); errors when absent unless `if_exists`.
    pub fn drop(&mut self, name: &str, if_exists: bool) -> Result<()> {
        let key = name.to_lowercase();
        match self.entries.remove(&key) {
            Some(_) => {
                self.indexes.retain(|_, i| i.table != key);
                Ok(())
            }
            None if if_exists => Ok(()),
            None => Err(Error::plan(format!("Table with name {name} does not exist!"))),
        }
    }

    /// Every name, sorted, as created.
    pub fn names(&self) -> Vec<String> {
        self.entries.values().map(|(n, _)| n.clone()).collect()
    }

    /// Adds an index; fails when the name is taken.
    pub fn add_index(&mut self, index: IndexDef) -> Result<()> {
        let key = index.name.to_lowercase();
        if self.indexes.contains_key(&key) {
            return Err(Error::plan(format!(
                "Index with name \"{}\" already exists!",
                index.name
            )));
        }
        self.indexes.insert(key, index);
        Ok(())
    }

    /// True when an index is named `name`.
    pub fn has_index(&self, name: &str) -> bool {
        self.indexes.contains_key(&name.to_lowercase())
    }

    /// Removes the index `name`; errors when absent unless `if_exists`.
    pub fn drop_index(&mut self, name: &str, if_exists: bool) -> Result<()> {
        match self.indexes.remove(&name.to_lowercase()) {
            Some(_) => Ok(()),
            None if if_exists => Ok(()),
            None => Err(Error::plan(format!("Index with name {name} does not exist!"))),
        }
    }

    /// The UNIQUE indexes on `table`.
    pub fn unique_indexes(&self, table: &str) -> Vec<&IndexDef> {
        let key = table.to_lowercase();
        self.indexes.values().filter(|i| i.unique && i.table == key).collect()
    }
}
