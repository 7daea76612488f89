//! The HTTP module's errors, and the one place an error becomes an HTTP
//! status and a JSON body (`{"error": "...", "kind": "..."}`), as
//! `flight::error` is for gRPC.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::query::{self, ErrorKind};

/// What can fail while serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the listener's address or accepting connections failed.
    #[error("HTTP server I/O")]
    Io(#[from] std::io::Error),
    /// The server task panicked or was aborted.
    #[error("HTTP server task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
    /// A query failed; its kind picks the status.
    #[error("{0}")]
    Query(#[from] query::Error),
    /// A parameter is missing, unknown or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials came with a request that needs them.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The streamer, day or view asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request named a cycle that is no longer the current one.
    #[error("cycle {asked} is not the current cycle ({current:?})")]
    StaleCycle {
        /// The cycle the request asked for.
        asked: i64,
        /// The cycle now served.
        current: Option<i64>,
    },
    /// The newest cycle's live views were swapped in but the cycle was not
    /// published (its catalog refresh) within the waits.
    #[error("the newest cycle is not published yet; ask again")]
    Unsettled,
    /// Encoding a result failed (a bug).
    #[error("encoding the result: {0}")]
    Encode(#[from] arrow::error::ArrowError),
}

/// Result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The status and the short kind name clients can branch on.
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Io(_) | Error::Task(_) | Error::Encode(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            Error::Query(e) => match e.kind() {
                ErrorKind::InvalidArgument => (StatusCode::BAD_REQUEST, "invalid_argument"),
                ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                ErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, "permission_denied"),
                ErrorKind::ResourceExhausted => {
                    (StatusCode::TOO_MANY_REQUESTS, "resource_exhausted")
                }
                ErrorKind::DeadlineExceeded => (StatusCode::GATEWAY_TIMEOUT, "deadline_exceeded"),
                ErrorKind::Cancelled => (StatusCode::SERVICE_UNAVAILABLE, "cancelled"),
                ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_argument"),
            Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "permission_denied"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::StaleCycle { .. } => (StatusCode::CONFLICT, "stale_cycle"),
            Error::Unsettled => (StatusCode::SERVICE_UNAVAILABLE, "unsettled"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "HTTP request failed");
        }
        let mut body = serde_json::json!({ "error": self.to_string(), "kind": kind });
        if let Error::StaleCycle { current, .. } = &self {
            body["cycle_id"] = serde_json::json!(current);
        }
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"twitch-monitor\", charset=\"UTF-8\""),
            );
        }
        response
    }
}
