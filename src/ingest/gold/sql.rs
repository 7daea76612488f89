//! The gold figures that span several days, as SQL over `gold.streamer_daily`
//! (one row per streamer and day, so the cost is bounded by streamers × days,
//! not by samples) and `silver.streamers`.
//!
//! Float columns are summed as `DECIMAL(38, 10)`: an exact sum, so the result
//! does not depend on the order DataFusion's parallel aggregation meets the
//! rows in — live cycles and `rebuild` lay the files out differently, and
//! must still write the same figures.
use chrono::{Duration as Days, NaiveDate};

use super::{LEADERBOARD_SIZE, METRICS, RISING_STAR_MAX_AGE_DAYS, week_start};

/// `SUM(column)` of a `Float64` column, exact and order-independent.
fn exact_sum(column: &str) -> String {
    format!("CAST(SUM(CAST({column} AS DECIMAL(38, 10))) AS DOUBLE)")
}

fn lit(d: NaiveDate) -> String {
    format!("DATE '{}'", d.format("%Y-%m-%d"))
}

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

/// `gold.leaderboard_weekly` for the ISO week holding `day`.
pub fn leaderboard_weekly(day: NaiveDate) -> String {
    let start = week_start(day);
    let (hours, minutes) = (exact_sum("hours_watched"), exact_sum("minutes_streamed"));
    let source = format!(
        "(SELECT user_id, last_value(login ORDER BY day) AS login,
                 {hours} AS hours_watched,
                 {minutes} AS minutes_streamed,
                 SUM(followers_gained) AS followers_gained,
                 CASE WHEN {minutes} > 0
                      THEN {hours} / ({minutes} / 60.0) ELSE 0.0 END AS avg_viewers
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
    let (hours, minutes) = (exact_sum("hours_watched"), exact_sum("minutes_streamed"));
    format!(
        "WITH a AS (
            SELECT user_id, last_value(login ORDER BY day) AS login,
                   SUM(followers_gained) AS followers_gained_7d,
                   first_value(followers_start ORDER BY day) FILTER (WHERE followers_start IS NOT NULL) AS followers_first,
                   CASE WHEN {minutes} > 0
                        THEN {hours} / ({minutes} / 60.0) END AS avg_viewers_7d
            FROM gold.streamer_daily WHERE day >= {a_start} AND day <= {d} GROUP BY user_id
         ),
         b AS (
            SELECT user_id,
                   CASE WHEN {minutes} > 0
                        THEN {hours} / ({minutes} / 60.0) END AS avg_viewers_prev
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
