//! The gold figures that span several days — the weekly leaderboard and the
//! rising stars — from the days' `gold.streamer_daily` rows in memory: the
//! open days' as folded so far, the closed days' as loaded once from the
//! lake. A cycle costs one pass over at most 14 days of streamer rows, where
//! it used to plan and run two SQL queries over the lake.
//!
//! The figures are those of the SQL in `span_sql.rs` (kept as the
//! specification; its tests check that both agree): float
//! columns are summed as `DECIMAL(38, 10)` would be — exact and independent
//! of the order of the rows — so live cycles and `rebuild`, which meet the
//! days in different orders, write the same figures.
use std::collections::{BTreeMap, HashMap};

use chrono::{Duration as Days, NaiveDate};

use super::{DailyRow, LEADERBOARD_SIZE, RISING_STAR_MAX_AGE_DAYS, RankRow, day_start, rank};
use crate::ingest::silver::StreamerRow;

/// What the multi-day figures need of one streamer's day.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    /// Broadcaster id.
    pub user_id: String,
    /// The day's login.
    pub login: String,
    /// Σ viewers × interval, in hours.
    pub hours_watched: f64,
    /// Minutes live.
    pub minutes_streamed: f64,
    /// Σ follower deltas.
    pub followers_gained: Option<i64>,
    /// First follower total of the day.
    pub followers_start: Option<i64>,
}

impl From<&DailyRow> for SpanRow {
    fn from(r: &DailyRow) -> Self {
        Self {
            user_id: r.user_id.clone(),
            login: r.login.clone(),
            hours_watched: r.hours_watched,
            minutes_streamed: r.minutes_streamed,
            followers_gained: r.followers_gained,
            followers_start: r.followers_start,
        }
    }
}

/// The rows of each day at hand, by day; a day without rows may be absent.
pub type SpanDays<'a> = BTreeMap<NaiveDate, &'a [SpanRow]>;

/// The days `first..=last`.
pub fn days(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    first.iter_days().take_while(move |d| *d <= last)
}

/// The days whose rows [`weekly`] and [`rising_stars`] of `day` read.
pub fn inputs(day: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let week = super::week_start(day);
    let first = week.min(day - Days::days(13));
    days(first, (week + Days::days(6)).max(day))
}

/// A `DECIMAL(38, 10)` sum: exact, so independent of the order of the terms.
#[derive(Debug, Default, Clone, Copy)]
struct Exact(i128);

impl Exact {
    const SCALE: f64 = 1e10;

    fn add(&mut self, v: f64) {
        self.0 += (v * Self::SCALE).round() as i128;
    }

    fn value(self) -> f64 {
        self.0 as f64 / Self::SCALE
    }
}

/// One streamer over a run of days.
#[derive(Debug, Default)]
struct Acc<'a> {
    /// The login of the latest day.
    login: (NaiveDate, &'a str),
    hours: Exact,
    minutes: Exact,
    gained: Option<i64>,
    /// The follower total at the start of the earliest day that has one.
    first: Option<(NaiveDate, i64)>,
}

impl<'a> Acc<'a> {
    fn add(&mut self, day: NaiveDate, r: &'a SpanRow) {
        if self.login.1.is_empty() || day >= self.login.0 {
            self.login = (day, &r.login);
        }
        self.hours.add(r.hours_watched);
        self.minutes.add(r.minutes_streamed);
        if let Some(g) = r.followers_gained {
            self.gained = Some(self.gained.unwrap_or(0) + g);
        }
        if let Some(s) = r.followers_start
            && self.first.is_none_or(|(d, _)| day < d)
        {
            self.first = Some((day, s));
        }
    }

    /// Hours watched over hours live, if it streamed.
    fn avg_viewers(&self) -> Option<f64> {
        let minutes = self.minutes.value();
        (minutes > 0.0).then(|| self.hours.value() / (minutes / 60.0))
    }
}

/// Every streamer of the days `first..=last` in `rows`, by user id.
fn fold<'a>(rows: &SpanDays<'a>, first: NaiveDate, last: NaiveDate) -> HashMap<&'a str, Acc<'a>> {
    let mut out: HashMap<&str, Acc> = HashMap::new();
    for (&day, day_rows) in rows.range(first..=last) {
        for r in day_rows.iter() {
            out.entry(r.user_id.as_str()).or_default().add(day, r);
        }
    }
    out
}

/// `gold.leaderboard_weekly` of the ISO week starting `week`: the top
/// [`LEADERBOARD_SIZE`] of each metric over the week's days.
pub fn weekly(week: NaiveDate, rows: &SpanDays<'_>) -> Vec<RankRow> {
    let accs = fold(rows, week, week + Days::days(6));
    let mut accs: Vec<(&str, Acc)> = accs.into_iter().collect();
    accs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let candidates = |value: &dyn Fn(&Acc) -> Option<f64>| {
        accs.iter()
            .filter_map(|(id, a)| value(a).map(|v| (v, *id, a.login.1)))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    out.extend(rank(
        "avg_viewers",
        candidates(&|a| Some(a.avg_viewers().unwrap_or(0.0))),
    ));
    out.extend(rank(
        "hours_watched",
        candidates(&|a| Some(a.hours.value())),
    ));
    out.extend(rank(
        "followers_gained",
        candidates(&|a| a.gained.map(|g| g as f64)),
    ));
    out.extend(rank(
        "minutes_streamed",
        candidates(&|a| Some(a.minutes.value())),
    ));
    out
}

/// A `gold.rising_stars` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StarRow {
    /// Broadcaster id.
    pub user_id: String,
    /// Login of the latest day.
    pub login: String,
    /// Days since the account was created.
    pub account_age_days: i64,
    /// Followers gained over the 7 days.
    pub followers_gained_7d: Option<i64>,
    /// Followers gained over the total at the start of the 7 days, in %.
    pub follower_growth_pct_7d: Option<f64>,
    /// Average viewers over the 7 days.
    pub avg_viewers_7d: Option<f64>,
    /// Average viewers against the 7 days before, in %.
    pub viewer_growth_pct_7d: Option<f64>,
    /// 0.6 × follower growth + 0.4 × viewer growth.
    pub score: f64,
    /// 1-based.
    pub rank: i64,
}

/// `gold.rising_stars` of `day`: accounts at most
/// [`RISING_STAR_MAX_AGE_DAYS`] old, scored by their 7-day follower and
/// viewer growth against the 7 days before; the top [`LEADERBOARD_SIZE`].
pub fn rising_stars(
    day: NaiveDate,
    rows: &SpanDays<'_>,
    streamers: &BTreeMap<String, Vec<StreamerRow>>,
) -> Vec<StarRow> {
    let week = fold(rows, day - Days::days(6), day);
    let before = fold(rows, day - Days::days(13), day - Days::days(7));
    let next = day_start(day + Days::days(1));
    let mut scored: Vec<StarRow> = week
        .iter()
        .filter_map(|(&id, a)| {
            let age = streamers
                .get(id)?
                .iter()
                .filter(|v| v.valid_from < next)
                .filter_map(|v| v.created_at)
                .map(|c| (day - c.date_naive()).num_days())
                .max()?;
            if age > RISING_STAR_MAX_AGE_DAYS {
                return None;
            }
            let followers = match (a.gained, a.first) {
                (Some(g), Some((_, first))) if first > 0 => Some(100.0 * g as f64 / first as f64),
                _ => None,
            };
            let avg = a.avg_viewers();
            let prev = before.get(id).and_then(Acc::avg_viewers);
            let viewers = match (avg, prev) {
                (Some(avg), Some(prev)) if prev > 0.0 => Some(100.0 * (avg - prev) / prev),
                _ => None,
            };
            let score = 0.6 * followers.unwrap_or(0.0) + 0.4 * viewers.unwrap_or(0.0);
            (score > 0.0).then(|| StarRow {
                user_id: id.to_owned(),
                login: a.login.1.to_owned(),
                account_age_days: age,
                followers_gained_7d: a.gained,
                follower_growth_pct_7d: followers,
                avg_viewers_7d: avg,
                viewer_growth_pct_7d: viewers,
                score,
                rank: 0,
            })
        })
        .collect();
    scored.sort_unstable_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    scored.truncate(LEADERBOARD_SIZE);
    for (i, s) in scored.iter_mut().enumerate() {
        s.rank = i as i64 + 1;
    }
    scored
}
