use chrono::{DateTime, NaiveDate, Utc};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn sample<'a>(
    t: &str,
    cycle: i64,
    user: &'a str,
    game: &'a str,
    viewers: i64,
    session: &'a str,
) -> Sample<'a> {
    Sample {
        observed_at: at(t),
        cycle_id: cycle,
        user_id: user,
        user_login: user,
        game_id: game,
        game_name: game,
        // g2 is streamed in German, g1 in English; no category, no language.
        language: match game {
            "g2" => "de",
            "" => "",
            _ => "en",
        },
        viewer_count: viewers,
        session_id: session,
        interval_seconds: 60.0,
    }
}

#[test]
fn weeks_start_on_monday() {
    let d = NaiveDate::from_ymd_opt(2026, 1, 8).unwrap(); // Thursday
    assert_eq!(week_start(d), NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
    assert_eq!(week_start(week_start(d)), week_start(d));
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
}

/// Two cycles, three streamers: hand-computed figures.
fn two_cycles(d: &mut Day, order: &[usize]) {
    let c1 = [
        sample("2026-01-05T10:00:00Z", 1, "a", "g1", 100, "a1"),
        sample("2026-01-05T10:00:01Z", 1, "b", "g1", 50, "b1"),
        sample("2026-01-05T10:00:02Z", 1, "c", "", 10, "c1"),
    ];
    let c2 = [
        sample("2026-01-05T10:01:00Z", 2, "a", "g2", 300, "a1"),
        sample("2026-01-05T10:01:01Z", 2, "b", "g1", 70, "b2"),
    ];
    // `order` permutes the rows within each cycle: the result must not care.
    for i in order.iter().filter(|&&i| i < c1.len()) {
        d.add_sample(&c1[*i]);
    }
    d.seal();
    for i in order.iter().filter(|&&i| i < c2.len()) {
        d.add_sample(&c2[*i]);
    }
    d.seal();
}

#[test]
fn streamer_rows_are_time_weighted() {
    let mut d = Day::new(day());
    two_cycles(&mut d, &[0, 1, 2]);
    d.add_follow(&FollowSample {
        observed_at: at("2026-01-05T10:01:00Z"),
        cycle_id: 2,
        user_id: "a",
        total: 500,
        delta: None,
    });
    d.add_follow(&FollowSample {
        observed_at: at("2026-01-05T10:16:00Z"),
        cycle_id: 3,
        user_id: "a",
        total: 530,
        delta: Some(30),
    });
    d.add_follow(&FollowSample {
        observed_at: at("2026-01-05T10:16:00Z"),
        cycle_id: 3,
        user_id: "z",
        total: 7,
        delta: None,
    });
    d.seal();
    assert_eq!(d.last_cycle(), Some(3));
    let mut rows = d.streamer_rows(|id| (id == "z").then_some("zed"));
    rows.sort_by(|x, y| x.user_id.cmp(&y.user_id));
    let a = &rows[0];
    assert_eq!(
        (a.minutes_streamed, a.hours_watched),
        (2.0, (100.0 + 300.0) * 60.0 / 3600.0)
    );
    assert_eq!((a.avg_viewers, a.peak_viewers, a.sessions), (200.0, 300, 1));
    assert_eq!(
        (a.followers_start, a.followers_end, a.followers_gained),
        (Some(500), Some(530), Some(30))
    );
    // Tie on seconds (60 each): the name first in order wins.
    assert_eq!(a.main_game.as_deref(), Some("g1"));
    // The same rule for the language: "de" before "en".
    assert_eq!(a.language.as_deref(), Some("de"));
    let b = &rows[1];
    assert_eq!(b.language.as_deref(), Some("en"));
    assert_eq!(
        (b.sessions, b.avg_viewers, b.followers_gained),
        (2, 60.0, None)
    );
    let c = &rows[2];
    assert_eq!((c.main_game.as_deref(), c.minutes_streamed), (None, 1.0));
    assert_eq!(c.language, None);
    // Followers only: login from the profile, no live figures.
    let z = &rows[3];
    assert_eq!(
        (z.login.as_str(), z.minutes_streamed, z.avg_viewers),
        ("zed", 0.0, 0.0)
    );
    assert_eq!(
        (z.followers_start, z.followers_gained, z.sessions),
        (Some(7), None, 0)
    );
}

#[test]
fn category_and_hourly_rows_average_over_cycles() {
    let mut d = Day::new(day());
    two_cycles(&mut d, &[0, 1, 2]);
    let mut cats = d.category_rows(60.0);
    cats.sort_by(|x, y| x.game_id.cmp(&y.game_id));
    // Covered: 10:00:00 to 10:01:01 plus one poll interval.
    let covered = 61.0 + 60.0;
    let g1 = &cats[0];
    assert_eq!(
        (g1.game_id.as_str(), g1.channels, g1.peak_viewers),
        ("g1", 2, 150)
    );
    assert_eq!(g1.hours_watched, (100.0 + 50.0 + 70.0) * 60.0 / 3600.0);
    assert_eq!(g1.avg_viewers, g1.hours_watched * 3600.0 / covered);
    // Channels per cycle: 2 then 1.
    assert_eq!(g1.viewers_per_channel, g1.avg_viewers / 1.5);
    let g2 = &cats[1];
    assert_eq!((g2.channels, g2.peak_viewers), (1, 300));
    assert_eq!(cats.len(), 2, "no row for the empty category");

    let hours = d.hourly_rows();
    let find = |g: &str| hours.iter().find(|h| h.game_id == g).unwrap();
    // Two cycles in the hour: g1 had 2 then 1 streams, 150 then 70 viewers.
    assert_eq!((find("g1").streams, find("g1").viewers), (2, 110));
    assert_eq!((find("g2").streams, find("g2").viewers), (1, 150));
    assert_eq!((find("").streams, find("").viewers), (1, 5));
    assert_eq!(find("g1").hour, at("2026-01-05T10:00:00Z"));
}

#[test]
fn fold_order_within_a_cycle_does_not_matter() {
    let mut a = Day::new(day());
    two_cycles(&mut a, &[0, 1, 2]);
    let mut b = Day::new(day());
    two_cycles(&mut b, &[2, 1, 0]);
    let sorted = |d: &Day| {
        let mut r = d.streamer_rows(|_| None);
        r.sort_by(|x, y| x.user_id.cmp(&y.user_id));
        let mut c = d.category_rows(60.0);
        c.sort_by(|x, y| x.game_id.cmp(&y.game_id));
        (r, c, d.hourly_rows())
    };
    assert_eq!(sorted(&a), sorted(&b));
}

#[test]
fn open_days_fold_a_cycle_once() {
    use crate::ingest::silver::{SilverRows, SnapshotRow};
    use crate::twitch::models::Stream;
    let stream = |user: &str, viewers: u64| Stream {
        id: format!("s{user}"),
        user_id: user.into(),
        user_login: user.into(),
        game_id: "g".into(),
        game_name: "g".into(),
        viewer_count: viewers,
        ..Default::default()
    };
    // A cycle across midnight touches two days.
    let rows = SilverRows {
        snapshots: vec![
            SnapshotRow {
                observed_at: at("2026-01-05T23:59:59Z"),
                cycle_id: 7,
                stream: stream("a", 10),
                started_at: at("2026-01-05T23:00:00Z"),
                session_id: "sa".into(),
                interval_seconds: 60.0,
            },
            SnapshotRow {
                observed_at: at("2026-01-06T00:00:01Z"),
                cycle_id: 7,
                stream: stream("b", 20),
                started_at: at("2026-01-05T23:00:00Z"),
                session_id: "sb".into(),
                interval_seconds: 60.0,
            },
        ],
        ..Default::default()
    };
    let mut open = OpenDays::default();
    open.fold(7, &rows);
    open.fold(7, &rows);
    let days: Vec<_> = open.iter().map(|d| (d.day(), d.streamers())).collect();
    assert_eq!(days, [(day(), 1), (day().succ_opt().unwrap(), 1)]);
    let first = open.get(day()).unwrap().streamer_rows(|_| None);
    assert_eq!(
        (first[0].minutes_streamed, first[0].peak_viewers),
        (1.0, 10)
    );
    open.close_before(day().succ_opt().unwrap());
    assert!(open.get(day()).is_none());
}

#[test]
fn leaderboards_rank_positive_values_ties_by_user() {
    let row = |user: &str, hours: f64, gained: Option<i64>| DailyRow {
        user_id: user.into(),
        login: user.into(),
        minutes_streamed: 60.0,
        avg_viewers: hours,
        peak_viewers: 0,
        hours_watched: hours,
        sessions: 1,
        followers_start: None,
        followers_end: None,
        followers_gained: gained,
        main_game: None,
        language: None,
    };
    let mut rows: Vec<DailyRow> = (0..150)
        .map(|i| row(&format!("u{i:03}"), i as f64, None))
        .collect();
    rows.push(row("tie", 149.0, Some(-3)));
    let board = leaderboard(&rows);
    let hours: Vec<&RankRow> = board
        .iter()
        .filter(|r| r.metric == "hours_watched")
        .collect();
    assert_eq!(hours.len(), LEADERBOARD_SIZE);
    assert_eq!(
        (hours[0].user_id.as_str(), hours[1].user_id.as_str()),
        ("tie", "u149")
    );
    assert_eq!(
        (hours[0].rank, hours[99].rank, hours[99].value),
        (1, 100, 51.0)
    );
    // Nobody gained followers: no rows; zero hours never rank.
    assert!(board.iter().all(|r| r.metric != "followers_gained"));
    assert!(board.iter().all(|r| r.value > 0.0));
    let minutes = board
        .iter()
        .filter(|r| r.metric == "minutes_streamed")
        .count();
    assert_eq!(minutes, LEADERBOARD_SIZE);
}
