//! The named endpoints: each is one parameterised statement over the
//! `twitch` catalog with typed parameters bound as values (`$1`, `$2`, …),
//! never spliced into the SQL. Time ranges default to the last 24 hours and
//! days to the current one, both by the data's clock (the last cycle's
//! observation time), so a simulated world faster than real time reads right.
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, TimeDelta, Utc};
use datafusion::common::ScalarValue;
use serde::Deserialize;

use super::Params;
use crate::http::DataApi;
use crate::http::error::{Error, Result};

/// The endpoints under `/api/`: path, parameters, what it answers.
pub const ENDPOINTS: &[(&str, &str, &str)] = &[
    (
        "status",
        "",
        "the current cycle, its observation time, live totals, the latest day, which optional views exist",
    ),
    (
        "live/leaderboard",
        "limit",
        "live.leaderboard with each stream's 5-minute change, uptime, title and language",
    ),
    ("live/categories", "limit", "live.categories by viewers"),
    (
        "live/ingest",
        "limit",
        "live.ingest_status, newest cycle first",
    ),
    (
        "live/alerts",
        "limit",
        "live.alerts, newest first (404 until the alerts view exists)",
    ),
    (
        "viewership",
        "hours",
        "viewers and streams per hour, summed over categories (gold.hourly_viewership)",
    ),
    (
        "search",
        "q, limit",
        "channels whose login starts with q, live ones first",
    ),
    (
        "streamer/{login}",
        "",
        "the channel's profile and, when live, its stream",
    ),
    (
        "streamer/{login}/viewers",
        "from, to",
        "silver.stream_snapshots of the channel: one row per cycle it was live",
    ),
    (
        "streamer/{login}/sessions",
        "from, to",
        "silver.stream_sessions of the channel overlapping the range",
    ),
    (
        "streamer/{login}/followers",
        "from, to",
        "silver.follower_snapshots of the channel",
    ),
    (
        "streamer/{login}/daily",
        "from_day, to_day",
        "gold.streamer_daily of the channel, newest day first",
    ),
    (
        "streamer/{login}/ranks",
        "from_day, to_day",
        "the channel's ranks in gold.leaderboard_daily",
    ),
    (
        "streamer/{login}/alerts",
        "limit",
        "the channel's alerts in gold.alerts, one row per alert, newest first",
    ),
    (
        "streamer/{login}/chat",
        "from, to",
        "silver.chat_minutes of the channel",
    ),
    (
        "leaderboard",
        "period, day, metric, language, category, limit",
        "a daily or weekly leaderboard, optionally of one language or category",
    ),
    (
        "languages",
        "period, day",
        "the languages of gold.streamer_daily in the period, by hours watched",
    ),
    (
        "categories",
        "day, limit",
        "gold.category_daily of one day by hours watched",
    ),
    ("rising", "day, limit", "gold.rising_stars of one day"),
    (
        "export/{table}",
        "from, to, format=csv|json|parquet|arrow",
        "a gold table's rows for a day range, as a file",
    ),
];

pub(super) fn routes() -> Router<DataApi> {
    Router::new()
        .route("/status", get(status))
        .route("/live/leaderboard", get(live_leaderboard))
        .route("/live/categories", get(live_categories))
        .route("/live/ingest", get(live_ingest))
        .route("/live/alerts", get(live_alerts))
        .route("/viewership", get(viewership))
        .route("/search", get(search))
        .merge(super::streamer::routes())
        .route("/leaderboard", get(leaderboard))
        .route("/languages", get(languages))
        .route("/categories", get(categories))
        .route("/rising", get(rising))
}

/// `GET /api/`: the endpoint list.
pub(crate) async fn index() -> axum::Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = ENDPOINTS
        .iter()
        .map(|(path, params, what)| {
            serde_json::json!({ "path": format!("/api/{path}"), "params": params, "returns": what })
        })
        .collect();
    axum::Json(serde_json::json!({
        "endpoints": list,
        "common_params": "format=json|arrow, cycle=N (answer only while N is current, else 409)",
        "events": "/api/events (server-sent events: one `cycle` event per committed cycle)",
    }))
}

// ---- typed values -------------------------------------------------------

pub(super) fn ts(t: DateTime<Utc>) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(t.timestamp_micros()), Some("UTC".into()))
}

pub(super) fn date(d: NaiveDate) -> ScalarValue {
    ScalarValue::Date32(Some(d.num_days_from_ce() - EPOCH_DAYS_FROM_CE))
}

/// 1970-01-01 in days from 0001-01-01 (chrono's day count).
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

pub(super) fn text(s: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(s.to_owned()))
}

fn int(n: i64) -> ScalarValue {
    ScalarValue::Int64(Some(n))
}

/// `n` or `default`, within `1..=max`.
pub(super) fn limit(n: Option<i64>, default: i64, max: i64) -> Result<ScalarValue> {
    match n.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(int(n)),
        n => Err(Error::BadRequest(format!(
            "limit must be 1..={max}, not {n}"
        ))),
    }
}

/// A Twitch login (letters, digits, underscores; at most 25), lowercased.
pub(super) fn login(s: &str) -> Result<String> {
    let ok =
        !s.is_empty() && s.len() <= 25 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(Error::BadRequest(format!("not a Twitch login: {s:?}")))
    }
}

impl DataApi {
    /// The data's "now": when the last cycle observed the streams.
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.live.snapshot().observed_at().unwrap_or_else(Utc::now)
    }
}

/// A time range, `from`/`to` in RFC 3339; defaults: the 24 hours to now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Range {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl Range {
    /// `(from_day, to_day, from, to)` as bound values.
    pub(super) fn values(&self, now: DateTime<Utc>) -> Result<[ScalarValue; 4]> {
        let to = self.to.unwrap_or(now);
        let from = self.from.unwrap_or(to - TimeDelta::hours(24));
        if from > to {
            return Err(Error::BadRequest("from is after to".into()));
        }
        Ok([
            date(from.date_naive()),
            date(to.date_naive()),
            ts(from),
            ts(to),
        ])
    }
}

/// A range of days; defaults: the 30 days to today.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DayRange {
    from_day: Option<NaiveDate>,
    to_day: Option<NaiveDate>,
}

impl DayRange {
    pub(super) fn values(&self, now: DateTime<Utc>) -> Result<Vec<ScalarValue>> {
        let to = self.to_day.unwrap_or(now.date_naive());
        let from = self.from_day.unwrap_or(to - Days::days(29));
        if from > to {
            return Err(Error::BadRequest("from_day is after to_day".into()));
        }
        Ok(vec![date(from), date(to)])
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Limit {
    pub(super) limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoParams {}

// ---- live ---------------------------------------------------------------

async fn status(State(api): State<DataApi>, p: Params<NoParams>) -> Result<Response> {
    let alerts = api
        .engine
        .tables()
        .await?
        .iter()
        .any(|t| t.schema == "live" && t.name == "alerts");
    let sql = "SELECT $1 AS observed_at, \
        (SELECT count(*) FROM twitch.live.streams) AS live_streams, \
        (SELECT COALESCE(sum(viewer_count), 0) FROM twitch.live.streams) AS live_viewers, \
        (SELECT count(*) FROM twitch.live.categories) AS live_categories, \
        (SELECT max(day) FROM twitch.gold.streamer_daily) AS latest_day, \
        $2 AS alerts_view";
    let observed = api.live.snapshot().observed_at();
    let observed = ScalarValue::TimestampMicrosecond(
        observed.map(|t| t.timestamp_micros()),
        Some("UTC".into()),
    );
    let params = vec![observed, ScalarValue::Boolean(Some(alerts))];
    api.answer(&p.common, p.format, sql, params).await
}

async fn live_leaderboard(State(api): State<DataApi>, p: Params<Limit>) -> Result<Response> {
    let sql = "SELECT l.rank, l.user_id, l.login, l.viewer_count, s.viewer_change_5m, \
        s.uptime_minutes, l.game_name, s.title, s.language, s.started_at \
        FROM twitch.live.leaderboard l LEFT JOIN twitch.live.streams s ON s.user_id = l.user_id \
        WHERE l.rank <= $1 ORDER BY l.rank";
    let params = vec![limit(p.own.limit, 100, 1000)?];
    api.answer(&p.common, p.format, sql, params).await
}

async fn live_categories(State(api): State<DataApi>, p: Params<Limit>) -> Result<Response> {
    let sql = "SELECT * FROM (SELECT ROW_NUMBER() OVER (ORDER BY viewers DESC, game_name) AS rank, \
        game_id, game_name, channels, viewers, viewers_per_channel FROM twitch.live.categories) \
        WHERE rank <= $1 ORDER BY rank";
    let params = vec![limit(p.own.limit, 50, 1000)?];
    api.answer(&p.common, p.format, sql, params).await
}

async fn live_ingest(State(api): State<DataApi>, p: Params<Limit>) -> Result<Response> {
    let sql = "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY cycle_id DESC) AS n \
        FROM twitch.live.ingest_status) WHERE n <= $1 ORDER BY cycle_id DESC";
    let params = vec![limit(p.own.limit, 20, 100)?];
    api.answer(&p.common, p.format, sql, params).await
}

async fn live_alerts(State(api): State<DataApi>, p: Params<Limit>) -> Result<Response> {
    let sql = "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY fired_at DESC) AS n \
        FROM twitch.live.alerts) WHERE n <= $1 ORDER BY fired_at DESC";
    let params = vec![limit(p.own.limit, 20, 1000)?];
    api.answer(&p.common, p.format, sql, params).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hours {
    hours: Option<i64>,
}

async fn viewership(State(api): State<DataApi>, p: Params<Hours>) -> Result<Response> {
    let hours = p.own.hours.unwrap_or(24);
    if !(1..=24 * 31).contains(&hours) {
        return Err(Error::BadRequest("hours must be 1..=744".into()));
    }
    let from = api.now() - TimeDelta::hours(hours);
    let sql = "SELECT hour, SUM(viewers) AS viewers, SUM(streams) AS streams \
        FROM twitch.gold.hourly_viewership WHERE day >= $1 AND hour >= $2 \
        GROUP BY hour ORDER BY hour";
    let params = vec![date(from.date_naive()), ts(from)];
    api.answer(&p.common, p.format, sql, params).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    q: String,
    limit: Option<i64>,
}

async fn search(State(api): State<DataApi>, p: Params<Search>) -> Result<Response> {
    let sql = "SELECT * FROM (SELECT ROW_NUMBER() OVER (ORDER BY l.viewer_count DESC NULLS LAST, s.login) AS n, \
        s.login, s.user_id, s.display_name, l.viewer_count \
        FROM twitch.silver.streamers s LEFT JOIN twitch.live.streams l ON l.user_id = s.user_id \
        WHERE s.is_current AND starts_with(s.login, $1)) WHERE n <= $2 ORDER BY n";
    let params = vec![text(&login(&p.own.q)?), limit(p.own.limit, 20, 100)?];
    api.answer(&p.common, p.format, sql, params).await
}

// ---- leaderboards and days -----------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Period {
    Day,
    Week,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Metric {
    AvgViewers,
    HoursWatched,
    FollowersGained,
    MinutesStreamed,
}

impl Metric {
    fn as_str(self) -> &'static str {
        match self {
            Metric::AvgViewers => "avg_viewers",
            Metric::HoursWatched => "hours_watched",
            Metric::FollowersGained => "followers_gained",
            Metric::MinutesStreamed => "minutes_streamed",
        }
    }
}

/// `[start, end)` of the period holding `day` (ISO weeks start on Monday).
fn period(period: Period, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    match period {
        Period::Day => (day, day + Days::days(1)),
        Period::Week => {
            let start = day - Days::days(day.weekday().num_days_from_monday().into());
            (start, start + Days::days(7))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Board {
    period: Option<Period>,
    day: Option<NaiveDate>,
    metric: Option<Metric>,
    language: Option<String>,
    category: Option<String>,
    limit: Option<i64>,
}

/// The gold leaderboards have no language or category: those are ranked
/// here from `gold.streamer_daily` (each channel-day counted under its main
/// language and main game) with the same figures and order as gold.
const SCOPED_BOARD: &str = "SELECT * FROM ( \
    SELECT ROW_NUMBER() OVER (ORDER BY value DESC, user_id) AS rank, user_id, login, value FROM ( \
      SELECT user_id, last_value(login ORDER BY day) AS login, \
        CASE $3 WHEN 'hours_watched' THEN SUM(hours_watched) \
                WHEN 'minutes_streamed' THEN SUM(minutes_streamed) \
                WHEN 'followers_gained' THEN CAST(SUM(followers_gained) AS DOUBLE) \
                ELSE CASE WHEN SUM(minutes_streamed) > 0 \
                          THEN SUM(hours_watched) / (SUM(minutes_streamed) / 60.0) ELSE 0.0 END \
        END AS value \
      FROM twitch.gold.streamer_daily \
      WHERE day >= $1 AND day < $2 AND ($4 = '' OR language = $4) AND ($5 = '' OR main_game = $5) \
      GROUP BY user_id) \
    WHERE value > 0) \
  WHERE rank <= $6 ORDER BY rank";

async fn leaderboard(State(api): State<DataApi>, p: Params<Board>) -> Result<Response> {
    let b = &p.own;
    let day = b.day.unwrap_or(api.now().date_naive());
    let which = b.period.unwrap_or(Period::Day);
    let (start, end) = period(which, day);
    let metric = b.metric.unwrap_or(Metric::HoursWatched).as_str();
    let n = limit(b.limit, 100, 100)?;
    let language = b.language.as_deref().unwrap_or("").trim();
    let category = b.category.as_deref().unwrap_or("").trim();
    if language.len() > 16 || category.len() > 200 {
        return Err(Error::BadRequest("language or category too long".into()));
    }
    if language.is_empty() && category.is_empty() {
        let table = match which {
            Period::Day => "twitch.gold.leaderboard_daily",
            Period::Week => "twitch.gold.leaderboard_weekly",
        };
        let sql = format!(
            "SELECT rank, user_id, login, value FROM {table} \
             WHERE period_start = $1 AND metric = $2 AND rank <= $3 ORDER BY rank"
        );
        let params = vec![date(start), text(metric), n];
        return api.answer(&p.common, p.format, &sql, params).await;
    }
    let params = vec![
        date(start),
        date(end),
        text(metric),
        text(language),
        text(category),
        n,
    ];
    api.answer(&p.common, p.format, SCOPED_BOARD, params).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodDay {
    period: Option<Period>,
    day: Option<NaiveDate>,
}

async fn languages(State(api): State<DataApi>, p: Params<PeriodDay>) -> Result<Response> {
    let day = p.own.day.unwrap_or(api.now().date_naive());
    let (start, end) = period(p.own.period.unwrap_or(Period::Day), day);
    let sql = "SELECT language, count(DISTINCT user_id) AS channels, SUM(hours_watched) AS hours_watched \
        FROM twitch.gold.streamer_daily WHERE day >= $1 AND day < $2 AND language IS NOT NULL \
        GROUP BY language ORDER BY hours_watched DESC, language";
    api.answer(&p.common, p.format, sql, vec![date(start), date(end)])
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayLimit {
    day: Option<NaiveDate>,
    limit: Option<i64>,
}

async fn categories(State(api): State<DataApi>, p: Params<DayLimit>) -> Result<Response> {
    let day = p.own.day.unwrap_or(api.now().date_naive());
    let sql = "SELECT * FROM (SELECT ROW_NUMBER() OVER (ORDER BY hours_watched DESC, game_id) AS rank, \
        game_id, game_name, channels, hours_watched, avg_viewers, peak_viewers, viewers_per_channel \
        FROM twitch.gold.category_daily WHERE day = $1) WHERE rank <= $2 ORDER BY rank";
    let params = vec![date(day), limit(p.own.limit, 100, 1000)?];
    api.answer(&p.common, p.format, sql, params).await
}

async fn rising(State(api): State<DataApi>, p: Params<DayLimit>) -> Result<Response> {
    let day = p.own.day.unwrap_or(api.now().date_naive());
    let sql = "SELECT rank, user_id, login, account_age_days, followers_gained_7d, \
        follower_growth_pct_7d, avg_viewers_7d, viewer_growth_pct_7d, score \
        FROM twitch.gold.rising_stars WHERE day = $1 AND rank <= $2 ORDER BY rank";
    let params = vec![date(day), limit(p.own.limit, 50, 100)?];
    api.answer(&p.common, p.format, sql, params).await
}

#[cfg(test)]
mod tests;
