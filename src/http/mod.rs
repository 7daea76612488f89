//! The operations HTTP endpoint: `/healthz` (the process is up), `/readyz`
//! (it is doing its job, per an injected probe) and `/metrics` (Prometheus).
//!
//! The server takes an already-bound listener, so callers (and tests) bind
//! port 0 and read the address back; it never binds anything itself.
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::{self, Metrics};

/// What can fail while serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the listener's address or accepting connections failed.
    #[error("HTTP server I/O")]
    Io(#[from] std::io::Error),
    /// The server task panicked or was aborted.
    #[error("HTTP server task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

/// Result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Answers "is this process ready for traffic?": `Ok` or the reason it is not.
/// Implemented for closures, so the composition root can write
/// `Arc::new(move || …)` over whatever it owns (lake, live views, clock).
pub trait Readiness: Send + Sync + 'static {
    /// `Ok(())` when ready, else a human-readable reason.
    fn check(&self) -> Result<(), String>;
}

impl<F> Readiness for F
where
    F: Fn() -> Result<(), String> + Send + Sync + 'static,
{
    fn check(&self) -> Result<(), String> {
        self()
    }
}

/// The usual freshness rule: ready once a cycle finished within `max_age`
/// of `now` (e.g. 3 × the poll interval).
pub fn cycle_freshness(
    last_finished: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<(), String> {
    let Some(last) = last_finished else {
        return Err("no ingest cycle has finished yet".to_owned());
    };
    let age = (now - last).to_std().unwrap_or_default();
    if age > max_age {
        return Err(format!(
            "last ingest cycle finished {} ago (limit {})",
            humantime::format_duration(Duration::from_secs(age.as_secs())),
            humantime::format_duration(max_age)
        ));
    }
    Ok(())
}

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// Rendered by `/metrics`.
    pub metrics: Metrics,
    /// Consulted by `/readyz`.
    pub readiness: Arc<dyn Readiness>,
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// The routes, for embedding or for [`serve`].
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<HttpState>) -> Response {
    match state.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

async fn metrics_text(State(state): State<HttpState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A running server: knows its address; stops on [`HttpServer::shutdown`]
/// or when dropped.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<Result<()>>>,
}

impl HttpServer {
    /// Starts serving on `listener` in a new task (call it inside a Tokio
    /// runtime). It stops at the first of: `shutdown` completing,
    /// [`HttpServer::shutdown`], or drop.
    pub fn start(
        listener: TcpListener,
        state: HttpState,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Self> {
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let signal = crate::shutdown::signal(shutdown, &stop);
        let task = tokio::spawn(serve(listener, state, signal));
        tracing::info!(%addr, "HTTP health and metrics listening");
        Ok(Self {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for requests in flight, and reports how the
    /// server ended.
    pub async fn shutdown(mut self) -> Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_needs_a_recent_cycle() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .to_utc();
        let limit = Duration::from_secs(180);
        assert!(
            cycle_freshness(None, now, limit)
                .unwrap_err()
                .contains("no ingest cycle")
        );
        assert_eq!(
            cycle_freshness(Some(now - chrono::TimeDelta::seconds(179)), now, limit),
            Ok(())
        );
        let err =
            cycle_freshness(Some(now - chrono::TimeDelta::seconds(600)), now, limit).unwrap_err();
        assert_eq!(err, "last ingest cycle finished 10m ago (limit 3m)");
    }
}
