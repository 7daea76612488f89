//! The whole service as `serve` wires it, on loopback ports: the simulator
//! feeds cycles, a real ADBC client queries live views and Delta tables, and
//! the metrics move with cycles and queries.
use std::process::Command;
use std::time::{Duration, Instant};

use twitch_monitor::app::App;
use twitch_monitor::config::{Config, SimSettings};

use crate::http::{scrape, value};
use crate::python;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_feeds_live_views_and_delta_tables_to_adbc_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        lake: dir.path().to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        poll_interval: Duration::from_secs(10),
        sim: SimSettings {
            channels: 80,
            speed: 600.0,
            ..Default::default()
        },
        ..Default::default()
    };
    config.validate().unwrap();
    let app = App::start(config).await.unwrap();

    // Poll (no sleeping) until two cycles have reached the live views.
    let deadline = Instant::now() + Duration::from_secs(120);
    while app.live().snapshot().cycle_id().unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "no cycles within two minutes");
        tokio::task::yield_now().await;
    }

    let port = app.flight_addr().port().to_string();
    let query = |sql: &str| {
        let out = Command::new(python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/py/adbc_query.py"
            ))
            .args([port.as_str(), sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let board = query(
        "SELECT rank, login, viewer_count FROM twitch.live.leaderboard ORDER BY rank LIMIT 3",
    );
    assert!(board.contains("\"rank\": 1"), "{board}");
    let joined = query(
        "SELECT s.login, d.hours_watched FROM twitch.live.streams s \
         JOIN twitch.gold.streamer_daily d ON s.user_id = d.user_id LIMIT 5",
    );
    assert!(joined.contains("hours_watched"), "{joined}");
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
    assert!(ok_queries.unwrap_or(0.0) >= 3.0, "{scraped}");
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
