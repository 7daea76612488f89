//! The whole service as `serve` wires it, on loopback ports: the simulator
//! feeds cycles, a real ADBC client queries live views and Delta tables, and
//! the metrics move with cycles and queries.
use std::path::Path;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use futures::TryStreamExt;
use twitch_monitor::app::App;
use twitch_monitor::config::{Config, SimSettings};
use twitch_monitor::live::View;

use crate::http::{scrape, value};
use crate::{adbc_query, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_feeds_live_views_and_delta_tables_to_adbc_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path(), 80).await;

    // Poll (no sleeping) until two cycles have reached the live views.
    let deadline = Instant::now() + Duration::from_secs(120);
    while app.live().snapshot().cycle_id().unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "no cycles within two minutes");
        tokio::task::yield_now().await;
    }

    let port = app.flight_addr().port();
    let query = |sql: &str| adbc_query(port, sql);
    // What the views held, for a failure message that says why.
    let state = || {
        query(
            "SELECT (SELECT count(*) FROM twitch.live.streams) AS live_streams, \
             (SELECT count(*) FROM twitch.gold.streamer_daily) AS daily_rows, \
             (SELECT max(cycle_id) FROM twitch.silver.stream_snapshots) AS silver_cycle",
        ) + &query("SELECT * FROM twitch.live.ingest_status LIMIT 3")
    };
    // At 600x the simulated clock can reach the night's trough on a slow
    // machine, where 80 channels may all be offline and the leaderboard is
    // rightly empty. Ask again (bounded) until one answer, from one
    // snapshot of the views, has a leaderboard and live streams joined to
    // their daily gold rows.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen = query(
            "SELECT (SELECT min(rank) FROM twitch.live.leaderboard) AS top_rank, \
             (SELECT count(*) FROM twitch.live.streams s \
              JOIN twitch.gold.streamer_daily d ON s.user_id = d.user_id) AS joined",
        );
        if seen.contains("\"top_rank\": 1,") && !seen.contains("\"joined\": 0") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no leaderboard joined to gold within two minutes: {seen}\n{}",
            state()
        );
        tokio::task::yield_now().await;
    }
    let cycles = query("SELECT count(DISTINCT cycle_id) AS n FROM twitch.silver.stream_snapshots");
    assert!(!cycles.contains("\"n\": 0"), "{cycles}");

    let url = format!("http://{}/metrics", app.http_addr());
    let scraped = scrape(&url).await;
    let ok_cycles = value(
        &scraped,
        "twitch_monitor_cycles",
        "twitch_monitor_cycles_total",
        &[("outcome", "ok")],
    );
    assert!(ok_cycles.unwrap_or(0.0) >= 2.0, "{scraped}");
    let ok_queries = value(
        &scraped,
        "twitch_monitor_queries",
        "twitch_monitor_queries_total",
        &[("outcome", "ok")],
    );
    // At least the leaderboard check and the cycle count.
    assert!(ok_queries.unwrap_or(0.0) >= 2.0, "{scraped}");
    // Rows are counted per table, under the table's catalog name.
    let rows = |table: &str| {
        let name = "twitch_monitor_rows_written_total";
        value(
            &scraped,
            "twitch_monitor_rows_written",
            name,
            &[("table", table)],
        )
    };
    for table in [
        "bronze.helix_responses",
        "silver.stream_snapshots",
        "gold.streamer_daily",
    ] {
        assert!(rows(table).unwrap_or(0.0) > 0.0, "{table}: {scraped}");
    }
    assert_eq!(rows("silver"), None, "{scraped}");
    app.shutdown().await.unwrap();
}

/// The service as `serve` wires it over a simulated world of `channels`
/// channels (ten simulated minutes a second, a cycle every ten simulated
/// seconds), on loopback ports and a lake in `dir`.
async fn start_app(dir: &Path, channels: usize) -> App {
    let config = Config {
        lake: dir.to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        poll_interval: Duration::from_secs(10),
        sim: SimSettings {
            channels,
            speed: 600.0,
            ..Default::default()
        },
        ..Default::default()
    };
    config.validate().unwrap();
    App::start(config).await.unwrap()
}

/// A service over ten channels, once a first cycle has reached the live views.
async fn small_app_after_a_cycle(dir: &Path) -> App {
    let app = start_app(dir, 10).await;
    until("a first cycle", Duration::from_secs(120), || {
        app.live().snapshot().cycle_id().is_some()
    })
    .await;
    app
}

/// Breaks the lake under a running service: `bronze.helix_responses`
/// becomes a plain file, so every cycle's first commit fails from now on.
fn break_bronze(lake: &Path) {
    let table = lake.join("bronze").join("helix_responses");
    for attempt in 0..100 {
        // A commit in flight may recreate the directory: move it aside again.
        let _ = std::fs::rename(&table, lake.join(format!("moved-aside-{attempt}")));
        if std::fs::write(&table, "not a Delta table").is_ok() {
            return;
        }
    }
    panic!("cannot replace {} with a file", table.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cycle_is_a_row_of_live_ingest_status_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let app = small_app_after_a_cycle(dir.path()).await;
    break_bronze(dir.path());
    until(
        "a failed cycle in live.ingest_status",
        Duration::from_secs(120),
        || {
            let snapshot = app.live().snapshot();
            let errors = snapshot
                .batch(View::IngestStatus)
                .column_by_name("last_error");
            errors.is_some_and(|e| e.null_count() < e.len())
        },
    )
    .await;
    let batches: Vec<RecordBatch> = app
        .engine()
        .execute(
            "SELECT last_error FROM twitch.live.ingest_status WHERE last_error IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    assert!(text.contains("bronze.helix_responses"), "{text}");
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cycle_counts_its_poll_time_in_the_cycle_duration() {
    let dir = tempfile::tempdir().unwrap();
    let app = small_app_after_a_cycle(dir.path()).await;
    // Every Helix answer now takes 300 ms: every poll outlasts 0.25 s, while
    // a commit into the broken lake fails within milliseconds.
    app.sim()
        .unwrap()
        .update_faults(|f| f.latency = Duration::from_millis(300));
    let url = format!("http://{}/metrics", app.http_addr());
    let family = "twitch_monitor_cycle_duration_seconds";
    let fast = |m: &serde_json::Value| {
        value(m, family, &format!("{family}_bucket"), &[("le", "0.25")]).unwrap()
    };
    let failed = |m: &serde_json::Value| {
        let total = "twitch_monitor_cycles_total";
        value(m, "twitch_monitor_cycles", total, &[("outcome", "error")]).unwrap_or(0.0)
    };
    let before = scrape(&url).await;
    break_bronze(dir.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    let after = loop {
        let m = scrape(&url).await;
        if failed(&m) >= failed(&before) + 3.0 {
            break m;
        }
        assert!(Instant::now() < deadline, "no three failed cycles: {m}");
    };
    // Only the cycle already polling when the latency came on may be fast.
    let (quick, failures) = (
        fast(&after) - fast(&before),
        failed(&after) - failed(&before),
    );
    assert!(
        quick <= 1.0,
        "{quick} of {failures} failed cycles took under 0.25 s: reported without their poll time"
    );
    app.shutdown().await.unwrap();
}
