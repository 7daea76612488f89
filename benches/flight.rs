//! Flight SQL benchmarks (printed figures, no assertions):
//! 1. DoGet throughput of a large result vs a minimal pyarrow.flight server
//!    streaming the same Arrow data (goal: ratio ≥ 0.8);
//! 2. server RSS while streaming a 10-million-row result (should stay flat);
//! 3. p50/p99 latency of a leaderboard query over Flight SQL;
//! 4. `SELECT 1` round trips from Rust and through ADBC from Python
//!    (goal: p50 <= 1 ms).
//!
//! Run: `cargo bench --bench flight` (needs the test venv for the baseline;
//! set BENCH_ROWS to change the size of the throughput table, TM_QUERY_NICE
//! for the priority of the server's query threads, 10 by default as in
//! `serve`). The clients run on the same cores as the server here.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow_flight::Ticket;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::StreamExt;
use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint};
use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::{FlightAuth, FlightConfig};
use twitch_monitor::flight::{FlightServer, ServerArgs};
use twitch_monitor::query::{EngineOptions, MemTableSource, QUERY_NICE, QueryEngine, TableSource};

const BATCH: usize = 8192;

/// The server runs in this binary (`TM_BENCH_SERVE`): with the allocator of
/// `twitch-monitor` itself.
#[global_allocator]
static HEAP: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn big_batches(rows: usize) -> (Arc<Schema>, Vec<RecordBatch>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("half", DataType::Float64, false),
        Field::new("login", DataType::Utf8, false),
    ]));
    let mut batches = Vec::new();
    for start in (0..rows).step_by(BATCH) {
        let end = (start + BATCH).min(rows);
        let ids: Vec<i64> = (start as i64..end as i64).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from(
                ids.iter().map(|i| *i as f64 * 0.5).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                ids.iter().map(|i| format!("user_{i}")).collect::<Vec<_>>(),
            )),
        ];
        batches.push(RecordBatch::try_new(Arc::clone(&schema), cols).expect("batch"));
    }
    (schema, batches)
}

fn leaderboard(rows: usize) -> (Arc<Schema>, Vec<RecordBatch>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("metric", DataType::Utf8, false),
        Field::new("rank", DataType::Int64, false),
        Field::new("login", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let metrics = [
        "avg_viewers",
        "hours_watched",
        "followers_gained",
        "minutes_streamed",
    ];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            (0..rows).map(|i| metrics[i % 4]).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            (0..rows as i64).map(|i| i / 4 + 1).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            (0..rows)
                .map(|i| format!("streamer_{i}"))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            (0..rows)
                .map(|i| 1e6 / (i as f64 + 1.0))
                .collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), cols).expect("batch");
    (schema, vec![batch])
}

#[path = "common/rss.rs"]
mod rss;
use rss::rss_mib;

async fn channel(port: u16) -> Channel {
    // Flow-control windows that grow with the bandwidth-delay product, as
    // grpc-go (ADBC) and grpc-java (JDBC) clients do by default.
    Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("endpoint")
        .http2_adaptive_window(true)
        .connect()
        .await
        .expect("connect")
}

/// Streams one DoGet to the end; returns (rows, payload bytes, seconds).
async fn drain(port: u16, ticket: Ticket) -> (usize, usize, f64) {
    let mut client =
        FlightServiceClient::new(channel(port).await).max_decoding_message_size(64 << 20);
    let start = Instant::now();
    let mut stream = client.do_get(ticket).await.expect("do_get").into_inner();
    let (mut bytes, mut messages) = (0usize, 0usize);
    while let Some(msg) = stream.next().await {
        let msg = msg.expect("flight data");
        bytes += msg.data_body.len() + msg.data_header.len();
        messages += 1;
    }
    (messages, bytes, start.elapsed().as_secs_f64())
}

fn python() -> String {
    std::env::var("TM_TEST_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/twitch-monitor/venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

/// Serves the benchmark tables until stdin closes, printing the port first.
/// Runs in its own process so client and server do not share a runtime,
/// like the pyarrow baseline.
async fn serve(rows: usize) {
    let source = Arc::new(MemTableSource::new());
    let (schema, batches) = big_batches(rows);
    source
        .put("gold", "big", schema, batches)
        .expect("big table");
    let (schema, batches) = leaderboard(4_000);
    source
        .put("gold", "leaderboard_daily", schema, batches)
        .expect("leaderboard");
    // The server's query threads run niced, as in `serve` (TM_QUERY_NICE).
    let options = EngineOptions {
        nice: std::env::var("TM_QUERY_NICE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(QUERY_NICE),
        ..EngineOptions::default()
    };
    let engine = QueryEngine::new(source as Arc<dyn TableSource>, options)
        .await
        .expect("engine");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = FlightConfig {
        auth: FlightAuth::None,
        users: Vec::new(),
        tokens: Vec::new(),
        token_ttl: Duration::from_secs(3600),
        tls: None,
        allow_unauthenticated: false,
    };
    let args = ServerArgs {
        engine,
        config,
        clock: Arc::new(SystemClock),
    };
    let server = FlightServer::start(listener, args, async {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
    })
    .await
    .expect("server");
    println!("{}", server.addr().port());
    server.wait().await.expect("server ran");
}

/// Starts a server process (ours: this binary with TM_BENCH_SERVE, or the
/// pyarrow baseline) and reads the port it prints.
fn spawn_server(cmd: &mut Command) -> (std::process::Child, u16) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("port line");
    let port = line.trim().parse().expect("port");
    (child, port)
}

fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if std::env::var_os("TM_BENCH_SERVE").is_some() {
        runtime.block_on(serve(rows));
    } else {
        runtime.block_on(bench(rows));
    }
}

async fn bench(rows: usize) {
    let exe = std::env::current_exe().expect("own path");
    let (mut ours_child, port) = spawn_server(
        Command::new(exe)
            .env("TM_BENCH_SERVE", "1")
            .env("BENCH_ROWS", rows.to_string()),
    );
    let server_pid = ours_child.id();

    // 1. Throughput: ours vs pyarrow.flight on the same data.
    let ours_ticket = Ticket::new("SELECT * FROM gold.big");
    drain(port, ours_ticket.clone()).await; // warm-up
    let mut ours = Vec::new();
    for _ in 0..3 {
        ours.push(drain(port, ours_ticket.clone()).await);
    }
    let best =
        |runs: &[(usize, usize, f64)]| runs.iter().map(|r| r.1 as f64 / r.2).fold(0.0, f64::max);
    let ours_bps = best(&ours);
    println!(
        "flight/doget: {rows} rows, {:.1} MiB in {:.3}s best => {:.1} MiB/s, {:.2} Mrows/s",
        ours[0].1 as f64 / (1 << 20) as f64,
        ours.iter().map(|r| r.2).fold(f64::MAX, f64::min),
        ours_bps / (1 << 20) as f64,
        rows as f64 / ours.iter().map(|r| r.2).fold(f64::MAX, f64::min) / 1e6
    );
    let mut py_cmd = Command::new(python());
    py_cmd
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/bench_server.py"
        ))
        .arg(rows.to_string());
    if std::path::Path::new(&python()).exists() {
        let (mut child, py_port) = spawn_server(&mut py_cmd);
        drain(py_port, Ticket::new("x")).await;
        let mut py = Vec::new();
        for _ in 0..3 {
            py.push(drain(py_port, Ticket::new("x")).await);
        }
        let py_bps = best(&py);
        println!(
            "flight/doget: pyarrow.flight baseline {:.1} MiB/s; ratio ours/pyarrow = {:.2} (goal >= 0.8)",
            py_bps / (1 << 20) as f64,
            ours_bps / py_bps
        );
        drop(child.stdin.take());
        let _ = child.kill();
        let _ = child.wait();
    } else {
        println!("flight/doget: pyarrow baseline skipped (no venv python); run scripts/venv");
    }

    // 2. RSS while streaming 10 million computed rows.
    let ticket = Ticket::new(
        "SELECT value, value * 0.5 AS half, concat('user_', CAST(value AS VARCHAR)) AS login \
         FROM generate_series(1, 10000000) AS t(value)",
    );
    let before = rss_mib(server_pid);
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max((rss_mib(server_pid) * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let (_, bytes, secs) = drain(port, ticket).await;
    sampler.abort();
    let peak = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    println!(
        "flight/rss: server process streamed 10M rows ({:.0} MiB) in {secs:.2}s; RSS before {before:.0} MiB, \
         peak while streaming {peak:.0} MiB (+{:.0} MiB), after {:.0} MiB",
        bytes as f64 / (1 << 20) as f64,
        peak - before,
        rss_mib(server_pid)
    );

    // 3. Leaderboard query latency (GetFlightInfo + DoGet, as JDBC does).
    let mut client = FlightSqlServiceClient::new(channel(port).await);
    let sql = "SELECT rank, login, value FROM twitch.gold.leaderboard_daily \
               WHERE metric = 'avg_viewers' ORDER BY rank LIMIT 25";
    let (p50, p99) = latency(&mut client, sql).await;
    println!("flight/leaderboard: 500 queries, p50 {p50:.2} ms, p99 {p99:.2} ms");

    // 4. SELECT 1: the per-query overhead, from Rust and through ADBC.
    let (p50, p99) = latency(&mut client, "SELECT 1").await;
    println!("flight/select1: Rust client 500 queries, p50 {p50:.2} ms, p99 {p99:.2} ms");
    if std::path::Path::new(&python()).exists() {
        let status = Command::new(python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/py/select1_latency.py"
            ))
            .arg(format!("grpc://127.0.0.1:{port}"))
            .status()
            .expect("python");
        assert!(status.success(), "select1_latency.py failed");
    }
    drop(ours_child.stdin.take());
    let _ = ours_child.wait();
}

/// p50 and p99 in ms of `sql` over GetFlightInfo + DoGet (as JDBC and ADBC
/// run a statement), 500 queries after 20 to warm up.
async fn latency(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> (f64, f64) {
    let mut latencies = Vec::new();
    for i in 0..520 {
        let start = Instant::now();
        let info = client.execute(sql.into(), None).await.expect("execute");
        let ticket = info.endpoint[0].ticket.clone().expect("ticket");
        let mut stream = client.do_get(ticket).await.expect("do_get");
        while let Some(batch) = stream.next().await {
            batch.expect("batch");
        }
        if i >= 20 {
            latencies.push(start.elapsed());
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (pct(0.50).as_secs_f64() * 1e3, pct(0.99).as_secs_f64() * 1e3)
}
