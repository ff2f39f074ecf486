//! The Spark Connect client (built with `--features spark`): one gRPC channel and one Spark
//! session per rask session, statements sent as SQL relations, results read back as Arrow
//! IPC batches decoded with rask's own arrow. Ctrl-C interrupts the running operation on
//! the server; connection failures and timeouts name the endpoint.

use std::collections::VecDeque;
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::record_batch::RecordBatch;
use spark_connect_proto::execute_plan_response::ResponseType;
use spark_connect_proto::spark_connect_service_client::SparkConnectServiceClient;
use spark_connect_proto::{
    interrupt_request, plan, relation, ExecutePlanRequest, ExecutePlanResponse, InterruptRequest, Plan, Relation, Sql,
    UserContext,
};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, ClientTlsConfig};
use tonic::Streaming;

use super::Endpoint;
use crate::error::{Error, Result};

/// How long connecting may take before it is an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a waiting call looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// A connection to one Spark Connect endpoint, holding one Spark session (clones share the
/// channel, the runtime and the session).
#[derive(Clone)]
pub struct Client {
    endpoint: Endpoint,
    runtime: Arc<tokio::runtime::Runtime>,
    service: SparkConnectServiceClient<Channel>,
    session_id: String,
    user_id: String,
}

impl Client {
    /// Connects to `endpoint` and starts a Spark session (UTC time zone, as rask keeps
    /// instants in UTC).
    pub fn connect(endpoint: &Endpoint) -> Result<Client> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rask-remote")
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("cannot start the remote runtime: {e}")))?;
        let unreachable =
            |why: String| Error::Connection(format!("cannot reach the Spark Connect server at {endpoint}: {why}"));
        let mut channel = Channel::from_shared(endpoint.url())
            .map_err(|e| unreachable(e.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(Some(Duration::from_secs(30)));
        if endpoint.use_ssl {
            channel = channel
                .tls_config(
                    ClientTlsConfig::new()
                        .with_webpki_roots()
                        .domain_name(endpoint.host.clone()),
                )
                .map_err(|e| unreachable(format!("TLS: {e}")))?;
        }
        let channel = runtime
            .block_on(channel.connect())
            .map_err(|e| unreachable(describe_transport_error(&e)))?;
        let service = SparkConnectServiceClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let client = Client {
            endpoint: endpoint.clone(),
            runtime: Arc::new(runtime),
            service,
            session_id: endpoint
                .session_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            user_id: endpoint
                .user_id
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "rask".into()),
        };
        client.run_statement(
            "SET spark.sql.session.timeZone = UTC",
            &Arc::new(AtomicBool::new(false)),
        )?;
        Ok(client)
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn user_context(&self) -> UserContext {
        UserContext {
            user_id: self.user_id.clone(),
            user_name: self.user_id.clone(),
            ..Default::default()
        }
    }

    fn request<T>(&self, message: T) -> Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.endpoint.token {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Error::InvalidInput("the Spark Connect token is not valid header text".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// Runs a statement whose rows are not wanted (a SET, a temporary view, a write).
    pub fn run_statement(&self, sql: &str, cancel: &Arc<AtomicBool>) -> Result<()> {
        let (_, batches) = self.query(sql, cancel)?;
        for batch in batches {
            batch?;
        }
        Ok(())
    }

    /// Runs `sql` and streams its rows, with the schema of the first Arrow message (`None`
    /// when the server sent no rows and no schema, as for a command). Raising `cancel`
    /// (Ctrl-C) interrupts the operation on the server, also while the rows are read.
    pub fn query(&self, sql: &str, cancel: &Arc<AtomicBool>) -> Result<(Option<SchemaRef>, RemoteBatches)> {
        let operation_id = uuid::Uuid::new_v4().to_string();
        let plan = Plan {
            op_type: Some(plan::OpType::Root(Relation {
                common: None,
                rel_type: Some(relation::RelType::Sql(Sql {
                    query: sql.to_string(),
                    ..Default::default()
                })),
            })),
        };
        let request = self.request(ExecutePlanRequest {
            session_id: self.session_id.clone(),
            user_context: Some(self.user_context()),
            operation_id: Some(operation_id.clone()),
            plan: Some(plan),
            client_type: Some(match &self.endpoint.user_agent {
                Some(agent) => format!("rask/{} {agent}", env!("CARGO_PKG_VERSION")),
                None => format!("rask/{}", env!("CARGO_PKG_VERSION")),
            }),
            ..Default::default()
        })?;
        let mut service = self.service.clone();
        let call = async move { service.execute_plan(request).await };
        let stream = self
            .wait(call, cancel, &operation_id)?
            .map_err(|s| self.status_error(s))?
            .into_inner();
        let mut batches = RemoteBatches {
            client: self.clone(),
            stream,
            operation_id,
            pending: VecDeque::new(),
            schema: None,
            done: false,
            cancel: Arc::clone(cancel),
        };
        let schema = batches.first_schema()?;
        Ok((schema, batches))
    }

    /// Runs `future` on the client's runtime until it completes, or until `cancel` is raised,
    /// when the operation is interrupted on the server and the call is an error.
    fn wait<F: std::future::Future>(&self, future: F, cancel: &AtomicBool, operation_id: &str) -> Result<F::Output> {
        let outcome = self.runtime.block_on(async {
            tokio::pin!(future);
            loop {
                tokio::select! {
                    out = &mut future => return Some(out),
                    _ = tokio::time::sleep(CANCEL_POLL) => {
                        if cancel.load(Ordering::Relaxed) {
                            return None;
                        }
                    }
                }
            }
        });
        match outcome {
            Some(out) => Ok(out),
            None => {
                self.interrupt(operation_id);
                Err(Error::Cancelled)
            }
        }
    }

    /// Asks the server to stop operation `operation_id` (best effort: the query is being
    /// abandoned anyway).
    fn interrupt(&self, operation_id: &str) {
        let Ok(request) = self.request(InterruptRequest {
            session_id: self.session_id.clone(),
            user_context: Some(self.user_context()),
            interrupt_type: interrupt_request::InterruptType::OperationId as i32,
            interrupt: Some(interrupt_request::Interrupt::OperationId(operation_id.to_string())),
            ..Default::default()
        }) else {
            return;
        };
        let mut service = self.service.clone();
        let _ = self
            .runtime
            .block_on(async move { tokio::time::timeout(Duration::from_secs(10), service.interrupt(request)).await });
    }

    fn status_error(&self, status: tonic::Status) -> Error {
        status_error(&self.endpoint, status)
    }
}

/// A gRPC status as rask's error: Spark's own errors with their error class (`[CLASS]` at
/// the start of Spark's message), transport failures as connection errors naming the endpoint.
pub fn status_error(endpoint: &Endpoint, status: tonic::Status) -> Error {
    use tonic::Code;
    let message = status.message().trim().to_string();
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Unknown if message.is_empty() || is_transport(&message) => {
            Error::Connection(format!(
                "the Spark Connect server at {endpoint} did not answer: {message}"
            ))
        }
        Code::Unauthenticated | Code::PermissionDenied => Error::Connection(format!(
            "the Spark Connect server at {endpoint} refused the credentials: {message}"
        )),
        _ => {
            let (class, message) = split_error_class(&message);
            Error::Spark { class, message }
        }
    }
}

fn is_transport(message: &str) -> bool {
    let m = message.to_lowercase();
    ["transport", "connection", "connect", "broken pipe", "timed out", "dns"]
        .iter()
        .any(|w| m.contains(w))
}

/// `[DIVIDE_BY_ZERO] Division by zero…` → (`DIVIDE_BY_ZERO`, `Division by zero…`).
pub fn split_error_class(message: &str) -> (Option<String>, String) {
    if let Some(rest) = message.strip_prefix('[') {
        if let Some((class, text)) = rest.split_once(']') {
            if !class.is_empty()
                && class
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c == '.' || c.is_ascii_digit())
            {
                return (Some(class.to_string()), text.trim_start().to_string());
            }
        }
    }
    (None, message.to_string())
}

fn describe_transport_error(e: &tonic::transport::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The rows of a remote query, read from the response stream as they arrive.
pub struct RemoteBatches {
    client: Client,
    stream: Streaming<ExecutePlanResponse>,
    operation_id: String,
    pending: VecDeque<RecordBatch>,
    schema: Option<SchemaRef>,
    done: bool,
    cancel: Arc<AtomicBool>,
}

impl RemoteBatches {
    /// Reads the stream until the first Arrow message, which gives the schema (or its end).
    fn first_schema(&mut self) -> Result<Option<SchemaRef>> {
        while self.schema.is_none() && !self.done {
            self.read_message()?;
        }
        Ok(self.schema.clone())
    }

    fn read_message(&mut self) -> Result<()> {
        let stream = &mut self.stream;
        let next = self.client.wait(stream.message(), &self.cancel, &self.operation_id)?;
        let message = match next {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.done = true;
                return Ok(());
            }
            Err(status) => {
                self.done = true;
                return Err(self.client.status_error(status));
            }
        };
        match message.response_type {
            Some(ResponseType::ArrowBatch(batch)) => {
                let reader = StreamReader::try_new(Cursor::new(batch.data), None)?;
                if self.schema.is_none() {
                    self.schema = Some(reader.schema());
                }
                for b in reader {
                    let b = b?;
                    if b.num_rows() > 0 {
                        self.pending.push_back(b);
                    }
                }
            }
            Some(ResponseType::ResultComplete(_)) => self.done = true,
            _ => {}
        }
        Ok(())
    }
}

impl Iterator for RemoteBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Some(Ok(batch));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.read_message() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_error_classes_are_split_off() {
        let (class, text) = split_error_class("[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012");
        assert_eq!(class.as_deref(), Some("DIVIDE_BY_ZERO"));
        assert_eq!(text, "Division by zero. SQLSTATE: 22012");
        let (class, text) = split_error_class("[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column …");
        assert_eq!(class.as_deref(), Some("UNRESOLVED_COLUMN.WITH_SUGGESTION"));
        assert_eq!(text, "A column …");
        assert_eq!(split_error_class("plain failure").0, None);
    }
}
