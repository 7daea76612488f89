//! Benchmark: one ingest cycle of 100,000 live streams end to end — the real
//! client polling the simulator (in a child process, rate limit off) and
//! committing bronze, silver and gold into a local lake. Prints wall time
//! and peak RSS per stage. Run with `cargo bench --bench cycle`.
//!
//! Goal (issue 3): under 5 s and under 1 GiB on a 2-core machine, so all of
//! Twitch at a one-minute cadence costs under a tenth of one machine.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::Secret;
use twitch_monitor::ingest::pipeline::Pipeline;
use twitch_monitor::ingest::plan::Targets;
use twitch_monitor::ingest::poll::{PollSettings, Poller};
use twitch_monitor::lake::Lake;
use twitch_monitor::twitch::{ClientArgs, HelixClient};

fn streams() -> usize {
    std::env::var("BENCH_STREAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// Peak resident set size since the last reset, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak RSS so the next stage is measured on its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let n = streams();
    let bin = env!("CARGO_BIN_EXE_twitch-monitor");
    let mut sim = Command::new(bin)
        .args([
            "sim",
            "--sim-addr",
            "127.0.0.1:0",
            "--sim-rate-limit",
            "0",
            "--sim-all-live",
            "true",
        ])
        .args(["--sim-channels", &n.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the simulator");
    let mut vars = HashMap::new();
    for line in BufReader::new(sim.stdout.take().expect("stdout")).lines() {
        let line = line.expect("simulator output");
        if let Some((k, v)) = line.split_once('=') {
            vars.insert(k.to_owned(), v.to_owned());
        }
        if vars.len() == 4 {
            break;
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(SystemClock);
        let helix = HelixClient::connect(ClientArgs {
            helix_url: vars["TWITCH_HELIX_URL"].clone(),
            auth_url: vars["TWITCH_AUTH_URL"].clone(),
            client_id: vars["TWITCH_CLIENT_ID"].clone(),
            client_secret: Secret::from(vars["TWITCH_CLIENT_SECRET"].as_str()),
            request_timeout: Duration::from_secs(30),
            max_retries: 2,
            max_pages: n / 100 + 50,
            clock: clock.clone(),
        })
        .await
        .expect("connect");
        let lake = Lake::open(dir.path().to_str().expect("path"), HashMap::new()).await.expect("lake");
        let (mut pipeline, _) =
            Pipeline::open(lake, Duration::from_secs(60), Duration::from_secs(600)).await.expect("pipeline");
        let mut poller = Poller::new(
            Arc::new(helix),
            clock,
            PollSettings {
                targets: Targets { full_sweep: true, ..Default::default() },
                // Stream sweep only: profiles and followers are other budgets.
                follower_interval: Duration::from_secs(365 * 24 * 3600),
                profile_interval: Duration::from_secs(365 * 24 * 3600),
                ..Default::default()
            },
            HashMap::new(),
            Vec::new(),
        );
        println!("one ingest cycle, {n} live streams (simulator in a child process, rate limit off)");
        {
            let round = 1;
            reset_peak();
            let t = Instant::now();
            let polled = poller.poll().await;
            let poll_time = t.elapsed();
            let poll_rss = peak_rss_mib();
            reset_peak();
            let t = Instant::now();
            let report = pipeline.commit(round, &polled.responses).await.expect("commit");
            let commit_time = t.elapsed();
            println!(
                "cycle {round}: {} streams in {} responses ({} requests incl. profiles/followers/games)",
                polled.streams_seen,
                polled.responses.len(),
                polled.requests
            );
            println!("  poll   {:>7.2} s  peak RSS {:>7.1} MiB", poll_time.as_secs_f64(), poll_rss);
            for (stage, d) in &report.stages {
                println!("  {stage:<6} {:>7.2} s", d.as_secs_f64());
            }
            println!(
                "  commit {:>7.2} s  peak RSS {:>7.1} MiB  (rows: bronze {}, silver {}, gold {})",
                commit_time.as_secs_f64(),
                peak_rss_mib(),
                report.written.bronze,
                report.written.silver,
                report.written.gold
            );
            println!("  total  {:>7.2} s", (poll_time + commit_time).as_secs_f64());
        }
    });
    let _ = sim.kill();
    let _ = sim.wait();
}
