//! The live views rebuilt at start-up from recent silver rows, fed one row
//! at a time in time order: a day of rows at scale (100,000 live streams
//! sampled every minute is 144 million) is never held at once, only what
//! the windows keep.
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::windows::{MAX_INTERVAL, oldest_start};
use super::{CycleStatus, LiveStream, LiveViews, Result, State, dedup};

/// Where a replay that ends at `now` starts reading rows: the start of the
/// oldest clock hour the 24-hour window holds at `now` (24 to 25 hours
/// back), less the longest interval a sample stands for, so the first
/// sample inside gets the weight it had live (from the one before it).
pub fn replay_from(now: DateTime<Utc>) -> DateTime<Utc> {
    oldest_start(now) - MAX_INTERVAL
}

/// One row of `silver.stream_snapshots` as the windows need it, borrowed
/// from the batch it was read from.
#[derive(Debug, Clone, Copy)]
pub struct SampleRow<'a> {
    /// Broadcaster id.
    pub user_id: &'a str,
    /// Broadcaster login.
    pub login: &'a str,
    /// Stream id.
    pub stream_id: &'a str,
    /// Viewers at `observed_at`.
    pub viewer_count: i64,
    /// When the stream started.
    pub started_at: DateTime<Utc>,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
}

/// Live views being rebuilt: feed the follower totals and the viewer
/// samples since [`replay_from`], each in time order, then
/// [`finish`](Replay::finish) with the newest cycle's live set.
#[derive(Debug, Default)]
pub struct Replay {
    state: State,
    /// The newest follower total's time.
    last_follower: Option<DateTime<Utc>>,
}

impl Replay {
    /// An empty replay.
    pub fn new() -> Self {
        Self::default()
    }

    /// A follower total. Totals must come in time order among themselves
    /// (an older one after a newer one of the same user is ignored); their
    /// order relative to the samples does not matter.
    pub fn follower(&mut self, user_id: &str, total: i64, at: DateTime<Utc>) {
        self.state.followers(user_id, total, at);
        self.last_follower = self.last_follower.max(Some(at));
    }

    /// A viewer sample. Samples must come in (cycle, observed_at) order; one
    /// not newer than the user's last is ignored, as a replayed cycle's are.
    pub fn sample(&mut self, row: SampleRow<'_>) {
        self.state.sample(row);
    }

    /// The views: `live` is the newest cycle replayed and its streams (None
    /// when no stream was replayed), `statuses` the recent cycles' rows of
    /// `live.ingest_status` in any order (may be empty: they are not
    /// persisted). Every window is moved to the newest time known.
    pub fn finish(
        self,
        live: Option<(i64, Vec<LiveStream>)>,
        statuses: impl IntoIterator<Item = CycleStatus>,
    ) -> Result<LiveViews> {
        let mut state = self.state;
        if let Some((cycle_id, streams)) = live {
            state.cycle_id = Some(cycle_id);
            state.observed_at = streams.iter().map(|s| s.observed_at).max();
            state.live = dedup(streams);
        }
        let mut statuses: Vec<CycleStatus> = statuses.into_iter().collect();
        statuses.sort_by_key(|s| s.cycle_id);
        let latest_status = statuses.last().map(|s| (s.cycle_id, s.finished_at));
        for s in statuses {
            state.push_status(s);
        }
        // No streams replayed: the views start at the newest known cycle.
        if state.cycle_id.is_none() {
            state.cycle_id = latest_status.map(|s| s.0);
        }
        let now = state
            .observed_at
            .or(latest_status.map(|s| s.1))
            .or(self.last_follower);
        if let Some(now) = now {
            state.prune(now);
        }
        let views = LiveViews::new();
        views.shared.current.store(Arc::new(state.snapshot()?));
        *views.lock() = state;
        Ok(views)
    }
}
