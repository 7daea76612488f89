//! The daily summary: a pure function from the closed day's gold (and the
//! day before, for day-over-day changes) to what the export targets send —
//! top streamers, follower gains, new rising stars, top categories, alerts
//! fired and the ingest's health that day. No I/O: [`super::load`] reads
//! the rows, the targets render the result.
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One `gold.streamer_daily` row, the columns the summary reads.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct StreamerDay {
    /// Broadcaster id.
    pub user_id: String,
    /// Login (null in gold when unknown).
    pub login: Option<String>,
    /// Viewer-hours that day.
    pub hours_watched: f64,
    /// Mean concurrent viewers while live.
    pub avg_viewers: Option<f64>,
    /// Followers gained that day.
    pub followers_gained: Option<i64>,
    /// The category streamed longest.
    pub main_game: Option<String>,
    /// The language streamed longest.
    pub language: Option<String>,
}

/// One `gold.category_daily` row, the columns the summary reads.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CategoryDay {
    /// Category id.
    pub game_id: String,
    /// Category name.
    pub game_name: Option<String>,
    /// Channels live in it that day.
    pub channels: i64,
    /// Viewer-hours that day.
    pub hours_watched: f64,
}

/// One `gold.rising_stars` row, the columns the summary reads.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct RisingStar {
    /// Broadcaster id.
    pub user_id: String,
    /// Login.
    pub login: Option<String>,
    /// Rank that day (1 = best).
    pub rank: i64,
    /// The ranking score.
    pub score: f64,
}

/// One alert fired that day (from `gold.alerts`, one per alert id).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AlertFired {
    /// The rule's name.
    pub rule: String,
    /// The rule's kind.
    pub kind: String,
    /// The channel, if the alert is about one.
    pub login: Option<String>,
}

/// One ingest cycle that ran that day (from `bronze.helix_responses`).
#[derive(Debug, Clone, PartialEq)]
pub struct CycleRun {
    /// The cycle.
    pub cycle_id: i64,
    /// Its first response.
    pub started_at: DateTime<Utc>,
    /// Responses that were errors (HTTP status 0 or ≥ 400).
    pub errors: u64,
}

/// Everything the summary of `day` is computed from.
#[derive(Debug, Clone, Default)]
pub struct DayGold {
    /// The closed day.
    pub day: NaiveDate,
    /// `gold.streamer_daily` of the day.
    pub streamers: Vec<StreamerDay>,
    /// `gold.streamer_daily` of the day before.
    pub previous_streamers: Vec<StreamerDay>,
    /// `gold.category_daily` of the day.
    pub categories: Vec<CategoryDay>,
    /// `gold.category_daily` of the day before.
    pub previous_categories: Vec<CategoryDay>,
    /// `gold.rising_stars` of the day.
    pub rising: Vec<RisingStar>,
    /// `gold.rising_stars` of the day before (stars already on it are not new).
    pub previous_rising: Vec<RisingStar>,
    /// Alerts fired that day.
    pub alerts: Vec<AlertFired>,
    /// Cycles that ran that day.
    pub cycles: Vec<CycleRun>,
}

/// How long each list of the summary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Streamers per top list, and follower gainers.
    pub streamers: usize,
    /// Categories.
    pub categories: usize,
    /// New rising stars.
    pub rising: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            streamers: 5,
            categories: 5,
            rising: 5,
        }
    }
}

/// What the summary covers: the watched scope. Empty lists watch everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Watched logins.
    pub channels: BTreeSet<String>,
    /// Watched categories, by id or exact name.
    pub categories: BTreeSet<String>,
    /// Watched stream languages.
    pub languages: BTreeSet<String>,
}

impl Scope {
    fn everything(&self) -> bool {
        self.channels.is_empty() && self.categories.is_empty() && self.languages.is_empty()
    }

    /// A streamer is in scope when any watched list names it: its login,
    /// its main category or its language (as ingest polls any of them).
    fn has_streamer(&self, s: &StreamerDay) -> bool {
        let named = |set: &BTreeSet<String>, v: &Option<String>| {
            v.as_ref().is_some_and(|v| set.contains(v))
        };
        self.everything()
            || named(&self.channels, &s.login)
            || named(&self.categories, &s.main_game)
            || named(&self.languages, &s.language)
    }

    /// Whether a streamer of this login, main category and language is
    /// watched (as [`summarize`] counts it).
    pub fn covers(
        &self,
        login: Option<String>,
        main_game: Option<String>,
        language: Option<String>,
    ) -> bool {
        self.has_streamer(&StreamerDay {
            user_id: String::new(),
            login,
            hours_watched: 0.0,
            avg_viewers: None,
            followers_gained: None,
            main_game,
            language,
        })
    }

    /// Categories follow the watched categories when there are any.
    fn has_category(&self, c: &CategoryDay) -> bool {
        self.categories.is_empty()
            || self.categories.contains(&c.game_id)
            || c.game_name
                .as_ref()
                .is_some_and(|n| self.categories.contains(n))
    }
}

/// One line of a top list: who, the figure, and the same figure the day
/// before (None: not on the list's table that day).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Broadcaster or category id.
    pub id: String,
    /// Login or category name (the id when unknown).
    pub name: String,
    /// The figure ranked on.
    pub value: f64,
    /// The figure the day before.
    pub previous: Option<f64>,
}

impl Entry {
    /// Change against the day before, in percent (None without a base).
    pub fn change_pct(&self) -> Option<f64> {
        self.previous
            .filter(|p| *p > 0.0)
            .map(|p| (self.value - p) / p * 100.0)
    }
}

/// Totals of the day and the day before, for the headline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Totals {
    /// Viewer-hours of the streamers in scope.
    pub hours_watched: f64,
    /// The same the day before.
    pub previous_hours_watched: f64,
    /// Channels in scope that streamed.
    pub channels: usize,
    /// The same the day before.
    pub previous_channels: usize,
}

/// How ingest went that day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// Cycles that ran.
    pub cycles: usize,
    /// Error responses over all cycles.
    pub errors: u64,
    /// Gaps: consecutive cycles further apart than twice the poll
    /// interval (the service was down or stuck), or none at all.
    pub gaps: usize,
    /// The longest time between consecutive cycles, seconds.
    pub longest_gap_secs: f64,
}

/// The summary of one closed day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySummary {
    /// The day.
    pub day: NaiveDate,
    /// Headline totals.
    pub totals: Totals,
    /// Top streamers by viewer-hours.
    pub top_hours_watched: Vec<Entry>,
    /// Top streamers by average viewers.
    pub top_avg_viewers: Vec<Entry>,
    /// Biggest follower gains.
    pub top_follower_gains: Vec<Entry>,
    /// Rising stars not on the day before's list, best first.
    pub new_rising_stars: Vec<Entry>,
    /// Top categories by viewer-hours.
    pub top_categories: Vec<Entry>,
    /// Alerts fired, by rule: (rule, count), most first.
    pub alerts: Vec<(String, usize)>,
    /// Ingest health.
    pub health: Health,
}

/// Summarizes `gold` (see [`DayGold`]) within `scope`, `sizes` long;
/// `poll_interval` tells gaps from ordinary cycle spacing.
pub fn summarize(
    gold: &DayGold,
    scope: &Scope,
    sizes: Sizes,
    poll_interval: Duration,
) -> DailySummary {
    let streamers: Vec<&StreamerDay> = gold
        .streamers
        .iter()
        .filter(|s| scope.has_streamer(s))
        .collect();
    let previous: BTreeMap<&str, &StreamerDay> = gold
        .previous_streamers
        .iter()
        .filter(|s| scope.has_streamer(s))
        .map(|s| (s.user_id.as_str(), s))
        .collect();
    let streamer_top = |figure: fn(&StreamerDay) -> Option<f64>| {
        let entries = streamers.iter().filter_map(|s| {
            Some(Entry {
                id: s.user_id.clone(),
                name: s.login.clone().unwrap_or_else(|| s.user_id.clone()),
                value: figure(s)?,
                previous: previous.get(s.user_id.as_str()).and_then(|p| figure(p)),
            })
        });
        top(entries, sizes.streamers)
    };
    let categories: Vec<&CategoryDay> = gold
        .categories
        .iter()
        .filter(|c| scope.has_category(c))
        .collect();
    let previous_categories: BTreeMap<&str, f64> = gold
        .previous_categories
        .iter()
        .filter(|c| scope.has_category(c))
        .map(|c| (c.game_id.as_str(), c.hours_watched))
        .collect();
    let category_entries = categories.iter().map(|c| Entry {
        id: c.game_id.clone(),
        name: c.game_name.clone().unwrap_or_else(|| c.game_id.clone()),
        value: c.hours_watched,
        previous: previous_categories.get(c.game_id.as_str()).copied(),
    });
    let in_scope: BTreeSet<&str> = streamers.iter().map(|s| s.user_id.as_str()).collect();
    let was_rising: BTreeSet<&str> = gold
        .previous_rising
        .iter()
        .map(|r| r.user_id.as_str())
        .collect();
    let mut rising: Vec<&RisingStar> = gold
        .rising
        .iter()
        .filter(|r| !was_rising.contains(r.user_id.as_str()))
        .filter(|r| scope.everything() || in_scope.contains(r.user_id.as_str()))
        .collect();
    rising.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.user_id.cmp(&b.user_id)));
    let new_rising_stars = rising
        .into_iter()
        .take(sizes.rising)
        .map(|r| Entry {
            id: r.user_id.clone(),
            name: r.login.clone().unwrap_or_else(|| r.user_id.clone()),
            value: r.score,
            previous: None,
        })
        .collect();
    let mut alerts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &gold.alerts {
        *alerts.entry(a.rule.as_str()).or_default() += 1;
    }
    let mut alerts: Vec<(String, usize)> =
        alerts.into_iter().map(|(r, n)| (r.to_owned(), n)).collect();
    alerts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    DailySummary {
        day: gold.day,
        totals: Totals {
            hours_watched: streamers.iter().map(|s| s.hours_watched).sum(),
            previous_hours_watched: previous.values().map(|s| s.hours_watched).sum(),
            channels: streamers.len(),
            previous_channels: previous.len(),
        },
        top_hours_watched: streamer_top(|s| Some(s.hours_watched)),
        top_avg_viewers: streamer_top(|s| s.avg_viewers),
        top_follower_gains: streamer_top(|s| {
            s.followers_gained.filter(|g| *g > 0).map(|g| g as f64)
        }),
        new_rising_stars,
        top_categories: top(category_entries, sizes.categories),
        alerts,
        health: health(gold, poll_interval),
    }
}

/// The `n` largest entries, ties by name then id (a stable, readable order).
fn top(entries: impl Iterator<Item = Entry>, n: usize) -> Vec<Entry> {
    let mut all: Vec<Entry> = entries.filter(|e| e.value.is_finite()).collect();
    all.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    all.truncate(n);
    all
}

/// Cycles, errors and gaps of the day. The day's edges count as gaps too
/// (from midnight to the first cycle, the last cycle to the next midnight),
/// so a day the service was down for its first hours says so.
fn health(gold: &DayGold, poll_interval: Duration) -> Health {
    let mut starts: Vec<DateTime<Utc>> = gold.cycles.iter().map(|c| c.started_at).collect();
    starts.sort();
    let midnight = gold.day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let mut marks = Vec::with_capacity(starts.len() + 2);
    marks.extend(midnight);
    marks.extend(starts.iter().copied());
    marks.extend(midnight.map(|m| m + chrono::TimeDelta::days(1)));
    let allowed = 2.0 * poll_interval.as_secs_f64();
    let spans: Vec<f64> = marks
        .windows(2)
        .map(|w| (w[1] - w[0]).as_seconds_f64())
        .collect();
    Health {
        cycles: gold.cycles.len(),
        errors: gold.cycles.iter().map(|c| c.errors).sum(),
        gaps: spans.iter().filter(|s| **s > allowed).count(),
        longest_gap_secs: spans.iter().copied().fold(0.0, f64::max),
    }
}
