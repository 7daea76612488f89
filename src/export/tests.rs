//! Unit tests of the daily summary over hand-written gold rows.
use std::time::Duration;

use chrono::{NaiveDate, TimeDelta};

use super::summary::*;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn streamer(id: &str, hours: f64, avg: f64, gained: i64) -> StreamerDay {
    StreamerDay {
        user_id: id.into(),
        login: Some(format!("{id}_login")),
        hours_watched: hours,
        avg_viewers: Some(avg),
        followers_gained: Some(gained),
        main_game: Some("Chess".into()),
        language: Some("en".into()),
    }
}

fn star(id: &str, rank: i64) -> RisingStar {
    RisingStar {
        user_id: id.into(),
        login: None,
        rank,
        score: 10.0 - rank as f64,
    }
}

fn cycle(id: i64, minutes: i64, errors: u64) -> CycleRun {
    CycleRun {
        cycle_id: id,
        started_at: day().and_hms_opt(0, 0, 0).unwrap().and_utc() + TimeDelta::minutes(minutes),
        errors,
    }
}

fn gold() -> DayGold {
    DayGold {
        day: day(),
        streamers: vec![
            streamer("a", 100.0, 50.0, 5),
            streamer("b", 300.0, 20.0, 0),
            streamer("c", 200.0, 90.0, 40),
            streamer("d", 50.0, 10.0, 12),
        ],
        previous_streamers: vec![streamer("b", 150.0, 10.0, 0), streamer("x", 10.0, 1.0, 0)],
        categories: vec![
            CategoryDay {
                game_id: "1".into(),
                game_name: Some("Chess".into()),
                channels: 3,
                hours_watched: 400.0,
            },
            CategoryDay {
                game_id: "2".into(),
                game_name: None,
                channels: 1,
                hours_watched: 250.0,
            },
        ],
        previous_categories: vec![CategoryDay {
            game_id: "1".into(),
            game_name: Some("Chess".into()),
            channels: 2,
            hours_watched: 800.0,
        }],
        rising: vec![star("c", 2), star("d", 1), star("a", 3)],
        previous_rising: vec![star("d", 1)],
        alerts: vec![
            AlertFired {
                rule: "surge".into(),
                kind: "viewer_surge".into(),
                login: Some("a_login".into()),
            },
            AlertFired {
                rule: "drop".into(),
                kind: "viewer_drop".into(),
                login: None,
            },
            AlertFired {
                rule: "surge".into(),
                kind: "viewer_surge".into(),
                login: Some("c_login".into()),
            },
        ],
        // Every minute up to 00:10, then nothing until 23:59.
        cycles: (0..=10)
            .map(|m| cycle(m, m, 0))
            .chain([cycle(11, 1439, 3)])
            .collect(),
    }
}

fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

const POLL: Duration = Duration::from_secs(60);

#[test]
fn top_lists_rank_by_their_figure_and_are_as_long_as_asked() {
    let sizes = Sizes {
        streamers: 3,
        categories: 1,
        rising: 5,
    };
    let s = summarize(&gold(), &Scope::default(), sizes, POLL);
    assert_eq!(
        names(&s.top_hours_watched),
        ["b_login", "c_login", "a_login"]
    );
    assert_eq!(names(&s.top_avg_viewers), ["c_login", "a_login", "b_login"]);
    // No gain, no place on the gains list.
    assert_eq!(
        names(&s.top_follower_gains),
        ["c_login", "d_login", "a_login"]
    );
    assert_eq!(names(&s.top_categories), ["Chess"]);
    assert_eq!(s.totals.channels, 4);
    assert_eq!(s.totals.hours_watched, 650.0);
    assert_eq!(s.totals.previous_channels, 2);
}

#[test]
fn day_over_day_changes_compare_with_the_day_before() {
    let s = summarize(&gold(), &Scope::default(), Sizes::default(), POLL);
    let b = &s.top_hours_watched[0];
    assert_eq!((b.value, b.previous), (300.0, Some(150.0)));
    assert_eq!(b.change_pct(), Some(100.0));
    // New that day: no base to compare with.
    assert_eq!(s.top_hours_watched[1].change_pct(), None);
    assert_eq!(s.top_categories[0].change_pct(), Some(-50.0));
    // A category without a name shows its id.
    assert_eq!(s.top_categories[1].name, "2");
}

#[test]
fn only_stars_new_to_the_list_count_and_alerts_are_counted_by_rule() {
    let s = summarize(&gold(), &Scope::default(), Sizes::default(), POLL);
    assert_eq!(names(&s.new_rising_stars), ["c", "a"]);
    assert_eq!(
        s.alerts,
        vec![("surge".to_owned(), 2), ("drop".to_owned(), 1)]
    );
}

#[test]
fn the_watched_scope_narrows_streamers_stars_and_categories() {
    let scope = Scope {
        channels: ["a_login".to_owned(), "d_login".to_owned()].into(),
        categories: ["2".to_owned()].into(),
        ..Scope::default()
    };
    let mut gold = gold();
    // "b" streams the watched category's name, so it is in scope too.
    gold.streamers[1].main_game = Some("2".into());
    gold.streamers[2].main_game = Some("Go".into());
    let s = summarize(&gold, &scope, Sizes::default(), POLL);
    assert_eq!(
        names(&s.top_hours_watched),
        ["b_login", "a_login", "d_login"]
    );
    assert_eq!(names(&s.top_categories), ["2"]);
    assert_eq!(names(&s.new_rising_stars), ["a"]);
}

#[test]
fn health_counts_cycles_errors_and_gaps_including_the_days_edges() {
    let s = summarize(&gold(), &Scope::default(), Sizes::default(), POLL);
    assert_eq!(s.health.cycles, 12);
    assert_eq!(s.health.errors, 3);
    // 00:10 → 23:59 is one gap; 23:59 → midnight is within two polls.
    assert_eq!(s.health.gaps, 1);
    assert_eq!(s.health.longest_gap_secs, 1429.0 * 60.0);

    let empty = DayGold {
        day: day(),
        ..DayGold::default()
    };
    let s = summarize(&empty, &Scope::default(), Sizes::default(), POLL);
    assert_eq!((s.health.cycles, s.health.gaps), (0, 1));
    assert!(s.top_hours_watched.is_empty());
}

#[test]
fn export_rows_round_trip_through_arrow_and_sent_is_final() {
    use super::record::{ExportRow, ExportStatus, from_batches, latest, to_batch};
    let sent_at = day().and_hms_opt(0, 1, 2).unwrap().and_utc();
    let mut failed = ExportRow::pending(day(), "slack");
    failed.status = ExportStatus::Failed;
    failed.attempts = 8;
    failed.last_error = Some("HTTP 503".into());
    failed.cycle_id = Some(7);
    let sent = ExportRow {
        status: ExportStatus::Sent,
        sent_at: Some(sent_at),
        attempts: 9,
        last_error: None,
        cycle_id: Some(8),
        ..failed.clone()
    };
    let late = ExportRow {
        cycle_id: Some(9),
        ..failed.clone()
    };
    let rows = vec![
        ExportRow::pending(day(), "slack"),
        failed,
        sent.clone(),
        late,
    ];
    let batch = to_batch(&rows).unwrap();
    assert_eq!(batch.num_rows(), 4);
    let back = from_batches(&[batch]).unwrap();
    assert_eq!(back, rows);
    let state = latest(back);
    assert_eq!(state.len(), 1);
    assert_eq!(state[&(day(), "slack".to_owned())], sent);
}

#[test]
fn the_message_lists_each_top_list_with_its_change_and_a_stable_key() {
    let s = summarize(&gold(), &Scope::default(), Sizes::default(), POLL);
    let m = super::message(&s);
    assert_eq!(m.key, "daily-summary-2026-03-01");
    assert_eq!(m.event, "daily_summary");
    let hours = &m.fields[0];
    assert_eq!(hours.name, super::message::TOP_HOURS);
    let first = hours.value.lines().next().unwrap();
    assert_eq!(first, "1. b_login — 300 h (+100%)");
    assert!(m.footer.contains("12 cycles, 1 gaps"), "{}", m.footer);
    assert_eq!(m.fields.last().unwrap().value, "surge: 2\ndrop: 1");
}
