//! Silver → gold for the days a cycle touched, never a full rescan.
//!
//! - [`day`]: one day's streamer, category and hourly figures, folded cycle
//!   by cycle in memory, so a cycle costs its own rows however long the day;
//! - [`OpenDays`]: the days recent cycles touched, loaded once from their
//!   silver partition after a start-up and closed when cycles move on;
//! - [`leaderboard`]: the daily leaderboard, ranked from a day's rows;
//! - [`span`]: the figures spanning several days (weekly leaderboard, rising
//!   stars), from the days' streamer rows: the open days' in memory, the
//!   closed days' folded once into totals from `gold.streamer_daily`.
//!
//! Metric definitions are those of `docs/data-contract.md`: hours watched =
//! Σ viewers × interval; average viewers = hours watched / hours live.
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};

use super::profiles::{Profiles, login_before};
use super::silver::SilverRows;
use super::tables;
use crate::schema::Table;

pub mod day;
mod load;
mod rows;
pub mod span;
#[cfg(test)]
mod span_sql;

pub use day::{CategoryRow, DailyRow, Day, FollowSample, HourRow, Sample};
use span::{ClosedSpans, SpanDays, SpanRow};

/// The gold tables built in memory from one open day, in the order a cycle
/// writes them; the tables spanning days ([`sql`]) follow them.
pub const DAILY_TABLES: [Table; 4] = [
    Table::StreamerDaily,
    Table::CategoryDaily,
    Table::HourlyViewership,
    Table::LeaderboardDaily,
];

/// How many ranks each leaderboard keeps.
pub const LEADERBOARD_SIZE: usize = 100;
/// Accounts at most this old (in days) can be rising stars.
pub const RISING_STAR_MAX_AGE_DAYS: i64 = 730;
/// The leaderboard metrics, as `metric` values and `streamer_daily` columns.
pub const METRICS: [&str; 4] = [
    "avg_viewers",
    "hours_watched",
    "followers_gained",
    "minutes_streamed",
];

/// Monday of `day`'s ISO week: the `period_start` of weekly leaderboards.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Days::days(day.weekday().num_days_from_monday() as i64)
}

/// Midnight UTC at the start of `day`.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// One leaderboard row.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// One of [`METRICS`].
    pub metric: &'static str,
    /// 1-based.
    pub rank: i64,
    /// Broadcaster id.
    pub user_id: String,
    /// Login.
    pub login: String,
    /// The metric's value.
    pub value: f64,
}

/// The top [`LEADERBOARD_SIZE`] streamers of `rows` for each metric: values
/// above zero, highest first, ties by user id.
pub fn leaderboard(rows: &[DailyRow]) -> Vec<RankRow> {
    let mut out = Vec::new();
    for metric in METRICS {
        let value = |r: &DailyRow| match metric {
            "avg_viewers" => Some(r.avg_viewers),
            "hours_watched" => Some(r.hours_watched),
            "followers_gained" => r.followers_gained.map(|v| v as f64),
            _ => Some(r.minutes_streamed),
        };
        let candidates = rows
            .iter()
            .filter_map(|r| value(r).map(|v| (v, r.user_id.as_str(), r.login.as_str())))
            .collect();
        out.extend(rank(metric, candidates));
    }
    out
}

/// The order of every board: highest value first, ties by user id.
pub(crate) fn best_first(a: (f64, &str), b: (f64, &str)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

/// The top [`LEADERBOARD_SIZE`] of `(value, user id, login)` candidates for
/// `metric`: values above zero, highest first, ties by user id.
pub(crate) fn rank<'a>(
    metric: &'static str,
    candidates: Vec<(f64, &'a str, &'a str)>,
) -> impl Iterator<Item = RankRow> + 'a {
    let mut ranked: Vec<_> = candidates.into_iter().filter(|c| c.0 > 0.0).collect();
    let by_rank = |a: &(f64, &str, &str), b: &(f64, &str, &str)| best_first((a.0, a.1), (b.0, b.1));
    if ranked.len() > LEADERBOARD_SIZE {
        ranked.select_nth_unstable_by(LEADERBOARD_SIZE - 1, by_rank);
        ranked.truncate(LEADERBOARD_SIZE);
    }
    ranked.sort_unstable_by(by_rank);
    ranked
        .into_iter()
        .enumerate()
        .map(move |(i, (value, user_id, login))| RankRow {
            metric,
            rank: i as i64 + 1,
            user_id: user_id.to_owned(),
            login: login.to_owned(),
            value,
        })
}

/// Folds cycle `cycle_id`'s rows of `day` into it, unless it has them already.
fn fold_into(day: &mut Day, cycle_id: i64, rows: &SilverRows) {
    if day.last_cycle().is_some_and(|c| c >= cycle_id) {
        return;
    }
    let d = day.day();
    for r in rows
        .snapshots
        .iter()
        .filter(|r| r.observed_at.date_naive() == d)
    {
        day.add_sample(&Sample {
            observed_at: r.observed_at,
            cycle_id: r.cycle_id,
            user_id: &r.stream.user_id,
            user_login: &r.stream.user_login,
            game_id: &r.stream.game_id,
            game_name: &r.stream.game_name,
            language: &r.stream.language,
            viewer_count: r.stream.viewer_count as i64,
            session_id: &r.session_id,
            interval_seconds: r.interval_seconds,
        });
    }
    for r in rows
        .followers
        .iter()
        .filter(|r| r.observed_at.date_naive() == d)
    {
        day.add_follow(&FollowSample {
            observed_at: r.observed_at,
            cycle_id: r.cycle_id,
            user_id: &r.user_id,
            total: r.followers_total,
            delta: r.followers_delta,
        });
    }
    day.seal();
}

/// The days recent cycles touched, each folded up to the last cycle, and
/// per day the totals of the closed days that [`span`] reads for it (with
/// the open days they were folded without).
#[derive(Debug, Default)]
pub struct OpenDays {
    days: BTreeMap<NaiveDate, Day>,
    closed: BTreeMap<NaiveDate, (Vec<NaiveDate>, ClosedSpans)>,
}

impl OpenDays {
    /// Folds one cycle's rows into every day they touch, opening days as
    /// needed (for `rebuild`, which replays every cycle from the first).
    pub fn fold(&mut self, cycle_id: i64, rows: &SilverRows) {
        for d in rows.days() {
            let day = self.days.entry(d).or_insert_with(|| Day::new(d));
            fold_into(day, cycle_id, rows);
        }
    }

    /// Brings `day` up to cycle `cycle_id`, whose silver rows are `rows` and
    /// already committed: a day not open yet is loaded from its silver
    /// partition (which holds the cycle), an open one folds the rows in.
    pub async fn update(
        &mut self,
        lake: &crate::lake::Lake,
        day: NaiveDate,
        cycle_id: i64,
        rows: &SilverRows,
    ) -> super::Result<&Day> {
        let open = match self.days.entry(day) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(load::day(lake, day).await?),
        };
        fold_into(open, cycle_id, rows);
        Ok(open)
    }

    /// Folds the `gold.streamer_daily` rows of the days around `day` that
    /// [`span`] reads and that are not open (their gold is final) into
    /// totals, unless done for the same open days before (so once a day,
    /// and again when a day closes); forgets those of older days.
    pub async fn load_closed(
        &mut self,
        lake: &crate::lake::Lake,
        day: NaiveDate,
    ) -> super::Result<()> {
        let open: Vec<NaiveDate> = span::inputs(day)
            .filter(|d| self.days.contains_key(d))
            .collect();
        if self.closed.get(&day).is_some_and(|(o, _)| *o == open) {
            return Ok(());
        }
        let mut spans = ClosedSpans::new(day);
        for d in span::inputs(day).filter(|d| !open.contains(d)) {
            spans.add_day(d, &load::span_day(lake, d).await?);
        }
        // The day before stays: a cycle at midnight touches both.
        self.closed.retain(|d, _| *d + Days::days(1) >= day);
        self.closed.insert(day, (open, spans));
        Ok(())
    }

    /// The open day `day`, if any.
    pub fn get(&self, day: NaiveDate) -> Option<&Day> {
        self.days.get(&day)
    }

    /// Every open day, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Day> {
        self.days.values()
    }

    /// Closes the days before `day` (cycles have moved past them, their
    /// gold is final) and returns them, oldest first.
    pub fn close_before(&mut self, day: NaiveDate) -> Vec<NaiveDate> {
        let open = self.days.split_off(&day);
        let closed = std::mem::replace(&mut self.days, open);
        closed.into_keys().collect()
    }

    /// The [`DAILY_TABLES`] rows of the open days, for writing.
    pub fn tables<'a>(&'a self, streamers: &'a Profiles, poll_secs: f64) -> DayTables<'a> {
        DayTables {
            days: self,
            streamers,
            poll_secs,
            daily: None,
            span: None,
            no_closed: ClosedSpans::default(),
        }
    }
}

/// The streamer rows of the open days, by day.
type OpenSpan = Vec<(NaiveDate, Vec<SpanRow>)>;

/// Builds the [`DAILY_TABLES`] batches of open days; a day's streamer rows
/// (behind two of them) are computed once.
#[derive(Debug)]
pub struct DayTables<'a> {
    days: &'a OpenDays,
    streamers: &'a Profiles,
    poll_secs: f64,
    daily: Option<(NaiveDate, Vec<DailyRow>)>,
    /// For the figures spanning days around a day: the open days' rows.
    span: Option<(NaiveDate, OpenSpan)>,
    /// The closed days' totals where none were loaded (`rebuild`).
    no_closed: ClosedSpans,
}

impl DayTables<'_> {
    /// `table`'s rows of `day`: empty for a day that is not open.
    pub fn batch(&mut self, table: Table, day: NaiveDate) -> Result<RecordBatch, ArrowError> {
        let (days, streamers) = (self.days, self.streamers);
        let empty;
        let open = match days.get(day) {
            Some(d) => d,
            None => {
                empty = Day::new(day);
                &empty
            }
        };
        if self.daily.as_ref().is_none_or(|(d, _)| *d != day) {
            let next = day_start(day + chrono::Days::new(1));
            let rows = open.streamer_rows(|id| login_before(streamers, id, next));
            self.daily = Some((day, rows));
        }
        let daily = self
            .daily
            .as_ref()
            .map_or(&[][..], |(_, rows)| rows.as_slice());
        let schema = table.schema();
        match table {
            Table::StreamerDaily => tables::streamer_daily(&schema, day, daily),
            Table::CategoryDaily => {
                tables::category_daily(&schema, day, &open.category_rows(self.poll_secs))
            }
            Table::HourlyViewership => tables::hourly_viewership(&schema, day, &open.hourly_rows()),
            Table::LeaderboardDaily => tables::leaderboard(&schema, day, &leaderboard(daily)),
            Table::LeaderboardWeekly => {
                let week = week_start(day);
                let (closed, rows) = self.span_days(day);
                tables::leaderboard(&schema, week, &span::weekly(week, closed, &rows))
            }
            Table::RisingStars => {
                let (closed, rows) = self.span_days(day);
                let stars = span::rising_stars(day, closed, &rows, streamers);
                tables::rising_stars(&schema, day, &stars)
            }
            other => Err(ArrowError::InvalidArgumentError(format!(
                "{other} is not built from the days in memory"
            ))),
        }
    }

    /// What [`span`] reads for `day`: the closed days' totals
    /// ([`OpenDays::load_closed`]; none in `rebuild`, where every day is
    /// open), and the open days' streamer rows as folded so far (`day`'s
    /// from the rows built for its own tables).
    fn span_days(&mut self, day: NaiveDate) -> (&ClosedSpans, SpanDays<'_>) {
        let (days, streamers) = (self.days, self.streamers);
        if self.span.as_ref().is_none_or(|(d, _)| *d != day) {
            let open = span::inputs(day)
                .filter_map(|d| {
                    let rows = match &self.daily {
                        Some((dd, rows)) if *dd == d => rows.iter().map(SpanRow::from).collect(),
                        _ => {
                            let next = day_start(d + chrono::Days::new(1));
                            let rows = days
                                .get(d)?
                                .streamer_rows(|id| login_before(streamers, id, next));
                            rows.iter().map(SpanRow::from).collect()
                        }
                    };
                    Some((d, rows))
                })
                .collect();
            self.span = Some((day, open));
        }
        let open = self.span.iter().flat_map(|(_, open)| open.iter());
        let rows = open.map(|(d, rows)| (*d, rows.as_slice())).collect();
        let closed = days
            .closed
            .get(&day)
            .map_or(&self.no_closed, |(_, spans)| spans);
        (closed, rows)
    }
}

#[cfg(test)]
mod tests;
