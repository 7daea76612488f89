//! Live: the names and fixed Arrow schemas of the in-memory `live.*` views,
//! recomputed at the end of every cycle (and rebuilt from silver at
//! start-up). Nothing in `crate::live` spells a column name.
use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::{Layer, timestamp_type};

/// One of the in-memory views under schema `live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    /// `live.streams`: one row per stream live in the latest cycle.
    Streams,
    /// `live.leaderboard`: live streams ranked by viewers.
    Leaderboard,
    /// `live.categories`: live streams grouped by game.
    Categories,
    /// `live.streamer_trends`: 1 h and 24 h rolling windows per streamer.
    StreamerTrends,
    /// `live.ingest_status`: one row per recent ingest cycle, failed ones too.
    IngestStatus,
    /// `live.chat`: per channel, chat rate and sentiment over the last 5
    /// minutes and the last hour.
    Chat,
}

impl View {
    /// Every view, in catalog order.
    pub const ALL: [View; 6] = [
        View::Streams,
        View::Leaderboard,
        View::Categories,
        View::StreamerTrends,
        View::IngestStatus,
        View::Chat,
    ];

    /// The table name under schema `live`.
    pub fn name(self) -> &'static str {
        match self {
            View::Streams => "streams",
            View::Leaderboard => "leaderboard",
            View::Categories => "categories",
            View::StreamerTrends => "streamer_trends",
            View::IngestStatus => "ingest_status",
            View::Chat => "chat",
        }
    }

    /// Looks a view up by its table name.
    pub fn from_name(name: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The view's fixed schema (the same `Arc` on every call).
    pub fn schema(self) -> SchemaRef {
        Arc::clone(&SCHEMAS[self.index()])
    }

    /// Its position in [`View::ALL`] (snapshots keep one batch per view).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", Layer::Live, self.name())
    }
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

static SCHEMAS: LazyLock<[SchemaRef; 6]> = LazyLock::new(|| {
    use DataType::{Float64, Int64, Utf8};
    let ts = timestamp_type;
    [
        Arc::new(Schema::new(vec![
            field("user_id", Utf8, false),
            field("login", Utf8, false),
            field("stream_id", Utf8, false),
            field("game_name", Utf8, false),
            field("title", Utf8, false),
            field("language", Utf8, false),
            field("viewer_count", Int64, false),
            field("viewer_change_5m", Int64, true),
            field("started_at", ts(), false),
            field("uptime_minutes", Int64, false),
            field("followers_total", Int64, true),
            field("observed_at", ts(), false),
        ])),
        Arc::new(Schema::new(vec![
            field("rank", Int64, false),
            field("user_id", Utf8, false),
            field("login", Utf8, false),
            field("viewer_count", Int64, false),
            field("game_name", Utf8, false),
        ])),
        Arc::new(Schema::new(vec![
            field("game_id", Utf8, false),
            field("game_name", Utf8, false),
            field("channels", Int64, false),
            field("viewers", Int64, false),
            field("viewers_per_channel", Float64, false),
        ])),
        Arc::new(Schema::new(vec![
            field("user_id", Utf8, false),
            field("login", Utf8, false),
            field("window", Utf8, false),
            field("avg_viewers", Float64, false),
            field("peak_viewers", Int64, false),
            field("followers_gained", Int64, true),
        ])),
        Arc::new(Schema::new(vec![
            field("cycle_id", Int64, false),
            field("started_at", ts(), false),
            field("finished_at", ts(), false),
            field("streams_seen", Int64, false),
            field("requests", Int64, false),
            field("rate_limit_remaining", Int64, true),
            field("errors", Int64, false),
            field("bronze_rows", Int64, false),
            field("silver_rows", Int64, false),
            field("gold_rows", Int64, false),
            field("last_error", Utf8, true),
        ])),
        Arc::new(Schema::new(vec![
            field("channel", Utf8, false),
            field("messages_per_minute_5m", Float64, false),
            field("sentiment_5m", Float64, true),
            field("messages_per_minute_1h", Float64, false),
            field("sentiment_1h", Float64, true),
            // The last 5 minutes minus the last hour.
            field("messages_per_minute_change", Float64, false),
            field("sentiment_change", Float64, true),
            field("messages_5m", Int64, false),
            field("messages_1h", Int64, false),
        ])),
    ]
});
