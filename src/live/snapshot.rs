//! One immutable snapshot of every live view: the Arrow batches computed at
//! the end of a cycle from the live set and the rolling windows.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use chrono::{DateTime, Utc};

use super::chat::ChatWindows;
use super::windows::Tracked;
use super::{ByUser, CycleStatus, LiveStream, Result, View};

/// Every live view as of one cycle. Immutable: a new cycle builds a new one.
#[derive(Debug, Clone)]
pub struct Snapshot {
    cycle_id: Option<i64>,
    observed_at: Option<DateTime<Utc>>,
    last_committed_at: Option<DateTime<Utc>>,
    batches: [RecordBatch; 6],
}

impl Snapshot {
    /// The snapshot before any cycle: every view empty.
    pub fn empty() -> Self {
        Self {
            cycle_id: None,
            observed_at: None,
            last_committed_at: None,
            batches: View::ALL.map(|v| RecordBatch::new_empty(v.schema())),
        }
    }

    /// The cycle whose live set this snapshot shows (None before the first).
    pub fn cycle_id(&self) -> Option<i64> {
        self.cycle_id
    }

    /// When that cycle observed the streams.
    pub fn observed_at(&self) -> Option<DateTime<Utc>> {
        self.observed_at
    }

    /// When the newest cycle that committed (no `last_error`) finished.
    pub fn last_committed_at(&self) -> Option<DateTime<Utc>> {
        self.last_committed_at
    }

    /// The rows of one view (a cheap clone: Arrow buffers are shared).
    pub fn batch(&self, view: View) -> &RecordBatch {
        &self.batches[view.index()]
    }
}

fn ts(values: impl IntoIterator<Item = DateTime<Utc>>) -> ArrayRef {
    let a: TimestampMicrosecondArray = values
        .into_iter()
        .map(|t| Some(t.timestamp_micros()))
        .collect();
    Arc::new(a.with_timezone("UTC"))
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(values.into_iter().map(Some).collect::<StringArray>())
}

fn ints(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<Int64Array>())
}

fn floats(values: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(values.into_iter().map(Some).collect::<Float64Array>())
}

fn batch(view: View, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(view.schema(), columns)?)
}

/// user_id, login, window, avg, peak, followers gained.
type TrendRow<'a> = (&'a str, &'a str, &'a str, f64, i64, Option<i64>);

/// Inputs for one snapshot, borrowed from the writer's state.
#[derive(Debug)]
pub(crate) struct SnapshotInput<'a> {
    pub(crate) cycle_id: Option<i64>,
    pub(crate) observed_at: Option<DateTime<Utc>>,
    /// The live set, one stream per user.
    pub(crate) streams: &'a [LiveStream],
    pub(crate) tracked: &'a ByUser<Tracked>,
    /// Newest first.
    pub(crate) statuses: &'a VecDeque<CycleStatus>,
    /// Errors noted after a cycle committed, by cycle id.
    pub(crate) notes: &'a HashMap<i64, String>,
    pub(crate) chat: &'a ChatWindows,
}

impl SnapshotInput<'_> {
    pub(crate) fn build(&self) -> Result<Snapshot> {
        // Viewers descending, user id as the tie-break, so ranks are stable.
        let mut live: Vec<&LiveStream> = self.streams.iter().collect();
        live.sort_by(|a, b| {
            b.viewer_count
                .cmp(&a.viewer_count)
                .then_with(|| a.user_id.cmp(&b.user_id))
        });
        let streams = self.streams_batch(&live)?;
        let leaderboard = leaderboard(&streams)?;
        Ok(Snapshot {
            cycle_id: self.cycle_id,
            observed_at: self.observed_at,
            last_committed_at: self
                .statuses
                .iter()
                .filter(|s| s.last_error.is_none())
                .map(|s| s.finished_at)
                .max(),
            batches: [
                streams,
                leaderboard,
                categories(&live)?,
                self.trends()?,
                ingest_status(self.statuses, self.notes)?,
                self.chat.batch(self.observed_at)?,
            ],
        })
    }

    fn streams_batch(&self, live: &[&LiveStream]) -> Result<RecordBatch> {
        let now = self.observed_at;
        let tracked: Vec<Option<&Tracked>> =
            live.iter().map(|s| self.tracked.get(&s.user_id)).collect();
        batch(
            View::Streams,
            vec![
                strings(live.iter().map(|s| s.user_id.as_str())),
                strings(live.iter().map(|s| s.login.as_str())),
                strings(live.iter().map(|s| s.stream_id.as_str())),
                strings(live.iter().map(|s| s.game_name.as_str())),
                strings(live.iter().map(|s| s.title.as_str())),
                strings(live.iter().map(|s| s.language.as_str())),
                ints(live.iter().map(|s| Some(s.viewer_count))),
                ints(live.iter().zip(&tracked).map(|(s, t)| {
                    let now = now.unwrap_or(s.observed_at);
                    t.as_ref()?.change_5m(now, s.viewer_count)
                })),
                ts(live.iter().map(|s| s.started_at)),
                ints(
                    live.iter()
                        .map(|s| Some((s.observed_at - s.started_at).num_minutes().max(0))),
                ),
                ints(tracked.iter().map(|t| Some(t.as_ref()?.followers_total?.1))),
                ts(live.iter().map(|s| s.observed_at)),
            ],
        )
    }

    fn trends(&self) -> Result<RecordBatch> {
        let mut users: Vec<(&String, &Tracked)> = self.tracked.iter().collect();
        users.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut rows: Vec<TrendRow<'_>> = Vec::new();
        for (user_id, t) in users {
            for (name, avg, peak, gained) in [
                ("1h", t.hour.avg(), t.hour.peak(), t.followers_hour.gained()),
                ("24h", t.day.avg(), t.day.peak(), t.day.gained()),
            ] {
                let (Some(avg), Some(peak)) = (avg, peak) else {
                    continue;
                };
                rows.push((user_id, &t.login, name, avg, peak, gained));
            }
        }
        batch(
            View::StreamerTrends,
            vec![
                strings(rows.iter().map(|r| r.0)),
                strings(rows.iter().map(|r| r.1)),
                strings(rows.iter().map(|r| r.2)),
                floats(rows.iter().map(|r| r.3)),
                ints(rows.iter().map(|r| Some(r.4))),
                ints(rows.iter().map(|r| r.5)),
            ],
        )
    }
}

/// The leaderboard is `live.streams` in the same order with a rank: it
/// shares that batch's columns (Arrow arrays are reference-counted) instead
/// of copying 100,000 ids, logins and category names again.
fn leaderboard(streams: &RecordBatch) -> Result<RecordBatch> {
    let column = |name: &str| {
        let (i, _) = View::Streams
            .schema()
            .column_with_name(name)
            .expect("a column of live.streams");
        Arc::clone(streams.column(i))
    };
    batch(
        View::Leaderboard,
        vec![
            ints((1..=streams.num_rows() as i64).map(Some)),
            column("user_id"),
            column("login"),
            column("viewer_count"),
            column("game_name"),
        ],
    )
}

fn categories(live: &[&LiveStream]) -> Result<RecordBatch> {
    // game_id -> (name of its most-watched stream, channels, viewers)
    let mut games: BTreeMap<&str, (&str, i64, i64)> = BTreeMap::new();
    for s in live {
        let g = games
            .entry(s.game_id.as_str())
            .or_insert((s.game_name.as_str(), 0, 0));
        g.1 += 1;
        g.2 += s.viewer_count;
    }
    let mut rows: Vec<(&str, (&str, i64, i64))> = games.into_iter().collect();
    rows.sort_by(|a, b| b.1.2.cmp(&a.1.2).then_with(|| a.0.cmp(b.0)));
    batch(
        View::Categories,
        vec![
            strings(rows.iter().map(|r| r.0)),
            strings(rows.iter().map(|r| r.1.0)),
            ints(rows.iter().map(|r| Some(r.1.1))),
            ints(rows.iter().map(|r| Some(r.1.2))),
            floats(rows.iter().map(|r| r.1.2 as f64 / r.1.1 as f64)),
        ],
    )
}

fn ingest_status(
    statuses: &VecDeque<CycleStatus>,
    notes: &HashMap<i64, String>,
) -> Result<RecordBatch> {
    let s = statuses;
    batch(
        View::IngestStatus,
        vec![
            ints(s.iter().map(|c| Some(c.cycle_id))),
            ts(s.iter().map(|c| c.started_at)),
            ts(s.iter().map(|c| c.finished_at)),
            ints(s.iter().map(|c| Some(c.streams_seen))),
            ints(s.iter().map(|c| Some(c.requests))),
            ints(s.iter().map(|c| c.rate_limit_remaining)),
            ints(s.iter().map(|c| Some(c.errors))),
            ints(s.iter().map(|c| Some(c.bronze_rows))),
            ints(s.iter().map(|c| Some(c.silver_rows))),
            ints(s.iter().map(|c| Some(c.gold_rows))),
            Arc::new(
                s.iter()
                    .map(|c| {
                        let note = notes.get(&c.cycle_id).map(String::as_str);
                        c.last_error.as_deref().or(note)
                    })
                    .collect::<StringArray>(),
            ),
        ],
    )
}
