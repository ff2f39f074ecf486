//! Storing tables: the rows of CREATE TABLE AS, INSERT, UPDATE/DELETE, recursive CTE rounds
//! and persisted frames are written batch by batch into a [`MemTable`], in memory while the
//! pool grants them and spilled to disk when it does not (see [`crate::exec::table`]).
//!
//! Table spill files outlive the query that wrote them, so they go to a spill area of the
//! session's own: one [`SpillManager`] under the configured temp directory, shared by every
//! table written while that setting holds, whose directory goes away with the last file
//! that refers to it (DROP TABLE, CREATE OR REPLACE, the end of the session).

use std::sync::{Arc, Weak};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::Session;
use crate::error::Result;
use crate::exec::spill::SpillManager;
use crate::exec::table::{concat_partitions, TableWriter, WrittenTable};
use crate::logical::plan::{LogicalPlan, MemTable};

/// The name table spill files are counted under in the session's statistics.
const SPILL_LABEL: &str = "Table";

impl Session {
    /// Stores `batches` (of `schema`'s column types) as a new table, pulling them one at a
    /// time: they are dealt round-robin into `target_partitions` partitions and held in
    /// memory while the pool grants their bytes; once it refuses, everything goes to spill
    /// files. The iterator is never collected (e.g. the stream of `run_plan_streaming`).
    pub(crate) fn store_table(
        &self,
        schema: SchemaRef,
        batches: impl Iterator<Item = Result<RecordBatch>>,
    ) -> Result<Arc<MemTable>> {
        let writer = self.table_writer(&schema);
        self.write_table(schema, writer, batches)
    }

    /// A new table holding `table`'s rows (sharing them, nothing is copied) followed by
    /// `batches`, stored like [`Session::store_table`] does.
    pub(crate) fn append_table(
        &self,
        table: &MemTable,
        batches: impl Iterator<Item = Result<RecordBatch>>,
    ) -> Result<Arc<MemTable>> {
        let writer = self
            .table_writer(&table.schema)
            .appending_to(&table.partitions, table.next_partition);
        self.write_table(Arc::clone(&table.schema), writer, batches)
    }

    /// Runs `plan` and stores its rows, relabelled with `schema` (same column types).
    pub(super) fn store_query(&mut self, plan: LogicalPlan, schema: &SchemaRef) -> Result<Arc<MemTable>> {
        let (_, stream) = self.run_plan_streaming(plan)?;
        self.store_table(Arc::clone(schema), stream)
    }

    fn table_writer(&self, schema: &SchemaRef) -> TableWriter {
        TableWriter::new(
            Arc::clone(schema),
            self.config.exec.target_partitions,
            &self.memory,
            self.table_spill(),
            SPILL_LABEL,
        )
    }

    fn write_table(
        &self,
        schema: SchemaRef,
        mut writer: TableWriter,
        batches: impl Iterator<Item = Result<RecordBatch>>,
    ) -> Result<Arc<MemTable>> {
        for batch in batches {
            writer.push(batch?)?;
        }
        let WrittenTable {
            partitions,
            next_partition,
            spilled,
        } = writer.finish()?;
        if spilled.files > 0 {
            if let Ok(mut stats) = self.last_stats.lock() {
                let s = stats.spill.entry(SPILL_LABEL.to_string()).or_default();
                s.files += spilled.files;
                s.bytes += spilled.bytes;
                s.rows += spilled.rows;
            }
        }
        Ok(Arc::new(MemTable {
            schema,
            partitions,
            next_partition,
        }))
    }

    /// The spill area for table files under the current temp directory settings: the one
    /// in use while any file refers to it and the settings are unchanged, else a new one.
    fn table_spill(&self) -> Arc<SpillManager> {
        let base = self.config.exec.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        let max = self.config.exec.max_temp_bytes;
        let mut current = match self.table_spill.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(manager) = current.upgrade() {
            if manager.base() == base && manager.max_bytes() == max {
                return manager;
            }
        }
        let manager = SpillManager::new(Some(base), max);
        *current = Arc::downgrade(&manager);
        manager
    }
}

/// The weak handle a session keeps on its table spill area (see [`Session::store_table`]).
pub(super) type TableSpill = std::sync::Mutex<Weak<SpillManager>>;

/// A table with the rows of `first` then those of `second` (same schema), sharing them.
pub(super) fn concat_tables(first: &MemTable, second: &MemTable) -> Arc<MemTable> {
    Arc::new(MemTable {
        schema: Arc::clone(&first.schema),
        partitions: concat_partitions(&first.partitions, &second.partitions),
        next_partition: first.next_partition,
    })
}
