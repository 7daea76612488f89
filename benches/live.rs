//! Benchmark: latency of the live leaderboard through Flight SQL with 100,000
//! live streams (GetFlightInfo + DoGet, as the JDBC driver and ADBC do).
//! Prints p50/p99; run with `cargo bench --bench live` (`BENCH_STREAMS` to resize).
//!
//! Goal (issue 5): p50 under 5 ms on a 2-core machine.
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_flight::sql::client::FlightSqlServiceClient;
use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use tokio::net::TcpListener;
use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::{FlightAuth, FlightConfig};
use twitch_monitor::flight::{FlightServer, ServerArgs};
use twitch_monitor::live::{CycleStatus, CycleUpdate, LiveStream, LiveViews};
use twitch_monitor::query::{EngineOptions, QueryEngine, SourceError, SourceTable, TableSource};

/// Only the live views (no lake): what this benchmark measures.
#[derive(Debug)]
struct LiveOnly(LiveViews);

#[async_trait]
impl TableSource for LiveOnly {
    async fn tables(&self) -> Result<Vec<SourceTable>, SourceError> {
        Ok(self
            .0
            .views()
            .into_iter()
            .map(|(name, p)| SourceTable::new("live", name, p))
            .collect())
    }
}

fn cycle(n: usize, cycle_id: i64, at: chrono::DateTime<Utc>) -> CycleUpdate {
    let streams = (0..n)
        .map(|i| LiveStream {
            user_id: format!("{}", 10_000_000 + i),
            login: format!("channel_{i}"),
            stream_id: format!("{}", 90_000_000 + i),
            game_id: format!("{}", i % 40),
            game_name: format!("Game {}", i % 40),
            title: "a stream title of ordinary length".into(),
            language: "en".into(),
            // Heavy-tailed, like Twitch: a few large channels, a long tail.
            viewer_count: (200_000 / (i + 1)) as i64 + (cycle_id * 7 + i as i64) % 13,
            started_at: at - TimeDelta::hours(2),
            observed_at: at,
        })
        .collect();
    CycleUpdate {
        observed_at: at,
        streams,
        followers: Vec::new(),
        status: CycleStatus {
            cycle_id,
            started_at: at,
            finished_at: at,
            streams_seen: n as i64,
            requests: 1000,
            rate_limit_remaining: Some(700),
            errors: 0,
            bronze_rows: 1000,
            silver_rows: n as i64,
            gold_rows: 0,
            last_error: None,
        },
        chat: Vec::new(),
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_STREAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let live = LiveViews::new();
        let t0 = Utc::now() - TimeDelta::minutes(10);
        let built = Instant::now();
        for c in 0..10 {
            live.apply_cycle(cycle(n, c + 1, t0 + TimeDelta::minutes(c))).expect("apply");
        }
        println!(
            "live: {n} streams, 10 cycles applied in {:.2} s ({:.1} ms per cycle)",
            built.elapsed().as_secs_f64(),
            built.elapsed().as_secs_f64() * 100.0
        );
        let engine = QueryEngine::new(Arc::new(LiveOnly(live)), EngineOptions::default()).await.expect("engine");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let config = FlightConfig {
            auth: FlightAuth::None,
            users: Vec::new(),
            tokens: Vec::new(),
            token_ttl: Duration::from_secs(3600),
            tls: None,
            allow_unauthenticated: false,
        };
        let server = FlightServer::start(
            listener,
            ServerArgs { engine, config, clock: Arc::new(SystemClock) },
            std::future::pending(),
        )
        .await
        .expect("server");
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr()))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut client = FlightSqlServiceClient::new(channel);
        for (label, sql) in [
            ("top 25", "SELECT rank, login, viewer_count, game_name FROM twitch.live.leaderboard WHERE rank <= 25"),
            ("top 100 by category", "SELECT * FROM twitch.live.leaderboard WHERE game_name = 'Game 3' LIMIT 100"),
        ] {
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
            println!(
                "live/leaderboard {label}: {} queries over {n} live streams, p50 {:.2} ms, p99 {:.2} ms",
                latencies.len(),
                pct(0.50).as_secs_f64() * 1e3,
                pct(0.99).as_secs_f64() * 1e3
            );
        }
    });
}
