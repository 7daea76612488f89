//! The endpoints of one channel (`/api/streamer/{login}/…`): the login is
//! resolved to the user id (a renamed channel is found by any of its logins)
//! in the same consistent read as the statement that uses it.
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use datafusion::arrow::array::AsArray;
use datafusion::common::ScalarValue;

use super::endpoints::{DayRange, Limit, NoParams, Range, limit, login, text};
use super::{Params, encode};
use crate::http::DataApi;
use crate::http::error::{Error, Result};
use crate::query::Pinned;

pub(super) fn routes() -> Router<DataApi> {
    Router::new()
        .route("/streamer/{login}", get(profile))
        .route("/streamer/{login}/viewers", get(viewers))
        .route("/streamer/{login}/sessions", get(sessions))
        .route("/streamer/{login}/followers", get(followers))
        .route("/streamer/{login}/daily", get(daily))
        .route("/streamer/{login}/ranks", get(ranks))
        .route("/streamer/{login}/chat", get(chat))
        .route("/streamer/{login}/alerts", get(alerts))
}

/// The user id behind a login: the live stream's, else the newest profile's.
const RESOLVE: &str = "SELECT user_id FROM ( \
    SELECT user_id, 0 AS pri, observed_at AS t FROM twitch.live.streams WHERE login = $1 \
    UNION ALL SELECT user_id, 1 AS pri, valid_from AS t FROM twitch.silver.streamers WHERE login = $1) \
    ORDER BY pri, t DESC LIMIT 1";

/// The user id behind a login seen streaming whose profile has not been
/// read yet (at scale the poller spreads new profiles over many cycles)
/// while it is not in the live streams (ended, or missed by this cycle's
/// sweep as the list shifted while paged): its newest session's. Asked only
/// when [`RESOLVE`] finds nothing, as sessions are all of history.
const RESOLVE_SESSION: &str = "SELECT user_id FROM twitch.silver.stream_sessions \
    WHERE user_login = $1 ORDER BY last_observed_at DESC LIMIT 1";

/// The first value of the first column of `rows` (a user id), if any.
fn first_id(rows: &super::Rows) -> Option<String> {
    rows.batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| b.column(0).as_string_opt::<i32>())
        .map(|ids| ids.value(0).to_owned())
}

impl DataApi {
    /// Resolves `login` and runs `sql` with the user id as `$1` and `rest`
    /// after it, all in one consistent read.
    async fn streamer(
        &self,
        p: &Params<impl Sized>,
        login_raw: &str,
        sql: &str,
        rest: Vec<ScalarValue>,
    ) -> Result<Response> {
        let name = login(login_raw)?;
        let (name, rest) = (&name, &rest);
        let read = async |at: Pinned| {
            let id = match first_id(&self.rows(&at, RESOLVE, &[text(name)]).await?) {
                Some(id) => id,
                None => first_id(&self.rows(&at, RESOLVE_SESSION, &[text(name)]).await?)
                    .ok_or_else(|| Error::NotFound(format!("no channel {name:?} has been seen")))?,
            };
            let mut params = vec![text(&id)];
            params.extend(rest.iter().cloned());
            self.rows(&at, sql, &params).await
        };
        let (cycle, rows) = self.consistent(p.common.cycle, read).await?;
        encode::encode(p.format, cycle, &rows)
    }
}

async fn profile(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<NoParams>,
) -> Result<Response> {
    let sql = "SELECT u.user_id, COALESCE(l.login, s.login) AS login, s.display_name, \
        s.broadcaster_type, s.description, s.profile_image_url, s.created_at, \
        l.stream_id, l.title, l.game_name, l.language, l.viewer_count, l.viewer_change_5m, \
        l.started_at, l.uptime_minutes, l.followers_total, b.rank AS live_rank \
        FROM (SELECT user_id FROM twitch.silver.streamers WHERE user_id = $1 \
              UNION SELECT user_id FROM twitch.live.streams WHERE user_id = $1) u \
        LEFT JOIN (SELECT * FROM twitch.silver.streamers WHERE is_current) s ON s.user_id = u.user_id \
        LEFT JOIN twitch.live.streams l ON l.user_id = u.user_id \
        LEFT JOIN twitch.live.leaderboard b ON b.user_id = u.user_id";
    api.streamer(&p, &login, sql, Vec::new()).await
}

async fn viewers(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<Range>,
) -> Result<Response> {
    let sql = "SELECT observed_at, viewer_count, game_name, session_id, stream_id, title \
        FROM twitch.silver.stream_snapshots WHERE user_id = $1 \
        AND observed_date >= $2 AND observed_date <= $3 AND observed_at >= $4 AND observed_at <= $5 \
        ORDER BY observed_at";
    let rest = p.own.values(api.now())?;
    api.streamer(&p, &login, sql, rest.to_vec()).await
}

async fn sessions(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<Range>,
) -> Result<Response> {
    let sql = "SELECT session_id, started_at, ended_at, duration_minutes, avg_viewers, \
        peak_viewers, hours_watched, snapshots, games, status \
        FROM twitch.silver.stream_sessions WHERE user_id = $1 \
        AND started_at <= $3 AND COALESCE(ended_at, last_observed_at) >= $2 ORDER BY started_at";
    let [_, _, from, to] = p.own.values(api.now())?;
    api.streamer(&p, &login, sql, vec![from, to]).await
}

async fn followers(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<Range>,
) -> Result<Response> {
    let sql = "SELECT observed_at, followers_total, followers_delta \
        FROM twitch.silver.follower_snapshots WHERE user_id = $1 \
        AND observed_date >= $2 AND observed_date <= $3 AND observed_at >= $4 AND observed_at <= $5 \
        ORDER BY observed_at";
    let rest = p.own.values(api.now())?;
    api.streamer(&p, &login, sql, rest.to_vec()).await
}

async fn daily(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<DayRange>,
) -> Result<Response> {
    let sql = "SELECT day, login, minutes_streamed, avg_viewers, peak_viewers, hours_watched, \
        sessions, followers_start, followers_end, followers_gained, main_game, language \
        FROM twitch.gold.streamer_daily WHERE user_id = $1 AND day >= $2 AND day <= $3 \
        ORDER BY day DESC";
    let rest = p.own.values(api.now())?;
    api.streamer(&p, &login, sql, rest.to_vec()).await
}

async fn ranks(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<DayRange>,
) -> Result<Response> {
    let sql = "SELECT period_start AS day, metric, rank, value FROM twitch.gold.leaderboard_daily \
        WHERE user_id = $1 AND period_start >= $2 AND period_start <= $3 ORDER BY period_start, metric";
    let rest = p.own.values(api.now())?;
    api.streamer(&p, &login, sql, rest.to_vec()).await
}

async fn chat(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<Range>,
) -> Result<Response> {
    // Chat is keyed by channel login: every login the channel has had.
    let sql = "SELECT minute, messages, unique_chatters, sentiment_mean, positive, negative \
        FROM twitch.silver.chat_minutes WHERE channel IN ( \
          SELECT login FROM twitch.silver.streamers WHERE user_id = $1 \
          UNION SELECT login FROM twitch.live.streams WHERE user_id = $1) \
        AND day >= $2 AND day <= $3 AND minute >= $4 AND minute <= $5 ORDER BY minute";
    let rest = p.own.values(api.now())?;
    api.streamer(&p, &login, sql, rest.to_vec()).await
}

async fn alerts(
    State(api): State<DataApi>,
    Path(login): Path<String>,
    p: Params<Limit>,
) -> Result<Response> {
    // gold.alerts holds a row per delivery and status change: one per alert.
    let sql = "SELECT alert_id, rule, kind, login, fired_at, details FROM ( \
        SELECT *, ROW_NUMBER() OVER (ORDER BY fired_at DESC, alert_id) AS n FROM ( \
          SELECT DISTINCT alert_id, rule, kind, login, fired_at, details \
          FROM twitch.gold.alerts WHERE user_id = $1)) \
        WHERE n <= $2 ORDER BY fired_at DESC, alert_id";
    let rest = vec![limit(p.own.limit, 20, 1000)?];
    api.streamer(&p, &login, sql, rest).await
}
