//! Benchmark: the live views' memory over a simulated day. Feeds
//! `LiveViews` one cycle a simulated minute of `BENCH_STREAMS` (100,000)
//! channels that are live all day, each stream ending after 30 to 400
//! minutes and the next one starting the minute after (a new stream id),
//! with a follower total for a fifteenth of the channels each cycle, as
//! `serve` polls them. Prints, per 100 cycles, the time to apply a cycle and
//! this process's RSS, and what the views' windows hold by part (a floor:
//! their reserved room, without the allocator's overhead). The 24-hour
//! windows fill for a day, then stay.
//! Run with `cargo bench --bench live_day` (`BENCH_CYCLES`, default 1,440).
use std::time::Instant;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use twitch_monitor::live::{CycleStatus, CycleUpdate, FollowerSample, LiveStream, LiveViews};

#[path = "common/rss.rs"]
mod rss;

/// The binary's allocator and options (see `src/main.rs`), so the RSS here
/// is what `serve` would hold for the same views.
#[global_allocator]
static HEAP: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[unsafe(export_name = "_rjem_malloc_conf")]
#[allow(non_upper_case_globals)]
static malloc_conf: Option<&'static std::ffi::c_char> =
    // SAFETY: a pointer to the first byte of a static C string.
    Some(unsafe { &*c"background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0".as_ptr() });

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Channel `i`'s stream at minute `m`: (stream id, started at, viewers).
fn stream_at(i: usize, m: i64, t0: DateTime<Utc>) -> (String, DateTime<Utc>, i64) {
    let length = 30 + (i as i64 * 7_919) % 371;
    let offset = (i as i64 * 104_729) % length;
    let session = (m + offset) / length;
    let into = (m + offset) % length;
    // A poll sees a stream some seconds after it started, so even its first
    // sample stands for watched time.
    let started = t0 + TimeDelta::minutes(m - into) - TimeDelta::seconds(20);
    // Heavy-tailed sizes; each stream climbs for its first third, then
    // declines (the shape that keeps a peak queue longest), plus noise.
    let base = 200_000 / (i as i64 + 1) + 20;
    let shape = if into < length / 3 {
        50 + into * 150 / (length / 3).max(1)
    } else {
        200 - (into - length / 3) * 150 / length
    };
    let viewers = base * shape / 100 + (m * 7 + i as i64) % 13;
    (format!("{}-{session}", 90_000_000 + i), started, viewers)
}

fn cycle(n: usize, m: i64, t0: DateTime<Utc>) -> CycleUpdate {
    let at = t0 + TimeDelta::minutes(m);
    let streams = (0..n)
        .map(|i| {
            let (stream_id, started_at, viewer_count) = stream_at(i, m, t0);
            LiveStream {
                user_id: format!("{}", 10_000_000 + i),
                login: format!("channel_{i}"),
                stream_id,
                game_id: format!("{}", i % 40),
                game_name: format!("Game {}", i % 40),
                title: "a stream title of ordinary length".into(),
                language: "en".into(),
                viewer_count,
                started_at,
                observed_at: at,
            }
        })
        .collect();
    let followers = (0..n)
        .filter(|i| (*i as i64 - m).rem_euclid(15) == 0)
        .map(|i| FollowerSample {
            user_id: format!("{}", 10_000_000 + i),
            followers_total: 1_000 + (i as i64 % 997) * 10 + m / (1 + i as i64 % 30),
            observed_at: at,
        })
        .collect();
    CycleUpdate {
        observed_at: at,
        streams,
        followers,
        status: CycleStatus {
            cycle_id: m + 1,
            started_at: at,
            finished_at: at,
            streams_seen: n as i64,
            requests: 1_000,
            rate_limit_remaining: Some(700),
            errors: 0,
            bronze_rows: 1_000,
            silver_rows: n as i64,
            gold_rows: 0,
            last_error: None,
        },
        chat: Vec::new(),
    }
}

fn main() {
    let n = env("BENCH_STREAMS", 100_000);
    let cycles = env("BENCH_CYCLES", 1_440) as i64;
    let t0 = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("t0");
    let live = LiveViews::new();
    let pid = std::process::id();
    println!("live day: {n} channels live all day, {cycles} one-minute cycles");
    println!(
        "{:>11} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "cycles",
        "apply ms",
        "worst ms",
        "RSS MiB",
        "windows",
        "day",
        "hour",
        "followers",
        "entries"
    );
    let mib = |bytes: usize| bytes as f64 / (1 << 20) as f64;
    let (mut sum, mut worst, mut count) = (0.0_f64, 0.0_f64, 0_u32);
    let started = Instant::now();
    for m in 0..cycles {
        let update = cycle(n, m, t0);
        let t = Instant::now();
        live.apply_cycle(update).expect("apply");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        (sum, worst, count) = (sum + ms, worst.max(ms), count + 1);
        if (m + 1) % 100 == 0 || m + 1 == cycles {
            let block = format!("{}-{}", m + 2 - i64::from(count), m + 1);
            let f = live.footprint();
            println!(
                "{block:>11} {:>9.1} {worst:>9.1} {:>8.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
                sum / f64::from(count),
                rss::rss_mib(pid),
                mib(f.total()),
                mib(f.day),
                mib(f.hour),
                mib(f.followers),
                mib(f.entries + f.recent),
            );
            (sum, worst, count) = (0.0, 0.0, 0);
        }
    }
    println!(
        "live day: {cycles} cycles in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
