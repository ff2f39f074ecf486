//! Remote mode: rask parses, binds and optimizes a query as always, then an Apache Spark
//! cluster runs it through Spark Connect (`rask --remote sc://host:15002`). The plan goes out
//! as Spark SQL ([`render`]); the results come back as Arrow batches into rask's own
//! formatters, `-o` files and pipelines. The gRPC client needs `--features spark` (its code
//! is generated with `protoc`); without it, remote mode still renders and explains queries
//! and says how to get a build that can send them.

#[cfg(feature = "spark")]
pub mod client;
pub mod endpoint;
pub mod render;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;

pub use endpoint::Endpoint;

use crate::error::{Error, Result};
use crate::physical::plan::BatchStream;
use render::SparkQuery;

/// A session's link to its Spark Connect server: connected on first use, and again when
/// the endpoint changes.
#[derive(Default)]
pub struct Connection {
    #[cfg(feature = "spark")]
    client: Option<client::Client>,
}

impl Connection {
    /// Runs `query` (its setup statements first) on `endpoint` and streams the rows, with
    /// the schema Spark sent (`None` when it sent no Arrow data at all).
    pub fn run(
        &mut self,
        endpoint: &Endpoint,
        query: &SparkQuery,
        cancel: Arc<AtomicBool>,
    ) -> Result<(Option<SchemaRef>, BatchStream)> {
        self.run_impl(endpoint, query, cancel)
    }

    #[cfg(feature = "spark")]
    fn run_impl(
        &mut self,
        endpoint: &Endpoint,
        query: &SparkQuery,
        cancel: Arc<AtomicBool>,
    ) -> Result<(Option<SchemaRef>, BatchStream)> {
        let client = self.client(endpoint)?;
        for statement in &query.setup {
            client.run_statement(statement, &cancel)?;
        }
        let (schema, batches) = client.query(&query.query, &cancel)?;
        Ok((schema, Box::new(batches)))
    }

    #[cfg(not(feature = "spark"))]
    fn run_impl(
        &mut self,
        endpoint: &Endpoint,
        _: &SparkQuery,
        _: Arc<AtomicBool>,
    ) -> Result<(Option<SchemaRef>, BatchStream)> {
        Err(not_built(endpoint))
    }

    /// The schema Spark reads from `relation` (`parquet.`s3a://…``), for files rask cannot
    /// open itself.
    pub fn relation_schema(
        &mut self,
        endpoint: &Endpoint,
        relation: &str,
        cancel: Arc<AtomicBool>,
    ) -> Result<SchemaRef> {
        let sql = format!("SELECT * FROM {relation} LIMIT 0");
        let query = SparkQuery {
            setup: vec![],
            query: sql,
        };
        let (schema, rows) = self.run(endpoint, &query, cancel)?;
        for batch in rows {
            batch?;
        }
        schema.ok_or_else(|| Error::Connection(format!("{endpoint} sent no schema for {relation}")))
    }

    #[cfg(feature = "spark")]
    fn client(&mut self, endpoint: &Endpoint) -> Result<&client::Client> {
        if self.client.as_ref().is_some_and(|c| c.endpoint() != endpoint) {
            self.client = None;
        }
        if self.client.is_none() {
            self.client = Some(client::Client::connect(endpoint)?);
        }
        self.client
            .as_ref()
            .ok_or_else(|| Error::internal("remote: no client after connecting"))
    }
}

/// Asks the cluster for the schema of files rask cannot read itself (the binder's hook, see
/// [`crate::catalog::RemoteFiles`]).
pub struct RemoteSchemas {
    connection: Arc<Mutex<Connection>>,
    endpoint: Endpoint,
    cancel: Arc<AtomicBool>,
}

impl RemoteSchemas {
    /// Schemas from `endpoint` over `connection`; `cancel` interrupts the request.
    pub fn new(connection: Arc<Mutex<Connection>>, endpoint: Endpoint, cancel: Arc<AtomicBool>) -> Self {
        RemoteSchemas {
            connection,
            endpoint,
            cancel,
        }
    }
}

impl crate::catalog::RemoteFiles for RemoteSchemas {
    fn schema(&self, location: &str, format: crate::io::FileFormat) -> Result<SchemaRef> {
        let path = render::quote_identifier(&render::cluster_path(location)?);
        let relation = match format {
            crate::io::FileFormat::Parquet => format!("parquet.{path}"),
            crate::io::FileFormat::Json => format!("json.{path}"),
            other => {
                return Err(Error::not_supported(format!(
                    "{other:?} files only the cluster can read (their header and types are rask's to \
                     detect); use Parquet or JSON there"
                )))
            }
        };
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| Error::internal("remote connection lock poisoned"))?;
        connection.relation_schema(&self.endpoint, &relation, Arc::clone(&self.cancel))
    }
}

/// The error of a rask built without Spark Connect support.
#[cfg(not(feature = "spark"))]
fn not_built(endpoint: &Endpoint) -> Error {
    Error::not_supported(format!(
        "remote mode ({endpoint}): this rask was built without Spark Connect support; build it with \
         `cargo build --release --features spark` (needs protoc) — EXPLAIN still shows the Spark SQL"
    ))
}

/// Whether a rask built like this one can send queries to Spark.
pub const fn can_connect() -> bool {
    cfg!(feature = "spark")
}
