//! Benchmark of the chat path. Prints figures, asserts nothing.
//!
//! 1. Parse + score + buffer: 100,000 simulated Twitch chat lines (full IRCv3
//!    tags, emotes, Unicode, copypasta) through `parse_line` into a
//!    `ChatBuffer` on one thread, then the same split into parse and score,
//!    beside the reference VADER (Python vaderSentiment 3.3.2) scoring the
//!    same texts, if the test venv has it. Goal (issue 14): 100,000 messages
//!    per second on one core.
//! 2. Memory with 1,000 joined channels: the real client joins 1,000 channels
//!    of the simulator (10 connections) on a manual clock; RSS before and after.
//! 3. End to end: the simulator's IRC server streams chat to the client over
//!    loopback; messages per second received, parsed, scored and buffered.
//!
//! `cargo bench --bench chat` (`BENCH_LINES` to resize part 1).
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::net::TcpListener;
use twitch_irc::message::{IRCMessage, PrivmsgMessage};
use twitch_monitor::chat::{
    ChatArgs, ChatBuffer, ChatClient, ChatSource, ChatStats, LineKind, Scorer, parse_line,
};
use twitch_monitor::clock::ManualClock;
use twitch_monitor::sim::chat::SimChat;
use twitch_monitor::sim::{SimServer, SimServerArgs, World};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("time")
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn python() -> String {
    std::env::var("TM_TEST_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/twitch-monitor/venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

/// `n` chat lines of a simulated world's 200 busiest live channels.
fn sim_lines(n: usize) -> Vec<String> {
    let world = World::with_live_streams(42, 200, t0());
    let logins: Vec<String> = world
        .live_streams()
        .iter()
        .map(|s| s.user_login.clone())
        .collect();
    let chat = SimChat::new(Arc::new(std::sync::Mutex::new(world)), 42, 1.0);
    let mut out = Vec::with_capacity(n);
    let mut from = t0() - TimeDelta::seconds(1);
    while out.len() < n {
        let to = from + TimeDelta::minutes(1);
        for login in &logins {
            out.extend(chat.lines(login, from, to).into_iter().map(|l| l.line));
        }
        from = to;
    }
    out.truncate(n);
    out
}

fn part1(lines: &[String]) -> Vec<String> {
    let scorer = Scorer::builtin();
    let _ = scorer.score_text("warm up the lexicons");
    let stats = Arc::new(ChatStats::default());
    let buffer = ChatBuffer::new(usize::MAX, stats.clone());
    let rss0 = rss_mib();
    let start = Instant::now();
    for raw in lines {
        if let (Some(line), _) = parse_line(raw, t0(), scorer) {
            buffer.push(line);
        }
    }
    let all = start.elapsed().as_secs_f64();
    let rss1 = rss_mib();
    let buffered = stats.snapshot().buffered_bytes;
    let drained = buffer.drain();
    let messages = drained.iter().filter(|l| l.message().is_some()).count();
    let unparsable = drained
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Unparsable(_)))
        .count();
    println!(
        "parse + score + buffer: {} lines ({messages} messages, {unparsable} unparsable) in {:.3} s = {:.0} lines/s on one thread",
        lines.len(),
        all,
        lines.len() as f64 / all
    );
    println!(
        "  buffered {:.1} MiB by the bound's count, RSS +{:.1} MiB ({:.0} bytes/line)",
        buffered as f64 / (1 << 20) as f64,
        rss1 - rss0,
        (rss1 - rss0) * (1 << 20) as f64 / lines.len() as f64
    );
    let start = Instant::now();
    let mut texts = Vec::with_capacity(lines.len());
    for raw in lines {
        if let Ok(m) = IRCMessage::parse(raw).map(PrivmsgMessage::try_from)
            && let Ok(m) = m
        {
            texts.push((
                m.message_text,
                m.emotes.into_iter().map(|e| e.code).collect::<Vec<_>>(),
            ));
        }
    }
    let parse = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut sum = 0.0;
    for (text, emotes) in &texts {
        let codes: Vec<&str> = emotes.iter().map(String::as_str).collect();
        sum += scorer.score(text, &codes);
    }
    let score = start.elapsed().as_secs_f64();
    println!(
        "  of which parse (twitch-irc) {:.0} lines/s, score {:.0} texts/s (mean score {:.3})",
        lines.len() as f64 / parse,
        texts.len() as f64 / score,
        sum / texts.len().max(1) as f64
    );
    texts.into_iter().map(|(t, _)| t).collect()
}

/// The same texts through Python's vaderSentiment (what a user would reach for).
fn python_baseline(texts: &[String]) {
    let script = "import json,sys,time\n\
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer\n\
        a=SentimentIntensityAnalyzer(); t=json.load(sys.stdin); s=time.perf_counter()\n\
        for x in t: a.polarity_scores(x)\n\
        print(len(t)/(time.perf_counter()-s))\n";
    let child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        println!("  Python vaderSentiment: not run (no test venv; run scripts/venv)");
        return;
    };
    let input = serde_json::to_vec(texts).expect("json");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() => println!(
            "  Python vaderSentiment 3.3.2, same texts: {} texts/s (score only)",
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<f64>()
                .map_or("?".into(), |v| format!("{v:.0}"))
        ),
        _ => println!("  Python vaderSentiment: not run (not installed in the test venv)"),
    }
}

async fn part2() {
    let clock = ManualClock::new(t0());
    let world = World::with_live_streams(7, 1_000, t0());
    let logins: Vec<String> = world
        .live_streams()
        .iter()
        .map(|s| s.user_login.clone())
        .collect();
    let mut args = SimServerArgs::new(world, Arc::new(clock.clone()));
    args.chat_rate = 0.0;
    let server =
        SimServer::start(TcpListener::bind("127.0.0.1:0").await.expect("bind"), args).expect("sim");
    let rss0 = rss_mib();
    let client = ChatClient::start(ChatArgs::new(
        server.chat_url().parse().expect("addr"),
        Arc::new(clock.clone()),
    ))
    .expect("client");
    let start = Instant::now();
    client.set_channels(&logins);
    while client.stats().joined < 1_000 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "joins stuck at {}",
            client.stats().joined
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rss1 = rss_mib();
    let s = client.stats();
    println!(
        "1,000 joined channels over {} connections: RSS +{:.1} MiB (client and server in one process), {:.0} simulated s of JOIN pacing in {:.2} real s",
        s.connections,
        rss1 - rss0,
        (clock_now(&clock) - t0()).as_seconds_f64(),
        start.elapsed().as_secs_f64()
    );
    client.shutdown().await;
    server.shutdown().await.expect("shutdown");
}

fn clock_now(c: &ManualClock) -> DateTime<Utc> {
    use twitch_monitor::clock::Clock;
    c.now()
}

async fn part3() {
    // Real time at 60x: a minute of chat per second from 20 busy channels.
    let clock = Arc::new(twitch_monitor::clock::ScaledClock::new(t0(), 60.0));
    let world = World::with_live_streams(9, 20, t0());
    let logins: Vec<String> = world
        .live_streams()
        .iter()
        .map(|s| s.user_login.clone())
        .collect();
    let mut args = SimServerArgs::new(world, clock.clone());
    args.chat_rate = 20.0;
    let server =
        SimServer::start(TcpListener::bind("127.0.0.1:0").await.expect("bind"), args).expect("sim");
    let client = ChatClient::start(ChatArgs::new(
        server.chat_url().parse().expect("addr"),
        clock,
    ))
    .expect("client");
    client.set_channels(&logins);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let m0 = client.stats().messages;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = client.stats().messages - m0;
    let _ = client.drain();
    println!(
        "end to end over loopback (sim IRC server → client): {:.0} messages/s received, parsed, scored, buffered ({} unparsable)",
        got as f64 / start.elapsed().as_secs_f64(),
        client.stats().unparsable
    );
    client.shutdown().await;
    server.shutdown().await.expect("shutdown");
}

fn main() {
    let n: usize = std::env::var("BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let lines = sim_lines(n);
    let texts = part1(&lines);
    python_baseline(&texts);
    drop(lines);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(part2());
    rt.block_on(part3());
}
