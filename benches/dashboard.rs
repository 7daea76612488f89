//! Benchmark: the dashboard over 100,000 live streams. Starts the service as
//! `serve` does (in-process simulator, every channel live, rate limit off),
//! waits for the first committed cycle, then drives Debian's headless
//! Chromium (tests/browser, `scripts/browser` installs it) to time the first
//! drawn chart on Now and on the top channel's page, and to weigh the pages
//! as transferred (compressed). Beside them: the data API's answer times and
//! the same statements run in-process on the engine (no HTTP), which is what
//! a notebook over Flight SQL would pay at best.
//!
//! Run with `cargo bench --bench dashboard` (`BENCH_STREAMS` to change the
//! size). Goals (issue 12): first chart under 1 s; page weight under 300 KB
//! compressed without the chart library.
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use twitch_monitor::app::App;
use twitch_monitor::config::{Config, SimSettings};

fn streams() -> usize {
    std::env::var("BENCH_STREAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    twitch_monitor::init_logging();
    let n = streams();
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = Config {
            lake: dir.path().to_str().expect("path").to_owned(),
            flight_addr: "127.0.0.1:0".parse().expect("addr"),
            http_addr: "127.0.0.1:0".parse().expect("addr"),
            poll_interval: Duration::from_secs(600),
            sim: SimSettings {
                channels: n,
                all_live: true,
                rate_limit: 0,
                ..Default::default()
            },
            ..Default::default()
        };
        config.validate().expect("config");
        let started = Instant::now();
        let app = App::start(config).await.expect("start");
        // Poll (bounded) until the first cycle is in the live views.
        let deadline = Instant::now() + Duration::from_secs(600);
        while app.live().snapshot().cycle_id().is_none() {
            assert!(Instant::now() < deadline, "no cycle within 10 minutes");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let snapshot = app.live().snapshot();
        let leaderboard = snapshot.batch(twitch_monitor::live::View::Leaderboard);
        let top = arrow::array::cast::as_string_array(leaderboard.column(2)).value(0).to_owned();
        println!(
            "dashboard over {} live streams (first cycle committed after {:.1} s); top channel {top}",
            leaderboard.num_rows(),
            started.elapsed().as_secs_f64()
        );
        let base = format!("http://{}", app.http_addr());

        // The data API vs the same statement in-process.
        let http = reqwest::Client::new();
        println!("{:<44} {:>12} {:>14}", "data API answer (median of 5)", "HTTP+JSON", "engine only");
        let statements: Vec<(String, String)> = vec![
            ("live/leaderboard?limit=100".into(), "SELECT * FROM twitch.live.leaderboard WHERE rank <= 100".into()),
            ("live/categories?limit=15".into(), "SELECT * FROM twitch.live.categories".into()),
            ("viewership?hours=24".into(), "SELECT hour, SUM(viewers) FROM twitch.gold.hourly_viewership GROUP BY hour".into()),
            (
                format!("streamer/{top}/viewers"),
                format!("SELECT observed_at, viewer_count FROM twitch.silver.stream_snapshots WHERE user_login = '{top}'"),
            ),
        ];
        for (path, sql) in &statements {
            let (mut api, mut engine) = (Vec::new(), Vec::new());
            for _ in 0..5 {
                let t = Instant::now();
                let r = http.get(format!("{base}/api/{path}")).send().await.expect("get");
                assert!(r.status().is_success(), "{path}: {}", r.status());
                r.bytes().await.expect("body");
                api.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let _: Vec<_> = app.engine().execute(sql, &[]).await.expect("sql").try_collect().await.expect("rows");
                engine.push(t.elapsed().as_secs_f64() * 1e3);
            }
            println!("{:<44} {:>9.1} ms {:>11.1} ms", path, median(api), median(engine));
        }

        let out = tokio::process::Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/dashboard.mjs"))
            .args(["--bench", "--base", &base, "--streamer", &top, "--out"])
            .arg(dir.path().join("shots"))
            .output()
            .await
            .expect("node (scripts/browser installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench JSON");
        println!("{:<12} {:>22} {:>18} {:>22} {:>14}", "page", "first chart (median)", "all loads, ms", "weight w/o uPlot", "uPlot");
        for page in ["now", "streamer"] {
            let p = &report[page];
            let times: Vec<String> = p["first_chart_ms"]
                .as_array()
                .map(|a| a.iter().map(|t| format!("{:.0}", t.as_f64().unwrap_or(f64::NAN))).collect())
                .unwrap_or_default();
            println!(
                "{:<12} {:>19.0} ms {:>18} {:>19.1} KB {:>11.1} KB",
                page,
                p["median_ms"].as_f64().unwrap_or(f64::NAN),
                times.join(" "),
                p["without_chart_library_bytes"].as_f64().unwrap_or(f64::NAN) / 1024.0,
                p["chart_library_bytes"].as_f64().unwrap_or(f64::NAN) / 1024.0,
            );
        }
        println!("goals: first chart under 1000 ms; weight under 300 KB compressed without the chart library");
        if report["problems"].as_array().is_some_and(|p| !p.is_empty()) {
            println!("browser problems: {}", report["problems"]);
        }
        app.shutdown().await.expect("shutdown");
    });
}
