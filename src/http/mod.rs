//! The HTTP endpoint on `TM_HTTP_ADDR`: operations (`/healthz`, `/readyz`,
//! `/metrics`), and — when given a [`DataApi`] — the live dashboard under `/`
//! and the data API under `/api/` that the dashboard reads, both over the
//! same [`crate::query::QueryEngine`] as Flight SQL.
//!
//! Layout: [`health`] (operations), [`auth`] (the credentials seam and the
//! access rule), `assets` (the embedded dashboard files), `api` (named,
//! parameterised endpoints in JSON and Arrow IPC, authenticated SQL),
//! `events` (server-sent events, one per committed cycle), `compress`
//! (brotli/gzip), `error` (the one place an error becomes an HTTP status).
//!
//! The server takes an already-bound listener, so callers (and tests) bind
//! port 0 and read the address back; it never binds anything itself.
mod api;
mod assets;
pub mod auth;
mod compress;
mod error;
mod events;
pub mod health;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use api::ENDPOINTS;
pub use auth::{Access, Credentials};
pub use error::{Error, Result};
pub use events::CycleFeed;
pub use health::{Readiness, cycle_freshness};

use crate::live::LiveViews;
use crate::metrics::Metrics;
use crate::query::QueryEngine;

/// What the dashboard and the data API read, and who may read it.
#[derive(Clone)]
pub struct DataApi {
    /// The engine every query runs on (Flight SQL's limits and metrics).
    pub engine: QueryEngine,
    /// The live views (their snapshot's cycle id tells a consistent read).
    pub live: LiveViews,
    /// The id of the last cycle whose live views *and* lake tables are in the
    /// catalog: the composition root sends it after each committed cycle.
    /// Pages refresh on it and every answer is of exactly one such cycle.
    pub cycles: watch::Receiver<Option<i64>>,
    /// Who may read data.
    pub access: Access,
}

impl fmt::Debug for DataApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataApi")
            .field("cycle", &*self.cycles.borrow())
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// Rendered by `/metrics`.
    pub metrics: Metrics,
    /// Consulted by `/readyz`.
    pub readiness: Arc<dyn Readiness>,
    /// The dashboard and the data API; `None` serves operations only.
    pub data: Option<DataApi>,
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("metrics", &self.metrics)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// The routes. `stop` ends the long-lived event streams at shutdown, so a
/// graceful shutdown does not wait on open dashboards.
pub fn router(state: HttpState, stop: CancellationToken) -> Router {
    let ops = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_text))
        .with_state(state.clone());
    let Some(data) = state.data else {
        return ops;
    };
    let api = api::routes(data.clone())
        .merge(events::routes(data.clone(), stop))
        .route_layer(axum::middleware::from_fn_with_state(
            data.access.clone(),
            auth::require,
        ))
        .merge(api::open_routes(data));
    ops.merge(assets::routes())
        .nest("/api", api)
        .route("/api/", get(api::index))
        .layer(axum::middleware::from_fn(compress::layer))
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes the
/// requests in flight (open event streams end at once).
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let stop = CancellationToken::new();
    let signal = {
        let stop = stop.clone();
        async move {
            shutdown.await;
            stop.cancel();
        }
    };
    axum::serve(listener, router(state, stop))
        .with_graceful_shutdown(signal)
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
        let dashboard = state.data.is_some();
        let task = tokio::spawn(serve(listener, state, signal));
        tracing::info!(%addr, dashboard, "HTTP server listening");
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

    /// The dashboard's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
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
