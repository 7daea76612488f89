//! The Flight SQL server's lifecycle: like the HTTP server and the
//! simulator, it stops when its handle is dropped.
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use tokio::net::{TcpListener, TcpStream};
use twitch_monitor::clock::ManualClock;
use twitch_monitor::config::FlightAuth;
use twitch_monitor::flight::{FlightServer, ServerArgs};
use twitch_monitor::query::{EngineOptions, MemTableSource, QueryEngine};

use super::flight_config;

/// Whether something accepts a TCP connection on `addr` (within a second).
async fn accepts(addr: std::net::SocketAddr) -> bool {
    let connect = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr));
    matches!(connect.await, Ok(Ok(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_server_closes_its_port() {
    let source = Arc::new(MemTableSource::new());
    let engine = QueryEngine::new(source, EngineOptions::default())
        .await
        .unwrap();
    let args = ServerArgs {
        engine,
        config: flight_config(FlightAuth::None),
        clock: Arc::new(ManualClock::new(DateTime::UNIX_EPOCH)),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    // A shutdown signal that never comes: only dropping the handle stops it.
    let server = FlightServer::start(listener, args, std::future::pending())
        .await
        .unwrap();
    let addr = server.addr();
    assert!(accepts(addr).await, "the server does not listen");
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepts(addr).await {
        assert!(
            Instant::now() < deadline,
            "{addr} still accepts connections after the server was dropped"
        );
        tokio::task::yield_now().await;
    }
}
