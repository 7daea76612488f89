//! The gold figures that span several days — the weekly leaderboard and the
//! rising stars — from the days' `gold.streamer_daily` rows: the open days'
//! as folded so far, the closed days' loaded once from the lake and kept as
//! totals per streamer and window ([`ClosedSpans`]), ranked once. A cycle
//! costs a pass over the open days' rows and a look at the best few of the
//! streamers seen on closed days only — not every streamer of up to two
//! weeks (`cargo bench --bench gold`), nor, as at first, two SQL queries
//! over 14 days of the lake.
//!
//! The figures are those of the SQL in `span_sql.rs` (kept as the
//! specification; its tests check that both agree): float
//! columns are summed as `DECIMAL(38, 10)` would be — exact and independent
//! of the order of the rows — so live cycles and `rebuild`, which meet the
//! days in different orders, write the same figures.
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use chrono::{Duration as Days, NaiveDate};
use indexmap::IndexMap;

use super::{
    DailyRow, LEADERBOARD_SIZE, RISING_STAR_MAX_AGE_DAYS, RankRow, best_first, day_start, rank,
};
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

/// Closed days' totals per streamer over one window of days, by user id
/// (an index map: [`Ranked`] keeps positions in it).
pub type Window = IndexMap<Box<str>, Closed, Hasher>;

/// One streamer's totals over closed days.
pub type Closed = Totals<Box<str>>;

/// A faster hash than the standard library's (no defence against chosen
/// keys needed: the keys are Twitch's user ids).
type Hasher = foldhash::fast::RandomState;

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
    /// The windows' streamers ranked, built on the first cycle that needs
    /// them after the last [`ClosedSpans::add_day`].
    ranked: OnceLock<Ranked>,
}

/// Positions in the windows of [`ClosedSpans`], best first. A streamer with
/// no row in an open day keeps the figures of its closed days all day, so
/// its rank among those streamers is found once; a cycle then computes only
/// the streamers of the open days and takes the best of the others from
/// here (at most [`LEADERBOARD_SIZE`] of them can rank), where it used to
/// fold every streamer of up to two weeks again on every cycle.
#[derive(Debug, Default)]
struct Ranked {
    /// `week` by each of [`super::METRICS`]: the positions whose value
    /// would rank (above zero).
    weekly: [Vec<u32>; 4],
    /// `last7` by rising-star score (above zero), before the account age is
    /// checked: profiles change during a day.
    stars: Vec<u32>,
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
        self.ranked = OnceLock::new();
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

    fn ranked(&self) -> &Ranked {
        self.ranked.get_or_init(|| {
            let prev_avg = |id: &str| self.prev7.get(id).and_then(Totals::avg_viewers);
            Ranked {
                weekly: std::array::from_fn(|m| by_value(&self.week, |_, t| metric_value(m, t))),
                stars: by_value(&self.last7, |id, t| Some(growth(t, prev_avg(id)).2)),
            }
        })
    }
}

/// The positions in `window` whose `value` is above zero, highest first,
/// ties by user id (the order of [`rank`]).
fn by_value(window: &Window, value: impl Fn(&str, &Closed) -> Option<f64>) -> Vec<u32> {
    let mut order: Vec<(f64, &str, u32)> = (0..)
        .zip(window)
        .filter_map(|(i, (id, t))| Some((value(id, t)?, &**id, i)))
        .filter(|c| c.0 > 0.0)
        .collect();
    order.sort_unstable_by(|a, b| best_first((a.0, a.1), (b.0, b.1)));
    order.into_iter().map(|c| c.2).collect()
}

/// The value of [`super::METRICS`]`[metric]` over a run of days.
fn metric_value<L>(metric: usize, t: &Totals<L>) -> Option<f64> {
    match metric {
        0 => Some(t.avg_viewers().unwrap_or(0.0)),
        1 => Some(t.hours.value()),
        2 => t.gained.map(|g| g as f64),
        _ => Some(t.minutes.value()),
    }
}

/// The streamers with a row in the open days `first..=last`, each with its
/// closed days' totals from `closed` added.
fn fold<'a>(
    closed: &'a Window,
    rows: &SpanDays<'a>,
    first: NaiveDate,
    last: NaiveDate,
) -> HashMap<&'a str, Acc<'a>, Hasher> {
    let n = rows.range(first..=last).map(|(_, r)| r.len()).max();
    let mut out = HashMap::with_capacity_and_hasher(n.unwrap_or(0), Hasher::default());
    for (&day, day_rows) in rows.range(first..=last) {
        for r in day_rows.iter() {
            let acc = out.entry(r.user_id.as_str()).or_insert_with(|| {
                closed
                    .get(r.user_id.as_str())
                    .map_or_else(Acc::default, of_closed)
            });
            acc.add(day, r, r.login.as_str());
        }
    }
    out
}

/// The entries of `window` in `order` (positions in it), without those
/// `skip` names.
fn best_of<'a>(
    window: &'a Window,
    order: &'a [u32],
    mut skip: impl FnMut(&str) -> bool,
) -> impl Iterator<Item = (&'a str, &'a Closed)> {
    order
        .iter()
        .filter_map(|&i| window.get_index(i as usize))
        .map(|(id, t)| (&**id, t))
        .filter(move |(id, _)| !skip(id))
}

fn login<'a>(a: &Acc<'a>) -> &'a str {
    a.login.map_or("", |(_, l)| l)
}

/// A closed streamer's totals as a cycle's figures start from them.
fn of_closed(t: &Closed) -> Acc<'_> {
    let mut acc = Acc::default();
    acc.merge(t, |l| l.as_ref());
    acc
}

/// `gold.leaderboard_weekly` of the ISO week starting `week`: the top
/// [`LEADERBOARD_SIZE`] of each metric over the week's days, from the
/// closed days' totals of the week and the open days' rows.
pub fn weekly(week: NaiveDate, closed: &ClosedSpans, rows: &SpanDays<'_>) -> Vec<RankRow> {
    let open = fold(&closed.week, rows, week, week + Days::days(6));
    let ranked = closed.ranked();
    let mut out = Vec::new();
    for (m, metric) in super::METRICS.into_iter().enumerate() {
        let mut candidates: Vec<(f64, &str, &str)> = open
            .iter()
            .filter_map(|(&id, a)| metric_value(m, a).map(|v| (v, id, login(a))))
            .collect();
        let others = best_of(&closed.week, &ranked.weekly[m], |id| open.contains_key(id));
        candidates.extend(
            others
                .take(LEADERBOARD_SIZE)
                .filter_map(|(id, t)| Some((metric_value(m, t)?, id, login(&of_closed(t))))),
        );
        out.extend(rank(metric, candidates));
    }
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

/// A streamer's 7-day follower growth and viewer growth (in %) and its
/// rising-star score from them, given its average viewers over the 7 days
/// before.
fn growth<L>(a: &Totals<L>, prev: Option<f64>) -> (Option<f64>, Option<f64>, f64) {
    let followers = match (a.gained, a.first) {
        (Some(g), Some((_, first))) if first > 0 => Some(100.0 * g as f64 / first as f64),
        _ => None,
    };
    let viewers = match (a.avg_viewers(), prev) {
        (Some(avg), Some(prev)) if prev > 0.0 => Some(100.0 * (avg - prev) / prev),
        _ => None,
    };
    let score = 0.6 * followers.unwrap_or(0.0) + 0.4 * viewers.unwrap_or(0.0);
    (followers, viewers, score)
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
    let prev_avg = |id: &str| match before.get(id) {
        Some(a) => a.avg_viewers(),
        None => closed.prev7.get(id).and_then(Totals::avg_viewers),
    };
    let next = day_start(day + Days::days(1));
    let age = |id: &str| {
        let age = streamers
            .get(id)?
            .iter()
            .filter(|v| v.valid_from < next)
            .filter_map(|v| v.created_at)
            .map(|c| (day - c.date_naive()).num_days())
            .max()?;
        (age <= RISING_STAR_MAX_AGE_DAYS).then_some(age)
    };
    // The streamers of the open days with their closed days' totals, those
    // whose open rows fall only in the 7 days before, and the best of the
    // streamers of closed days only: scored first, their account's age
    // looked up in score order until the board is full.
    let before_only = before.keys().filter(|id| !week.contains_key(*id));
    let before_only = before_only.filter_map(|id| closed.last7.get_key_value(*id));
    let open = |id: &str| week.contains_key(id) || before.contains_key(id);
    let others = best_of(&closed.last7, &closed.ranked().stars, open)
        .filter(|(id, _)| age(id).is_some())
        .take(LEADERBOARD_SIZE);
    let extra: Vec<(&str, Acc)> = before_only
        .map(|(id, t)| (&**id, t))
        .chain(others)
        .map(|(id, t)| (id, of_closed(t)))
        .collect();
    let mut scored: Vec<(f64, &str, &Acc)> = week
        .iter()
        .map(|(id, a)| (*id, a))
        .chain(extra.iter().map(|(id, a)| (*id, a)))
        .map(|(id, a)| (growth(a, prev_avg(id)).2, id, a))
        .filter(|c| c.0 > 0.0)
        .collect();
    scored.sort_unstable_by(|a, b| best_first((a.0, a.1), (b.0, b.1)));
    let aged = scored
        .into_iter()
        .filter_map(|(score, id, a)| Some((score, id, a, age(id)?)));
    let stars = aged
        .take(LEADERBOARD_SIZE)
        .zip(1..)
        .map(|((score, id, a, age), rank)| {
            let (followers, viewers, _) = growth(a, prev_avg(id));
            StarRow {
                user_id: id.to_owned(),
                login: login(a).to_owned(),
                account_age_days: age,
                followers_gained_7d: a.gained,
                follower_growth_pct_7d: followers,
                avg_viewers_7d: a.avg_viewers(),
                viewer_growth_pct_7d: viewers,
                score,
                rank,
            }
        });
    stars.collect()
}
