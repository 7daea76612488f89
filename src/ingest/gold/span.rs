//! The gold figures that span several days — the weekly leaderboard and the
//! rising stars — from the days' `gold.streamer_daily` rows: the open days'
//! as folded so far, the closed days' loaded once from the lake and kept as
//! totals per streamer and window ([`ClosedSpans`]). A cycle costs a pass
//! over those totals and the open days' rows, where it used to plan and run
//! two SQL queries over up to 14 days of the lake.
//!
//! The figures are those of the SQL in `span_sql.rs` (kept as the
//! specification; its tests check that both agree): float
//! columns are summed as `DECIMAL(38, 10)` would be — exact and independent
//! of the order of the rows — so live cycles and `rebuild`, which meet the
//! days in different orders, write the same figures.
use std::collections::{BTreeMap, HashMap};

use chrono::{Duration as Days, NaiveDate};

use super::{DailyRow, LEADERBOARD_SIZE, RISING_STAR_MAX_AGE_DAYS, RankRow, day_start, rank};
use crate::ingest::profiles::Profiles;

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

/// One streamer's figures over a run of days; `L` holds the login (owned
/// for closed days' totals kept between cycles, borrowed within a cycle).
#[derive(Debug, Clone)]
pub struct Totals<L> {
    /// The login of the latest day.
    login: Option<(NaiveDate, L)>,
    hours: Exact,
    minutes: Exact,
    gained: Option<i64>,
    /// The follower total at the start of the earliest day that has one.
    first: Option<(NaiveDate, i64)>,
}

impl<L> Default for Totals<L> {
    fn default() -> Self {
        Self {
            login: None,
            hours: Exact::default(),
            minutes: Exact::default(),
            gained: None,
            first: None,
        }
    }
}

impl<L> Totals<L> {
    fn set_login(&mut self, day: NaiveDate, login: L) {
        if self.login.as_ref().is_none_or(|(d, _)| day >= *d) {
            self.login = Some((day, login));
        }
    }

    fn gain(&mut self, gained: Option<i64>) {
        if let Some(g) = gained {
            self.gained = Some(self.gained.unwrap_or(0) + g);
        }
    }

    fn start(&mut self, first: Option<(NaiveDate, i64)>) {
        if let Some((day, s)) = first
            && self.first.is_none_or(|(d, _)| day < d)
        {
            self.first = Some((day, s));
        }
    }

    /// Adds one day's row (its login taken by `login`).
    fn add(&mut self, day: NaiveDate, r: &SpanRow, login: L) {
        self.set_login(day, login);
        self.hours.add(r.hours_watched);
        self.minutes.add(r.minutes_streamed);
        self.gain(r.followers_gained);
        self.start(r.followers_start.map(|s| (day, s)));
    }

    /// Adds the totals of other days.
    fn merge<'b, M>(&mut self, other: &'b Totals<M>, login: impl FnOnce(&'b M) -> L) {
        if let Some((day, l)) = &other.login {
            self.set_login(*day, login(l));
        }
        self.hours.0 += other.hours.0;
        self.minutes.0 += other.minutes.0;
        self.gain(other.gained);
        self.start(other.first);
    }

    /// Hours watched over hours live, if it streamed.
    fn avg_viewers(&self) -> Option<f64> {
        let minutes = self.minutes.value();
        (minutes > 0.0).then(|| self.hours.value() / (minutes / 60.0))
    }
}

type Acc<'a> = Totals<&'a str>;

/// Closed days' totals per streamer over one window of days.
pub type Window = HashMap<Box<str>, Totals<Box<str>>>;

/// The closed days that the figures of one day read, folded once into the
/// windows those figures sum over (so memory is a few totals per streamer,
/// not every day's rows); the open days are added each cycle.
#[derive(Debug, Default)]
pub struct ClosedSpans {
    day: Option<NaiveDate>,
    /// The days of `day`'s ISO week.
    week: Window,
    /// `day - 6 ..= day`: the rising stars' 7 days.
    last7: Window,
    /// `day - 13 ..= day - 7`: the 7 days before.
    prev7: Window,
}

impl ClosedSpans {
    /// No closed day yet, for the figures of `day`.
    pub fn new(day: NaiveDate) -> Self {
        Self {
            day: Some(day),
            ..Self::default()
        }
    }

    /// Folds closed day `d`'s rows into the windows that hold it.
    pub fn add_day(&mut self, d: NaiveDate, rows: &[SpanRow]) {
        let Some(day) = self.day else { return };
        let week = super::week_start(day);
        let windows = [
            (&mut self.week, week, week + Days::days(6)),
            (&mut self.last7, day - Days::days(6), day),
            (&mut self.prev7, day - Days::days(13), day - Days::days(7)),
        ];
        for (window, first, last) in windows {
            if (first..=last).contains(&d) {
                for r in rows {
                    let t = window.entry(r.user_id.as_str().into()).or_default();
                    t.add(d, r, r.login.as_str().into());
                }
            }
        }
    }
}

/// Every streamer of the days `first..=last`: the closed days' totals, plus
/// the open days' rows in `rows`.
fn fold<'a>(
    closed: &'a Window,
    rows: &SpanDays<'a>,
    first: NaiveDate,
    last: NaiveDate,
) -> HashMap<&'a str, Acc<'a>> {
    let mut out: HashMap<&str, Acc> = HashMap::with_capacity(closed.len());
    for (id, t) in closed {
        out.entry(id.as_ref()).or_default().merge(t, |l| l.as_ref());
    }
    for (&day, day_rows) in rows.range(first..=last) {
        for r in day_rows.iter() {
            out.entry(r.user_id.as_str())
                .or_default()
                .add(day, r, r.login.as_str());
        }
    }
    out
}

fn login<'a>(a: &Acc<'a>) -> &'a str {
    a.login.map_or("", |(_, l)| l)
}

/// `gold.leaderboard_weekly` of the ISO week starting `week`: the top
/// [`LEADERBOARD_SIZE`] of each metric over the week's days, from the
/// closed days' totals of the week and the open days' rows.
pub fn weekly(week: NaiveDate, closed: &ClosedSpans, rows: &SpanDays<'_>) -> Vec<RankRow> {
    let accs = fold(&closed.week, rows, week, week + Days::days(6));
    let mut accs: Vec<(&str, Acc)> = accs.into_iter().collect();
    accs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let candidates = |value: &dyn Fn(&Acc) -> Option<f64>| {
        accs.iter()
            .filter_map(|(id, a)| value(a).map(|v| (v, *id, login(a))))
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
    closed: &ClosedSpans,
    rows: &SpanDays<'_>,
    streamers: &Profiles,
) -> Vec<StarRow> {
    let week = fold(&closed.last7, rows, day - Days::days(6), day);
    let before = fold(
        &closed.prev7,
        rows,
        day - Days::days(13),
        day - Days::days(7),
    );
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
                login: login(a).to_owned(),
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
