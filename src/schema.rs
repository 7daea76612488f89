//! The data contract: every lake table's name, layer, Arrow schema and
//! partitioning. BI dashboards and Databricks jobs are built on these names,
//! so they change only on purpose; columns may be added, none may go.
//!
//! Types follow one rule set so every reader sees the same thing:
//! timestamps `Timestamp(Microsecond, "UTC")` (keeps Delta at protocol 1/2),
//! days `Date32`, ids and text `Utf8` (never view types), counts `Int64`,
//! averages and durations `Float64`, tags `List<Utf8>`.
use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The medallion layer a table belongs to; also its schema name in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Raw responses as received, append-only.
    Bronze,
    /// Typed and deduplicated.
    Silver,
    /// Aggregates recomputed for the days a cycle touched.
    Gold,
}

impl Layer {
    /// The schema name: `bronze`, `silver` or `gold`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Bronze => "bronze",
            Layer::Silver => "silver",
            Layer::Gold => "gold",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every table of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `bronze.helix_responses`: one row per Helix response page, errors included.
    HelixResponses,
    /// `bronze.chat_messages`: raw IRC lines.
    ChatMessages,
    /// `silver.streamers`: profile history, SCD type 2.
    Streamers,
    /// `silver.stream_snapshots`: one row per live stream per cycle.
    StreamSnapshots,
    /// `silver.follower_snapshots`: follower totals per user per cycle.
    FollowerSnapshots,
    /// `silver.stream_sessions`: sessionized streams (`status` 'live' | 'ended').
    StreamSessions,
    /// `silver.games`: the categories seen.
    Games,
    /// `silver.chat_minutes`: chat activity per channel per minute.
    ChatMinutes,
    /// `gold.streamer_daily`: per streamer per day.
    StreamerDaily,
    /// `gold.category_daily`: per category per day.
    CategoryDaily,
    /// `gold.leaderboard_daily`: top streamers per metric per day.
    LeaderboardDaily,
    /// `gold.leaderboard_weekly`: top streamers per metric per ISO week (Monday).
    LeaderboardWeekly,
    /// `gold.rising_stars`: fast-growing channels per day.
    RisingStars,
    /// `gold.hourly_viewership`: viewers per category per hour.
    HourlyViewership,
}

impl Table {
    /// Every table, in creation order (bronze, silver, gold).
    pub const ALL: [Table; 14] = [
        Table::HelixResponses,
        Table::ChatMessages,
        Table::Streamers,
        Table::StreamSnapshots,
        Table::FollowerSnapshots,
        Table::StreamSessions,
        Table::Games,
        Table::ChatMinutes,
        Table::StreamerDaily,
        Table::CategoryDaily,
        Table::LeaderboardDaily,
        Table::LeaderboardWeekly,
        Table::RisingStars,
        Table::HourlyViewership,
    ];

    /// This table's definition.
    pub fn def(self) -> &'static TableDef {
        &DEFS[self as usize]
    }

    /// The table name within its layer, e.g. `helix_responses`.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The layer (schema) of this table.
    pub fn layer(self) -> Layer {
        self.def().layer
    }

    /// The Arrow schema (the contract) of this table.
    pub fn schema(self) -> SchemaRef {
        self.def().schema.clone()
    }

    /// `layer.name`, e.g. `bronze.helix_responses`.
    pub fn qualified_name(self) -> &'static str {
        self.def().qualified
    }

    /// Looks a table up by `layer.name` or by its bare name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.qualified_name() == name || t.name() == name)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qualified_name())
    }
}

/// The definition of one table.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Which table this is.
    pub table: Table,
    /// Its layer.
    pub layer: Layer,
    /// Its name within the layer.
    pub name: &'static str,
    /// `layer.name`.
    pub qualified: &'static str,
    /// Its columns, in order (partition columns included).
    pub schema: SchemaRef,
    /// The Delta partition columns.
    pub partition_columns: &'static [&'static str],
    /// Created with `delta.appendOnly=true` (bronze).
    pub append_only: bool,
    /// For SCD type 2 tables, the business key whose versions are tracked.
    pub scd2_key: Option<&'static str>,
}

impl TableDef {
    /// The partition column that holds a day (`Date32`), if the table has one.
    pub fn day_partition(&self) -> Option<&'static str> {
        self.partition_columns.iter().copied().find(|c| {
            self.schema
                .field_with_name(c)
                .is_ok_and(|f| f.data_type() == &DataType::Date32)
        })
    }
}

/// The SCD type 2 bookkeeping columns (present on tables with a `scd2_key`).
pub mod scd2 {
    /// When this version became current.
    pub const VALID_FROM: &str = "valid_from";
    /// When this version stopped being current (null while current).
    pub const VALID_TO: &str = "valid_to";
    /// Whether this is the current version of its key.
    pub const IS_CURRENT: &str = "is_current";
}

/// `Timestamp(Microsecond, "UTC")`: the only timestamp type in the lake.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `List<Utf8>` with the item field named `element`, the name Delta readers
/// produce, so batches read back compare equal to the contract schema.
pub fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("element", DataType::Utf8, true)))
}

// Column shorthands: (name, type, nullable).
fn ts(name: &str, nullable: bool) -> Field {
    Field::new(name, timestamp_type(), nullable)
}
fn date(name: &str) -> Field {
    Field::new(name, DataType::Date32, false)
}
fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}
fn int(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Int64, nullable)
}
fn float(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Float64, nullable)
}
fn cycle_id() -> Field {
    int("cycle_id", false)
}

struct Spec {
    table: Table,
    layer: Layer,
    name: &'static str,
    qualified: &'static str,
    fields: Vec<Field>,
    partition_columns: &'static [&'static str],
    scd2_key: Option<&'static str>,
}

fn leaderboard(table: Table, name: &'static str, qualified: &'static str) -> Spec {
    Spec {
        table,
        layer: Layer::Gold,
        name,
        qualified,
        fields: vec![
            date("period_start"),
            text("metric", false),
            int("rank", false),
            text("user_id", false),
            text("login", true),
            float("value", true),
        ],
        partition_columns: &["period_start"],
        scd2_key: None,
    }
}

fn specs() -> Vec<Spec> {
    use Layer::*;
    vec![
        Spec {
            table: Table::HelixResponses,
            layer: Bronze,
            name: "helix_responses",
            qualified: "bronze.helix_responses",
            fields: vec![
                cycle_id(),
                text("endpoint", false),
                text("request_query", true),
                int("page", false),
                int("http_status", true),
                ts("fetched_at", false),
                text("payload", true),
                date("ingest_date"),
            ],
            partition_columns: &["ingest_date"],
            scd2_key: None,
        },
        Spec {
            table: Table::ChatMessages,
            layer: Bronze,
            name: "chat_messages",
            qualified: "bronze.chat_messages",
            fields: vec![
                text("channel", false),
                ts("received_at", false),
                text("raw", false),
                // The cycle that flushed the message: makes replays idempotent.
                cycle_id(),
                date("ingest_date"),
            ],
            partition_columns: &["ingest_date"],
            scd2_key: None,
        },
        Spec {
            table: Table::Streamers,
            layer: Silver,
            name: "streamers",
            qualified: "silver.streamers",
            fields: vec![
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
            partition_columns: &[],
            scd2_key: Some("user_id"),
        },
        Spec {
            table: Table::StreamSnapshots,
            layer: Silver,
            name: "stream_snapshots",
            qualified: "silver.stream_snapshots",
            fields: vec![
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
            partition_columns: &["observed_date"],
            scd2_key: None,
        },
        Spec {
            table: Table::FollowerSnapshots,
            layer: Silver,
            name: "follower_snapshots",
            qualified: "silver.follower_snapshots",
            fields: vec![
                ts("observed_at", false),
                cycle_id(),
                text("user_id", false),
                int("followers_total", false),
                int("followers_delta", true),
                date("observed_date"),
            ],
            partition_columns: &["observed_date"],
            scd2_key: None,
        },
        Spec {
            table: Table::StreamSessions,
            layer: Silver,
            name: "stream_sessions",
            qualified: "silver.stream_sessions",
            fields: vec![
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
            partition_columns: &["status"],
            scd2_key: None,
        },
        Spec {
            table: Table::Games,
            layer: Silver,
            name: "games",
            qualified: "silver.games",
            fields: vec![
                text("game_id", false),
                text("name", false),
                text("box_art_url", true),
                text("igdb_id", true),
            ],
            partition_columns: &[],
            scd2_key: None,
        },
        Spec {
            table: Table::ChatMinutes,
            layer: Silver,
            name: "chat_minutes",
            qualified: "silver.chat_minutes",
            fields: vec![
                text("channel", false),
                ts("minute", false),
                int("messages", false),
                int("unique_chatters", false),
                float("sentiment_mean", true),
                int("positive", false),
                int("negative", false),
                cycle_id(),
                // Partition: lets a day be replaced and closed days compacted.
                date("day"),
            ],
            partition_columns: &["day"],
            scd2_key: None,
        },
        Spec {
            table: Table::StreamerDaily,
            layer: Gold,
            name: "streamer_daily",
            qualified: "gold.streamer_daily",
            fields: vec![
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
            partition_columns: &["day"],
            scd2_key: None,
        },
        Spec {
            table: Table::CategoryDaily,
            layer: Gold,
            name: "category_daily",
            qualified: "gold.category_daily",
            fields: vec![
                date("day"),
                text("game_id", false),
                text("game_name", true),
                int("channels", false),
                float("hours_watched", false),
                float("avg_viewers", true),
                int("peak_viewers", false),
                float("viewers_per_channel", true),
            ],
            partition_columns: &["day"],
            scd2_key: None,
        },
        leaderboard(
            Table::LeaderboardDaily,
            "leaderboard_daily",
            "gold.leaderboard_daily",
        ),
        leaderboard(
            Table::LeaderboardWeekly,
            "leaderboard_weekly",
            "gold.leaderboard_weekly",
        ),
        Spec {
            table: Table::RisingStars,
            layer: Gold,
            name: "rising_stars",
            qualified: "gold.rising_stars",
            fields: vec![
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
            partition_columns: &["day"],
            scd2_key: None,
        },
        Spec {
            table: Table::HourlyViewership,
            layer: Gold,
            name: "hourly_viewership",
            qualified: "gold.hourly_viewership",
            fields: vec![
                ts("hour", false),
                text("game_id", false),
                text("game_name", true),
                int("streams", false),
                int("viewers", false),
                // The UTC day of `hour`: the partition.
                date("day"),
            ],
            partition_columns: &["day"],
            scd2_key: None,
        },
    ]
}

static DEFS: LazyLock<Vec<TableDef>> = LazyLock::new(|| {
    specs()
        .into_iter()
        .map(|s| TableDef {
            table: s.table,
            layer: s.layer,
            name: s.name,
            qualified: s.qualified,
            schema: Arc::new(Schema::new(s.fields)),
            partition_columns: s.partition_columns,
            append_only: s.layer == Layer::Bronze,
            scd2_key: s.scd2_key,
        })
        .collect()
});

#[cfg(test)]
mod tests;
