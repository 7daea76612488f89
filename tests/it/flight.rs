//! Flight SQL endpoint: real clients (ADBC, flightsql-dbapi, pyarrow.flight in
//! Python; arrow-flight's Rust client emulating the JDBC driver) against the
//! server on 127.0.0.1 serving in-memory tables.
mod clients;
mod lifecycle;
mod python;
mod rpc;

use crate::python;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringViewArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use chrono::DateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use twitch_monitor::clock::ManualClock;
use twitch_monitor::config::{FlightAuth, FlightConfig, Secret};
use twitch_monitor::flight::{FlightServer, ServerArgs};
use twitch_monitor::query::{EngineOptions, MemTableSource, QueryEngine, TableSource};

/// Password of the test user `alice`.
pub(crate) const PASSWORD: &str = "s3cret-pass";
/// A static bearer token the test server accepts.
pub(crate) const TOKEN: &str = "static-token-for-tests-0123456789";

/// The leaderboard rows every test sees (login strings stored as Utf8View on
/// purpose: clients must still receive Utf8).
fn leaderboard() -> (Arc<Schema>, RecordBatch) {
    let utc = Some("UTC".into());
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "period_start",
            DataType::Timestamp(TimeUnit::Microsecond, utc.clone()),
            false,
        ),
        Field::new("metric", DataType::Utf8View, false),
        Field::new("rank", DataType::Int64, false),
        Field::new("user_id", DataType::Utf8View, false),
        Field::new("login", DataType::Utf8View, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let day = 1_764_115_200_000_000i64; // 2025-11-26T00:00:00Z
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMicrosecondArray::from(vec![day; 3]).with_timezone("UTC")),
        Arc::new(StringViewArray::from(vec!["avg_viewers"; 3])),
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(StringViewArray::from(vec!["1", "2", "3"])),
        Arc::new(StringViewArray::from(vec!["alpha", "bravo", "charlie"])),
        Arc::new(Float64Array::from(vec![300.0, 200.0, 100.0])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    (schema, batch)
}

/// Server settings for tests: authentication as given, one user and one token.
pub(crate) fn flight_config(auth: FlightAuth) -> FlightConfig {
    let hash = sha256_hex(format!("pepper{PASSWORD}").as_bytes());
    FlightConfig {
        auth,
        users: vec![format!("alice:pepper:{hash}").parse().unwrap()],
        tokens: vec![Secret::from(TOKEN)],
        token_ttl: Duration::from_secs(600),
        tls: None,
        allow_unauthenticated: false,
    }
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Flight SQL server on 127.0.0.1:0 over the test tables; stops on drop.
pub(crate) struct TestServer {
    pub(crate) server: Option<FlightServer>,
    pub(crate) engine: QueryEngine,
    pub(crate) clock: ManualClock,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestServer {
    pub(crate) async fn start(config: FlightConfig) -> Self {
        Self::start_with(config, EngineOptions::default()).await
    }

    pub(crate) async fn start_with(config: FlightConfig, options: EngineOptions) -> Self {
        let source = Arc::new(MemTableSource::new());
        let (schema, batch) = leaderboard();
        source
            .put(
                "gold",
                "leaderboard_daily",
                Arc::clone(&schema),
                vec![batch.clone()],
            )
            .unwrap();
        source
            .put("live", "leaderboard", schema, vec![batch])
            .unwrap();
        let engine = QueryEngine::new(source as Arc<dyn TableSource>, options)
            .await
            .unwrap();
        let clock = ManualClock::new(DateTime::from_timestamp(1_764_115_200, 0).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let args = ServerArgs {
            engine: engine.clone(),
            config,
            clock: Arc::new(clock.clone()),
        };
        let server = FlightServer::start(listener, args, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
        Self {
            server: Some(server),
            engine,
            clock,
            shutdown: Some(tx),
        }
    }

    pub(crate) fn port(&self) -> u16 {
        self.server
            .as_ref()
            .map(|s| s.addr().port())
            .unwrap_or_default()
    }

    pub(crate) fn url(&self) -> String {
        self.server
            .as_ref()
            .map(FlightServer::url)
            .unwrap_or_default()
    }

    /// Stops the server and surfaces any error it ended with.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.wait().await.unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs `tests/py/<script>` with `args`; returns stdout, panics with the
/// script's output if it fails.
pub(crate) async fn run_python(script: &str, args: &[&str]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let out = tokio::process::Command::new(python())
        .arg(&path)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run scripts/venv first",
                python().display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}
