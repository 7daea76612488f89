//! Query errors: one enum whose [`ErrorKind`] tells a front end (Flight SQL,
//! HTTP) which status to answer with, and the classification of DataFusion's
//! errors into those kinds.
use std::time::Duration;

use datafusion::error::DataFusionError;

/// What went wrong with a query, at the level a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The SQL or its parameters are wrong; the message is the engine's.
    InvalidArgument,
    /// A table, schema or function the query names does not exist.
    NotFound,
    /// The statement would write, or read the server's files: refused.
    PermissionDenied,
    /// A limit was hit: memory, or too many queries at once.
    ResourceExhausted,
    /// The query ran longer than the configured timeout.
    DeadlineExceeded,
    /// The query was cancelled.
    Cancelled,
    /// A bug or a storage failure: not the client's fault.
    Internal,
}

/// Errors planning or running a query.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL could not be parsed or planned, or a parameter does not fit.
    #[error("{0}")]
    InvalidSql(String),
    /// A referenced table or schema does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The statement is not a read-only query (DDL, DML, COPY, file access).
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// The shared memory pool could not satisfy the query.
    #[error("memory limit reached: {0}")]
    MemoryExhausted(String),
    /// Every query slot stayed busy for the whole wait.
    #[error("server busy: {running} queries are running; none finished within {waited:?}")]
    Busy {
        /// The configured maximum of concurrent queries.
        running: usize,
        /// How long this query waited for a slot.
        waited: Duration,
    },
    /// The query ran past its timeout.
    #[error("query exceeded its time limit of {0:?}")]
    Timeout(Duration),
    /// The query was cancelled before it finished.
    #[error("query cancelled")]
    Cancelled,
    /// The table source could not list its tables.
    #[error("cannot read the table catalog: {0}")]
    Source(#[source] SourceError),
    /// DataFusion failed in a way that is not the client's fault.
    #[error("internal query error: {0}")]
    Internal(#[source] DataFusionError),
}

/// The error type a [`crate::query::TableSource`] returns.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind of failure, for mapping onto a protocol's status codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidSql(_) => ErrorKind::InvalidArgument,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::ReadOnly(_) => ErrorKind::PermissionDenied,
            Error::MemoryExhausted(_) | Error::Busy { .. } => ErrorKind::ResourceExhausted,
            Error::Timeout(_) => ErrorKind::DeadlineExceeded,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Source(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Wraps this error so it can travel through a DataFusion record batch
    /// stream; [`From<DataFusionError>`] unwraps it again.
    pub(crate) fn into_datafusion(self) -> DataFusionError {
        DataFusionError::External(Box::new(self))
    }
}

impl From<DataFusionError> for Error {
    fn from(err: DataFusionError) -> Self {
        classify(err)
    }
}

/// Sorts DataFusion's error variants into our kinds. DataFusion reports a
/// missing table as a plan error, so that one case is recognised by message.
fn classify(err: DataFusionError) -> Error {
    // Look through wrappers (context, diagnostics, shared) to the cause.
    let root = match err {
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            return classify(*inner);
        }
        DataFusionError::Shared(shared) => {
            return match std::sync::Arc::try_unwrap(shared) {
                Ok(inner) => classify(inner),
                Err(shared) => classify_ref(&shared),
            };
        }
        DataFusionError::Collection(mut errs) if !errs.is_empty() => {
            return classify(errs.swap_remove(0));
        }
        DataFusionError::External(ext) => match ext.downcast::<Error>() {
            Ok(ours) => return *ours,
            Err(ext) => match ext.downcast::<DataFusionError>() {
                Ok(inner) => return classify(*inner),
                Err(ext) => DataFusionError::External(ext),
            },
        },
        other => other,
    };
    let kind = kind_of(&root);
    let message = strip_prefix(&root);
    match kind {
        ErrorKind::InvalidArgument => Error::InvalidSql(message),
        ErrorKind::NotFound => Error::NotFound(message),
        ErrorKind::PermissionDenied => Error::ReadOnly(message),
        ErrorKind::ResourceExhausted => Error::MemoryExhausted(message),
        ErrorKind::Cancelled => Error::Cancelled,
        ErrorKind::DeadlineExceeded | ErrorKind::Internal => Error::Internal(root),
    }
}

/// Like [`classify`] for an error we only hold by reference (a shared error).
fn classify_ref(err: &DataFusionError) -> Error {
    match kind_of(err.find_root()) {
        ErrorKind::InvalidArgument => Error::InvalidSql(strip_prefix(err.find_root())),
        ErrorKind::NotFound => Error::NotFound(strip_prefix(err.find_root())),
        ErrorKind::ResourceExhausted => Error::MemoryExhausted(strip_prefix(err.find_root())),
        ErrorKind::Cancelled => Error::Cancelled,
        _ => Error::Internal(DataFusionError::Internal(err.to_string())),
    }
}

fn kind_of(err: &DataFusionError) -> ErrorKind {
    match err {
        DataFusionError::SQL(..) | DataFusionError::SchemaError(..) => ErrorKind::InvalidArgument,
        DataFusionError::Plan(msg) if is_not_found(msg) => ErrorKind::NotFound,
        // Plan, NotImplemented, Execution and Arrow errors come from the query
        // itself: unknown columns, bad casts, division by zero, unsupported syntax.
        DataFusionError::Plan(_)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Execution(_)
        | DataFusionError::ArrowError(..)
        | DataFusionError::Configuration(_) => ErrorKind::InvalidArgument,
        DataFusionError::ResourcesExhausted(_) => ErrorKind::ResourceExhausted,
        DataFusionError::ExecutionJoin(join) if join.is_cancelled() => ErrorKind::Cancelled,
        _ => ErrorKind::Internal,
    }
}

fn is_not_found(msg: &str) -> bool {
    (msg.starts_with("table '") || msg.starts_with("table function '"))
        && msg.ends_with("not found")
        || msg.starts_with("failed to resolve schema")
        || msg.starts_with("failed to resolve catalog")
}

/// The engine's message without DataFusion's "Error during planning: " style
/// prefix, which says nothing to a SQL user, and parser errors without the
/// parser's Rust debug wrapping (`SQL error: ParserError("…")`).
fn strip_prefix(err: &DataFusionError) -> String {
    use datafusion::sql::sqlparser::parser::ParserError;
    match err {
        DataFusionError::SQL(parse, _) => match parse.as_ref() {
            ParserError::ParserError(msg) | ParserError::TokenizerError(msg) => {
                format!("syntax error: {msg}")
            }
            ParserError::RecursionLimitExceeded => {
                "syntax error: the statement is nested too deeply".to_owned()
            }
        },
        DataFusionError::Plan(msg)
        | DataFusionError::Execution(msg)
        | DataFusionError::NotImplemented(msg)
        | DataFusionError::ResourcesExhausted(msg) => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::plan_datafusion_err;

    #[test]
    fn datafusion_errors_get_the_kind_a_client_can_act_on() {
        let cases = [
            (
                plan_datafusion_err!("table 'twitch.gold.nope' not found"),
                ErrorKind::NotFound,
            ),
            (
                plan_datafusion_err!("No field named x"),
                ErrorKind::InvalidArgument,
            ),
            (
                DataFusionError::ResourcesExhausted("pool".into()),
                ErrorKind::ResourceExhausted,
            ),
            (DataFusionError::Internal("bug".into()), ErrorKind::Internal),
            (
                DataFusionError::Context(
                    "ctx".into(),
                    Box::new(plan_datafusion_err!("table function 'read_x' not found")),
                ),
                ErrorKind::NotFound,
            ),
            (
                Error::Timeout(Duration::from_secs(1)).into_datafusion(),
                ErrorKind::DeadlineExceeded,
            ),
        ];
        for (err, kind) in cases {
            let text = err.to_string();
            assert_eq!(Error::from(err).kind(), kind, "{text}");
        }
    }

    #[test]
    fn plan_messages_lose_the_engine_prefix() {
        let err = Error::from(plan_datafusion_err!("No field named x"));
        assert_eq!(err.to_string(), "No field named x");
    }

    #[test]
    fn parser_errors_read_as_syntax_errors() {
        use datafusion::sql::sqlparser::parser::ParserError;
        let parse = ParserError::ParserError(
            "Expected: an SQL statement, found: SELEC at Line: 1, Column: 1".into(),
        );
        let err = Error::from(DataFusionError::SQL(Box::new(parse), None));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            err.to_string(),
            "syntax error: Expected: an SQL statement, found: SELEC at Line: 1, Column: 1"
        );
    }
}
