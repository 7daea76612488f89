//! In-memory live views (`live.*`): at the end of every ingest cycle a whole
//! new immutable [`Snapshot`] is computed and swapped in, so readers never
//! wait on the writer and never see half a cycle.
//!
//! The ingest calls [`LiveViews::apply_cycle`] once per cycle; the query layer
//! registers [`LiveViews::views`] under schema `live` once at start-up; at
//! start-up a [`Replay`] feeds the last 24 h of silver rows back so a
//! restart does not empty the views.
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use datafusion::catalog::{SchemaProvider, TableProvider};

mod chat;
mod provider;
mod replay;
mod snapshot;
mod windows;

/// The views' names and schemas live in the contract, beside the Delta tables.
pub use crate::schema::View;
pub use chat::ChatSample;
pub use provider::{LiveSchema, LiveTable};
pub use replay::{Replay, SampleRow, replay_from};
pub use snapshot::Snapshot;
pub use windows::Footprint;

use snapshot::SnapshotInput;
use windows::Tracked;

/// The hasher of the per-streamer maps: foldhash, several times faster
/// than the standard SipHash on short ids, looked up 100,000 times a
/// cycle at scale (seeded per process, like the standard one).
type FastHash = foldhash::fast::RandomState;

/// Per-streamer state by user id.
pub(crate) type ByUser<V> = HashMap<String, V, FastHash>;

/// How many recent cycles `live.ingest_status` keeps.
pub const STATUS_HISTORY: usize = 100;

/// What can fail while building a snapshot (only a bug: the schemas are fixed).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A view's columns did not fit its schema.
    #[error("building a live view batch")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// Result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One live stream as observed by a cycle (a row of `silver.stream_snapshots`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStream {
    /// Broadcaster id.
    pub user_id: String,
    /// Broadcaster login.
    pub login: String,
    /// Stream id.
    pub stream_id: String,
    /// Category id ("" when none).
    pub game_id: String,
    /// Category name ("" when none).
    pub game_name: String,
    /// Stream title.
    pub title: String,
    /// Stream language.
    pub language: String,
    /// Viewers at `observed_at`.
    pub viewer_count: i64,
    /// When the stream started.
    pub started_at: DateTime<Utc>,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
}

impl LiveStream {
    /// What the windows take of it.
    pub(crate) fn row(&self) -> SampleRow<'_> {
        SampleRow {
            user_id: &self.user_id,
            login: &self.login,
            stream_id: &self.stream_id,
            viewer_count: self.viewer_count,
            started_at: self.started_at,
            observed_at: self.observed_at,
        }
    }
}

/// One follower total (a row of `silver.follower_snapshots`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerSample {
    /// Broadcaster id.
    pub user_id: String,
    /// Total followers.
    pub followers_total: i64,
    /// When observed.
    pub observed_at: DateTime<Utc>,
}

/// One ingest cycle's bookkeeping: a row of `live.ingest_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleStatus {
    /// Cycle id.
    pub cycle_id: i64,
    /// When the cycle started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Live streams it saw.
    pub streams_seen: i64,
    /// Helix requests it made.
    pub requests: i64,
    /// `Ratelimit-Remaining` after its last request, if known.
    pub rate_limit_remaining: Option<i64>,
    /// Failed requests or steps.
    pub errors: i64,
    /// Rows appended to bronze.
    pub bronze_rows: i64,
    /// Rows written to silver.
    pub silver_rows: i64,
    /// Rows written to gold.
    pub gold_rows: i64,
    /// The last error's message, if any.
    pub last_error: Option<String>,
}

/// Everything one completed cycle tells the live views.
#[derive(Debug, Clone)]
pub struct CycleUpdate {
    /// When the cycle observed the streams: "now" for every window.
    pub observed_at: DateTime<Utc>,
    /// The complete live set (streams missing here are offline now). At most
    /// one per user is kept (the last).
    pub streams: Vec<LiveStream>,
    /// Follower totals observed this cycle.
    pub followers: Vec<FollowerSample>,
    /// The cycle's row for `live.ingest_status` (carries the cycle id).
    pub status: CycleStatus,
    /// The chat minutes the cycle changed (newest versions).
    pub chat: Vec<ChatSample>,
}

/// The cheap-clone handle to the live views. Clones share one state.
#[derive(Debug, Clone)]
pub struct LiveViews {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// What readers see; replaced whole, never mutated.
    current: Arc<ArcSwap<Snapshot>>,
    /// The writer's side. A std mutex, not a tokio one: it is held only for
    /// the CPU work of one update, never across an `.await`, and only the
    /// (single) ingest task takes it — readers go through `current`.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tracked: ByUser<Tracked>,
    live: Vec<LiveStream>,
    cycle_id: Option<i64>,
    observed_at: Option<DateTime<Utc>>,
    /// Newest first, at most [`STATUS_HISTORY`].
    statuses: VecDeque<CycleStatus>,
    /// Errors reported after a cycle committed (by cycle id), shown as its
    /// `last_error` without making it a failed cycle.
    notes: HashMap<i64, String>,
    chat: chat::ChatWindows,
}

impl Default for LiveViews {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveViews {
    /// Empty views (before the first cycle).
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                current: Arc::new(ArcSwap::from_pointee(Snapshot::empty())),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// What the per-streamer windows hold now, by part (for the live-day
    /// benchmark). Walks every tracked streamer under the writer's lock.
    pub fn footprint(&self) -> Footprint {
        let state = self.lock();
        let mut footprint = Footprint::default();
        footprint.add_map(state.tracked.capacity());
        for (key, t) in &state.tracked {
            footprint.add(key, t);
        }
        footprint
    }

    /// These views with the chat minutes of the last hour put back (start-up:
    /// from `silver.chat_minutes`).
    pub fn with_chat(self, minutes: impl IntoIterator<Item = ChatSample>) -> Result<Self> {
        {
            let mut state = self.lock();
            state.chat.apply(minutes);
            if let Some(now) = state.observed_at {
                state.chat.prune(now);
            }
            let snapshot = state.snapshot()?;
            self.shared.current.store(Arc::new(snapshot));
        }
        Ok(self)
    }

    /// Applies one completed cycle: moves the windows, replaces the live set,
    /// appends the status row, and swaps in the new snapshot.
    pub fn apply_cycle(&self, update: CycleUpdate) -> Result<()> {
        let mut state = self.lock();
        for f in &update.followers {
            state.followers(&f.user_id, f.followers_total, f.observed_at);
        }
        let live = dedup(update.streams);
        for s in &live {
            state.sample(s.row());
        }
        state.live = live;
        state.cycle_id = Some(update.status.cycle_id);
        state.observed_at = Some(update.observed_at);
        state.push_status(update.status);
        state.chat.apply(update.chat);
        state.prune(update.observed_at);
        let snapshot = state.snapshot()?;
        self.shared.current.store(Arc::new(snapshot));
        Ok(())
    }

    /// Records a cycle that produced no live set (it failed before listing
    /// the streams): only `live.ingest_status` changes.
    pub fn record_status(&self, status: CycleStatus) -> Result<()> {
        let mut state = self.lock();
        state.push_status(status);
        let snapshot = state.snapshot()?;
        self.shared.current.store(Arc::new(snapshot));
        Ok(())
    }

    /// Reports errors that a consumer of committed cycle `cycle_id` met
    /// (an alert rule whose query failed): its `live.ingest_status` row
    /// counts them in `errors` and shows `message` as its `last_error`,
    /// and the cycle still counts as committed. Unknown cycles are ignored.
    pub fn note_errors(&self, cycle_id: i64, errors: usize, message: &str) -> Result<()> {
        let mut state = self.lock();
        let Some(row) = state.statuses.iter_mut().find(|s| s.cycle_id == cycle_id) else {
            return Ok(());
        };
        row.errors += i64::try_from(errors).unwrap_or(i64::MAX);
        state.notes.insert(cycle_id, message.to_owned());
        let kept: std::collections::HashSet<i64> =
            state.statuses.iter().map(|s| s.cycle_id).collect();
        state.notes.retain(|c, _| kept.contains(c));
        let snapshot = state.snapshot()?;
        self.shared.current.store(Arc::new(snapshot));
        Ok(())
    }

    /// The current snapshot. Holding it keeps it alive and unchanged.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.current.load_full()
    }

    /// When the newest cycle that committed finished (readiness probes use
    /// it). Read from the current snapshot: never waits on the writer.
    pub fn last_cycle_finished_at(&self) -> Option<DateTime<Utc>> {
        self.shared.current.load().last_committed_at()
    }

    /// The DataFusion table for one view; register it once, it always shows
    /// the current snapshot.
    pub fn table_provider(&self, view: View) -> Arc<dyn TableProvider> {
        Arc::new(LiveTable::new(view, Arc::clone(&self.shared.current)))
    }

    /// Schema `live` with every view, read-only: register it once under the
    /// catalog (`catalog.register_schema("live", live.schema_provider())`).
    pub fn schema_provider(&self) -> Arc<dyn SchemaProvider> {
        Arc::new(LiveSchema::new(&self.shared.current))
    }

    /// Every view as `(table name, provider)`, for schema `live`.
    pub fn views(&self) -> Vec<(&'static str, Arc<dyn TableProvider>)> {
        View::ALL
            .into_iter()
            .map(|v| (v.name(), self.table_provider(v)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated in
        // a way readers see (they read `current`), so recover from poisoning.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// The windows of `user_id`, new ones if it is not tracked yet. Looks
    /// up before inserting: the key is cloned only for a new streamer, not
    /// once per stream per cycle.
    fn tracked(&mut self, user_id: &str) -> &mut Tracked {
        if !self.tracked.contains_key(user_id) {
            self.tracked.insert(user_id.to_owned(), Tracked::new());
        }
        self.tracked.get_mut(user_id).expect("inserted above")
    }

    fn sample(&mut self, row: SampleRow<'_>) {
        self.tracked(row.user_id).sample(
            row.login,
            row.stream_id,
            row.started_at,
            row.observed_at,
            row.viewer_count,
        );
    }

    fn followers(&mut self, user_id: &str, total: i64, at: DateTime<Utc>) {
        self.tracked(user_id).followers(at, total);
    }

    fn push_status(&mut self, status: CycleStatus) {
        // A replayed cycle replaces its earlier row instead of duplicating it;
        // a failed attempt and the retry that reuses its id are two rows.
        let key = |s: &CycleStatus| (s.cycle_id, s.started_at);
        self.statuses.retain(|s| key(s) != key(&status));
        let at = self
            .statuses
            .iter()
            .position(|s| key(s) < key(&status))
            .unwrap_or(self.statuses.len());
        self.statuses.insert(at, status);
        self.statuses.truncate(STATUS_HISTORY);
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        self.tracked.retain(|_, t| {
            t.prune(now);
            !t.is_idle()
        });
        self.chat.prune(now);
    }

    fn snapshot(&self) -> Result<Snapshot> {
        SnapshotInput {
            cycle_id: self.cycle_id,
            observed_at: self.observed_at,
            streams: &self.live,
            tracked: &self.tracked,
            statuses: &self.statuses,
            notes: &self.notes,
            chat: &self.chat,
        }
        .build()
    }
}

/// One stream per user (Helix paging can list a stream twice): the last
/// wins. Keys borrow the ids; nothing is copied when there is no duplicate.
fn dedup(mut streams: Vec<LiveStream>) -> Vec<LiveStream> {
    let mut last: HashMap<&str, usize, FastHash> =
        HashMap::with_capacity_and_hasher(streams.len(), FastHash::default());
    for (i, s) in streams.iter().enumerate() {
        last.insert(s.user_id.as_str(), i);
    }
    if last.len() == streams.len() {
        return streams;
    }
    let mut keep = vec![false; streams.len()];
    for &i in last.values() {
        keep[i] = true;
    }
    let mut keep = keep.into_iter();
    streams.retain(|_| keep.next().unwrap_or(false));
    streams
}

#[cfg(test)]
mod tests;
