//! Session statements beyond queries and tables: PREPARE / EXECUTE / DEALLOCATE,
//! CREATE [UNIQUE] INDEX / DROP INDEX, and the LIMIT/OFFSET expressions computed before a
//! statement is bound (see `frontend::sql::resolve_limits`).

use std::sync::Arc;

use datafusion_common::ScalarValue;
use sqlparser::ast::{self, Statement};

use super::{Session, StatementResult};
use crate::catalog::{CatalogEntry, IndexDef};
use crate::error::{Error, Result};
use crate::frontend::sql;

fn done(message: &str) -> StatementResult {
    StatementResult::Done {
        message: message.into(),
        rows: None,
    }
}

impl Session {
    /// Runs `statement` when it is one of this module's kinds; `None` otherwise.
    pub(super) fn run_session_statement(&mut self, statement: &Statement) -> Result<Option<StatementResult>> {
        Ok(Some(match statement {
            Statement::Prepare {
                name,
                data_types,
                statement,
            } => {
                if !data_types.is_empty() {
                    return Err(Error::not_supported("PREPARE with parameter types"));
                }
                self.prepared.prepare(&name.value, statement.as_ref().clone());
                done("PREPARE")
            }
            Statement::Execute {
                name: Some(name),
                parameters,
                immediate: false,
                into,
                using,
                ..
            } if into.is_empty() && using.is_empty() => {
                let bound = self.prepared.bind(&name.to_string(), parameters)?;
                self.execute_statement(&bound)?
            }
            Statement::Deallocate { name, .. } => {
                self.prepared.deallocate(&name.value);
                done("DEALLOCATE")
            }
            Statement::CreateIndex(ci) => self.create_index(ci)?,
            Statement::Drop {
                object_type: ast::ObjectType::Index,
                names,
                if_exists,
                ..
            } => {
                for name in names {
                    self.catalog.drop_index(&name.to_string(), *if_exists)?;
                }
                done("DROP INDEX")
            }
            _ => return Ok(None),
        }))
    }

    /// `statement` with its LIMIT/OFFSET expressions computed, when it has any.
    /// A view keeps its LIMIT expressions: they are computed afresh at each use.
    pub(super) fn resolve_limits(&mut self, statement: &Statement) -> Result<Option<Statement>> {
        if matches!(statement, Statement::CreateView(_)) {
            return Ok(None);
        }
        sql::resolve_limits(statement, &mut |q| self.scalar_value(q))
    }

    /// The single value of a one-column query (NULL when it has no row).
    fn scalar_value(&mut self, q: &ast::Query) -> Result<ScalarValue> {
        let plan = self.bind(q)?;
        let result = self.run_plan(plan)?;
        match result.batches.iter().find(|b| b.num_rows() > 0) {
            Some(b) => Ok(ScalarValue::try_from_array(b.column(0), 0)?),
            None => Ok(ScalarValue::Null),
        }
    }

    fn create_index(&mut self, ci: &ast::CreateIndex) -> Result<StatementResult> {
        let name = ci
            .name
            .as_ref()
            .map(|n| n.to_string())
            .ok_or_else(|| Error::not_supported("CREATE INDEX without a name"))?;
        if ci.if_not_exists && self.catalog.has_index(&name) {
            return Ok(done("CREATE INDEX"));
        }
        let table_name = ci.table_name.to_string();
        let table = match self.catalog.lookup(&table_name)? {
            CatalogEntry::Table(t) => Arc::clone(t),
            _ => return Err(Error::plan(format!("Cannot create index on {table_name}: not a table"))),
        };
        let mut columns = Vec::with_capacity(ci.columns.len());
        for c in &ci.columns {
            let ast::Expr::Identifier(ident) = &c.column.expr else {
                return Err(Error::not_supported(format!(
                    "CREATE INDEX on the expression {}",
                    c.column.expr
                )));
            };
            let position = table
                .schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(&ident.value))
                .ok_or_else(|| {
                    Error::plan(format!(
                        "Table \"{table_name}\" does not have a column named \"{}\"",
                        ident.value
                    ))
                })?;
            columns.push(position);
        }
        if ci.unique {
            let rows = table.batches().collect::<Result<Vec<_>>>()?;
            crate::unique::check_unique(&rows, &columns)?;
        }
        self.catalog.add_index(IndexDef {
            name,
            table: table_name.to_lowercase(),
            columns,
            unique: ci.unique,
        })?;
        Ok(done("CREATE INDEX"))
    }

    /// Checks the UNIQUE indexes of `table` before `new` rows are added to `existing` ones.
    pub(super) fn check_unique_indexes(
        &self,
        table: &str,
        existing: &[arrow::record_batch::RecordBatch],
        new: &[arrow::record_batch::RecordBatch],
    ) -> Result<()> {
        for index in self.catalog.unique_indexes(table) {
            let Some(first) = existing.iter().chain(new).next() else {
                return Ok(());
            };
            let schema = first.schema();
            let names: Vec<String> = index.columns.iter().map(|&c| schema.field(c).name().clone()).collect();
            crate::unique::check_insert(existing, new, &index.columns, &names)?;
        }
        Ok(())
    }
}
