//! Gold: daily and weekly aggregates derived from silver for the days a
//! cycle touched, and the state tables — what the service did (alerts fired,
//! exports sent), written by their own consumers and never rebuilt.
use arrow::datatypes::Field;

use super::Layer::Gold;
use super::{Spec, Table, cycle_id, date, float, int, string_list_type, text, ts};

fn leaderboard(table: Table, name: &'static str) -> Spec {
    Spec::new(
        table,
        Gold,
        name,
        vec![
            date("period_start"),
            text("metric", false),
            int("rank", false),
            text("user_id", false),
            text("login", true),
            float("value", true),
        ],
    )
    .partitioned(&["period_start"])
}

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec::new(
            Table::StreamerDaily,
            Gold,
            "streamer_daily",
            vec![
                date("day"),
                text("user_id", false),
                text("login", true),
                float("minutes_streamed", false),
                float("avg_viewers", true),
                int("peak_viewers", false),
                float("hours_watched", false),
                int("sessions", false),
                int("followers_start", true),
                int("followers_end", true),
                int("followers_gained", true),
                text("main_game", true),
                // The stream language streamed longest that day: ranks
                // channels by language (the dashboard's leaderboards).
                text("language", true),
            ],
        )
        .partitioned(&["day"]),
        Spec::new(
            Table::CategoryDaily,
            Gold,
            "category_daily",
            vec![
                date("day"),
                text("game_id", false),
                text("game_name", true),
                int("channels", false),
                float("hours_watched", false),
                float("avg_viewers", true),
                int("peak_viewers", false),
                float("viewers_per_channel", true),
            ],
        )
        .partitioned(&["day"]),
        leaderboard(Table::LeaderboardDaily, "leaderboard_daily"),
        leaderboard(Table::LeaderboardWeekly, "leaderboard_weekly"),
        Spec::new(
            Table::RisingStars,
            Gold,
            "rising_stars",
            vec![
                date("day"),
                text("user_id", false),
                text("login", true),
                int("account_age_days", true),
                int("followers_gained_7d", true),
                float("follower_growth_pct_7d", true),
                float("avg_viewers_7d", true),
                float("viewer_growth_pct_7d", true),
                float("score", false),
                int("rank", false),
            ],
        )
        .partitioned(&["day"]),
        Spec::new(
            Table::HourlyViewership,
            Gold,
            "hourly_viewership",
            vec![
                ts("hour", false),
                text("game_id", false),
                text("game_name", true),
                int("streams", false),
                int("viewers", false),
                // The UTC day of `hour`: the partition.
                date("day"),
            ],
        )
        .partitioned(&["day"]),
        Spec::new(
            Table::ChatDaily,
            Gold,
            "chat_daily",
            vec![
                date("day"),
                text("channel", false),
                int("messages", false),
                // Distinct senders over the whole day.
                int("chatters", false),
                float("sentiment_mean", true),
                int("positive", false),
                int("negative", false),
                // Up to 5 emote codes, most used first.
                Field::new("top_emotes", string_list_type(), false),
            ],
        )
        .partitioned(&["day"]),
        Spec::new(
            Table::Alerts,
            Gold,
            "alerts",
            vec![
                // The idempotency key receivers dedupe on.
                text("alert_id", false),
                text("rule", false),
                text("kind", false),
                text("user_id", true),
                text("login", true),
                ts("fired_at", false),
                // JSON with the figures behind the alert.
                text("details", true),
                // Delivery, per target: one row per (alert, target) and
                // state change; the newest state of a pair wins (delivered
                // over failed over pending). An alert with no target has
                // one row with a null target and status.
                text("target", true),
                text("status", true),
                int("attempts", false),
                ts("delivered_at", true),
                // The cycle whose evaluation fired it (the commit's txn key).
                cycle_id(),
                // What the episode is about: the user id, or a SQL rule's
                // key (null: the user id).
                text("key", true),
                // Why the last delivery attempt failed (never a URL or secret).
                text("last_error", true),
            ],
        )
        .state(),
        Spec::new(
            Table::Exports,
            Gold,
            "exports",
            vec![
                date("day"),
                text("target", false),
                ts("sent_at", true),
                text("status", false),
                // The cycle that committed the row, if a cycle did.
                int("cycle_id", true),
                // Sends tried so far (each with the notifier's own retries);
                // nullable as every column added after a table's creation is.
                int("attempts", true),
                // Why the last send failed (never a URL or secret).
                text("last_error", true),
            ],
        )
        .state(),
    ]
}
