//! The plan as data: which tables a cycle writes, how, and in what order.
use chrono::DateTime;

use super::*;
use crate::twitch::RawResponse;

fn response(endpoint: &str, query: &str, fetched: &str, payload: &str) -> RawResponse {
    RawResponse {
        endpoint: endpoint.into(),
        request_query: query.into(),
        page: 0,
        http_status: 200,
        fetched_at: DateTime::parse_from_rfc3339(fetched).unwrap().to_utc(),
        payload: payload.into(),
    }
}

/// One cycle just before midnight whose follower totals arrive just after:
/// a live stream, its profile, its category and its followers.
fn inputs() -> CycleInputs {
    let stream = r#"{"data":[{"id":"s1","user_id":"u1","user_login":"alice","user_name":"Alice",
        "game_id":"7","game_name":"Chess","type":"live","title":"t","tags":[],"viewer_count":10,
        "started_at":"2026-01-05T23:00:00Z","language":"en","thumbnail_url":"","tag_ids":[],
        "is_mature":false}],"pagination":{}}"#;
    let user = r#"{"data":[{"id":"u1","login":"alice","display_name":"Alice","type":"",
        "broadcaster_type":"","description":"","profile_image_url":"","offline_image_url":"",
        "view_count":0,"created_at":"2025-01-01T00:00:00Z"}]}"#;
    let game = r#"{"data":[{"id":"7","name":"Chess","box_art_url":"","igdb_id":""}]}"#;
    let followers = r#"{"data":[],"total":42,"pagination":{}}"#;
    CycleInputs {
        responses: vec![
            response("streams", "first=100", "2026-01-05T23:59:58Z", stream),
            response("games", "id=7", "2026-01-05T23:59:59Z", game),
            response("users", "id=u1", "2026-01-05T23:59:59Z", user),
            response(
                "channels/followers",
                "broadcaster_id=u1",
                "2026-01-06T00:00:01Z",
                followers,
            ),
        ],
        chat: vec![
            chat_line(
                "2026-01-05T23:59:59Z",
                &privmsg("m1", 1_767_657_599_000, "PogChamp"),
            ),
            chat_line(
                "2026-01-06T00:00:01Z",
                &privmsg("m2", 1_767_657_600_500, "so bad"),
            ),
            chat_line("2026-01-06T00:00:02Z", "not irc at all #alice"),
        ],
    }
}

fn privmsg(id: &str, sent_ms: i64, text: &str) -> String {
    format!(
        "@badge-info=;badges=;color=;display-name=Bob;emotes=;flags=;id={id};mod=0;room-id=1;\
         subscriber=0;tmi-sent-ts={sent_ms};turbo=0;user-id=2;user-type= \
         :bob!bob@bob.tmi.twitch.tv PRIVMSG #alice :{text}"
    )
}

fn chat_line(at: &str, raw: &str) -> crate::chat::ChatLine {
    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
    crate::chat::parse_line(raw, at, crate::chat::Scorer::builtin())
        .0
        .unwrap()
}

/// The lake compacts the tables cycles only append to while cycles commit;
/// a cycle that replaced rows in one would race that compaction.
#[test]
fn a_cycle_only_appends_to_the_tables_compacted_beside_cycles() {
    let mut state = SilverState::default();
    let plan = plan(7, &inputs(), &mut state).unwrap();
    let appended: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| t.only_appended_by_cycles())
        .collect();
    for table in &appended {
        assert!(plan.writes.iter().any(|w| w.table == *table), "{table}");
    }
    for write in plan.writes.iter().filter(|w| appended.contains(&w.table)) {
        assert_eq!(write.op, Op::Append, "{}", write.describe());
    }
}

/// The lake keeps what cycles replace for the gold retention only on the
/// tables that say so; a table replaced every cycle without it would keep a
/// copy per cycle for a day.
#[test]
fn a_cycle_replaces_rows_only_in_the_tables_rewritten_by_cycles() {
    let mut state = SilverState::default();
    let plan = plan(7, &inputs(), &mut state).unwrap();
    for write in &plan.writes {
        if let Op::Replace(_) = write.op {
            // Games: replaced whole when a category changes, not every cycle.
            let rewritten = write.table.rewritten_by_cycles() || write.table == Table::Games;
            assert!(rewritten, "{}", write.describe());
        }
    }
    for table in Table::ALL.into_iter().filter(|t| t.rewritten_by_cycles()) {
        assert!(plan.writes.iter().any(|w| w.table == table), "{table}");
    }
}

#[test]
fn a_cycle_writes_bronze_then_silver_then_the_gold_of_each_day_it_touched() {
    let mut state = SilverState::default();
    let plan = plan(7, &inputs(), &mut state).unwrap();
    let writes: Vec<String> = plan.writes.iter().map(Write::describe).collect();
    let mut want = vec![
        "bronze.helix_responses append".to_owned(),
        "bronze.chat_messages append".into(),
        "silver.stream_snapshots append".into(),
        "silver.follower_snapshots append".into(),
        "silver.streamers upsert".into(),
        "silver.stream_sessions append [ended]".into(),
        "silver.stream_sessions replace status = 'live' [live]".into(),
        "silver.games replace true".into(),
        "silver.chat_minutes replace day = '2026-01-05' [2026-01-05]".into(),
        "silver.chat_minutes replace day = '2026-01-06' [2026-01-06]".into(),
    ];
    for (day, week) in [("2026-01-05", "2026-01-05"), ("2026-01-06", "2026-01-05")] {
        want.extend([
            format!("gold.streamer_daily replace day = '{day}' [{day}] <- day {day}"),
            format!("gold.category_daily replace day = '{day}' [{day}] <- day {day}"),
            format!("gold.hourly_viewership replace day = '{day}' [{day}] <- day {day}"),
            format!("gold.leaderboard_daily replace period_start = '{day}' [{day}] <- day {day}"),
            format!("gold.leaderboard_weekly replace period_start = '{week}' [{day}] <- day {day}"),
            format!("gold.rising_stars replace day = '{day}' [{day}] <- day {day}"),
        ]);
    }
    want.extend([
        "gold.chat_daily replace day = '2026-01-05' [2026-01-05]".into(),
        "gold.chat_daily replace day = '2026-01-06' [2026-01-06]".into(),
    ]);
    assert_eq!(writes, want);
    assert_eq!(plan.days.len(), 2);
    // Both messages (one per day) in silver; the malformed line only in bronze.
    let minutes: Vec<(String, u64)> = plan
        .silver
        .chat_minutes
        .iter()
        .map(|m| (m.minute.to_rfc3339(), m.messages))
        .collect();
    assert_eq!(
        minutes,
        [
            ("2026-01-05T23:59:00+00:00".to_owned(), 1),
            ("2026-01-06T00:00:00+00:00".to_owned(), 1)
        ]
    );
    let bronze = plan.writes.iter().find(|w| w.table == Table::ChatMessages);
    match bronze.map(|w| &w.rows) {
        Some(super::Rows::Batch(b)) => assert_eq!(b.num_rows(), 3),
        other => panic!("bronze chat rows: {other:?}"),
    }
    assert!(
        plan.writes
            .iter()
            .all(|w| w.table.origin() != crate::schema::Origin::State),
        "state tables are written by their own consumers, never by the plan"
    );
}

#[test]
fn planning_a_cycle_again_writes_no_second_version_of_anything() {
    // A replay (start-up repair) of a cycle the running state already holds:
    // the same bronze and sessions writes, no profile or category change.
    let mut state = SilverState::default();
    plan(7, &inputs(), &mut state).unwrap();
    let again = plan(7, &inputs(), &mut state).unwrap();
    let tables: Vec<Table> = again.writes.iter().map(|w| w.table).collect();
    assert!(!tables.contains(&Table::Streamers) && !tables.contains(&Table::Games));
    assert!(
        again.silver.followers.is_empty(),
        "{:?}",
        again.silver.followers
    );
}
