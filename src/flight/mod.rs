//! The Arrow Flight SQL service over the [`QueryEngine`]: statement queries,
//! stateless prepared statements, metadata, plain-SQL tickets for
//! `pyarrow.flight`, authentication (Basic → expiring bearer tokens, static
//! tokens) and optional TLS. Read-only: anything that would write is refused.
//!
//! Layout: [`auth`] (credentials, tokens), `gateway` (auth on every RPC,
//! plain SQL, Handshake), `service` (Flight SQL commands), `wire` (result
//! encoding, parameter decoding), `metadata` and `sql_info` (metadata
//! results), `handles` (tickets and handles from proto/), [`error`] (the one
//! mapping onto gRPC status codes).
pub mod auth;
pub mod error;
mod gateway;
mod handles;
mod metadata;
mod service;
mod sql_info;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

pub use auth::{Authenticator, Principal};
pub use error::{Error, Result};
// For in-process callers that speak the wire format (the fuzz entry points).
pub(crate) use gateway::Gateway;
pub(crate) use handles::{PreparedHandle, decode_parameters, encode_parameters};
pub(crate) use wire::parameters_from;

use crate::clock::SharedClock;
use crate::config::{FlightAuth, FlightConfig};
use crate::query::QueryEngine;

/// Largest message a client may send (DoPut parameter batches) or receive.
const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Everything the Flight SQL server is built from.
#[derive(Debug, Clone)]
pub struct ServerArgs {
    /// The engine queries run on.
    pub engine: QueryEngine,
    /// Authentication and TLS settings.
    pub config: FlightConfig,
    /// Time source for token expiry.
    pub clock: SharedClock,
}

/// A running Flight SQL server: knows its address; stops on
/// [`FlightServer::shutdown`], when its shutdown future completes, or when
/// dropped.
#[derive(Debug)]
pub struct FlightServer {
    addr: SocketAddr,
    tls: bool,
    stop: CancellationToken,
    task: Option<JoinHandle<Result<()>>>,
}

/// Makes ring rustls' process-wide crypto provider unless one is set: with
/// both ring and aws-lc-rs compiled into the binary rustls refuses to pick.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The Flight service exactly as [`FlightServer::start`] serves it
/// (authentication in front of the Flight SQL commands), without a listener.
pub(crate) fn gateway(args: &ServerArgs) -> Result<Gateway> {
    let auth = Arc::new(Authenticator::new(&args.config, Arc::clone(&args.clock)));
    let sql = service::SqlService::new(args.engine.clone())?;
    Ok(Gateway::new(sql, auth))
}

impl FlightServer {
    /// Serves Flight SQL on `listener` until `shutdown` completes (or the
    /// server is shut down or dropped). Refuses to start without
    /// authentication on a non-loopback address unless the configuration
    /// explicitly allows it.
    pub async fn start(
        listener: TcpListener,
        args: ServerArgs,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Self> {
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Startup(e.to_string()))?;
        let config = &args.config;
        if config.auth == FlightAuth::None
            && !addr.ip().is_loopback()
            && !config.allow_unauthenticated
        {
            return Err(Error::Startup(format!(
                "refusing to serve without authentication on {addr}: configure authentication \
                 or allow unauthenticated access explicitly"
            )));
        }
        // Adaptive HTTP/2 windows: large DoPut bodies are not throttled by the
        // 64 KiB default window.
        let mut builder = Server::builder()
            .tcp_nodelay(true)
            .http2_adaptive_window(Some(true));
        let tls = match &config.tls {
            Some(files) => {
                install_crypto_provider();
                let cert = tokio::fs::read(&files.cert).await.map_err(|e| {
                    Error::Startup(format!("cannot read {}: {e}", files.cert.display()))
                })?;
                let key = tokio::fs::read(&files.key).await.map_err(|e| {
                    Error::Startup(format!("cannot read {}: {e}", files.key.display()))
                })?;
                let identity = Identity::from_pem(cert, key);
                builder = builder
                    .tls_config(ServerTlsConfig::new().identity(identity))
                    .map_err(|e| Error::Startup(format!("invalid TLS certificate or key: {e}")))?;
                true
            }
            None => false,
        };
        let service = FlightServiceServer::new(gateway(&args)?)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let router = builder.add_service(service);
        let stop = CancellationToken::new();
        let signal = crate::shutdown::signal(shutdown, &stop);
        let task = tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(incoming, signal)
                .await
                .map_err(Error::Transport)
        });
        tracing::info!(%addr, tls, auth = ?config.auth, "Flight SQL server listening");
        Ok(Self {
            addr,
            tls,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients connect to (`grpc://…` or `grpc+tls://…`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "grpc+tls" } else { "grpc" };
        format!("{scheme}://{}", self.addr)
    }

    /// Waits until the server has stopped (after the shutdown future
    /// completed and open calls finished) and reports how it ended.
    pub async fn wait(mut self) -> Result<()> {
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| Error::Startup(format!("server task failed: {e}")))?,
            None => Ok(()),
        }
    }

    /// Stops accepting calls, lets the open ones finish within `grace`,
    /// then closes them; reports how the server ended.
    pub async fn shutdown(mut self, grace: std::time::Duration) -> Result<()> {
        self.stop.cancel();
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(grace, &mut task).await {
            Ok(ended) => ended.map_err(|e| Error::Startup(format!("server task failed: {e}")))?,
            Err(_) => {
                tracing::warn!("Flight calls still open after {grace:?}: closing them");
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for FlightServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
