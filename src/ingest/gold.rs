//! Silver → gold: the aggregates of the days a cycle touched, as SQL over the
//! silver (and, for weekly and 7-day figures, gold) partitions of those days
//! only — never a full rescan. Metric definitions are DESIGN.md's: hours
//! watched = Σ viewers × interval; average viewers = hours watched / hours live.
use chrono::{Datelike, Duration as Days, NaiveDate};

/// How many ranks each leaderboard keeps.
pub const LEADERBOARD_SIZE: usize = 100;
/// Accounts at most this old (in days) can be rising stars.
pub const RISING_STAR_MAX_AGE_DAYS: i64 = 730;

fn lit(d: NaiveDate) -> String {
    format!("DATE '{}'", d.format("%Y-%m-%d"))
}

/// Monday of `day`'s ISO week: the `period_start` of weekly leaderboards.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Days::days(day.weekday().num_days_from_monday() as i64)
}

/// `gold.streamer_daily` for `day`.
pub fn streamer_daily(day: NaiveDate) -> String {
    let d = lit(day);
    let next = lit(day + Days::days(1));
    format!(
        "WITH s AS (
            SELECT * FROM silver.stream_snapshots WHERE observed_date = {d}
         ),
         per_user AS (
            SELECT user_id,
                   last_value(user_login ORDER BY observed_at) AS login,
                   SUM(interval_seconds) / 60.0 AS minutes_streamed,
                   SUM(CAST(viewer_count AS DOUBLE) * interval_seconds) / 3600.0 AS hours_watched,
                   MAX(viewer_count) AS peak_viewers,
                   COUNT(DISTINCT session_id) AS sessions
            FROM s GROUP BY user_id
         ),
         game_time AS (
            SELECT user_id, game_name, SUM(interval_seconds) AS secs
            FROM s WHERE game_name <> '' GROUP BY user_id, game_name
         ),
         main_game AS (
            SELECT user_id, game_name FROM (
                SELECT user_id, game_name,
                       ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY secs DESC, game_name) AS rn
                FROM game_time) WHERE rn = 1
         ),
         f AS (
            SELECT user_id,
                   first_value(followers_total ORDER BY observed_at) AS followers_start,
                   last_value(followers_total ORDER BY observed_at) AS followers_end,
                   SUM(followers_delta) AS followers_gained
            FROM silver.follower_snapshots WHERE observed_date = {d} GROUP BY user_id
         ),
         names AS (
            -- The profile version valid at the end of the day (not today's), so
            -- a later rename does not rewrite history and rebuild agrees.
            SELECT user_id, last_value(login ORDER BY valid_from) AS login
            FROM silver.streamers WHERE valid_from < {next} GROUP BY user_id
         )
         SELECT {d} AS day,
                COALESCE(p.user_id, f.user_id) AS user_id,
                COALESCE(p.login, n.login, '') AS login,
                COALESCE(p.minutes_streamed, 0.0) AS minutes_streamed,
                CASE WHEN p.minutes_streamed > 0
                     THEN p.hours_watched / (p.minutes_streamed / 60.0) ELSE 0.0 END AS avg_viewers,
                COALESCE(p.peak_viewers, 0) AS peak_viewers,
                COALESCE(p.hours_watched, 0.0) AS hours_watched,
                COALESCE(p.sessions, 0) AS sessions,
                f.followers_start, f.followers_end, f.followers_gained,
                m.game_name AS main_game
         FROM per_user p
         FULL OUTER JOIN f ON p.user_id = f.user_id
         LEFT JOIN main_game m ON m.user_id = p.user_id
         LEFT JOIN names n ON n.user_id = COALESCE(p.user_id, f.user_id)"
    )
}

/// `gold.category_daily` for `day`; `poll_secs` is the cycle interval, used
/// to measure how much of the day was observed.
pub fn category_daily(day: NaiveDate, poll_secs: f64) -> String {
    let d = lit(day);
    format!(
        "WITH s AS (
            SELECT * FROM silver.stream_snapshots WHERE observed_date = {d} AND game_id <> ''
         ),
         covered AS (
            SELECT LEAST(86400.0, CAST(to_unixtime(MAX(observed_at)) - to_unixtime(MIN(observed_at)) AS DOUBLE) + {poll_secs}) AS secs
            FROM silver.stream_snapshots WHERE observed_date = {d}
         ),
         per_cycle AS (
            SELECT game_id, cycle_id, SUM(viewer_count) AS viewers, COUNT(*) AS channels
            FROM s GROUP BY game_id, cycle_id
         ),
         g AS (
            SELECT game_id, last_value(game_name ORDER BY observed_at) AS game_name,
                   COUNT(DISTINCT user_id) AS channels,
                   SUM(CAST(viewer_count AS DOUBLE) * interval_seconds) / 3600.0 AS hours_watched
            FROM s GROUP BY game_id
         ),
         pk AS (
            SELECT game_id, MAX(viewers) AS peak_viewers, AVG(CAST(channels AS DOUBLE)) AS avg_channels
            FROM per_cycle GROUP BY game_id
         )
         SELECT {d} AS day, g.game_id, g.game_name, g.channels, g.hours_watched,
                g.hours_watched * 3600.0 / covered.secs AS avg_viewers,
                pk.peak_viewers,
                g.hours_watched * 3600.0 / covered.secs / pk.avg_channels AS viewers_per_channel
         FROM g JOIN pk ON g.game_id = pk.game_id CROSS JOIN covered"
    )
}

/// `gold.hourly_viewership` for the hours of `day`: average concurrent
/// streams and viewers per category over the cycles of each hour.
pub fn hourly_viewership(day: NaiveDate) -> String {
    let d = lit(day);
    format!(
        "WITH per_cycle AS (
            SELECT date_trunc('hour', observed_at) AS hour, cycle_id, game_id,
                   last_value(game_name ORDER BY observed_at) AS game_name,
                   COUNT(*) AS streams, SUM(viewer_count) AS viewers
            FROM silver.stream_snapshots WHERE observed_date = {d}
            GROUP BY date_trunc('hour', observed_at), cycle_id, game_id
         ),
         cycles AS (
            SELECT hour, COUNT(DISTINCT cycle_id) AS n FROM per_cycle GROUP BY hour
         )
         SELECT p.hour, p.game_id, last_value(p.game_name ORDER BY p.cycle_id) AS game_name,
                CAST(ROUND(SUM(CAST(p.streams AS DOUBLE)) / MAX(c.n)) AS BIGINT) AS streams,
                CAST(ROUND(SUM(CAST(p.viewers AS DOUBLE)) / MAX(c.n)) AS BIGINT) AS viewers,
                {d} AS day
         FROM per_cycle p JOIN cycles c ON p.hour = c.hour
         GROUP BY p.hour, p.game_id"
    )
}

const METRICS: [&str; 4] = [
    "avg_viewers",
    "hours_watched",
    "followers_gained",
    "minutes_streamed",
];

fn leaderboard(source: &str, period: NaiveDate) -> String {
    let p = lit(period);
    let parts: Vec<String> = METRICS
        .iter()
        .map(|m| {
            format!(
                "SELECT {p} AS period_start, '{m}' AS metric,
                        ROW_NUMBER() OVER (ORDER BY {m} DESC, user_id) AS rank,
                        user_id, login, CAST({m} AS DOUBLE) AS value
                 FROM {source} WHERE {m} IS NOT NULL AND {m} > 0"
            )
        })
        .collect();
    format!(
        "SELECT * FROM ({}) WHERE rank <= {LEADERBOARD_SIZE}",
        parts.join(" UNION ALL ")
    )
}

/// `gold.leaderboard_daily` for `day`, ranked from `gold.streamer_daily`.
pub fn leaderboard_daily(day: NaiveDate) -> String {
    leaderboard(
        &format!(
            "(SELECT * FROM gold.streamer_daily WHERE day = {})",
            lit(day)
        ),
        day,
    )
}

/// `gold.leaderboard_weekly` for the ISO week holding `day`.
pub fn leaderboard_weekly(day: NaiveDate) -> String {
    let start = week_start(day);
    let source = format!(
        "(SELECT user_id, last_value(login ORDER BY day) AS login,
                 SUM(hours_watched) AS hours_watched,
                 SUM(minutes_streamed) AS minutes_streamed,
                 SUM(followers_gained) AS followers_gained,
                 CASE WHEN SUM(minutes_streamed) > 0
                      THEN SUM(hours_watched) / (SUM(minutes_streamed) / 60.0) ELSE 0.0 END AS avg_viewers
          FROM gold.streamer_daily WHERE day >= {} AND day < {}
          GROUP BY user_id)",
        lit(start),
        lit(start + Days::days(7))
    );
    leaderboard(&source, start)
}

/// `gold.rising_stars` for `day`: young accounts ranked by 7-day growth of
/// followers and viewers against the 7 days before.
pub fn rising_stars(day: NaiveDate) -> String {
    let d = lit(day);
    let next = lit(day + Days::days(1));
    let a_start = lit(day - Days::days(6));
    let b_start = lit(day - Days::days(13));
    format!(
        "WITH a AS (
            SELECT user_id, last_value(login ORDER BY day) AS login,
                   SUM(followers_gained) AS followers_gained_7d,
                   first_value(followers_start ORDER BY day) FILTER (WHERE followers_start IS NOT NULL) AS followers_first,
                   CASE WHEN SUM(minutes_streamed) > 0
                        THEN SUM(hours_watched) / (SUM(minutes_streamed) / 60.0) END AS avg_viewers_7d
            FROM gold.streamer_daily WHERE day >= {a_start} AND day <= {d} GROUP BY user_id
         ),
         b AS (
            SELECT user_id,
                   CASE WHEN SUM(minutes_streamed) > 0
                        THEN SUM(hours_watched) / (SUM(minutes_streamed) / 60.0) END AS avg_viewers_prev
            FROM gold.streamer_daily WHERE day >= {b_start} AND day < {a_start} GROUP BY user_id
         ),
         age AS (
            SELECT user_id, MAX(CAST({d} - CAST(created_at AS DATE) AS BIGINT)) AS account_age_days
            FROM silver.streamers WHERE valid_from < {next} AND created_at IS NOT NULL
            GROUP BY user_id
         ),
         scored AS (
            SELECT {d} AS day, a.user_id, a.login, age.account_age_days,
                   a.followers_gained_7d,
                   CASE WHEN a.followers_first > 0
                        THEN 100.0 * a.followers_gained_7d / a.followers_first END AS follower_growth_pct_7d,
                   a.avg_viewers_7d,
                   CASE WHEN b.avg_viewers_prev > 0
                        THEN 100.0 * (a.avg_viewers_7d - b.avg_viewers_prev) / b.avg_viewers_prev END AS viewer_growth_pct_7d
            FROM a JOIN age ON a.user_id = age.user_id LEFT JOIN b ON a.user_id = b.user_id
            WHERE age.account_age_days <= {RISING_STAR_MAX_AGE_DAYS}
         ),
         ranked AS (
            SELECT *, 0.6 * COALESCE(follower_growth_pct_7d, 0.0) + 0.4 * COALESCE(viewer_growth_pct_7d, 0.0) AS score
            FROM scored
         )
         SELECT *, ROW_NUMBER() OVER (ORDER BY score DESC, user_id) AS rank
         FROM ranked WHERE score > 0 ORDER BY rank LIMIT {LEADERBOARD_SIZE}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 8).unwrap(); // Thursday
        assert_eq!(week_start(d), NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
        assert_eq!(week_start(week_start(d)), week_start(d));
    }
}
