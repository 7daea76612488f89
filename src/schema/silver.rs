//! Silver: typed, deduplicated rows derived from bronze by the commit plan
//! (and recomputed by `rebuild`).
use arrow::datatypes::{DataType, Field};

use super::Layer::Silver;
use super::{Spec, Table, cycle_id, date, float, int, scd2, string_list_type, text, ts};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec::new(
            Table::Streamers,
            Silver,
            "streamers",
            vec![
                text("user_id", false),
                text("login", false),
                text("display_name", true),
                text("broadcaster_type", true),
                text("user_type", true),
                text("description", true),
                text("profile_image_url", true),
                ts("created_at", true),
                ts(scd2::VALID_FROM, false),
                ts(scd2::VALID_TO, true),
                Field::new(scd2::IS_CURRENT, DataType::Boolean, false),
                cycle_id(),
            ],
        )
        .scd2("user_id"),
        Spec::new(
            Table::StreamSnapshots,
            Silver,
            "stream_snapshots",
            vec![
                ts("observed_at", false),
                cycle_id(),
                text("stream_id", false),
                text("user_id", false),
                text("user_login", false),
                text("game_id", true),
                text("game_name", true),
                text("title", true),
                text("language", true),
                Field::new("tags", string_list_type(), true),
                int("viewer_count", false),
                ts("started_at", false),
                // The session this snapshot belongs to, and the seconds it
                // stands for (time-weighted metrics).
                text("session_id", true),
                float("interval_seconds", true),
                date("observed_date"),
            ],
        )
        .partitioned(&["observed_date"]),
        Spec::new(
            Table::FollowerSnapshots,
            Silver,
            "follower_snapshots",
            vec![
                ts("observed_at", false),
                cycle_id(),
                text("user_id", false),
                int("followers_total", false),
                int("followers_delta", true),
                date("observed_date"),
            ],
        )
        .partitioned(&["observed_date"]),
        Spec::new(
            Table::StreamSessions,
            Silver,
            "stream_sessions",
            vec![
                text("session_id", false),
                text("user_id", false),
                text("user_login", false),
                ts("started_at", false),
                ts("ended_at", true),
                float("duration_minutes", false),
                float("avg_viewers", true),
                int("peak_viewers", false),
                float("hours_watched", false),
                int("snapshots", false),
                Field::new("games", string_list_type(), true),
                // Running state, so a restart continues the session: the last
                // snapshot (the merge gap is measured from it) and the sums
                // behind the time-weighted averages.
                text("last_stream_id", true),
                ts("last_observed_at", false),
                float("live_seconds", true),
                float("viewer_seconds", true),
                cycle_id(),
                // 'live' (replaced every cycle) or 'ended' (appended once).
                text("status", false),
            ],
        )
        .partitioned(&["status"]),
        Spec::new(
            Table::Games,
            Silver,
            "games",
            vec![
                text("game_id", false),
                text("name", false),
                text("box_art_url", true),
                text("igdb_id", true),
            ],
        ),
        Spec::new(
            Table::ChatMinutes,
            Silver,
            "chat_minutes",
            vec![
                text("channel", false),
                ts("minute", false),
                int("messages", false),
                int("unique_chatters", false),
                float("sentiment_mean", true),
                int("positive", false),
                int("negative", false),
                // Up to 5 emote codes, most used first.
                Field::new("top_emotes", string_list_type(), false),
                cycle_id(),
                // Partition: lets a day be replaced and closed days compacted.
                date("day"),
            ],
        )
        .partitioned(&["day"]),
    ]
}
