//! The figures an alert carries (`gold.alerts.details`): what was measured
//! when it fired, plus a one-line `summary` for people. Built only for
//! alerts that fire, never for the many channels that do not.
use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::input::{ChatActivity, RisingStar, SqlRow};
use super::rules::{Condition, Direction, Rule};
use super::state::{Chan, Micros};

/// The numbers behind a `Fire` level, kept cheap (no allocation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fig {
    /// The channel is on air (figures from its stream).
    Live,
    /// Off air since then.
    Offline { since: Micros },
    /// A change from `from` to `to` within `window_s` seconds.
    Change {
        from: i64,
        to: i64,
        pct: Option<f64>,
        window_s: u64,
    },
    /// A live rank.
    Rank { rank: usize, viewers: i64 },
    /// A `gold.rising_stars` row (figures from it).
    Star,
    /// Chat activity (figures from it).
    Chat,
    /// A SQL rule's row (figures from it).
    Sql,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn window_text(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

fn ts(m: Micros) -> String {
    DateTime::from_timestamp_micros(m)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The alert's `details` object.
pub(crate) fn details(
    rule: &Rule,
    fig: &Fig,
    login: &str,
    chan: Option<&Chan>,
    star: Option<&RisingStar>,
    chat: Option<&ChatActivity>,
    sql: Option<&SqlRow>,
) -> Value {
    let mut d = Map::new();
    let who = if login.is_empty() { "a channel" } else { login };
    if let Some(c) = chan {
        let stream = c.live.as_ref().or(c.last.as_ref());
        if !c.game_name.is_empty() {
            d.insert("game_name".into(), json!(c.game_name));
        }
        if let Some(s) = stream {
            d.insert("title".into(), json!(s.title));
            d.insert("viewers".into(), json!(s.viewers));
            d.insert("started_at".into(), json!(ts(s.started_at)));
        }
        if let Some(&(_, f)) = c.followers.back() {
            d.insert("followers_total".into(), json!(f));
        }
    }
    if !login.is_empty() {
        d.insert(
            "url".into(),
            json!(format!("https://www.twitch.tv/{login}")),
        );
    }
    let summary = match (fig, &rule.condition) {
        (Fig::Live, _) => format!("{who} went live"),
        (Fig::Offline { since }, _) => {
            d.insert("offline_since".into(), json!(ts(*since)));
            if let Some(s) = chan.and_then(|c| c.last.as_ref()) {
                let minutes = (since - s.started_at).max(0) / 60_000_000;
                d.insert("streamed_minutes".into(), json!(minutes));
            }
            format!("{who} went offline")
        }
        (
            Fig::Change {
                from,
                to,
                pct,
                window_s,
            },
            condition,
        ) => {
            let followers = matches!(condition, Condition::Followers { .. });
            let down = matches!(
                condition,
                Condition::Viewers {
                    direction: Direction::Down,
                    ..
                } | Condition::Followers {
                    direction: Direction::Down,
                    ..
                }
            );
            let what = if followers { "followers" } else { "viewers" };
            d.insert("from".into(), json!(from));
            d.insert("to".into(), json!(to));
            d.insert("change".into(), json!(to - from));
            d.insert(
                "change_pct".into(),
                json!(pct.map(|p| round1(if down { -p } else { p }))),
            );
            d.insert("window_seconds".into(), json!(window_s));
            let amount = (to - from).abs();
            let pct_text = pct.map(|p| format!(" ({p:.0}%)")).unwrap_or_default();
            let verb = if down { "lost" } else { "gained" };
            format!(
                "{who} {verb} {amount} {what}{pct_text} within {}",
                window_text(*window_s)
            )
        }
        (Fig::Rank { rank, viewers }, Condition::TopN { n, .. }) => {
            d.insert("rank".into(), json!(rank));
            d.insert("viewers".into(), json!(viewers));
            d.insert("top_n".into(), json!(n));
            format!("{who} entered the live top {n} at #{rank}")
        }
        (Fig::Star, _) => {
            if let Some(s) = star {
                d.insert("rank".into(), json!(s.rank));
                d.insert("score".into(), json!(round1(s.score)));
                d.insert("followers_gained_7d".into(), json!(s.followers_gained_7d));
                d.insert("avg_viewers_7d".into(), json!(s.avg_viewers_7d.map(round1)));
            }
            format!("{who} is a rising star (#{})", star.map_or(0, |s| s.rank))
        }
        (Fig::Chat, condition) => {
            if let Some(a) = chat {
                d.insert("messages_per_minute_5m".into(), json!(round1(a.rate_5m)));
                d.insert("messages_per_minute_1h".into(), json!(round1(a.rate_1h)));
                d.insert("sentiment_5m".into(), json!(a.sentiment_5m));
                d.insert("sentiment_1h".into(), json!(a.sentiment_1h));
            }
            if matches!(condition, Condition::ChatSentiment { .. }) {
                format!("{who}'s chat turned negative")
            } else {
                let up = chat.is_some_and(|a| a.rate_5m >= a.rate_1h);
                format!("{who}'s chat {}", if up { "surged" } else { "slowed down" })
            }
        }
        (Fig::Sql, _) => {
            if let Some(r) = sql {
                for (k, v) in &r.details {
                    d.insert(k.clone(), v.clone());
                }
            }
            let subject = if login.is_empty() {
                sql.map_or("", |r| r.key.as_str())
            } else {
                login
            };
            format!("{}: {subject}", rule.name)
        }
        (Fig::Rank { .. }, _) => format!("{who}: {}", rule.name),
    };
    d.insert("summary".into(), json!(summary));
    Value::Object(d)
}
