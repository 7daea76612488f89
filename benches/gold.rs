//! Benchmark: what the gold figures spanning days — the weekly leaderboard
//! and the rising stars — cost a cycle late in a week, at the scale of
//! `scripts/soak` (220,000 channels, about 145,000 of them live at some
//! point of a day). The 13 closed days before the open one each hold
//! `BENCH_DAILY` streamers' rows (default 145,000, drawn from 220,000); the
//! open day holds `BENCH_OPEN` (default 130,000, an evening). Prints the
//! time to fold the closed days (once a day in `serve`), the first cycle
//! after it and the median of the next ones. Figures only, no assertions:
//! `cargo bench --bench gold`.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use twitch_monitor::ingest::gold::span::{self, ClosedSpans, SpanDays, SpanRow};
use twitch_monitor::ingest::profiles::{Profiles, Version};

const CHANNELS: u64 = 220_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A seeded generator: the same days every run.
type Gen = rand_chacha::ChaCha8Rng;

fn below(g: &mut Gen, n: u64) -> u64 {
    g.random_range(0..n)
}

/// `n` distinct streamers' rows of one day.
fn day_rows(g: &mut Gen, n: usize) -> Vec<SpanRow> {
    let mut ids: Vec<u64> = (0..CHANNELS).collect();
    for i in 0..n {
        let j = i + below(g, CHANNELS - i as u64) as usize;
        ids.swap(i, j);
    }
    ids[..n]
        .iter()
        .map(|&u| {
            let minutes = (below(g, 600) + 10) as f64;
            SpanRow {
                user_id: (100_000_000 + u).to_string(),
                login: format!("channel{u}"),
                hours_watched: minutes / 60.0 * below(g, 5_000) as f64,
                minutes_streamed: minutes,
                followers_gained: (below(g, 4) != 0).then(|| below(g, 300) as i64),
                followers_start: Some(below(g, 1_000_000) as i64),
            }
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let (daily, open_n) = (env("BENCH_DAILY", 145_000), env("BENCH_OPEN", 130_000));
    let day = NaiveDate::from_ymd_opt(2026, 3, 22).unwrap_or_default(); // a Sunday
    let mut g = Gen::seed_from_u64(7);
    let mut profiles = Profiles::new();
    for u in 0..CHANNELS {
        let created = Utc.timestamp_opt(1_500_000_000 + below(&mut g, 280_000_000) as i64, 0);
        let text = ["login", "", "", "", "", ""];
        let version = Version::new(
            text,
            created.single(),
            created.single().unwrap_or_default(),
            1,
        );
        profiles.insert((100_000_000 + u).to_string(), vec![version]);
    }
    let closed_days: BTreeMap<NaiveDate, Vec<SpanRow>> = span::inputs(day)
        .filter(|d| *d < day)
        .map(|d| (d, day_rows(&mut g, daily)))
        .collect();
    let open_rows = day_rows(&mut g, open_n);
    let open: SpanDays<'_> = [(day, open_rows.as_slice())].into_iter().collect();
    println!(
        "{} closed days of {daily} streamers, an open day of {open_n}, {CHANNELS} profiles",
        closed_days.len()
    );

    let t = Instant::now();
    let mut closed = ClosedSpans::new(day);
    for (d, rows) in &closed_days {
        closed.add_day(*d, rows);
    }
    println!("fold the closed days (once a day):  {:>8.1?}", t.elapsed());

    let week = day - Days::days(6);
    let cycle = || {
        let t = Instant::now();
        let weekly = span::weekly(week, &closed, &open);
        let weekly_took = t.elapsed();
        let t = Instant::now();
        let stars = span::rising_stars(day, &closed, &open, &profiles);
        (weekly_took, t.elapsed(), weekly.len() + stars.len())
    };
    let (w, s, n) = cycle();
    println!("first cycle:  weekly {w:>8.1?}  rising stars {s:>8.1?}  ({n} rows)");
    let runs: Vec<(Duration, Duration, usize)> = (0..15).map(|_| cycle()).collect();
    let w = median(runs.iter().map(|r| r.0).collect());
    let s = median(runs.iter().map(|r| r.1).collect());
    println!("next cycles:  weekly {w:>8.1?}  rising stars {s:>8.1?}  (median of 15)");
}
