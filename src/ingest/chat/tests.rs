use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::*;
use crate::chat::{ChatSource, ChatStatsSnapshot};
use crate::schema::Table;

/// 2026-01-05 12:00:00 UTC plus `s` seconds.
fn at(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap() + TimeDelta::seconds(s)
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
}

/// A chat message `id` from `user` sent at `sent`, received a second later.
fn msg(id: &str, user: &str, sent: DateTime<Utc>, text: &str) -> ChatLine {
    let raw = format!(
        "@badge-info=;badges=;color=;display-name={user};emotes=;flags=;id={id};mod=0;room-id=1;\
         subscriber=0;tmi-sent-ts={};turbo=0;user-id={user};user-type= \
         :{user}!{user}@{user}.tmi.twitch.tv PRIVMSG #alice :{text}",
        sent.timestamp_millis()
    );
    let received = sent + TimeDelta::seconds(1);
    parse_line(&raw, received, Scorer::builtin()).0.unwrap()
}

#[test]
fn a_minute_spanning_cycles_is_folded_whole_and_a_repeated_id_counts_once() {
    let mut days = ChatDays::default();
    // VADER: "good" 1.9 → +0.4404, "bad" -2.5 → -0.5423, "hello" 0.
    let first = [
        msg("m1", "u1", at(5), "good"),
        msg("m2", "u2", at(20), "bad"),
    ];
    assert_eq!(days.add(&first), BTreeSet::from([day(5)]));
    let second = [
        msg("m3", "u1", at(50), "hello"),
        msg("m2", "u2", at(20), "bad"),
        msg("m4", "u3", at(61), "PogChamp"),
    ];
    assert_eq!(days.add(&second), BTreeSet::from([day(5)]));
    let (minutes, daily) = days.rows(day(5));
    let got: Vec<_> = minutes
        .iter()
        .map(|m| {
            (
                m.minute,
                m.messages,
                m.unique_chatters,
                m.positive,
                m.negative,
            )
        })
        .collect();
    assert_eq!(got, [(at(0), 3, 2, 1, 1), (at(60), 1, 1, 1, 0)]);
    let mean = (0.4404 - 0.5423 + 0.0) / 3.0;
    assert!(
        (minutes[0].sentiment_mean - mean).abs() < 1e-4,
        "{minutes:?}"
    );
    assert_eq!(minutes[1].top_emotes, ["PogChamp"]);
    // The day: 4 messages from 3 chatters.
    assert_eq!(daily.len(), 1);
    assert_eq!((daily[0].messages, daily[0].unique_chatters), (4, 3));
    assert_eq!(
        daily[0].minute,
        Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
    );
}

#[test]
fn a_day_closes_once_its_last_minute_is_sealed_and_other_lines_touch_no_day() {
    let mut days = ChatDays::default();
    days.add(&[msg("a", "u1", at(0), "hi")]);
    // Day 6, 00:29: day 5's last minute (23:59) is not sealed yet.
    let just_after = at(12 * 3_600 + 29 * 60);
    days.add(&[msg("b", "u1", just_after, "hi")]);
    assert!(days.is_open(day(5)) && days.is_open(day(6)));
    // 00:30: sealed, so day 5's fold goes.
    days.add(&[msg("c", "u1", just_after + TimeDelta::minutes(1), "hi")]);
    assert!(!days.is_open(day(5)) && days.is_open(day(6)));
    // A line for a closed day opens it (the pipeline loads it from bronze
    // first) and keeps it open for the cycle that writes its rows.
    assert_eq!(
        days.add(&[msg("d", "u2", at(60), "hi")]),
        BTreeSet::from([day(5)])
    );
    assert!(days.is_open(day(5)));
    days.add(&[msg("e", "u1", just_after + TimeDelta::minutes(2), "hi")]);
    assert!(!days.is_open(day(5)) && days.is_open(day(6)));
    // A day later, day 6 has closed too.
    let far = at(3 * 86_400);
    days.add(&[msg("f", "u1", far, "hi")]);
    assert!(!days.is_open(day(6)) && days.is_open(day(8)));
    let junk = parse_line("not irc #alice", at(0), Scorer::builtin())
        .0
        .unwrap();
    assert!(days.add(&[junk]).is_empty());
}

#[test]
fn bronze_rows_read_back_as_the_lines_they_were() {
    let junk = parse_line("@bad :tags PRIVMSG", at(3), Scorer::builtin())
        .0
        .unwrap();
    let lines = vec![msg("m1", "u1", at(0), "good LUL"), junk];
    let batch = tables::bronze(&Table::ChatMessages.schema(), 7, &lines).unwrap();
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(lines_of(&[batch]).unwrap(), lines);
}

/// A chat source that only remembers the channels it was given.
#[derive(Debug, Default)]
struct Channels(Mutex<Vec<String>>);

impl ChatSource for Channels {
    fn drain(&self) -> Vec<ChatLine> {
        Vec::new()
    }
    fn restore(&self, _: Vec<ChatLine>) {}
    fn set_channels(&self, channels: &[String]) {
        *self.0.lock().unwrap() = channels.to_vec();
    }
    fn stats(&self) -> ChatStatsSnapshot {
        ChatStatsSnapshot::default()
    }
}

#[test]
fn the_watched_channels_and_the_top_n_live_are_joined() {
    let source = Arc::new(Channels::default());
    let channels = ChatChannels::new(source.clone(), vec!["Zed".into()], 2);
    assert_eq!(*source.0.lock().unwrap(), ["Zed"]);
    let live = [("a", 10), ("zed", 500), ("b", 30), ("c", 20)];
    // zed is watched anyway: the top 2 besides it are b and c.
    assert_eq!(channels.channels(live), ["b", "c", "zed"]);
}
