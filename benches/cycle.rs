//! Benchmark: ingest cycles of 100,000 live streams end to end — the real
//! client polling the simulator (in a child process, rate limit off) and
//! committing bronze, silver and gold into a local lake. Prints wall time
//! and peak RSS per stage for each cycle. Run with `cargo bench --bench cycle`
//! (`BENCH_STREAMS`, `BENCH_CYCLES` to change the size).
//!
//! Goal (issue 3): under 5 s and under 1 GiB on a 2-core machine, so all of
//! Twitch at a one-minute cadence costs under a tenth of one machine.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::Secret;
use twitch_monitor::ingest::CycleInputs;
use twitch_monitor::ingest::pipeline::Pipeline;
use twitch_monitor::ingest::poll::{PollSettings, Poller, Targets};
use twitch_monitor::lake::Lake;
use twitch_monitor::twitch::{ClientArgs, HelixClient};

/// The ingest runs in this process: with the allocator of `twitch-monitor`
/// itself. Its options in `src/main.rs` are the binary's; for the same here,
/// `_RJEM_MALLOC_CONF=background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0`.
#[global_allocator]
static HEAP: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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

/// Cycles to run (`BENCH_CYCLES`, default 3): later cycles show the steady
/// state, where gold folds each cycle into the day already open.
fn cycles() -> usize {
    std::env::var("BENCH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// Peak RSS of each commit stage of the cycle being measured.
static STAGE_RSS: Mutex<Vec<(&'static str, f64)>> = Mutex::new(Vec::new());

fn record_stage(stage: &'static str) {
    STAGE_RSS
        .lock()
        .expect("stage rss")
        .push((stage, peak_rss_mib()));
    reset_peak();
}

fn main() {
    // `RUST_LOG=twitch_monitor=debug` shows retries and errors on stderr.
    twitch_monitor::init_logging();
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
    let mut lines = BufReader::new(sim.stdout.take().expect("stdout")).lines();
    for line in lines.by_ref() {
        let line = line.expect("simulator output");
        if let Some((k, v)) = line.split_once('=') {
            vars.insert(k.to_owned(), v.to_owned());
        }
        if vars.len() == 4 {
            break;
        }
    }
    // Keep reading so the simulator never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
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
            Default::default(),
        );
        pipeline.on_stage(record_stage);
        let cycles = cycles();
        println!(
            "{cycles} ingest cycles of {n} live streams each (simulator in a child process, rate limit off)"
        );
        let (mut worst_time, mut worst_rss) = (0.0f64, 0.0f64);
        // (total s, peak RSS MiB) of each cycle, summed up per 100 at the end.
        let mut per_cycle: Vec<(f64, f64)> = Vec::new();
        for round in 1..=cycles as i64 {
            reset_peak();
            let t = Instant::now();
            let mut polled = poller.poll().await;
            let poll_time = t.elapsed();
            let poll_rss = peak_rss_mib();
            if polled.errors > 0 {
                let last = polled.responses.last();
                eprintln!(
                    "poll errors: {} (last response: HTTP {:?}, {:.200})",
                    polled.errors,
                    last.map(|r| r.http_status),
                    last.map(|r| r.payload.as_str()).unwrap_or("")
                );
            }
            reset_peak();
            STAGE_RSS.lock().expect("stage rss").clear();
            let t = Instant::now();
            let responses = polled.responses.len();
            let inputs = CycleInputs { responses: std::mem::take(&mut polled.responses), ..Default::default() };
            let report = pipeline.commit(round, &inputs).await.expect("commit");
            let commit_time = t.elapsed();
            let stage_rss = std::mem::take(&mut *STAGE_RSS.lock().expect("stage rss"));
            let commit_rss = stage_rss.iter().map(|(_, r)| *r).fold(0.0, f64::max);
            println!(
                "cycle {round}: {} streams in {} responses ({} requests)",
                polled.streams_seen,
                responses,
                polled.requests
            );
            println!("  poll   {:>7.2} s  peak RSS {:>7.1} MiB", poll_time.as_secs_f64(), poll_rss);
            for (stage, d) in &report.stages {
                let rss = stage_rss.iter().find(|(s, _)| s == stage).map_or(f64::NAN, |(_, r)| *r);
                println!("  {stage:<6} {:>7.2} s  peak RSS {rss:>7.1} MiB", d.as_secs_f64());
            }
            println!(
                "  commit {:>7.2} s  peak RSS {:>7.1} MiB  (rows: bronze {}, silver {}, gold {})",
                commit_time.as_secs_f64(),
                commit_rss,
                report.written.bronze,
                report.written.silver,
                report.written.gold
            );
            let total = (poll_time + commit_time).as_secs_f64();
            println!("  total  {total:>7.2} s");
            worst_time = worst_time.max(total);
            worst_rss = worst_rss.max(commit_rss).max(poll_rss);
            per_cycle.push((total, commit_rss.max(poll_rss)));
        }
        if per_cycle.len() >= 200 {
            println!("{:>11} {:>8} {:>8} {:>13}", "cycles", "mean s", "worst s", "peak RSS MiB");
            for (i, block) in per_cycle.chunks(100).enumerate() {
                let mean = block.iter().map(|c| c.0).sum::<f64>() / block.len() as f64;
                let worst = block.iter().map(|c| c.0).fold(0.0, f64::max);
                let rss = block.iter().map(|c| c.1).fold(0.0, f64::max);
                let first = i * 100 + 1;
                let range = format!("{first}-{}", first + block.len() - 1);
                println!("{range:>11} {mean:>8.2} {worst:>8.2} {rss:>13.0}");
            }
        }
        println!(
            "worst cycle: {worst_time:.2} s, peak RSS {worst_rss:.0} MiB (goal: under 5 s and 1024 MiB)"
        );
    });
    let _ = sim.kill();
    let _ = sim.wait();
}
