use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::chat::line::LineKind;

fn t(sec: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap() + TimeDelta::seconds(sec)
}

fn msg(channel: &str, id: &str, user: &str, sec: i64, sentiment: f64, emotes: &[&str]) -> ChatLine {
    ChatLine {
        // Received late: minutes follow the sent time, not this.
        received_at: t(sec + 90),
        channel: Some(channel.into()),
        raw: format!("raw {id}"),
        kind: LineKind::Message(ChatMessage {
            id: id.into(),
            room_id: "1".into(),
            user_id: user.into(),
            login: format!("u{user}"),
            display_name: format!("U{user}"),
            text: String::new(),
            is_action: false,
            emotes: emotes.iter().map(|e| (*e).to_owned()).collect(),
            bits: None,
            sent_at: t(sec),
            sentiment,
        }),
    }
}

#[test]
fn minutes_count_messages_chatters_sentiment_and_emotes() {
    let lines = vec![
        msg("a", "1", "u1", 0, 0.5, &["LUL", "LUL", "Kappa"]),
        msg("a", "2", "u1", 10, -0.5, &["Kappa"]),
        msg("a", "3", "u2", 59, 0.04, &["PogChamp"]),
        msg("a", "4", "u2", 60, 0.2, &[]),
        msg("b", "5", "u3", 30, -0.05, &[]),
        ChatLine {
            received_at: t(5),
            channel: Some("a".into()),
            raw: "garbage".into(),
            kind: LineKind::Unparsable("x".into()),
        },
    ];
    let rows = chat_minutes(&lines);
    assert_eq!(
        rows,
        vec![
            ChatMinute {
                channel: "a".into(),
                minute: t(0),
                messages: 3,
                unique_chatters: 2,
                sentiment_mean: (0.5 - 0.5 + 0.04) / 3.0,
                positive: 1,
                negative: 1,
                // LUL 2, Kappa 2 (tie: by code), PogChamp 1.
                top_emotes: vec!["Kappa".into(), "LUL".into(), "PogChamp".into()],
            },
            ChatMinute {
                channel: "a".into(),
                minute: t(60),
                messages: 1,
                unique_chatters: 1,
                sentiment_mean: 0.2,
                positive: 1,
                negative: 0,
                top_emotes: vec![],
            },
            ChatMinute {
                channel: "b".into(),
                minute: t(0),
                messages: 1,
                unique_chatters: 1,
                sentiment_mean: -0.05,
                positive: 0,
                negative: 1,
                top_emotes: vec![],
            },
        ]
    );
}

#[test]
fn a_message_seen_twice_counts_once_and_batches_fold() {
    let mut fold = MinuteFold::new();
    fold.add_lines(&[
        msg("a", "1", "u1", 0, 1.0, &[]),
        msg("a", "2", "u2", 61, 0.0, &[]),
    ]);
    fold.add_lines(&[
        msg("a", "1", "u1", 0, 1.0, &[]),
        msg("a", "3", "u3", 62, 0.0, &[]),
    ]);
    let rows = fold.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].messages, rows[0].sentiment_mean), (1, 1.0));
    assert_eq!(
        (rows[1].minute, rows[1].messages, rows[1].unique_chatters),
        (t(60), 2, 2)
    );
}

#[test]
fn sealed_minutes_keep_their_rows_and_reopen_from_their_lines() {
    let lines = [
        msg("a", "1", "u1", 0, 0.5, &["LUL"]),
        msg("a", "2", "u2", 10, -0.5, &["Kappa", "LUL"]),
        msg("a", "3", "u1", 70, 0.2, &[]),
        msg("b", "4", "u1", 5, 0.0, &[]),
    ];
    let mut fold = MinuteFold::new();
    fold.add_lines(&lines);
    let before = fold.rows();
    assert_eq!(fold.seal_before(t(60)), 2);
    assert!(fold.is_sealed("a", t(0)) && !fold.is_sealed("a", t(60)));
    assert_eq!(fold.rows(), before);
    assert_eq!(fold.seal_before(t(60)), 0);

    // A repeat and a new chatter for the sealed minute: reopened from the
    // lines it counted, both count as they would have.
    let late = [
        msg("a", "2", "u2", 10, -0.5, &["Kappa", "LUL"]),
        msg("a", "5", "u3", 20, 0.0, &["Kappa"]),
    ];
    let mut again = MinuteFold::new();
    again.add_lines(&lines[..2]);
    fold.reopen("a", t(0), &mut again);
    assert!(!fold.is_sealed("a", t(0)));
    fold.add_lines(&late);
    let mut whole = MinuteFold::new();
    whole.add_lines(lines.iter().chain(&late));
    assert_eq!(fold.rows(), whole.rows());
    assert_eq!(
        (fold.rows()[0].messages, fold.rows()[0].unique_chatters),
        (3, 3)
    );
    // A sealed bucket whose lines are nowhere any more is dropped.
    fold.reopen("b", t(0), &mut MinuteFold::new());
    assert_eq!(fold.rows().len(), 2);

    // Not reopened: the line counts in messages and sentiment only.
    fold.seal_before(t(60));
    fold.add_lines(&[msg("a", "6", "u9", 30, 0.5, &["PogChamp"])]);
    let row = &fold.rows()[0];
    assert_eq!((row.messages, row.unique_chatters, row.positive), (4, 3, 2));
    assert_eq!(row.top_emotes, ["Kappa", "LUL"]);
}

#[test]
fn at_most_five_emotes() {
    let emotes = ["a", "b", "c", "d", "e", "f", "g"];
    let rows = chat_minutes(&[
        msg("a", "1", "u1", 0, 0.0, &emotes),
        msg("a", "2", "u1", 1, 0.0, &["g"]),
    ]);
    assert_eq!(rows[0].top_emotes, ["g", "a", "b", "c", "d"]);
}

#[test]
fn uuid_ids_are_kept_as_numbers_and_others_as_they_came() {
    let mut seen = SeenIds::default();
    let id = "885196de-cb67-427a-baa8-82f9b0fcd05f";
    assert!(seen.insert(id));
    assert!(!seen.insert(id));
    assert!(seen.insert("885196de-cb67-427a-baa8-82f9b0fcd05e"));
    // Not in Twitch's form: another id, kept as the string it is.
    assert!(seen.insert(&id.to_uppercase()));
    assert!(!seen.insert(&id.to_uppercase()));
    assert!(seen.insert("42"));
    assert!(!seen.insert("42"));
    assert_eq!((seen.uuids.len(), seen.other.len()), (2, 2));
}
