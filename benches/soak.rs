//! Soak benchmark (issue 16): `twitch-monitor serve` on the built-in
//! simulator, sped up, for a day's number of one-minute cycles (1,440 by
//! default) from midnight, as a user would run it. Cycles run back to back
//! once they take longer than a simulated minute lasts, so then the run
//! covers more simulated time than its cycles suggest, each day with its
//! maintenance (at 12,000 channels cycles now keep up: one day). Reads each cycle's
//! summary line from the server's log and samples the server's RSS at every
//! cycle; prints, per 100 cycles, the mean and worst cycle time, the mean
//! seconds of each stage (poll, then the bronze, silver and gold commits), live
//! streams, RSS, the median and longest query a dashboard user waited for
//! (`common/probe.rs`: one channel's viewers of the day over HTTP, once a
//! second, beside the cycles) and the lake's size per layer, then the goal
//! ratios: the
//! last 100 cycles against the second 100 (goal ≤ 1.2×) and RSS growth
//! after the first 60 cycles (goal: flat): the change, the highest sample and
//! a least-squares trend over every cycle after the first hour. A run longer
//! than a day (`BENCH_CYCLES=2940`: two days and an hour) also prints each
//! block of the later day beside the block that ended at the same simulated
//! time the day before, whose load was the same. At the end it
//! stops the server with SIGTERM and prints the live files of each table
//! (bounded: a table gaining a file per cycle would hold one per cycle).
//! `BENCH_CHECK=true` then checks the lake independently, as after a kill
//! storm: a copy rebuilt from bronze (`twitch-monitor rebuild`) and
//! `tests/py/check_lake.py` (DuckDB's delta extension; the test venv's
//! Python, `TM_TEST_PYTHON`, which `scripts/soak` sets up).
//!
//! `cargo bench --bench soak`; `BENCH_CHANNELS` (default 12,000 channels,
//! the load of the issue), `BENCH_CYCLES` (1,440), `BENCH_SPEED` (simulated
//! seconds per real second, default 120: a cycle is due every 0.5 s, so
//! cycles run back to back once they take longer), `BENCH_ALL_LIVE=true` for
//! every channel live all run (100,000 streams with `BENCH_CHANNELS=100000`:
//! a channel whose stream ends starts its next one the minute after, so about
//! 99% of them are live at any time; before 2026-12-07 they followed their
//! daily rhythm after the start, and most streams had ended within hours),
//! `BENCH_SERVER_LOG=FILE` to keep the server's log in FILE,
//! `BENCH_LAKE=DIR` to write the lake in DIR (a new directory) and keep it (e.g. for
//! `QUERY_BENCH_LAKE=DIR scripts/query-bench`), `BENCH_CHECK=true` for the
//! check at the end. `scripts/soak` is the reliability suite's full day:
//! 20,000 live streams, checked.
//!
//! Log entries are kept by age in real time (their files'), and so are the
//! tombstones of removed files in checkpoints, so the server's log and
//! vacuum retention are scaled like the simulated clock: one simulated day
//! (`TM_LOG_RETENTION` = `TM_VACUUM_RETENTION` = 86,400 s / `BENCH_SPEED`,
//! 12 minutes at 120×), as the defaults of a day keep at real speed, and
//! the gold retention one simulated hour (`TM_GOLD_RETENTION`, 30 s at
//! 120×). `BENCH_LOG_RETENTION` overrides the first two,
//! `BENCH_VACUUM_RETENTION` the second alone, `BENCH_GOLD_RETENTION` the
//! third.
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;

fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[path = "common/lake_check.rs"]
mod lake_check;
#[path = "common/rss.rs"]
mod rss;
use rss::rss_mib;
#[path = "common/probe.rs"]
mod probe;
use probe::{Probe, quantile};
#[path = "common/blocks.rs"]
mod blocks;
use blocks::{Block, day_over_day, slope};

/// Bytes under `dir`.
fn size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// `line` without ANSI colour codes.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One cycle's summary line: `cycle N: S streams, …, T s, rows …`.
fn parse(line: &str) -> Option<(u64, u64, f64)> {
    let rest = &line[line.find("cycle ")? + 6..];
    let (id, rest) = rest.split_once(": ")?;
    let (streams, rest) = rest.split_once(" streams, ")?;
    let seconds = rest.split(", ").find_map(|p| p.strip_suffix(" s"))?;
    Some((
        id.parse().ok()?,
        streams.parse().ok()?,
        seconds.parse().ok()?,
    ))
}

/// Stages of a cycle as its summary line names them (`, took poll X s
/// bronze Y s …`).
const STAGES: [&str; 4] = ["poll", "bronze", "silver", "gold"];

/// Seconds per stage of one summary line (0 for a stage not named).
fn stages(line: &str) -> [f64; 4] {
    let mut out = [0.0; 4];
    if let Some((_, took)) = line.rsplit_once(", took ") {
        let words: Vec<&str> = took.split_whitespace().collect();
        for pair in words.chunks(3) {
            if let [stage, seconds, "s"] = pair
                && let Some(i) = STAGES.iter().position(|s| s == stage)
            {
                out[i] = seconds.parse().unwrap_or(0.0);
            }
        }
    }
    out
}

fn main() {
    let channels: usize = var("BENCH_CHANNELS", 12_000);
    let cycles: u64 = var("BENCH_CYCLES", 1_440);
    let speed: f64 = var("BENCH_SPEED", 120.0);
    let all_live: bool = var("BENCH_ALL_LIVE", false);
    let check: bool = var("BENCH_CHECK", false);
    let log_retention: String = std::env::var("BENCH_LOG_RETENTION")
        .unwrap_or_else(|_| format!("{}s", (86_400.0 / speed).round().max(1.0)));
    let vacuum_retention =
        std::env::var("BENCH_VACUUM_RETENTION").unwrap_or_else(|_| log_retention.clone());
    let gold_retention = std::env::var("BENCH_GOLD_RETENTION")
        .unwrap_or_else(|_| format!("{}s", (3_600.0 / speed).round().max(1.0)));
    let dir = tempfile::tempdir().expect("temp dir");
    let lake = std::env::var_os("BENCH_LAKE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("lake"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .env_remove("TWITCH_CLIENT_ID")
        .env_remove("TWITCH_CLIENT_SECRET")
        .env("RUST_LOG", "twitch_monitor=info")
        .env("TM_LAKE", &lake)
        .env("TM_HTTP_ADDR", "127.0.0.1:0")
        .env("TM_FLIGHT_ADDR", "127.0.0.1:0")
        .env("TM_POLL_INTERVAL", "60s")
        .env("TM_SIM_CHANNELS", channels.to_string())
        .env("TM_SIM_SPEED", speed.to_string())
        .env("TM_SIM_START", "2026-03-02T00:00:00Z")
        .env("TM_SIM_RATE_LIMIT", "0")
        .env("TM_SIM_ALL_LIVE", all_live.to_string())
        .env("TM_SIM_KEEP_LIVE", all_live.to_string())
        .env("TM_LOG_RETENTION", &log_retention)
        .env("TM_VACUUM_RETENTION", &vacuum_retention)
        .env("TM_GOLD_RETENTION", &gold_retention)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start twitch-monitor serve");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    let mut keep = std::env::var_os("BENCH_SERVER_LOG").map(|path| {
        std::io::BufWriter::new(std::fs::File::create(path).expect("create BENCH_SERVER_LOG"))
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(keep) = keep.as_mut() {
                // A diagnostic copy: a failed write only loses that copy.
                let _ = writeln!(keep, "{}", plain(&line)).and_then(|()| keep.flush());
            }
            if tx.send(plain(&line)).is_err() {
                break;
            }
        }
    });
    println!(
        "soak: serve on the simulator, {channels} channels{}, {speed}x, one-minute cycles from midnight, {cycles} cycles, log retention {log_retention}, vacuum retention {vacuum_retention}, gold retention {gold_retention}",
        if all_live { " all live" } else { "" }
    );
    println!(
        "{:>11} {:>10} {:>10} {:>27} {:>9} {:>9} {:>15} {:>9} {:>9} {:>9}",
        "cycles",
        "mean s",
        "worst s",
        "poll/bronze/silver/gold s",
        "streams",
        "RSS MiB",
        "query p50/max",
        "bronze",
        "silver",
        "gold"
    );
    let started = Instant::now();
    let mut blocks: Vec<Block> = Vec::new();
    let mut block = Block::default();
    let mut rss_hour = f64::NAN;
    // (cycle, MiB) of every cycle after the first hour.
    let mut rss_later: Vec<(f64, f64)> = Vec::new();
    let mut last = 0;
    // The server's last lines, shown if it stops before the run's end.
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    // Cycles whose chat had lines for minutes already sealed.
    let mut late_chat = 0;
    // Started once the server's HTTP address is in its log.
    let mut probe: Option<Probe> = None;
    let (mut probed, mut probe_errors) = (Vec::new(), 0);
    // Borrowed, not consumed: the channel stays open (and the server's
    // stderr drained) until the server has stopped.
    for line in rx.iter() {
        if tail.len() == 20 {
            tail.pop_front();
        }
        tail.push_back(line.clone());
        if line.contains(" failed after ") {
            eprintln!("{line}");
        }
        if line.contains("read again from bronze") {
            late_chat += 1;
        }
        if probe.is_none()
            && line.contains("HTTP server listening")
            && let Some(addr) = line.split("addr=").nth(1)
        {
            let addr = addr.split_whitespace().next().unwrap_or_default();
            probe = Some(Probe::start(addr.to_owned()));
        }
        let Some((id, streams, seconds)) = parse(&line) else {
            continue;
        };
        let rss = rss_mib(pid);
        block.times.push(seconds);
        for (sum, s) in block.stages.iter_mut().zip(stages(&line)) {
            *sum += s;
        }
        block.streams.push(streams);
        block.rss = rss;
        if id == 60 {
            rss_hour = rss;
        } else if id > 60 {
            rss_later.push((id as f64, rss));
        }
        last = id;
        if id % 100 == 0 || id == cycles {
            let mib = |layer: &str| size(&lake.join(layer)) as f64 / (1 << 20) as f64;
            let (millis, failures) = probe.as_ref().map(Probe::take).unwrap_or_default();
            probe_errors += failures.len();
            for why in failures {
                println!("  a probe query failed by cycle {id}, {why}");
            }
            println!(
                "{:>5}-{:<5} {:>10.2} {:>10.2} {:>27} {:>9} {:>9.0} {:>15} {:>7.0}MB {:>7.0}MB {:>7.0}MB",
                id + 1 - block.times.len() as u64,
                id,
                block.mean(),
                block.times.iter().copied().fold(0.0, f64::max),
                format!(
                    "{:.2}/{:.2}/{:.2}/{:.2}",
                    block.stage(0),
                    block.stage(1),
                    block.stage(2),
                    block.stage(3)
                ),
                block.mean_streams(),
                rss,
                format!(
                    "{:.0}/{:.0} ms",
                    quantile(&millis, 0.5),
                    quantile(&millis, 1.0)
                ),
                mib("bronze"),
                mib("silver"),
                mib("gold"),
            );
            probed.extend(millis);
            block.last = id;
            block.minute = started.elapsed().as_secs_f64() * speed / 60.0;
            blocks.push(std::mem::take(&mut block));
        }
        if id >= cycles {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // SIGTERM: the server finishes its cycle and stops, leaving a lake to check.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    match child.wait() {
        Ok(status) if status.success() => {}
        other => eprintln!("soak: serve did not stop cleanly: {other:?}"),
    }
    if last < cycles {
        // Figures of a run cut short would read as a result: say why instead.
        eprintln!("soak: serve stopped after {last} of {cycles} cycles; its last lines:");
        for line in &tail {
            eprintln!("  {line}");
        }
        // `exit` runs no destructors: the temporary lake goes first.
        drop(dir);
        std::process::exit(1);
    }
    println!(
        "{last} cycles in {elapsed:.0} s of real time; {late_chat} read sealed chat minutes again from bronze (late lines)"
    );
    println!(
        "queries beside the cycles (one channel's viewers of the day over HTTP, one a second): \
         {} answered, {probe_errors} failed; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        probed.len(),
        quantile(&probed, 0.5),
        quantile(&probed, 0.99),
        quantile(&probed, 1.0)
    );
    if blocks.len() >= 3 {
        let (second, final_) = (&blocks[1], &blocks[blocks.len() - 1]);
        println!(
            "last 100 cycles vs the second 100: {:.2}x the mean cycle time (goal ≤ 1.2x); \
             per live stream {:.3} ms vs {:.3} ms ({:.2}x)",
            final_.mean() / second.mean(),
            final_.per_stream_ms(),
            second.per_stream_ms(),
            final_.per_stream_ms() / second.per_stream_ms()
        );
        println!(
            "RSS after the first hour {rss_hour:.0} MiB, at the end {:.0} MiB ({:+.0} MiB; goal: flat)",
            final_.rss,
            final_.rss - rss_hour
        );
    }
    if !rss_later.is_empty() {
        let (at, highest) = rss_later
            .iter()
            .copied()
            .fold((0.0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
        println!(
            "RSS over the {} cycles after the first hour: highest {highest:.0} MiB (cycle {at:.0}), trend {:+.1} MiB per 100 cycles (least squares)",
            rss_later.len(),
            100.0 * slope(&rss_later)
        );
    }
    day_over_day(&blocks);
    let files = live_files(&lake);
    if let Some((table, most)) = files.iter().max_by_key(|(_, n)| *n) {
        let all: Vec<String> = files.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "live files at the end: at most {most} in a table ({table}) after {last} cycles; {}",
            all.join(", ")
        );
    }
    if check {
        match independent_check(&lake, dir.path()) {
            Ok(said) => {
                println!("the lake, checked by DuckDB against a rebuild from bronze: {said}")
            }
            Err(e) => {
                eprintln!("soak: the lake check failed: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Live (not removed) files of every Delta table of the lake.
fn live_files(lake: &Path) -> Vec<(String, usize)> {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let location = lake.to_str().expect("a UTF-8 lake path");
    let opened = match runtime.block_on(Lake::open(location, Default::default())) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("soak: cannot open the lake to count its files: {e}");
            return Vec::new();
        }
    };
    Table::ALL
        .into_iter()
        .map(|t| {
            let files = opened
                .delta_table(t)
                .get_file_uris()
                .map_or(0, |f| f.count());
            (t.to_string(), files)
        })
        .collect()
}

/// The lake check of the kill storms ([`lake_check`]): a copy rebuilt from
/// bronze, then `tests/py/check_lake.py` on both, with its timings.
fn independent_check(lake: &Path, scratch: &Path) -> Result<String, String> {
    let copy = scratch.join("rebuilt");
    eprintln!("soak: copying the lake's sources and rebuilding the copy from bronze…");
    let started = Instant::now();
    lake_check::copy_sources(lake, &copy)?;
    let binary = Path::new(env!("CARGO_BIN_EXE_twitch-monitor"));
    lake_check::rebuild(binary, &copy, |c| {
        c.env("TM_POLL_INTERVAL", "60s");
    })?;
    eprintln!(
        "soak: rebuilt in {:.0} s; comparing with DuckDB…",
        started.elapsed().as_secs_f64()
    );
    let python = std::env::var_os("TM_TEST_PYTHON").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/twitch-monitor/venv/bin/python")
        },
        PathBuf::from,
    );
    let report = lake_check::compare(&python, lake, &copy)?;
    Ok(format!(
        "{} ({:.0} s)",
        lake_check::summary(&report),
        started.elapsed().as_secs_f64()
    ))
}
