//! The data contract: every table's name, layer, Arrow schema and
//! partitioning — the Delta tables of the lake and the in-memory `live`
//! views alike. BI dashboards and Databricks jobs are built on these names,
//! so they change only on purpose; columns may be added, none may go.
//! `docs/data-contract.md` is the same contract in prose.
//!
//! One file per layer: [`bronze`], [`silver`], [`gold`] (Delta tables) and
//! [`live`] (views). Types follow one rule set so every reader sees the same
//! thing: timestamps `Timestamp(Microsecond, "UTC")` (keeps Delta at protocol
//! 1/2), days `Date32`, ids and text `Utf8` (never view types), counts
//! `Int64`, averages and durations `Float64`, tags `List<Utf8>`.
use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};

mod bronze;
mod gold;
pub mod live;
mod silver;

pub use live::View;

/// A schema of the `twitch` catalog: a medallion layer of the lake, or the
/// in-memory views. The one place the layer names are spelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Raw responses as received, append-only.
    Bronze,
    /// Typed and deduplicated.
    Silver,
    /// Aggregates recomputed for the days a cycle touched, and state tables.
    Gold,
    /// In-memory views, replaced at the end of every cycle.
    Live,
}

impl Layer {
    /// Every schema of the catalog, in catalog order.
    pub const ALL: [Layer; 4] = [Layer::Bronze, Layer::Silver, Layer::Gold, Layer::Live];
    /// The layers stored as Delta tables.
    pub const LAKE: [Layer; 3] = [Layer::Bronze, Layer::Silver, Layer::Gold];

    /// The schema name: `bronze`, `silver`, `gold` or `live`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Bronze => "bronze",
            Layer::Silver => "silver",
            Layer::Gold => "gold",
            Layer::Live => "live",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a table's rows come from, which decides who may write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Raw input as the sources delivered it (bronze): appended by cycles,
    /// never rewritten.
    Source,
    /// Derived from bronze by the cycle's commit plan (silver, most of gold):
    /// `rebuild` recomputes it.
    Derived,
    /// A record of what the service did (alerts fired, exports sent): written
    /// by its own consumer in its own exactly-once commits keyed by cycle id;
    /// never recomputed or truncated by `rebuild`.
    State,
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
    /// `gold.chat_daily`: chat per channel per day.
    ChatDaily,
    /// `gold.alerts` (state): fired alerts and their delivery, the outbox.
    Alerts,
    /// `gold.exports` (state): one row per (day, target) sent.
    Exports,
}

impl Table {
    /// Every table, in creation order (bronze, silver, gold).
    pub const ALL: [Table; 17] = [
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
        Table::ChatDaily,
        Table::Alerts,
        Table::Exports,
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

    /// Where its rows come from (and so who writes it).
    pub fn origin(self) -> Origin {
        self.def().origin
    }

    /// Whether ingest cycles only ever append to this table (never replace,
    /// merge or delete rows), so the lake may compact its files while
    /// cycles commit (`lake::closed`). Bronze and the two snapshot facts;
    /// the cycle's plan is checked against this in its tests.
    pub fn only_appended_by_cycles(self) -> bool {
        matches!(
            self,
            Table::HelixResponses
                | Table::ChatMessages
                | Table::StreamSnapshots
                | Table::FollowerSnapshots
        )
    }

    /// Whether ingest cycles replace rows of this table every cycle — the
    /// derived gold tables (the open day's partition), the open sessions
    /// (`silver.stream_sessions`' `live` partition) and today's chat minutes
    /// — so that the lake keeps what they remove for the gold retention
    /// instead of the other tables' (`lake::maintain`): a day of one
    /// rewrite a minute would otherwise keep ~1,440 copies of the partition
    /// on disk, for nothing, as they are derived and `rebuild` recomputes
    /// them (the open sessions' copies alone came to 12 GB a day at 100,000
    /// live streams). The cycle's plan is checked against this in its tests.
    pub fn rewritten_by_cycles(self) -> bool {
        (self.layer() == Layer::Gold && self.origin() == Origin::Derived)
            || matches!(self, Table::StreamSessions | Table::ChatMinutes)
    }

    /// The Arrow schema (the contract) of this table.
    pub fn schema(self) -> SchemaRef {
        self.def().schema.clone()
    }

    /// `layer.name`, e.g. `bronze.helix_responses`.
    pub fn qualified_name(self) -> &'static str {
        &self.def().qualified
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
    /// Where its rows come from.
    pub origin: Origin,
    /// Its name within the layer.
    pub name: &'static str,
    /// `layer.name`.
    pub qualified: String,
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

/// `Timestamp(Microsecond, "UTC")`: the only timestamp type of the contract.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `List<Utf8>` with the item field named `element`, the name Delta readers
/// produce, so batches read back compare equal to the contract schema.
pub fn string_list_type() -> DataType {
    DataType::List(string_list_item())
}

/// The item field of [`string_list_type`].
pub fn string_list_item() -> FieldRef {
    Arc::new(Field::new("element", DataType::Utf8, true))
}

// Column shorthands for the layer files: (name, type, nullable).
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

/// One table as a layer file declares it.
struct Spec {
    table: Table,
    layer: Layer,
    origin: Origin,
    name: &'static str,
    fields: Vec<Field>,
    partition_columns: &'static [&'static str],
    scd2_key: Option<&'static str>,
}

impl Spec {
    /// An unpartitioned table; bronze tables are raw input, the others derived.
    fn new(table: Table, layer: Layer, name: &'static str, fields: Vec<Field>) -> Self {
        let origin = match layer {
            Layer::Bronze => Origin::Source,
            _ => Origin::Derived,
        };
        Self {
            table,
            layer,
            origin,
            name,
            fields,
            partition_columns: &[],
            scd2_key: None,
        }
    }

    fn partitioned(mut self, columns: &'static [&'static str]) -> Self {
        self.partition_columns = columns;
        self
    }

    fn scd2(mut self, key: &'static str) -> Self {
        self.scd2_key = Some(key);
        self
    }

    /// Written by a consumer of cycles, never by the commit plan or `rebuild`.
    fn state(mut self) -> Self {
        self.origin = Origin::State;
        self
    }
}

static DEFS: LazyLock<Vec<TableDef>> = LazyLock::new(|| {
    let mut specs = bronze::specs();
    specs.extend(silver::specs());
    specs.extend(gold::specs());
    specs.sort_by_key(|s| s.table);
    specs
        .into_iter()
        .map(|s| TableDef {
            table: s.table,
            layer: s.layer,
            origin: s.origin,
            name: s.name,
            qualified: format!("{}.{}", s.layer, s.name),
            schema: Arc::new(Schema::new(s.fields)),
            partition_columns: s.partition_columns,
            append_only: s.origin == Origin::Source,
            scd2_key: s.scd2_key,
        })
        .collect()
});

#[cfg(test)]
mod tests;
