//! The one error type of rask. Every layer returns [`Result`]; the CLI prints the error once,
//! on one line, and maps it to an exit code. Library code never panics on bad input.

use std::fmt;

/// Result alias used throughout rask.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A position in SQL or DSL text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: u64,
    /// 1-based column number.
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Everything that can go wrong in rask.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL (or DSL) text does not parse.
    #[error("Parser Error: {message}{}", location.map(|l| format!(" at {l}")).unwrap_or_default())]
    Parse {
        /// What is wrong.
        message: String,
        /// Where in the text, when known.
        location: Option<Location>,
    },
    /// Name resolution or typing failed (unknown column, wrong argument types, ...).
    #[error("Binder Error: {0}")]
    Plan(String),
    /// A name or type problem at a known position in the SQL text.
    #[error("Binder Error: {message}")]
    Bind {
        /// What is wrong.
        message: String,
        /// Where in the text.
        location: Location,
    },
    /// The query uses something rask does not support yet.
    #[error("Not implemented: {0}")]
    NotSupported(String),
    /// A file could not be opened, read or written.
    #[error("IO Error: {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A data file is malformed: names the file, line and column.
    #[error("Invalid Input Error: {file}:{line}:{column}: {message}")]
    Malformed {
        /// The file being read.
        file: String,
        /// 1-based line in the file.
        line: u64,
        /// 1-based column (field number for CSV).
        column: u64,
        /// What does not fit.
        message: String,
    },
    /// A glob or path matched nothing, or another input problem.
    #[error("Invalid Input Error: {0}")]
    InvalidInput(String),
    /// A Spark Connect server (remote mode) could not be reached, or the call failed in
    /// transport: names the endpoint.
    #[error("Connection Error: {0}")]
    Connection(String),
    /// Spark refused or failed a query sent in remote mode, with Spark's error class.
    #[error("Spark Error: {}{message}", class.as_ref().map(|c| format!("[{c}] ")).unwrap_or_default())]
    Spark {
        /// Spark's error class (`DIVIDE_BY_ZERO`, `UNRESOLVED_COLUMN.WITH_SUGGESTION`, …).
        class: Option<String>,
        /// Spark's message.
        message: String,
    },
    /// A runtime error while executing a query (overflow, bad cast, ...). A message that
    /// starts with one of DuckDB's finer classes (`Conversion Error: `, `Out of Range Error: `)
    /// is shown under that class alone.
    #[error("{}", execution_text(.0))]
    Execution(String),
    /// A constraint (a UNIQUE index) does not hold.
    #[error("Constraint Error: {0}")]
    Constraint(String),
    /// The memory limit or the spill-space limit cannot be met.
    #[error("Resources exhausted: {0}")]
    ResourcesExhausted(String),
    /// The query was cancelled (Ctrl-C).
    #[error("Query cancelled")]
    Cancelled,
    /// An Arrow kernel failed.
    #[error("Execution Error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The Parquet reader or writer failed.
    #[error("Parquet Error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A datafusion-common helper failed.
    #[error("{0}")]
    DataFusion(datafusion_common::DataFusionError),
    /// A bug in rask: an invariant did not hold.
    #[error("Internal Error: {0}")]
    Internal(String),
    /// An error of statement `number` (of `total`) of a script, which starts at `start`
    /// (the error's own class, message and position are kept).
    #[error("{error}")]
    Statement {
        /// The error.
        error: Box<Error>,
        /// 1-based number of the statement.
        number: usize,
        /// How many statements the script has.
        total: usize,
        /// Where the statement starts, when known.
        start: Option<Location>,
    },
    /// An error of a DSL statement with the place in the script it comes from (the error's
    /// own class and message are kept).
    #[error("{error}")]
    Located {
        /// The error.
        error: Box<Error>,
        /// Where in the script.
        location: Location,
    },
}

/// The message a panic carried (`panic!("…")` or a formatted one), or "unknown panic".
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// The classes an execution error's message may name itself.
const EXECUTION_CLASSES: [&str; 2] = ["Conversion Error: ", "Out of Range Error: "];

fn execution_text(message: &str) -> String {
    if EXECUTION_CLASSES.iter().any(|class| message.starts_with(class)) {
        message.to_string()
    } else {
        format!("Execution Error: {message}")
    }
}

impl Error {
    /// A binder/planning error.
    pub fn plan(msg: impl Into<String>) -> Self {
        Error::Plan(msg.into())
    }
    /// An unsupported feature.
    pub fn not_supported(msg: impl Into<String>) -> Self {
        Error::NotSupported(msg.into())
    }
    /// A runtime error.
    pub fn execution(msg: impl Into<String>) -> Self {
        Error::Execution(msg.into())
    }
    /// A violated invariant.
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
    /// An I/O error on `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// The position in the SQL or DSL text the error points at, when known.
    pub fn location(&self) -> Option<Location> {
        match self {
            Error::Parse { location, .. } => *location,
            Error::Bind { location, .. } => Some(*location),
            Error::Located { location, .. } => Some(*location),
            Error::Statement { error, start, .. } => error.location().or(*start),
            _ => None,
        }
    }

    /// This error as the error of statement `number` of `total` in a script, starting at
    /// `start`. Cancellations stay as they are.
    pub fn in_statement(self, number: usize, total: usize, start: Option<Location>) -> Error {
        match self {
            Error::Cancelled | Error::Statement { .. } => self,
            other => Error::Statement {
                error: Box::new(other),
                number,
                total,
                start,
            },
        }
    }

    /// This error pointing at `location` of the script, unless it already points somewhere
    /// (or is a cancellation or a closed pipe, which concern no place in the script). A
    /// binder error becomes [`Error::Bind`]; others keep their class.
    pub fn at(self, location: Location) -> Error {
        if self.location().is_some() || self.is_broken_pipe() || matches!(self.inner(), Error::Cancelled) {
            return self;
        }
        match self {
            Error::Plan(message) => Error::Bind { message, location },
            other => Error::Located {
                error: Box::new(other),
                location,
            },
        }
    }

    /// The error itself, without a [`Error::Located`] wrapper.
    pub fn inner(&self) -> &Error {
        match self {
            Error::Located { error, .. } | Error::Statement { error, .. } => error.inner(),
            other => other,
        }
    }

    /// True when the error is a closed output pipe, which the CLI treats as a quiet end.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Located { error, .. } | Error::Statement { error, .. } => error.is_broken_pipe(),
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
            Error::Arrow(arrow::error::ArrowError::IoError(_, e)) => e.kind() == std::io::ErrorKind::BrokenPipe,
            _ => false,
        }
    }
}

impl From<datafusion_common::DataFusionError> for Error {
    /// Unwraps rask errors that travelled through datafusion-common's tree traversals.
    fn from(e: datafusion_common::DataFusionError) -> Self {
        use datafusion_common::DataFusionError;
        match e {
            DataFusionError::External(boxed) => match boxed.downcast::<Error>() {
                Ok(inner) => *inner,
                Err(other) => Error::DataFusion(DataFusionError::External(other)),
            },
            DataFusionError::ArrowError(e, _) => Error::Arrow(*e),
            other => Error::DataFusion(other),
        }
    }
}

impl From<Error> for datafusion_common::DataFusionError {
    fn from(e: Error) -> Self {
        datafusion_common::DataFusionError::External(Box::new(e))
    }
}

/// Returns the candidate closest to `name` by edit distance, if it is close enough to be a
/// plausible typo; used for "did you mean" hints on unknown columns, tables and verbs.
pub fn closest_name<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two strings (by chars).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest_name("l_quantiy", ["l_quantity", "l_tax"]), Some("l_quantity"));
        assert_eq!(closest_name("zzz", ["l_quantity", "l_tax"]), None);
    }
}
