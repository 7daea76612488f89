//! Unit tests of the live views: ranking, the 5-minute change, the rolling
//! windows, the status history and rebuild; readers (the snapshot swap, SQL
//! over the providers) are in `readers`.
use arrow::array::{Array, RecordBatch};
use arrow::util::pretty::pretty_format_batches;
use chrono::{DateTime, TimeDelta, Utc};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
        .unwrap()
        .to_utc()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(minutes)
}

fn stream(user: &str, game: &str, viewers: i64, observed_at: DateTime<Utc>) -> LiveStream {
    LiveStream {
        user_id: user.into(),
        login: format!("{user}_login"),
        stream_id: format!("s{user}"),
        game_id: format!("g{game}"),
        game_name: game.into(),
        title: format!("{user} plays {game}"),
        language: "en".into(),
        viewer_count: viewers,
        started_at: t0() - TimeDelta::minutes(30),
        observed_at,
    }
}

fn status(cycle_id: i64, finished_at: DateTime<Utc>) -> CycleStatus {
    CycleStatus {
        cycle_id,
        started_at: finished_at - TimeDelta::seconds(2),
        finished_at,
        streams_seen: 3,
        requests: 4,
        rate_limit_remaining: Some(796),
        errors: 0,
        bronze_rows: 4,
        silver_rows: 6,
        gold_rows: 2,
        last_error: None,
    }
}

fn cycle(
    cycle_id: i64,
    minute: i64,
    streams: &[(&str, &str, i64)],
    followers: &[(&str, i64)],
) -> CycleUpdate {
    let now = at(minute);
    CycleUpdate {
        observed_at: now,
        streams: streams
            .iter()
            .map(|&(u, g, v)| stream(u, g, v, now))
            .collect(),
        followers: followers
            .iter()
            .map(|&(u, n)| FollowerSample {
                user_id: u.into(),
                followers_total: n,
                observed_at: now,
            })
            .collect(),
        status: status(cycle_id, now),
        chat: Vec::new(),
    }
}

fn pretty(batch: &RecordBatch) -> String {
    pretty_format_batches(std::slice::from_ref(batch))
        .unwrap()
        .to_string()
}

fn pretty_all(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

fn lines(s: &[&str]) -> String {
    s.join("\n")
}

#[test]
fn leaderboard_ranks_by_viewers_then_user_id() {
    let live = LiveViews::new();
    let streams = [
        ("u3", "Chess", 50),
        ("u1", "Chess", 900),
        ("u2", "Art", 50),
        ("u4", "Art", 10),
    ];
    live.apply_cycle(cycle(1, 0, &streams, &[])).unwrap();
    let snap = live.snapshot();
    assert_eq!(
        pretty(snap.batch(View::Leaderboard)),
        lines(&[
            "+------+---------+----------+--------------+-----------+",
            "| rank | user_id | login    | viewer_count | game_name |",
            "+------+---------+----------+--------------+-----------+",
            "| 1    | u1      | u1_login | 900          | Chess     |",
            "| 2    | u2      | u2_login | 50           | Art       |",
            "| 3    | u3      | u3_login | 50           | Chess     |",
            "| 4    | u4      | u4_login | 10           | Art       |",
            "+------+---------+----------+--------------+-----------+",
        ])
    );
    assert_eq!(
        pretty(snap.batch(View::Categories)),
        lines(&[
            "+---------+-----------+----------+---------+---------------------+",
            "| game_id | game_name | channels | viewers | viewers_per_channel |",
            "+---------+-----------+----------+---------+---------------------+",
            "| gChess  | Chess     | 2        | 950     | 475.0               |",
            "| gArt    | Art       | 2        | 60      | 30.0                |",
            "+---------+-----------+----------+---------+---------------------+",
        ])
    );
}

#[test]
fn duplicate_streams_of_a_user_count_once() {
    let live = LiveViews::new();
    live.apply_cycle(cycle(
        1,
        0,
        &[("u1", "Chess", 10), ("u2", "Art", 11), ("u1", "Chess", 12)],
        &[],
    ))
    .unwrap();
    let snap = live.snapshot();
    // The last of a user's streams wins.
    let board = pretty(snap.batch(View::Leaderboard));
    assert!(
        board.contains("| 1    | u1      | u1_login | 12 "),
        "{board}"
    );
    assert!(
        board.contains("| 2    | u2      | u2_login | 11 "),
        "{board}"
    );
    assert_eq!(snap.batch(View::Streams).num_rows(), 2);
    assert_eq!(snap.batch(View::Categories).num_rows(), 2);
}

/// Viewer change of `user` in the current snapshot.
fn change_5m(live: &LiveViews, user: &str) -> Option<i64> {
    let snap = live.snapshot();
    let b = snap.batch(View::Streams);
    let users = b
        .column_by_name("user_id")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    let change = b
        .column_by_name("viewer_change_5m")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    let row = (0..b.num_rows()).find(|&i| users.value(i) == user).unwrap();
    change.is_valid(row).then(|| change.value(row))
}

#[test]
fn viewer_change_5m_follows_a_scripted_sequence() {
    let live = LiveViews::new();
    // minute -> viewers; expected change vs the sample at or before minute-5
    // (minute, viewers, expected change vs the sample at or nearest before minute − 5)
    let script: [(i64, i64, Option<i64>); 7] = [
        (0, 100, None),      // no sample 5 min old yet
        (2, 120, None),      // still none
        (5, 150, Some(50)),  // minute 0 is exactly 5 min ago: 150 − 100
        (7, 130, Some(10)),  // minute 2: 130 − 120
        (9, 200, Some(80)),  // nearest before minute 4 is minute 2: 200 − 120
        (11, 180, Some(30)), // nearest before minute 6 is minute 5: 180 − 150
        (30, 300, None),     // nearest before minute 25 is minute 11: a gap, not a change
    ];
    for (cycle_id, (minute, viewers, want)) in script.into_iter().enumerate() {
        live.apply_cycle(cycle(
            cycle_id as i64,
            minute,
            &[("u1", "Chess", viewers)],
            &[],
        ))
        .unwrap();
        assert_eq!(change_5m(&live, "u1"), want, "at minute {minute}");
    }
}

#[test]
fn windows_are_time_weighted_and_drop_old_samples() {
    let live = LiveViews::new();
    // Stream started at minute -30, so the first sample stands for 10 min (the cap).
    live.apply_cycle(cycle(1, 0, &[("u1", "Chess", 100)], &[("u1", 1000)]))
        .unwrap();
    live.apply_cycle(cycle(2, 10, &[("u1", "Chess", 400)], &[("u1", 1010)]))
        .unwrap();
    // Offline for 50 min: the next sample stands for at most 10 min.
    live.apply_cycle(cycle(3, 60, &[("u1", "Chess", 200)], &[("u1", 1100)]))
        .unwrap();
    let snap = live.snapshot();
    // 1h window at minute 60 keeps samples after minute 0: 400×10 + 200×10 over 20 = 300;
    // followers 1010 → 1100. 24h: (100+400+200)×10 / 30.
    assert_eq!(
        pretty(snap.batch(View::StreamerTrends)),
        lines(&[
            "+---------+----------+--------+--------------------+--------------+------------------+",
            "| user_id | login    | window | avg_viewers        | peak_viewers | followers_gained |",
            "+---------+----------+--------+--------------------+--------------+------------------+",
            "| u1      | u1_login | 1h     | 300.0              | 400          | 90               |",
            "| u1      | u1_login | 24h    | 233.33333333333334 | 400          | 100              |",
            "+---------+----------+--------+--------------------+--------------+------------------+",
        ])
    );
    // 25 h after minute 60's clock hour ended, with u1 offline, everything
    // about u1 has aged out.
    live.apply_cycle(cycle(4, 60 * 26, &[("u2", "Art", 5)], &[]))
        .unwrap();
    let trends = live.snapshot().batch(View::StreamerTrends).clone();
    assert_eq!(
        pretty(&trends),
        lines(&[
            "+---------+----------+--------+-------------+--------------+------------------+",
            "| user_id | login    | window | avg_viewers | peak_viewers | followers_gained |",
            "+---------+----------+--------+-------------+--------------+------------------+",
            "| u2      | u2_login | 1h     | 5.0         | 5            |                  |",
            "| u2      | u2_login | 24h    | 5.0         | 5            |                  |",
            "+---------+----------+--------+-------------+--------------+------------------+",
        ])
    );
}

#[test]
fn peak_leaves_the_window_with_its_sample() {
    let live = LiveViews::new();
    live.apply_cycle(cycle(1, 0, &[("u1", "Chess", 900)], &[]))
        .unwrap();
    live.apply_cycle(cycle(2, 30, &[("u1", "Chess", 100)], &[]))
        .unwrap();
    live.apply_cycle(cycle(3, 61, &[("u1", "Chess", 200)], &[]))
        .unwrap();
    let b = live.snapshot().batch(View::StreamerTrends).clone();
    let peaks = b
        .column_by_name("peak_viewers")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    // rows: 1h then 24h
    assert_eq!((peaks.value(0), peaks.value(1)), (200, 900));
}

#[test]
fn a_replayed_cycle_does_not_double_count() {
    let live = LiveViews::new();
    let c1 = cycle(1, 0, &[("u1", "Chess", 100)], &[("u1", 10)]);
    live.apply_cycle(c1.clone()).unwrap();
    live.apply_cycle(cycle(2, 5, &[("u1", "Chess", 300)], &[("u1", 20)]))
        .unwrap();
    let before = pretty(live.snapshot().batch(View::StreamerTrends));
    let mut replay = cycle(2, 5, &[("u1", "Chess", 300)], &[("u1", 20)]);
    replay.status.errors = 1;
    live.apply_cycle(replay).unwrap();
    let snap = live.snapshot();
    assert_eq!(pretty(snap.batch(View::StreamerTrends)), before);
    // The status row of cycle 2 is replaced, not duplicated.
    assert_eq!(snap.batch(View::IngestStatus).num_rows(), 2);
}

#[tokio::test]
async fn a_reader_keeps_the_snapshot_it_holds() {
    let live = LiveViews::new();
    live.apply_cycle(cycle(1, 0, &[("u1", "Chess", 100)], &[]))
        .unwrap();
    let held = live.snapshot();
    let reader = live.clone();
    live.apply_cycle(cycle(2, 1, &[("u2", "Art", 7), ("u3", "Art", 9)], &[]))
        .unwrap();
    assert_eq!(held.cycle_id(), Some(1));
    assert_eq!(held.batch(View::Streams).num_rows(), 1);
    let now = reader.snapshot();
    assert_eq!(now.cycle_id(), Some(2));
    assert_eq!(now.batch(View::Streams).num_rows(), 2);
    // SQL whose session carries the held snapshot (a read pinned to its
    // cycle) reads it, not the newest.
    let streams = async |ctx: SessionContext| {
        ctx.register_table("streams", live.table_provider(View::Streams))
            .unwrap();
        let batches = query(&ctx, "SELECT * FROM streams").await;
        batches.iter().map(RecordBatch::num_rows).sum::<usize>()
    };
    let pinned = SessionConfig::new().with_extension(held);
    assert_eq!(streams(SessionContext::new_with_config(pinned)).await, 1);
    assert_eq!(streams(SessionContext::new()).await, 2);
}

#[test]
fn ingest_status_keeps_the_latest_cycles_newest_first() {
    let live = LiveViews::new();
    for c in 1..=(STATUS_HISTORY as i64 + 5) {
        live.record_status(status(c, at(c))).unwrap();
    }
    let snap = live.snapshot();
    let b = snap.batch(View::IngestStatus);
    assert_eq!(b.num_rows(), STATUS_HISTORY);
    let ids = b
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    assert_eq!((ids.value(0), ids.value(STATUS_HISTORY - 1)), (105, 6));
    assert_eq!(live.last_cycle_finished_at(), Some(at(105)));
}

#[test]
fn rebuild_replays_rows_into_the_same_views() {
    let cycles = [
        cycle(
            1,
            0,
            &[("u1", "Chess", 100), ("u2", "Art", 5)],
            &[("u1", 1000)],
        ),
        cycle(
            2,
            3,
            &[("u1", "Chess", 140), ("u2", "Art", 6)],
            &[("u1", 1004)],
        ),
        cycle(3, 6, &[("u1", "Chess", 160)], &[("u1", 1010)]),
    ];
    let live = LiveViews::new();
    for c in cycles.clone() {
        live.apply_cycle(c).unwrap();
    }
    // Start-up feeds the rows in time order, the statuses in any order.
    let mut replay = Replay::new();
    for c in &cycles {
        for f in &c.followers {
            replay.follower(&f.user_id, f.followers_total, f.observed_at);
        }
        for s in &c.streams {
            replay.sample(s.row());
        }
    }
    let last = &cycles[2];
    let newest = Some((last.status.cycle_id, last.streams.clone()));
    let statuses = cycles.iter().rev().map(|c| c.status.clone());
    let rebuilt = replay.finish(newest, statuses).unwrap();
    let (a, b) = (live.snapshot(), rebuilt.snapshot());
    assert_eq!(b.cycle_id(), Some(3));
    for view in View::ALL {
        assert_eq!(pretty(a.batch(view)), pretty(b.batch(view)), "{view}");
    }
    assert_eq!(change_5m(&rebuilt, "u1"), Some(60));
}

/// A day and more of cycles seven minutes apart, so the 24-hour window's
/// clock-hour edge falls between and inside cycles; a restart at the end
/// replays only the rows since `replay_from`, as start-up reads them.
#[test]
fn a_replay_since_replay_from_equals_the_day_that_followed_every_cycle() {
    let mut cycles = Vec::new();
    for i in 0..235_i64 {
        let minute = i * 7;
        let mut streams = vec![("u1", "Chess", 100 + (i * 37) % 500)];
        // u2 is live in hours 0-2 and 24-26; u3 once, just before the
        // rows the replay reads: gone from both.
        if minute % (24 * 60) < 3 * 60 {
            streams.push(("u2", "Art", 1_000 - i));
        }
        if i == 24 {
            streams.push(("u3", "Art", 77));
        }
        cycles.push(cycle(
            i + 1,
            minute,
            &streams,
            &[("u1", 1_000 + i * i % 13)],
        ));
    }
    let live = LiveViews::new();
    for c in cycles.clone() {
        live.apply_cycle(c).unwrap();
    }
    let last = cycles.last().unwrap();
    let from = replay_from(last.observed_at);
    assert!(
        at(24 * 7) < from && from < at(3 * 60),
        "{from}: u3 before it"
    );
    let mut replay = Replay::new();
    for c in cycles.iter().filter(|c| c.observed_at >= from) {
        for f in &c.followers {
            replay.follower(&f.user_id, f.followers_total, f.observed_at);
        }
        for s in &c.streams {
            replay.sample(s.row());
        }
    }
    let newest = Some((last.status.cycle_id, last.streams.clone()));
    let rebuilt = replay.finish(newest, [last.status.clone()]).unwrap();
    let (a, b) = (live.snapshot(), rebuilt.snapshot());
    for view in [View::Streams, View::Leaderboard, View::StreamerTrends] {
        assert_eq!(pretty(a.batch(view)), pretty(b.batch(view)), "{view}");
    }
    let trends = pretty(b.batch(View::StreamerTrends));
    assert!(trends.contains("| u2      | u2_login | 24h "), "{trends}");
    assert!(!trends.contains("u3"), "{trends}");
}

mod readers;
