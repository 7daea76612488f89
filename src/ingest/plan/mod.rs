//! The commit plan: a cycle's inputs, and the running state the cycles
//! before it left, turned into the ordered list of table writes that commit
//! it. Pure — no I/O, no clock — and the one place that says what a cycle
//! writes. Three callers, so they cannot drift: a live cycle and start-up
//! repair commit each write to Delta in order ([`super::pipeline`]); `rebuild`
//! applies every cycle's writes to an in-memory image of the tables and
//! commits the result once per table ([`super::rebuild`]).
//!
//! The writes, in order (`plan/tests.rs` checks this on a real cycle):
//!
//! ```text
//! table                      op                          txn suffix  when
//! bronze.helix_responses     append                      -           always
//! bronze.chat_messages       append                      -           always
//! silver.stream_snapshots    append                      -           always
//! silver.follower_snapshots  append                      -           always
//! silver.streamers           upsert (SCD type 2)         -           a profile changed
//! silver.stream_sessions     append                      ended       always
//! silver.stream_sessions     replace status = 'live'     live        always
//! silver.games               replace all                 -           a category changed
//! silver.chat_minutes        replace day = D             D           each day D of the chat
//! then for each day whose gold the silver rows change, oldest first:
//! gold.streamer_daily        replace day = D             D           (rows of the open day D)
//! gold.category_daily        replace day = D             D           (rows of the open day D)
//! gold.hourly_viewership     replace day = D             D           (rows of the open day D)
//! gold.leaderboard_daily     replace period_start = D    D           (rows of the open day D)
//! gold.leaderboard_weekly    replace period_start = W    D           (the open and closed days of W)
//! gold.rising_stars          replace day = D             D           (the 14 days up to D)
//! then for each day D of the cycle's chat messages:
//! gold.chat_daily            replace day = D             D           (the day's chat fold)
//! ```
//!
//! Chat is folded per day in the running state ([`super::chat::ChatDays`]):
//! a day's partitions are rewritten whole from it. Its days must be open
//! before planning (the pipeline and `rebuild` load them from bronze).
//!
//! Every write is one Delta commit carrying the cycle's txn marker (app id
//! per table and suffix, version = cycle id), so the order makes a crash at
//! any point repairable: at start-up the last bronze cycle is planned and
//! committed again — writes already in the lake skip, the rest follow from
//! bronze's raw payloads. Snapshots precede sessions so that a replay derives
//! the snapshot rows already committed (the sessions' running state is only
//! advanced after them).
//!
//! State tables (`gold.alerts`, `gold.exports`) are never in a plan: they
//! record what the service did, not what bronze says, and their consumers
//! commit them after the cycle (see [`super::runner`]).
use std::fmt;

use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use super::chat;
use super::gold::{self, DAILY_TABLES};
use super::inputs::CycleInputs;
use super::silver::{SilverRows, SilverState, derive};
use super::tables;
use crate::schema::Table;

/// One table write of a cycle: one Delta commit.
#[derive(Debug, Clone)]
pub struct Write {
    /// The table written.
    pub table: Table,
    /// How the rows land.
    pub op: Op,
    /// The txn app id suffix: a table written more than once per cycle has
    /// one per kind of write, so each is exactly-once on its own.
    pub suffix: Option<String>,
    /// The rows.
    pub rows: Rows,
}

/// How a write's rows land in its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Added to the table.
    Append,
    /// Replace the rows in the scope with these.
    Replace(Scope),
    /// SCD type 2 upsert on the table's key: each row is a new current
    /// version that closes the key's previous one.
    Upsert,
}

/// The rows a replace removes: always whole partitions, so only their
/// files are touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every row of the table.
    All,
    /// The rows whose partition column `column` holds `value`.
    Partition {
        /// The table's partition column.
        column: &'static str,
        /// Its value, as Delta writes it in the partition path
        /// (`2026-01-05`, `live`).
        value: String,
    },
}

impl Scope {
    fn partition(column: &'static str, value: impl fmt::Display) -> Self {
        Scope::Partition {
            column,
            value: value.to_string(),
        }
    }

    /// The scope as a replace-where predicate.
    pub fn predicate(&self) -> String {
        match self {
            Scope::All => "true".to_owned(),
            Scope::Partition { column, value } => {
                format!("{column} = '{}'", value.replace('\'', "''"))
            }
        }
    }
}

/// Where a write's rows come from.
#[derive(Debug, Clone)]
pub enum Rows {
    /// Built by the plan.
    Batch(RecordBatch),
    /// The gold rows of day `D` as folded up to this cycle, built from the
    /// running gold state when the write runs ([`gold::DayTables`]): the
    /// day's own tables, and those spanning the days around it (the week's
    /// leaderboard, the rising stars of `D`).
    Day(NaiveDate),
}

/// A cycle's plan: its writes, and what it derived on the way.
#[derive(Debug, Clone)]
pub struct CyclePlan {
    /// The cycle.
    pub cycle_id: i64,
    /// The writes, in commit order.
    pub writes: Vec<Write>,
    /// The silver rows the cycle derived: gold folds them before its writes,
    /// the live views show them.
    pub silver: SilverRows,
    /// The days whose gold the writes replace, oldest first.
    pub days: Vec<NaiveDate>,
}

impl Write {
    fn new(table: Table, op: Op, rows: Rows) -> Self {
        Self {
            table,
            op,
            suffix: None,
            rows,
        }
    }

    fn suffix(mut self, suffix: impl fmt::Display) -> Self {
        self.suffix = Some(suffix.to_string());
        self
    }

    /// One line: table, operation, suffix — the plan as data, for tests and logs.
    pub fn describe(&self) -> String {
        let op = match &self.op {
            Op::Append => "append".to_owned(),
            Op::Upsert => "upsert".to_owned(),
            Op::Replace(scope) => format!("replace {}", scope.predicate()),
        };
        let from = match &self.rows {
            Rows::Batch(_) => String::new(),
            Rows::Day(d) => format!(" <- day {d}"),
        };
        match &self.suffix {
            Some(s) => format!("{} {op} [{s}]{from}", self.table),
            None => format!("{} {op}{from}", self.table),
        }
    }
}

/// Plans cycle `cycle_id`: derives its silver rows from `inputs`, advancing
/// `state` (open sessions, follower totals, profile history, categories),
/// and lists the writes that commit it.
pub fn plan(
    cycle_id: i64,
    inputs: &CycleInputs,
    state: &mut SilverState,
) -> Result<CyclePlan, ArrowError> {
    let now = inputs.now().unwrap_or_default();
    let mut silver = derive(cycle_id, &inputs.responses, now, state);
    let mut writes = Vec::new();
    let batch = |b: Result<RecordBatch, ArrowError>| b.map(Rows::Batch);

    let bronze = tables::bronze(&Table::HelixResponses.schema(), cycle_id, &inputs.responses);
    writes.push(Write::new(
        Table::HelixResponses,
        Op::Append,
        batch(bronze)?,
    ));
    let chat_bronze = chat::tables::bronze(&Table::ChatMessages.schema(), cycle_id, &inputs.chat);
    writes.push(Write::new(
        Table::ChatMessages,
        Op::Append,
        batch(chat_bronze)?,
    ));

    let snapshots = tables::snapshots(&Table::StreamSnapshots.schema(), &silver.snapshots);
    writes.push(Write::new(
        Table::StreamSnapshots,
        Op::Append,
        batch(snapshots)?,
    ));
    let followers = tables::followers(&Table::FollowerSnapshots.schema(), &silver.followers);
    writes.push(Write::new(
        Table::FollowerSnapshots,
        Op::Append,
        batch(followers)?,
    ));
    if !silver.new_streamers.is_empty() {
        let rows = tables::streamers(&Table::Streamers.schema(), silver.new_streamers.iter());
        writes.push(Write::new(Table::Streamers, Op::Upsert, batch(rows)?));
    }
    let sessions = Table::StreamSessions.schema();
    let ended = tables::sessions(&sessions, &silver.ended_sessions, cycle_id);
    writes.push(Write::new(Table::StreamSessions, Op::Append, batch(ended)?).suffix("ended"));
    let open: Vec<_> = state.sessions.open().cloned().collect();
    let live = batch(tables::sessions(&sessions, &open, cycle_id))?;
    let scope = Scope::partition("status", "live");
    writes.push(Write::new(Table::StreamSessions, Op::Replace(scope), live).suffix("live"));
    if silver.games_changed {
        let games = tables::games(&Table::Games.schema(), state.games.values(), cycle_id);
        writes.push(Write::new(
            Table::Games,
            Op::Replace(Scope::All),
            batch(games)?,
        ));
    }

    let chat_days = state.chat.add(&inputs.chat);
    let touched = chat::minutes_of(&inputs.chat);
    let mut chat_daily = Vec::new();
    for &day in &chat_days {
        let (minutes, daily) = state.chat.rows(day);
        let rows = chat::tables::minutes(&Table::ChatMinutes.schema(), cycle_id, day, &minutes);
        let scope = Scope::partition("day", day);
        let write = Write::new(Table::ChatMinutes, Op::Replace(scope), batch(rows)?);
        writes.push(write.suffix(day));
        let rows = chat::tables::daily(&Table::ChatDaily.schema(), day, &daily);
        let scope = Scope::partition("day", day);
        chat_daily.push(Write::new(Table::ChatDaily, Op::Replace(scope), batch(rows)?).suffix(day));
        let changed = minutes
            .into_iter()
            .filter(|m| touched.contains(&(m.channel.as_str(), m.minute)));
        silver.chat_minutes.extend(changed);
    }

    let days: Vec<NaiveDate> = silver.days().into_iter().collect();
    for &day in &days {
        for table in DAILY_TABLES {
            let column = table.def().day_partition().unwrap_or("day");
            let scope = Scope::partition(column, day);
            writes.push(Write::new(table, Op::Replace(scope), Rows::Day(day)).suffix(day));
        }
        let week = Scope::partition("period_start", gold::week_start(day));
        let weekly = Rows::Day(day);
        writes.push(Write::new(Table::LeaderboardWeekly, Op::Replace(week), weekly).suffix(day));
        let stars = Rows::Day(day);
        let scope = Scope::partition("day", day);
        writes.push(Write::new(Table::RisingStars, Op::Replace(scope), stars).suffix(day));
    }
    writes.extend(chat_daily);
    Ok(CyclePlan {
        cycle_id,
        writes,
        silver,
        days,
    })
}

#[cfg(test)]
mod tests;
