//! Flight errors, and the one function that turns any of them into a gRPC
//! status: user mistakes → InvalidArgument, missing objects → NotFound,
//! limits → ResourceExhausted / DeadlineExceeded, writes → PermissionDenied,
//! bugs → Internal.
use arrow_flight::error::FlightError;
use datafusion::arrow::error::ArrowError;
use tonic::{Code, Status};

use crate::query::{self, ErrorKind};

/// Errors of the Flight SQL service and server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Planning or running the query failed.
    #[error(transparent)]
    Query(#[from] query::Error),
    /// The caller did not prove who it is.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many password checks are waiting; the caller may retry.
    #[error("{0}")]
    LoginBusy(String),
    /// A ticket, handle, command or parameter batch could not be decoded.
    #[error("{0}")]
    BadRequest(String),
    /// The request would write: this server is read-only.
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// The request is valid Flight SQL but this server does not offer it.
    #[error("{0} is not supported")]
    Unsupported(String),
    /// Building a metadata result or encoding a schema failed.
    #[error("cannot build the result: {0}")]
    Arrow(#[source] ArrowError),
    /// The Flight encoder or decoder failed.
    #[error("flight stream failed: {0}")]
    Flight(#[source] FlightError),
    /// A status passed through from tonic (e.g. the client's own stream).
    #[error("{}", .0.message())]
    Status(#[source] Status),
    /// The server cannot start: bad TLS files, an unsafe listen address.
    #[error("cannot start the Flight SQL server: {0}")]
    Startup(String),
    /// The gRPC transport failed.
    #[error("flight transport failed: {0}")]
    Transport(#[source] tonic::transport::Error),
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<ArrowError> for Error {
    fn from(err: ArrowError) -> Self {
        match err {
            // Our own errors travel through arrow's encoder boxed as external.
            ArrowError::ExternalError(ext) => match ext.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(ext) => match ext.downcast::<query::Error>() {
                    Ok(q) => Error::Query(*q),
                    Err(ext) => Error::Arrow(ArrowError::ExternalError(ext)),
                },
            },
            other => Error::Arrow(other),
        }
    }
}

impl From<FlightError> for Error {
    fn from(err: FlightError) -> Self {
        match err {
            FlightError::Tonic(status) => Error::Status(*status),
            FlightError::Arrow(arrow) => Error::from(arrow),
            FlightError::ExternalError(ext) => match ext.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(ext) => match ext.downcast::<query::Error>() {
                    Ok(q) => Error::Query(*q),
                    Err(ext) => Error::Flight(FlightError::ExternalError(ext)),
                },
            },
            other => Error::Flight(other),
        }
    }
}

/// The gRPC code for an error: the single place this decision is made.
pub fn code(err: &Error) -> Code {
    match err {
        Error::Query(q) => match q.kind() {
            ErrorKind::InvalidArgument => Code::InvalidArgument,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::PermissionDenied => Code::PermissionDenied,
            ErrorKind::ResourceExhausted => Code::ResourceExhausted,
            ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorKind::Cancelled => Code::Cancelled,
            ErrorKind::Internal => Code::Internal,
        },
        Error::Unauthenticated(_) => Code::Unauthenticated,
        Error::LoginBusy(_) => Code::Unavailable,
        Error::BadRequest(_) => Code::InvalidArgument,
        Error::ReadOnly(_) => Code::PermissionDenied,
        Error::Unsupported(_) => Code::Unimplemented,
        Error::Status(s) => s.code(),
        Error::Arrow(_) | Error::Flight(_) | Error::Startup(_) | Error::Transport(_) => {
            Code::Internal
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        if let Error::Status(status) = err {
            return status;
        }
        let code = code(&err);
        if code == Code::Internal {
            tracing::error!(error = %err, "flight request failed");
        }
        Status::new(code, err.to_string())
    }
}

/// Boxes an error for transport through an arrow/flight stream; it is
/// unboxed again (with its kind intact) by the `From` impls above.
pub(crate) fn external(err: impl Into<Error>) -> FlightError {
    FlightError::ExternalError(Box::new(err.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_kind_has_its_code_even_through_streams() {
        let cases = [
            (
                Error::Query(query::Error::InvalidSql("x".into())),
                Code::InvalidArgument,
            ),
            (
                Error::Query(query::Error::NotFound("x".into())),
                Code::NotFound,
            ),
            (
                Error::Query(query::Error::ReadOnly("x".into())),
                Code::PermissionDenied,
            ),
            (
                Error::Query(query::Error::Timeout(Duration::ZERO)),
                Code::DeadlineExceeded,
            ),
            (Error::ReadOnly("x".into()), Code::PermissionDenied),
            (Error::Unauthenticated("x".into()), Code::Unauthenticated),
            (Error::Unsupported("x".into()), Code::Unimplemented),
            (
                Error::from(external(query::Error::MemoryExhausted("x".into()))),
                Code::ResourceExhausted,
            ),
            (
                Error::from(ArrowError::ExternalError(Box::new(query::Error::NotFound(
                    "t".into(),
                )))),
                Code::NotFound,
            ),
        ];
        for (err, expected) in cases {
            let status = Status::from(err);
            assert_eq!(status.code(), expected, "{}", status.message());
        }
    }
}
