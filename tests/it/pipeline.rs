//! Ingest cycles against the local Helix server into a temp-dir lake, every
//! table read back: dedup, sessions, time-weighted metrics, follower deltas,
//! SCD2 history, gold per touched day, bad pages, restart and rebuild.
use arrow::array::{Array, AsArray};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use twitch_monitor::ingest::rebuild::{rebuild, rebuild_spilling_at};
use twitch_monitor::schema::{Origin, Table};
use twitch_monitor::sim::World;
use twitch_monitor::sim::world::ScriptedChannel;

use crate::rig::{GAP, POLL, Rig};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn one_i64(batches: &[arrow::record_batch::RecordBatch]) -> i64 {
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// A world of 150 random live channels (two pages per sweep) plus `alice`,
/// scripted, live since 10:00 with 100 viewers.
fn world_with_alice() -> (World, String, String) {
    let mut w = World::with_live_streams(3, 150, at("2026-01-05T10:00:00Z"));
    let alice = w
        .add_scripted_channel(ScriptedChannel {
            login: "alice".into(),
            display_name: "Alice".into(),
            followers: 1000,
            created_at: at("2025-12-01T00:00:00Z"),
            ..Default::default()
        })
        .unwrap();
    let game = w.games()[0].id.clone();
    w.go_live(&alice, &game, "hello", 100).unwrap();
    (w, alice, game)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_fill_every_layer_with_hand_checked_metrics() {
    let (world, alice, game) = world_with_alice();
    let game_name = world.game(&game).unwrap().name.clone();
    let mut rig = Rig::start(world).await;
    // Every sweep page repeats the end of the one before.
    rig.server.update_faults(|f| f.duplicate_overlap = 7);

    let mut live_counts = Vec::new();
    let s = rig.cycle().await; // 10:01, 100 viewers, 1000 followers
    assert!(
        s.duplicates > 0,
        "the fault knob produced no duplicates: {s}"
    );
    live_counts.push(rig.world(|w| w.live_streams().len()));
    rig.world(|w| w.set_followers(&alice, 1050)).unwrap();
    rig.cycle().await; // 10:02, 100 viewers
    live_counts.push(rig.world(|w| w.live_streams().len()));
    rig.world(|w| w.set_viewers(&alice, 400)).unwrap();
    rig.cycle().await; // 10:03, 400 viewers
    live_counts.push(rig.world(|w| w.live_streams().len()));
    rig.world(|w| w.rename(&alice, "alicia")).unwrap();
    rig.cycle().await; // 10:04, 400 viewers, renamed
    rig.world(|w| w.go_offline(&alice)).unwrap();
    rig.cycle().await; // 10:05 offline
    rig.cycle().await; // 10:06 offline; a new stream starts now, 2 min after the last sample
    rig.world(|w| w.go_live(&alice, &game, "back", 300))
        .unwrap();
    rig.cycle().await; // 10:07, 300 viewers: same session
    rig.world(|w| w.go_offline(&alice)).unwrap();
    for _ in 0..11 {
        rig.cycle().await; // 10:08 … 10:18: the session closes once 10 min pass
    }
    rig.world(|w| w.go_live(&alice, &game, "again", 50))
        .unwrap();
    rig.cycle().await; // 10:19, 50 viewers since 10:18: a new session
    assert_eq!(rig.now(), at("2026-01-05T10:19:00Z"));

    // Each live stream exactly once per cycle although pages overlapped.
    let dups = rig
        .sql("SELECT count(*) FROM (SELECT stream_id, cycle_id FROM silver.stream_snapshots GROUP BY 1, 2 HAVING count(*) > 1)")
        .await;
    assert_eq!(one_i64(&dups), 0);
    for (cycle, expected) in live_counts.iter().enumerate() {
        let n = rig
            .sql(&format!(
                "SELECT count(*) FROM silver.stream_snapshots WHERE cycle_id = {}",
                cycle + 1
            ))
            .await;
        assert_eq!(one_i64(&n) as usize, *expected, "cycle {}", cycle + 1);
    }

    // Sessions: a restart within the gap merged, the one after it split.
    let sessions = rig
        .table(&format!(
            "SELECT status, started_at, ended_at, duration_minutes, avg_viewers, peak_viewers,
                    round(hours_watched, 4) AS hours_watched, snapshots
             FROM silver.stream_sessions WHERE user_id = '{alice}' ORDER BY started_at"
        ))
        .await;
    let expected = "\
+--------+----------------------+----------------------+------------------+-------------+--------------+---------------+-----------+
| status | started_at           | ended_at             | duration_minutes | avg_viewers | peak_viewers | hours_watched | snapshots |
+--------+----------------------+----------------------+------------------+-------------+--------------+---------------+-----------+
| ended  | 2026-01-05T10:00:00Z | 2026-01-05T10:07:00Z | 7.0              | 260.0       | 400          | 21.6667       | 5         |
| live   | 2026-01-05T10:18:00Z |                      | 1.0              | 50.0        | 50           | 0.8333        | 1         |
+--------+----------------------+----------------------+------------------+-------------+--------------+---------------+-----------+";
    assert_eq!(sessions, expected);

    // Gold: time-weighted, by hand: (100+100+400+400+300+50) viewer-minutes
    // over 6 minutes live = 22.5 hours watched, 225 average viewers.
    let daily = rig
        .table(&format!(
            "SELECT day, login, minutes_streamed, avg_viewers, peak_viewers, round(hours_watched, 4) AS hw,
                    sessions, followers_start, followers_end, followers_gained, main_game
             FROM gold.streamer_daily WHERE user_id = '{alice}'"
        ))
        .await;
    let expected = format!(
        "\
+------------+--------+------------------+-------------+--------------+------+----------+-----------------+---------------+------------------+---------------+
| day        | login  | minutes_streamed | avg_viewers | peak_viewers | hw   | sessions | followers_start | followers_end | followers_gained | main_game     |
+------------+--------+------------------+-------------+--------------+------+----------+-----------------+---------------+------------------+---------------+
| 2026-01-05 | alicia | 6.0              | 225.0       | 400          | 22.5 | 2        | 1000            | 1050          | 50               | {game_name:<13} |
+------------+--------+------------------+-------------+--------------+------+----------+-----------------+---------------+------------------+---------------+"
    );
    assert_eq!(daily, expected);

    // Follower deltas: null first, then the change, then zeros.
    let deltas = rig
        .sql(&format!(
            "SELECT followers_delta FROM silver.follower_snapshots WHERE user_id = '{alice}' ORDER BY observed_at"
        ))
        .await;
    let d = deltas[0].column(0).as_primitive::<Int64Type>();
    assert!(d.is_null(0));
    assert_eq!((d.value(1), d.value(2)), (50, 0));

    // SCD2: the rename closed the first profile version.
    let history = rig
        .table(&format!(
            "SELECT login, valid_from, valid_to, is_current FROM silver.streamers WHERE user_id = '{alice}' ORDER BY valid_from"
        ))
        .await;
    assert_eq!(
        history,
        "\
+--------+----------------------+----------------------+------------+
| login  | valid_from           | valid_to             | is_current |
+--------+----------------------+----------------------+------------+
| alice  | 2026-01-05T10:01:00Z | 2026-01-05T10:04:00Z | false      |
| alicia | 2026-01-05T10:04:00Z |                      | true       |
+--------+----------------------+----------------------+------------+"
    );

    // Leaderboards rank from streamer_daily; categories and games are there.
    let top = rig
        .sql("SELECT count(*) FROM gold.leaderboard_daily WHERE metric = 'hours_watched' AND rank = 1")
        .await;
    assert_eq!(one_i64(&top), 1);
    let cats = rig.sql("SELECT count(*) FROM gold.category_daily").await;
    assert!(one_i64(&cats) > 0);
    let games = rig
        .sql(&format!(
            "SELECT count(*) FROM silver.games WHERE game_id = '{game}'"
        ))
        .await;
    assert_eq!(one_i64(&games), 1);

    // Rebuild from bronze reproduces silver and gold exactly, here with
    // every batch staged on disk before the rewrite reads it back (a
    // rebuild of a long lake does that once a partition is large).
    let before = contents(&rig).await;
    let report = rebuild_spilling_at(&rig.lake, (POLL, GAP), 1, |_| {})
        .await
        .unwrap();
    assert_eq!(report.cycles, 19);
    rig.lake.refresh_all().await.unwrap();
    let after = contents(&rig).await;
    for ((table, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{table} differs after rebuild");
    }
}

/// Every table derived from bronze (silver and gold) as sorted text lines
/// over all columns, floats to the last bit (the shortest text that reads
/// back as the same float).
async fn contents(rig: &Rig) -> Vec<(Table, Vec<String>)> {
    let mut out = Vec::new();
    for table in Table::ALL
        .into_iter()
        .filter(|t| t.origin() == Origin::Derived)
    {
        let batches = rig
            .sql(&format!("SELECT * FROM {}", table.qualified_name()))
            .await;
        let text = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        out.push((table, lines));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gold_is_written_for_every_day_a_cycle_touches() {
    let world = World::with_live_streams(5, 30, at("2026-01-05T23:58:00Z"));
    let mut rig = Rig::start(world).await;
    for _ in 0..3 {
        rig.cycle().await; // 23:59, 00:00, 00:01
    }
    for (sql, want) in [
        ("SELECT count(DISTINCT day) FROM gold.streamer_daily", 2),
        ("SELECT count(DISTINCT day) FROM gold.category_daily", 2),
        ("SELECT count(DISTINCT hour) FROM gold.hourly_viewership", 2),
        (
            "SELECT count(DISTINCT period_start) FROM gold.leaderboard_daily",
            2,
        ),
        (
            "SELECT count(DISTINCT period_start) FROM gold.leaderboard_weekly",
            1,
        ),
        (
            "SELECT count(DISTINCT observed_date) FROM silver.stream_snapshots",
            2,
        ),
    ] {
        assert_eq!(one_i64(&rig.sql(sql).await), want, "{sql}");
    }
    // Hours watched agree between the layers.
    let silver = rig
        .sql("SELECT sum(CAST(viewer_count AS DOUBLE) * interval_seconds) / 3600.0 FROM silver.stream_snapshots")
        .await;
    let gold = rig
        .sql("SELECT sum(hours_watched) FROM gold.streamer_daily")
        .await;
    let (s, g) = (
        silver[0].column(0).as_primitive::<Float64Type>().value(0),
        gold[0].column(0).as_primitive::<Float64Type>().value(0),
    );
    assert!(s > 0.0 && (s - g).abs() < 1e-6, "silver {s} vs gold {g}");

    // Engines that are not our writer read every table the cycles wrote.
    let out = crate::run_python(
        "read_tables.py",
        [
            crate::py_script("read_tables.py").as_os_str(),
            rig._dir.path().as_os_str(),
        ],
    );
    let seen: serde_json::Value = serde_json::from_str(&out).unwrap();
    for table in Table::ALL {
        let want = rig.lake.count(table, None).await.unwrap();
        let t = &seen[table.qualified_name()];
        assert_eq!(
            t["duckdb"], want,
            "{table} via duckdb's delta extension: {t}"
        );
        assert_eq!(t["polars"], want, "{table} via polars: {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_page_lands_in_bronze_and_the_cycle_goes_on() {
    let (world, _, _) = world_with_alice();
    let mut rig = Rig::start(world).await;
    rig.server.update_faults(|f| f.malformed_next = 1);
    let s = rig.cycle().await;
    assert!(s.errors >= 1, "{s}");
    let bad = rig
        .sql("SELECT count(*) FROM bronze.helix_responses WHERE http_status = 200 AND strpos(payload, 'upstream hiccup') > 0")
        .await;
    assert_eq!(one_i64(&bad), 1);
    // The other page still made it to silver, and the next cycle is whole.
    let s2 = rig.cycle().await;
    assert_eq!(s2.errors, 0, "{s2}");
    let n = rig
        .sql("SELECT count(DISTINCT cycle_id) FROM silver.stream_snapshots")
        .await;
    assert_eq!(one_i64(&n), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_continues_sessions_and_deltas_from_the_lake() {
    let (world, alice, _) = world_with_alice();
    let mut rig = Rig::start(world).await;
    rig.cycle().await;
    rig.cycle().await;
    rig.world(|w| w.set_followers(&alice, 1010)).unwrap();
    rig.reopen().await; // a new process over the same lake
    let s = rig.cycle().await;
    assert_eq!(s.cycle_id, 3);
    let sessions = rig
        .sql(&format!(
            "SELECT count(*) FROM silver.stream_sessions WHERE user_id = '{alice}'"
        ))
        .await;
    assert_eq!(
        one_i64(&sessions),
        1,
        "the restart must not split the session"
    );
    let delta = rig
        .sql(&format!(
            "SELECT followers_delta FROM silver.follower_snapshots WHERE user_id = '{alice}' AND cycle_id = 3"
        ))
        .await;
    assert_eq!(one_i64(&delta), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gold_after_a_restart_equals_gold_of_an_uninterrupted_run() {
    // Two restarts: one mid-day, one right after midnight, so the open days
    // are loaded from their silver partitions rather than folded cycle by cycle.
    let (mut world, alice, game) = world_with_alice();
    world.advance_to(at("2026-01-05T23:56:00Z"));
    let mut rig = Rig::start(world).await;
    rig.cycle().await; // 23:57
    rig.cycle().await; // 23:58
    rig.reopen().await;
    rig.world(|w| w.set_viewers(&alice, 250)).unwrap();
    rig.cycle().await; // 23:59
    rig.world(|w| w.go_offline(&alice)).unwrap();
    rig.cycle().await; // 00:00
    rig.reopen().await;
    rig.world(|w| w.go_live(&alice, &game, "after midnight", 80))
        .unwrap();
    rig.cycle().await; // 00:01
    rig.cycle().await; // 00:02
    let days = rig
        .sql("SELECT count(DISTINCT day) FROM gold.streamer_daily")
        .await;
    assert_eq!(one_i64(&days), 2);

    // Rebuild folds every cycle in one go: the same tables must come out.
    let before = contents(&rig).await;
    rebuild(&rig.lake, POLL, GAP, |_| {}).await.unwrap();
    rig.lake.refresh_all().await.unwrap();
    let after = contents(&rig).await;
    for ((table, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{table} differs between restarts and one run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_are_watched_by_name_or_id() {
    let world = World::with_live_streams(11, 300, at("2026-01-05T12:00:00Z"));
    // Two categories with live streams: one named, one by id.
    let mut live: Vec<(String, String)> = world
        .live_streams()
        .iter()
        .filter(|s| !s.game_id.is_empty())
        .map(|s| (s.game_id.clone(), s.game_name.clone()))
        .collect();
    live.sort();
    live.dedup();
    let (by_name, by_id) = (live[0].clone(), live[1].clone());
    let mut rig = Rig::start(world).await;
    rig.targets = twitch_monitor::ingest::poll::Targets {
        categories: vec![
            by_name.1.clone(),
            by_id.0.clone(),
            "No Such Category".into(),
        ],
        ..Default::default()
    };
    rig.reopen().await;
    let s = rig.cycle().await;
    assert_eq!(s.errors, 0, "{s}");
    let batches = rig
        .sql("SELECT DISTINCT game_id FROM silver.stream_snapshots ORDER BY game_id")
        .await;
    let mut seen: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_string::<i32>();
            (0..a.len())
                .map(|i| a.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    seen.sort();
    let mut want = vec![by_name.0, by_id.0];
    want.sort();
    assert_eq!(seen, want);
}

/// One fired alert, delivered, as the alerts consumer records it.
fn alert(cycle_id: i64, fired_at: DateTime<Utc>) -> RecordBatch {
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    let at = |t: DateTime<Utc>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(vec![t.timestamp_micros()]).with_timezone("UTC"))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("alert_id", text("went-live:u1:1")),
        ("rule", text("went live")),
        ("kind", text("went_live")),
        ("user_id", text("u1")),
        ("login", text("alice")),
        ("fired_at", at(fired_at)),
        ("details", text("{\"viewers\":100}")),
        ("target", text("slack")),
        ("status", text("delivered")),
        ("attempts", Arc::new(Int64Array::from(vec![1]))),
        ("delivered_at", at(fired_at)),
        ("cycle_id", Arc::new(Int64Array::from(vec![cycle_id]))),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_leaves_state_tables_alone() {
    let (world, _, _) = world_with_alice();
    let mut rig = Rig::start(world).await;
    let s = rig.cycle().await;
    rig.cycle().await;
    // The alerts consumer's own commit, keyed by the cycle that fired it.
    let committed = rig
        .lake
        .append(
            Table::Alerts,
            vec![alert(s.cycle_id, rig.now())],
            s.cycle_id,
        )
        .await
        .unwrap();
    assert!(committed.is_committed(), "{committed:?}");
    let before = rig.table("SELECT * FROM gold.alerts").await;
    assert!(before.contains("went-live:u1:1"), "{before}");

    let report = rebuild(&rig.lake, POLL, GAP, |_| {}).await.unwrap();
    assert!(
        report
            .tables
            .iter()
            .all(|(t, _)| t.origin() == Origin::Derived),
        "{report:?}"
    );
    rig.lake.refresh_all().await.unwrap();
    assert_eq!(rig.table("SELECT * FROM gold.alerts").await, before);
    assert_eq!(
        rig.lake.version(Table::Exports),
        Some(0),
        "rebuild committed to gold.exports"
    );
}
