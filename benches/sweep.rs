//! Benchmark: full `/streams` sweeps of 100,000 live streams (1,000 pages)
//! by the real client against the local Helix server, rate limit off.
//!
//! Run: `cargo bench --bench sweep` (release). Prints pages, streams, wall
//! time, the client thread's CPU time for whole sweeps, and the CPU time of
//! parse + dedup alone (the client's own `paging::StreamSet` over the raw
//! bodies the sweep received). Goal: parse + dedup < 1 s CPU per sweep.
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use twitch_monitor::clock::ManualClock;
use twitch_monitor::config::Secret;
use twitch_monitor::sim::server::RateLimit;
use twitch_monitor::sim::{SimServer, SimServerArgs, World};
use twitch_monitor::twitch::paging::{CursorGuard, PageSink, StreamSet};
use twitch_monitor::twitch::{ClientArgs, Helix, HelixClient, StreamQuery};

const CHANNELS: usize = 100_000;
const SWEEPS: usize = 3;

/// CPU time of the calling thread: `/proc/thread-self/schedstat` holds the
/// nanoseconds this thread has spent on a CPU (Linux; no libc needed).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn cpu_since(start: Option<Duration>) -> String {
    match (start, thread_cpu()) {
        (Some(a), Some(b)) => format!("{:.3} s", (b - a).as_secs_f64()),
        _ => "n/a (no /proc/thread-self/schedstat)".into(),
    }
}

fn main() {
    let start: DateTime<Utc> = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    // A clock that stands still keeps the world identical across sweeps.
    let clock = Arc::new(ManualClock::new(start));

    // The server gets its own runtime and thread, so the main thread's CPU
    // time is the client's alone.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let built = Instant::now();
    let world = World::with_live_streams(1, CHANNELS, start);
    let live = world.live_streams().len();
    println!(
        "world: {CHANNELS} channels, {live} live streams, built in {:.2} s",
        built.elapsed().as_secs_f64()
    );
    let server = server_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut args = SimServerArgs::new(world, clock.clone());
        args.rate_limit = RateLimit::off();
        SimServer::start(listener, args).expect("server")
    });

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let client = client_rt
        .block_on(HelixClient::connect(ClientArgs {
            helix_url: server.helix_url(),
            auth_url: server.auth_url(),
            client_id: server.client_id().to_owned(),
            client_secret: Secret::from(server.client_secret()),
            request_timeout: Duration::from_secs(30),
            max_retries: 2,
            max_pages: 2_000,
            clock: clock.clone(),
        }))
        .expect("connect");

    println!("\nend-to-end sweeps (client on this thread, server on another):");
    let mut last = None;
    for i in 0..=SWEEPS {
        let cpu0 = thread_cpu();
        let wall = Instant::now();
        let sweep = client_rt.block_on(client.streams(&StreamQuery::default()));
        let wall = wall.elapsed();
        let label = if i == 0 {
            "warm-up".to_owned()
        } else {
            format!("sweep {i}")
        };
        let bytes: usize = sweep.responses.iter().map(|r| r.payload.len()).sum();
        println!(
            "  {label:8} pages {:5}  streams {:6}  errors {}  body {:.1} MB  wall {:.3} s  client CPU {}",
            sweep.responses.len(),
            sweep.value.len(),
            sweep.errors.len(),
            bytes as f64 / 1e6,
            wall.as_secs_f64(),
            cpu_since(cpu0),
        );
        last = Some(sweep);
    }

    let Some(sweep) = last else { return };
    let bodies: Vec<&[u8]> = sweep
        .responses
        .iter()
        .map(|r| r.payload.as_bytes())
        .collect();
    println!(
        "\nparse + dedup alone: the client's StreamSet + CursorGuard over the {} raw bodies of the last sweep,\n\
         single thread, no I/O, CPU time from /proc/thread-self/schedstat:",
        bodies.len()
    );
    for run in 1..=SWEEPS {
        let cpu0 = thread_cpu();
        let wall = Instant::now();
        let mut set = StreamSet::new(None);
        let mut guard = CursorGuard::new(2_000);
        for body in &bodies {
            let cursor = set.push(body).expect("page parses");
            if guard.next(cursor.as_deref()).is_err() {
                break;
            }
        }
        let streams = set.len();
        drop(set);
        println!(
            "  run {run}: pages {:5}  streams {streams:6}  wall {:.3} s  CPU {}",
            guard.pages(),
            wall.elapsed().as_secs_f64(),
            cpu_since(cpu0)
        );
    }
    let stats = server.stats();
    println!(
        "\nserver: {} /streams responses, {} 429s",
        stats.count("streams"),
        stats.rate_limited
    );
    server_rt
        .block_on(server.shutdown())
        .expect("server shutdown");
}
