//! A daily summary as a notification: the top lists as a compact table of
//! fields (one ranked list per field, the day-over-day change beside each
//! figure), the headline totals in the text, ingest health in the footer.
//! The notifier renders it for Slack (Block Kit) or any other target.
use chrono::NaiveTime;
use serde_json::json;

use super::summary::{DailySummary, Entry};
use crate::notify::{Field, Message};

/// The event name receivers see (the generic webhook's `type`).
pub const EVENT: &str = "daily_summary";

/// The idempotency key of `day`'s summary: the same on every retry and
/// after a restart, so a receiver can drop a duplicate.
pub fn key(day: chrono::NaiveDate) -> String {
    format!("daily-summary-{day}")
}

/// The field titles, in order (tests and receivers find lists by them).
pub const TOP_HOURS: &str = "Top by hours watched";
/// See [`TOP_HOURS`].
pub const TOP_AVG: &str = "Top by average viewers";
/// See [`TOP_HOURS`].
pub const TOP_FOLLOWERS: &str = "Biggest follower gains";
/// See [`TOP_HOURS`].
pub const RISING: &str = "New rising stars";
/// See [`TOP_HOURS`].
pub const CATEGORIES: &str = "Top categories";
/// See [`TOP_HOURS`].
pub const ALERTS: &str = "Alerts fired";

/// `summary` as a notification.
pub fn message(summary: &DailySummary) -> Message {
    let t = &summary.totals;
    let text = format!(
        "{} channels streamed {} hours watched ({}); the day before: {} channels.",
        t.channels,
        figure(t.hours_watched),
        change(t.hours_watched, Some(t.previous_hours_watched)),
        t.previous_channels,
    );
    let list = |name: &str, entries: &[Entry], unit: &str| {
        let lines: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let delta = e
                    .previous
                    .map(|p| format!(" ({})", change(e.value, Some(p))))
                    .unwrap_or_default();
                format!("{}. {} — {}{unit}{delta}", i + 1, e.name, figure(e.value))
            })
            .collect();
        Field::new(
            name,
            if lines.is_empty() {
                "—".to_owned()
            } else {
                lines.join("\n")
            },
        )
    };
    let alerts = if summary.alerts.is_empty() {
        "none".to_owned()
    } else {
        summary
            .alerts
            .iter()
            .map(|(rule, n)| format!("{rule}: {n}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let h = &summary.health;
    let footer = format!(
        "{} — ingest: {} cycles, {} gaps (longest {} min), {} errors",
        summary.day,
        h.cycles,
        h.gaps,
        (h.longest_gap_secs / 60.0).round(),
        h.errors
    );
    Message {
        key: key(summary.day),
        event: EVENT.into(),
        title: format!("Twitch daily summary — {}", summary.day),
        url: None,
        text,
        fields: vec![
            list(TOP_HOURS, &summary.top_hours_watched, " h"),
            list(TOP_AVG, &summary.top_avg_viewers, ""),
            list(TOP_FOLLOWERS, &summary.top_follower_gains, ""),
            list(RISING, &summary.new_rising_stars, ""),
            list(CATEGORIES, &summary.top_categories, " h"),
            Field::new(ALERTS, alerts),
        ],
        footer,
        timestamp: summary
            .day
            .succ_opt()
            .unwrap_or(summary.day)
            .and_time(NaiveTime::MIN)
            .and_utc(),
        color: 0x9146FF,
        data: json!(summary),
    }
}

/// A figure with thousands separators and no decimals beyond one for
/// small values.
fn figure(v: f64) -> String {
    if v.abs() < 10.0 {
        return format!("{v:.1}");
    }
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `+12%` / `-3%` against `previous`, or `new` without a base.
fn change(value: f64, previous: Option<f64>) -> String {
    match previous.filter(|p| *p > 0.0) {
        Some(p) => format!("{:+.0}%", (value - p) / p * 100.0),
        None => "new".into(),
    }
}
