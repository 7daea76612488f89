//! Daily exports end to end: the service as `serve` wires it, on a
//! simulated clock started just before midnight (`--sim-start`), posting to
//! a local Slack receiver; what it sent is checked against gold read
//! through Flight SQL (ADBC), and `gold.exports` against restarts, a stop
//! across midnight and a receiver that is down for a while.
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use twitch_monitor::app::App;
use twitch_monitor::config::{Config, ExportSettings, SimSettings};

use crate::adbc_query;
use crate::http::{scrape, value};
use crate::notify::Receiver;

mod sheets;

const DAY: &str = "2026-03-01";

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

/// The service over a 20-channel world, all live, whose clock starts at `start` and
/// runs `speed`× (a cycle every ten simulated seconds), exporting to `rx`.
async fn start_app(dir: &Path, rx: &Receiver, start: &str, speed: f64) -> App {
    let export = ExportSettings {
        slack_url: Some(rx.url("/slack")),
        top: 3,
        ..Default::default()
    };
    start_with(dir, export, start, speed).await
}

/// [`start_app`] with these export settings.
async fn start_with(dir: &Path, export: ExportSettings, start: &str, speed: f64) -> App {
    let config = Config {
        lake: dir.to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        poll_interval: Duration::from_secs(10),
        sim: SimSettings {
            channels: 20,
            speed,
            start: Some(at(start)),
            // Every channel live: the few simulated minutes before midnight
            // have rows whatever the world's time zones.
            all_live: true,
            ..Default::default()
        },
        export,
        ..Default::default()
    };
    config.validate().unwrap();
    App::start(config).await.unwrap()
}

/// Waits, without sleeping, until `done` holds; fails after `limit`.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::task::yield_now().await;
    }
}

/// Requests the receiver answered 200.
fn delivered(rx: &Receiver) -> Vec<Value> {
    rx.got()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json())
        .collect()
}

/// The logins of a Slack message's field titled `title`, in order.
fn listed(body: &Value, title: &str) -> Vec<String> {
    let head = format!("*{title}*\n");
    let text = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["fields"].as_array())
        .flatten()
        .filter_map(|f| f["text"].as_str())
        .find(|t| t.starts_with(&head))
        .unwrap_or_else(|| panic!("no field {title:?} in {body}"));
    text[head.len()..]
        .lines()
        .map(|l| {
            let l = l.split_once(". ").unwrap().1;
            l.split(" — ").next().unwrap().to_owned()
        })
        .collect()
}

/// Waits until `gold.exports` says `day` was sent to Slack (read through
/// Flight SQL, so the next start reads it too).
async fn until_recorded_sent(app: &App, day: &str) {
    until_sent_to(app, day, "slack").await;
}

/// Waits until `gold.exports` says `day` was sent to `target`.
async fn until_sent_to(app: &App, day: &str, target: &str) {
    let port = app.flight_addr().port();
    let sql = format!(
        "SELECT count(*) AS n FROM twitch.gold.exports \
         WHERE day = DATE '{day}' AND target = '{target}' AND status = 'sent'"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while adbc_query(port, &sql).contains("\"n\": 0") {
        assert!(
            Instant::now() < deadline,
            "{day} not recorded as sent to {target}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_day_reaches_slack_once_with_the_gold_top_three_and_a_restart_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // Ten simulated minutes a second: the day closes a second in.
    let app = start_app(dir.path(), &rx, "2026-03-01T23:50:00Z", 600.0).await;
    until("the day's summary", Duration::from_secs(120), || {
        !delivered(&rx).is_empty()
    })
    .await;
    until_recorded_sent(&app, DAY).await;
    let bodies = delivered(&rx);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = &bodies[0];
    assert!(body["text"].as_str().unwrap().contains(DAY), "{body}");
    // Block Kit as Slack's own SDK models it.
    let (valid, said) =
        crate::notify::check(crate::notify::slack_check(), body.to_string().as_bytes());
    assert!(valid, "{said}");

    let port = app.flight_addr().port();
    let top = adbc_query(
        port,
        &format!(
            "SELECT coalesce(login, user_id) AS name FROM twitch.gold.streamer_daily \
             WHERE day = DATE '{DAY}' ORDER BY hours_watched DESC, name LIMIT 3"
        ),
    );
    let expected: Vec<String> = top
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(expected.len(), 3, "{top}");
    assert_eq!(listed(body, "Top by hours watched"), expected);
    export_endpoint_answers_the_days_gold(&app, dir.path()).await;
    app.shutdown().await.unwrap();

    // The same lake again, a day later in simulated time.
    let app = start_app(dir.path(), &rx, "2026-03-01T23:50:00Z", 600.0).await;
    until(
        "a cycle after the restart",
        Duration::from_secs(120),
        || app.live().snapshot().cycle_id().is_some(),
    )
    .await;
    // The consumers hear of a cycle after the live views: three cycles on,
    // the first one's catch-up is long done.
    let first = app.live().snapshot().cycle_id().unwrap_or(0);
    until(
        "three cycles after the restart",
        Duration::from_secs(120),
        || app.live().snapshot().cycle_id().unwrap_or(0) >= first + 3,
    )
    .await;
    let summaries = rx
        .got()
        .iter()
        .filter(|r| r.json()["text"].as_str().unwrap_or("").contains(DAY))
        .count();
    assert_eq!(summaries, 1, "the day was sent again after a restart");
    app.shutdown().await.unwrap();
    export_command_writes_the_days_gold_and_refuses_what_it_cannot_do(dir.path());
}

/// Runs `twitch-monitor export` over `lake`.
fn export(lake: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .arg("export")
        .args(["--lake", lake.to_str().unwrap()])
        .args(args)
        .env_remove("TM_EXPORT_SLACK_URL")
        .output()
        .unwrap()
}

/// `export` over a lake holding `DAY`: files in every format equal the gold
/// rows (read back by pyarrow and DuckDB, the lake by deltalake); a day
/// without data, an unknown format and an unknown target are clear errors.
fn export_command_writes_the_days_gold_and_refuses_what_it_cannot_do(lake: &Path) {
    let out = tempfile::tempdir().unwrap();
    for format in ["csv", "parquet", "json"] {
        let dir = out.path().join(format);
        let run = export(
            lake,
            &[
                "--day",
                DAY,
                "--format",
                format,
                "--out",
                dir.to_str().unwrap(),
            ],
        );
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let said = check_files(lake, &dir.join(DAY), format);
        assert!(said.contains("\"streamer_daily\""), "{said}");
        // Nothing half-written is left beside the files.
        let hidden = std::fs::read_dir(dir.join(DAY))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(hidden, 0);
    }
    let refused = |args: &[&str], says: &str| {
        let run = export(lake, args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    refused(
        &["--day", "2020-01-01", "--out", out.path().to_str().unwrap()],
        "no data for 2020-01-01",
    );
    refused(
        &["--day", DAY, "--format", "xml"],
        "possible values: csv, parquet, json",
    );
    refused(
        &["--day", DAY, "--target", "sheets"],
        "unknown export target \"sheets\"",
    );
    assert!(!out.path().join("2020-01-01").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_that_closed_while_the_server_was_down_is_sent_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // A simulated minute a second from 23:00: stopped well before midnight.
    let app = start_app(dir.path(), &rx, "2026-03-01T23:00:00Z", 60.0).await;
    until("two cycles", Duration::from_secs(120), || {
        app.live().snapshot().cycle_id().unwrap_or(0) >= 2
    })
    .await;
    app.shutdown().await.unwrap();
    assert!(rx.got().is_empty(), "sent before the day closed");

    // Back the next morning.
    let app = start_app(dir.path(), &rx, "2026-03-02T00:20:00Z", 60.0).await;
    until("the missed day's summary", Duration::from_secs(120), || {
        !delivered(&rx).is_empty()
    })
    .await;
    let bodies = delivered(&rx);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(
        bodies[0]["text"].as_str().unwrap().contains(DAY),
        "{}",
        bodies[0]
    );
    until_recorded_sent(&app, DAY).await;
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_down_is_retried_then_delivered_and_its_failure_shows_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    rx.set_down(true);
    let app = start_app(dir.path(), &rx, "2026-03-01T23:55:00Z", 600.0).await;
    let metrics = format!("http://{}/metrics", app.http_addr());
    let sends = |scraped: &Value, status: &str| {
        value(
            scraped,
            "twitch_monitor_export_sends",
            "twitch_monitor_export_sends_total",
            &[("target", "slack"), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    // The notifier's retries run out: a failed send, counted.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let scraped = scrape(&metrics).await;
        if sends(&scraped, "failed") >= 1.0 {
            let pending = value(
                &scraped,
                "twitch_monitor_exports_pending",
                "twitch_monitor_exports_pending",
                &[],
            );
            assert_eq!(pending, Some(1.0), "{scraped}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed send in /metrics: {scraped}"
        );
    }
    assert!(rx.got().len() > 1, "not retried");
    rx.set_down(false);
    until("the retried summary", Duration::from_secs(120), || {
        !delivered(&rx).is_empty()
    })
    .await;
    until_recorded_sent(&app, DAY).await;
    let scraped = scrape(&metrics).await;
    assert_eq!(sends(&scraped, "sent"), 1.0, "{scraped}");
    assert_eq!(delivered(&rx).len(), 1);
    let day: NaiveDate = DAY.parse().unwrap();
    assert!(
        delivered(&rx)[0]["text"]
            .as_str()
            .unwrap()
            .contains(&day.to_string())
    );
    app.shutdown().await.unwrap();
}

/// Checks exported files in `folder` against the lake with read_export.py.
fn check_files(lake: &Path, folder: &Path, format: &str) -> String {
    let check = std::process::Command::new(crate::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/read_export.py"
        ))
        .arg(lake)
        .arg(folder)
        .args([DAY, format])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "{format}: {said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    said
}

/// `/api/export/{table}` answers the day's gold rows as files readers
/// take (pyarrow for Parquet and JSON, DuckDB for CSV), and refuses what
/// is not a gold table or format.
async fn export_endpoint_answers_the_days_gold(app: &App, lake: &Path) {
    let http = reqwest::Client::new();
    let base = format!("http://{}/api/export", app.http_addr());
    let files = tempfile::tempdir().unwrap();
    for format in ["csv", "json", "parquet"] {
        let folder = files.path().join(format);
        std::fs::create_dir_all(&folder).unwrap();
        for table in ["streamer_daily", "category_daily"] {
            let url = format!("{base}/{table}?from={DAY}&to={DAY}&format={format}");
            let answer = http.get(&url).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{url}");
            let body = answer.bytes().await.unwrap();
            std::fs::write(folder.join(format!("{table}.{format}")), &body).unwrap();
        }
        let said = check_files(lake, &folder, format);
        assert!(said.contains("\"category_daily\""), "{said}");
    }
    let status = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("{base}/streams?from={DAY}")).await, 404);
    assert_eq!(
        status(format!("{base}/streamer_daily?from={DAY}&format=xml")).await,
        400
    );
}
