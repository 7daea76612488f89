//! Sessionizing: turns each cycle's stream observations into time-weighted
//! samples and stream sessions, merging restarts within the gap the way the
//! big statistics sites count them.
//!
//! Definitions (`docs/data-contract.md`, "Metric definitions"):
//! - a sample's `interval` is the time since the previous sample of the same
//!   session (for a session's first sample: since the stream's `started_at`),
//!   capped at the merge gap so an outage is not counted as watched time;
//! - hours watched = Σ viewers × interval; hours live = Σ interval;
//!   average viewers = hours watched / hours live; peak = highest sample.
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, TimeDelta, Utc};

/// One observation of a live stream in a cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Broadcaster id (sessions are keyed on it: logins change).
    pub user_id: String,
    /// Broadcaster login at observation time.
    pub user_login: String,
    /// Stream id (changes on restart).
    pub stream_id: String,
    /// Stream start.
    pub started_at: DateTime<Utc>,
    /// When the observation was made.
    pub observed_at: DateTime<Utc>,
    /// Viewers.
    pub viewers: i64,
    /// Category name ("" when none).
    pub game_name: String,
}

/// An open or closed session (one row of `silver.stream_sessions`).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// First stream id of the session.
    pub session_id: String,
    /// Broadcaster id.
    pub user_id: String,
    /// Latest login.
    pub user_login: String,
    /// Start of the first stream.
    pub started_at: DateTime<Utc>,
    /// Last observation of an ended session; `None` while live.
    pub ended_at: Option<DateTime<Utc>>,
    /// Stream id of the latest observation.
    pub last_stream_id: String,
    /// Time of the latest observation.
    pub last_observed_at: DateTime<Utc>,
    /// Highest viewer sample.
    pub peak_viewers: i64,
    /// Σ viewers × interval seconds.
    pub viewer_seconds: f64,
    /// Σ interval seconds.
    pub live_seconds: f64,
    /// Samples taken.
    pub snapshots: i64,
    /// Categories played, in order of first appearance.
    pub games: Vec<String>,
}

impl Session {
    /// Hours watched.
    pub fn hours_watched(&self) -> f64 {
        self.viewer_seconds / 3600.0
    }
    /// Time-weighted average viewers (0 before any time has been counted).
    pub fn avg_viewers(&self) -> f64 {
        if self.live_seconds > 0.0 {
            self.viewer_seconds / self.live_seconds
        } else {
            0.0
        }
    }
    /// Minutes from start to end (or to the latest observation while live).
    pub fn duration_minutes(&self) -> f64 {
        let end = self.ended_at.unwrap_or(self.last_observed_at);
        (end - self.started_at).num_milliseconds().max(0) as f64 / 60_000.0
    }
}

/// A sample with its session and weight, for `silver.stream_snapshots`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weighted {
    /// Index of the observation in the input.
    pub index: usize,
    /// Seconds this sample stands for.
    pub interval_seconds: f64,
}

/// What one cycle did to sessions.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SessionUpdate {
    /// Per observation: its session id and weight (same order as the input).
    pub samples: Vec<(String, Weighted)>,
    /// Sessions that ended in this cycle (to append once).
    pub ended: Vec<Session>,
}

/// The open sessions, keyed by user id. Rebuilt at start-up from the live
/// partition of `silver.stream_sessions`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sessionizer {
    gap: TimeDelta,
    open: HashMap<String, Session>,
}

impl Sessionizer {
    /// A sessionizer merging restarts within `gap`.
    pub fn new(gap: std::time::Duration, open: impl IntoIterator<Item = Session>) -> Self {
        let gap = TimeDelta::from_std(gap).unwrap_or(TimeDelta::minutes(10));
        Self {
            gap,
            open: open.into_iter().map(|s| (s.user_id.clone(), s)).collect(),
        }
    }

    /// Sessions still live, ordered by user id.
    pub fn open(&self) -> impl Iterator<Item = &Session> {
        let mut open: Vec<&Session> = self.open.values().collect();
        open.sort_unstable_by(|a, b| a.user_id.cmp(&b.user_id));
        open.into_iter()
    }

    /// Applies one cycle's observations (at most one per user; the caller
    /// deduplicates) made up to `now`. Sessions not seen for longer than the
    /// gap are closed at their last observation.
    pub fn apply(&mut self, observations: &[Observation], now: DateTime<Utc>) -> SessionUpdate {
        let mut update = SessionUpdate::default();
        let gap = self.gap;
        for (index, o) in observations.iter().enumerate() {
            // One look-up per observation: at 100,000 streams a cycle
            // this loop is a measurable part of the silver stage.
            let (s, opened) = match self.open.entry(o.user_id.clone()) {
                Entry::Occupied(e) => (e.into_mut(), false),
                Entry::Vacant(e) => (e.insert(open_session(o, gap)), true),
            };
            // Already applied (a replayed cycle after a crash): weightless.
            if !opened && s.last_stream_id == o.stream_id && o.observed_at <= s.last_observed_at {
                let w = Weighted {
                    index,
                    interval_seconds: 0.0,
                };
                update.samples.push((s.session_id.clone(), w));
                continue;
            }
            let continues = !opened
                && (s.last_stream_id == o.stream_id || o.started_at - s.last_observed_at <= gap);
            let interval = if continues {
                let since = if s.last_stream_id == o.stream_id {
                    s.last_observed_at
                } else {
                    s.last_observed_at.max(o.started_at)
                };
                s.last_stream_id.clone_from(&o.stream_id);
                capped(o.observed_at - since, gap)
            } else {
                if !opened {
                    let mut ended = std::mem::replace(s, open_session(o, gap));
                    ended.ended_at = Some(ended.last_observed_at);
                    update.ended.push(ended);
                }
                capped(o.observed_at - o.started_at, gap)
            };
            s.user_login.clone_from(&o.user_login);
            s.last_observed_at = s.last_observed_at.max(o.observed_at);
            s.peak_viewers = s.peak_viewers.max(o.viewers);
            s.viewer_seconds += o.viewers as f64 * interval;
            s.live_seconds += interval;
            s.snapshots += 1;
            if !o.game_name.is_empty() && !s.games.contains(&o.game_name) {
                s.games.push(o.game_name.clone());
            }
            update.samples.push((
                s.session_id.clone(),
                Weighted {
                    index,
                    interval_seconds: interval,
                },
            ));
        }
        let stale: Vec<String> = self
            .open
            .values()
            .filter(|s| now - s.last_observed_at > gap)
            .map(|s| s.user_id.clone())
            .collect();
        for user in stale {
            if let Some(mut s) = self.open.remove(&user) {
                s.ended_at = Some(s.last_observed_at);
                update.ended.push(s);
            }
        }
        update.ended.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        update
    }
}

/// The session that `o` opens, before `o` is counted in it.
fn open_session(o: &Observation, gap: TimeDelta) -> Session {
    Session {
        session_id: session_id(o, gap),
        user_id: o.user_id.clone(),
        user_login: o.user_login.clone(),
        started_at: o.started_at,
        ended_at: None,
        last_stream_id: o.stream_id.clone(),
        last_observed_at: o.observed_at,
        peak_viewers: 0,
        viewer_seconds: 0.0,
        live_seconds: 0.0,
        snapshots: 0,
        games: Vec::new(),
    }
}

/// The id of a session that `o` opens: its stream id — unless the
/// session joins its stream more than the gap after the stream started.
/// Then the stream may have had a session already, closed when it went
/// unseen for longer than the gap (an outage, a long restart, a cycle
/// slower than the gap) and now seen again with the same stream id; the
/// first observation's time, in seconds, keeps the two ids apart. From
/// the observation alone, so a repair or `rebuild` derives the same id.
fn session_id(o: &Observation, gap: TimeDelta) -> String {
    if o.observed_at - o.started_at > gap {
        format!("{}@{}", o.stream_id, o.observed_at.timestamp())
    } else {
        o.stream_id.clone()
    }
}

/// Seconds of `d`, clamped to `0..=gap`.
fn capped(d: TimeDelta, gap: TimeDelta) -> f64 {
    d.clamp(TimeDelta::zero(), gap).num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_571_200, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn obs(stream: &str, started: i64, at: i64, viewers: i64) -> Observation {
        Observation {
            user_id: "u1".into(),
            user_login: "alice".into(),
            stream_id: stream.into(),
            started_at: t(started),
            observed_at: t(at),
            viewers,
            game_name: "Chess".into(),
        }
    }

    fn gap10() -> Sessionizer {
        Sessionizer::new(std::time::Duration::from_secs(600), [])
    }

    #[test]
    fn time_weighted_average_counts_time_not_samples() {
        let mut s = gap10();
        // Started at 0, sampled at 1 (100 viewers), 2 (100), 5 (400).
        s.apply(&[obs("a", 0, 1, 100)], t(1));
        s.apply(&[obs("a", 0, 2, 100)], t(2));
        let u = s.apply(&[obs("a", 0, 5, 400)], t(5));
        assert_eq!(u.samples[0].1.interval_seconds, 180.0);
        let open = s.open().next().unwrap();
        // 100×60 + 100×60 + 400×180 viewer-seconds over 300 s.
        assert_eq!(open.viewer_seconds, 84_000.0);
        assert_eq!(open.live_seconds, 300.0);
        assert_eq!(open.avg_viewers(), 280.0);
        assert_eq!(open.peak_viewers, 400);
        assert_eq!(open.hours_watched(), 84_000.0 / 3600.0);
    }

    #[test]
    fn restart_within_gap_merges_and_after_gap_splits() {
        let mut s = gap10();
        s.apply(&[obs("a", 0, 5, 10)], t(5));
        // Offline from 5 to 8, new stream id started at 8 (3 min < gap).
        let u = s.apply(&[obs("b", 8, 9, 10)], t(9));
        assert!(u.ended.is_empty());
        assert_eq!(u.samples[0].0, "a");
        // Interval counts only the time the new stream was live: 8..9.
        assert_eq!(u.samples[0].1.interval_seconds, 60.0);
        // Not seen until 30: closed at the last observation once the gap passes.
        let u = s.apply(&[], t(20));
        assert_eq!(u.ended.len(), 1);
        assert_eq!(u.ended[0].ended_at, Some(t(9)));
        assert_eq!(u.ended[0].snapshots, 2);
        let u = s.apply(&[obs("c", 30, 31, 10)], t(31));
        assert_eq!(u.samples[0].0, "c");
    }

    #[test]
    fn restart_after_gap_in_one_step_closes_the_old_session() {
        let mut s = gap10();
        s.apply(&[obs("a", 0, 5, 10)], t(5));
        let u = s.apply(&[obs("b", 16, 16, 10)], t(16));
        assert_eq!(u.ended.len(), 1);
        assert_eq!(u.ended[0].session_id, "a");
        assert_eq!(u.samples[0].0, "b");
    }

    #[test]
    fn replaying_an_applied_observation_changes_nothing() {
        let mut s = gap10();
        s.apply(&[obs("a", 0, 1, 100)], t(1));
        s.apply(&[obs("a", 0, 2, 100)], t(2));
        let before = s.clone();
        s.apply(&[obs("a", 0, 2, 100)], t(2));
        assert_eq!(s, before);
    }

    #[test]
    fn a_stream_seen_again_after_its_session_closed_gets_a_session_of_its_own() {
        let mut s = gap10();
        s.apply(&[obs("a", 0, 1, 10)], t(1));
        // Unseen for longer than the gap: the session closes.
        let u = s.apply(&[], t(15));
        assert_eq!(u.ended[0].session_id, "a");
        // The same broadcast seen again: a new session, never the old id.
        let u = s.apply(&[obs("a", 0, 20, 10)], t(20));
        assert_eq!(u.samples[0].0, format!("a@{}", t(20).timestamp()));
        assert_ne!(u.samples[0].0, "a");
    }

    #[test]
    fn first_sample_and_outages_are_capped_at_the_gap() {
        let mut s = gap10();
        let u = s.apply(&[obs("a", 0, 120, 10)], t(120));
        assert_eq!(u.samples[0].1.interval_seconds, 600.0);
    }
}
