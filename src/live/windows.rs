//! Rolling per-streamer windows kept incrementally between cycles: a sample
//! enters once and leaves once, so a cycle costs O(tracked streamers), not
//! O(samples in 24 h).
use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

/// The longest interval one sample stands for: a gap longer than this (the
/// poller was down, the stream was offline) is not counted as watched time.
pub(crate) const MAX_INTERVAL: TimeDelta = TimeDelta::minutes(10);
/// The look-back of `viewer_change_5m`.
pub(crate) const CHANGE_SPAN: TimeDelta = TimeDelta::minutes(5);
/// The longest window kept; older samples are dropped.
pub(crate) const RETENTION: TimeDelta = TimeDelta::hours(24);
/// The 24-hour windows keep sums per clock hour, not samples: a streamer
/// costs the same 25 steps whether it was live a minute or all day (a
/// sample a minute kept ~1 GB at 20,000 live streams after 18 hours). The
/// window holds the current hour and the 24 before it, so it reaches back
/// 24 to 25 hours.
pub(crate) const STEP: TimeDelta = TimeDelta::hours(1);
/// Times inside the windows are kept as ms since the epoch (`i64`): half the
/// size of a `DateTime` beside an `i64`, once alignment is counted, in
/// structures held per streamer and per step.
fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Gives back a window's spare room once it uses under a quarter of it. A
/// deque keeps the capacity of its busiest stretch, so without this every
/// channel seen in the last day held an hour of samples long after its
/// stream had ended (measured with a heap profile, see
/// `docs/heap-profiling.md`).
fn shrink<T>(deque: &mut VecDeque<T>) {
    if deque.capacity() > 8 && deque.len() <= deque.capacity() / 4 {
        deque.shrink_to(deque.len() * 2);
    }
}

/// One viewer sample of a [`Window`]: 16 bytes, where `(at, viewers,
/// weight)` as three `i64` took 24. An hour of one-minute samples is the
/// largest thing the live views hold per streamer (161 MiB of a 790 MiB
/// heap at 100,000 live streams, see `docs/heap-profiling.md`).
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// ms after the window's `base`.
    offset: u32,
    /// ms the sample stands for: at most [`MAX_INTERVAL`], so it fits.
    weight: u32,
    viewers: i64,
}

/// A time-weighted sliding window over viewer samples: running sums for the
/// average and a monotonic queue for the peak, both updated on push/prune.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    span: TimeDelta,
    /// ms since the epoch that the samples' offsets count from.
    base: i64,
    /// In time order.
    samples: VecDeque<Sample>,
    /// Σ viewers × weight (exact integers: no drift from add-then-subtract).
    weighted: i128,
    /// Σ weight in ms.
    weight: i128,
    /// Candidates for the peak: (observed_at in ms, viewers), viewers
    /// strictly decreasing front to back.
    peak: VecDeque<(i64, i64)>,
}

impl Window {
    pub(crate) fn new(span: TimeDelta) -> Self {
        Self {
            span,
            base: 0,
            samples: VecDeque::new(),
            weighted: 0,
            weight: 0,
            peak: VecDeque::new(),
        }
    }

    /// `at` (ms) as an offset from `base`, which moves forward when an
    /// offset would not fit in a `u32` (49 days). Samples come in time
    /// order, and those that no longer fit are older than `at − span`:
    /// outside the window at any `now` from `at` on, so dropped first.
    fn offset(&mut self, at: i64) -> u32 {
        if self.samples.is_empty() {
            self.base = at;
        }
        if let Ok(offset) = u32::try_from(at - self.base) {
            return offset;
        }
        self.drop_through(at - self.span.num_milliseconds());
        let base = self.samples.front().map_or(at, |s| self.at(s));
        for s in &mut self.samples {
            s.offset = u32::try_from(i64::from(s.offset) + self.base - base).unwrap_or(0);
        }
        self.base = base;
        u32::try_from(at - base).unwrap_or(0)
    }

    /// A sample's time in ms since the epoch.
    fn at(&self, sample: &Sample) -> i64 {
        self.base + i64::from(sample.offset)
    }

    fn push(&mut self, at: DateTime<Utc>, viewers: i64, weight_ms: i64) {
        let at = ms(at);
        let weight = u32::try_from(weight_ms.max(0)).unwrap_or(u32::MAX);
        let offset = self.offset(at);
        self.samples.push_back(Sample {
            offset,
            weight,
            viewers,
        });
        self.weighted += i128::from(viewers) * i128::from(weight);
        self.weight += i128::from(weight);
        while self.peak.back().is_some_and(|&(_, v)| v <= viewers) {
            self.peak.pop_back();
        }
        self.peak.push_back((at, viewers));
    }

    /// Drops the samples at or before `cutoff` (ms).
    fn drop_through(&mut self, cutoff: i64) {
        while let Some(&s) = self.samples.front() {
            if self.at(&s) > cutoff {
                break;
            }
            self.samples.pop_front();
            self.weighted -= i128::from(s.viewers) * i128::from(s.weight);
            self.weight -= i128::from(s.weight);
        }
    }

    /// Drops samples at or before `now - span`.
    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = ms(now - self.span);
        self.drop_through(cutoff);
        while self.peak.front().is_some_and(|&(at, _)| at <= cutoff) {
            self.peak.pop_front();
        }
        shrink(&mut self.samples);
        shrink(&mut self.peak);
    }

    /// Time-weighted average viewers; the plain mean when every sample is
    /// weightless (a single first sample at the stream's start).
    pub(crate) fn avg(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        if self.weight > 0 {
            return Some(self.weighted as f64 / self.weight as f64);
        }
        let sum: i64 = self.samples.iter().map(|s| s.viewers).sum();
        Some(sum as f64 / self.samples.len() as f64)
    }

    pub(crate) fn peak(&self) -> Option<i64> {
        self.peak.front().map(|p| p.1)
    }
}

/// Follower totals over a window: gained = latest − earliest inside it.
#[derive(Debug, Clone)]
pub(crate) struct FollowerWindow {
    span: TimeDelta,
    /// (read at in ms, total).
    totals: VecDeque<(i64, i64)>,
}

impl FollowerWindow {
    fn new(span: TimeDelta) -> Self {
        Self {
            span,
            totals: VecDeque::new(),
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = ms(now - self.span);
        while self.totals.front().is_some_and(|&(at, _)| at <= cutoff) {
            self.totals.pop_front();
        }
        shrink(&mut self.totals);
    }

    fn push(&mut self, at: DateTime<Utc>, total: i64) {
        // A total equal to the one before it is redundant: `gained` reads
        // only the first and the newest, and an unchanged total (most
        // channels, most of the time) then costs one entry, not one per read.
        if self.totals.back().is_some_and(|&(_, t)| t == total) {
            self.totals.pop_back();
        }
        self.totals.push_back((ms(at), total));
    }

    pub(crate) fn gained(&self) -> Option<i64> {
        Some(self.totals.back()?.1 - self.totals.front()?.1)
    }
}

/// Everything remembered about one streamer between cycles.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub(crate) login: String,
    last_sample: Option<(DateTime<Utc>, String)>,
    /// Samples back to the newest one at or before now − 5 min.
    recent: VecDeque<(DateTime<Utc>, i64)>,
    pub(crate) hour: Window,
    pub(crate) followers_hour: FollowerWindow,
    /// The last 24 hours of viewers and followers.
    pub(crate) day: DayRing,
    pub(crate) followers_total: Option<(DateTime<Utc>, i64)>,
}

impl Tracked {
    pub(crate) fn new() -> Self {
        Self {
            login: String::new(),
            last_sample: None,
            recent: VecDeque::new(),
            hour: Window::new(TimeDelta::hours(1)),
            followers_hour: FollowerWindow::new(TimeDelta::hours(1)),
            day: DayRing::new(),
            followers_total: None,
        }
    }

    /// Records a viewer sample. A sample not newer than the last one (a
    /// replayed cycle) is ignored, so replays never double-count.
    pub(crate) fn sample(
        &mut self,
        login: &str,
        stream_id: &str,
        started_at: DateTime<Utc>,
        at: DateTime<Utc>,
        viewers: i64,
    ) {
        if self.last_sample.as_ref().is_some_and(|(t, _)| at <= *t) {
            return;
        }
        // Same rule as the sessionizer: since the previous sample of the same
        // stream, else since the new stream started (never before the
        // previous sample), capped.
        let since = match &self.last_sample {
            Some((t, s)) if s == stream_id => *t,
            Some((t, _)) => started_at.max(*t),
            None => started_at,
        };
        let weight = (at - since)
            .clamp(TimeDelta::zero(), MAX_INTERVAL)
            .num_milliseconds();
        login.clone_into(&mut self.login);
        // Reuses the id's buffer: a stream keeps its id for hours.
        match &mut self.last_sample {
            Some((t, s)) => {
                *t = at;
                stream_id.clone_into(s);
            }
            None => self.last_sample = Some((at, stream_id.to_owned())),
        }
        self.recent.push_back((at, viewers));
        self.hour.push(at, viewers, weight);
        self.day.sample(at, viewers, weight);
    }

    /// Records a follower total; older or equal timestamps are ignored.
    pub(crate) fn followers(&mut self, at: DateTime<Utc>, total: i64) {
        if self.followers_total.is_some_and(|(t, _)| at <= t) {
            return;
        }
        self.followers_total = Some((at, total));
        self.followers_hour.push(at, total);
        self.day.read(at, total);
    }

    /// Moves every window's edge to `now`.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = now - CHANGE_SPAN;
        while self.recent.len() >= 2 && self.recent[1].0 <= cutoff {
            self.recent.pop_front();
        }
        while self
            .recent
            .front()
            .is_some_and(|&(at, _)| at <= now - RETENTION)
        {
            self.recent.pop_front();
        }
        shrink(&mut self.recent);
        self.hour.prune(now);
        self.followers_hour.prune(now);
        self.day.prune(now);
    }

    /// `current` − viewers at (or nearest before) now − 5 min. None without a
    /// sample that old, or when the nearest one is older than now − 5 min −
    /// [`MAX_INTERVAL`] (the stream was off in between: not a 5-minute change).
    pub(crate) fn change_5m(&self, now: DateTime<Utc>, current: i64) -> Option<i64> {
        let cutoff = now - CHANGE_SPAN;
        let &(at, viewers) = self.recent.front()?;
        (at <= cutoff && at >= cutoff - MAX_INTERVAL).then_some(current - viewers)
    }

    /// Nothing left worth keeping (all windows are empty).
    pub(crate) fn is_idle(&self) -> bool {
        self.day.is_empty()
    }
}

mod day;
mod footprint;
use day::DayRing;
pub(crate) use day::oldest_start;
pub use footprint::Footprint;

#[cfg(test)]
mod tests;
