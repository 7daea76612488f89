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
/// The 24-hour windows keep sums per step of this width, not samples: a
/// streamer live all day costs 144 steps instead of 1,440 samples, and the
/// views' memory stops growing with the samples of the day (20,000 live
/// streams kept ~1 GB of day samples after 18 hours). The window holds every
/// step with a sample in the last 24 hours, so it reaches back up to one
/// step further than 24 hours.
pub(crate) const STEP: TimeDelta = TimeDelta::minutes(10);
/// Times inside the windows are kept as ms since the epoch (`i64`): half the
/// size of a `DateTime` beside an `i64`, once alignment is counted, in
/// structures held per streamer and per step.
fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The most steps a 24-hour window holds: a step per [`STEP`] of
/// [`RETENTION`], plus the partial steps at both ends.
const DAY_STEPS: usize = (RETENTION.num_minutes() / STEP.num_minutes()) as usize + 2;

/// Appends a step to a 24-hour window's deque, growing it by doubling as
/// usual but never past [`DAY_STEPS`] while the window stays within them:
/// doubling 128 steps would make room for 256, of which a day uses 146.
fn push_step<T>(steps: &mut VecDeque<T>, step: T) {
    if steps.len() == steps.capacity() && steps.len() < DAY_STEPS {
        steps.reserve_exact(steps.len().max(4).min(DAY_STEPS - steps.len()));
    }
    steps.push_back(step);
}

/// Gives back a window's spare room once it uses under a quarter of it. A
/// deque keeps the capacity of its busiest stretch, so without this every
/// channel seen in the last day held an hour of samples and a day of steps
/// long after its stream had ended (measured with a heap profile, see
/// `docs/heap-profiling.md`).
fn shrink<T>(deque: &mut VecDeque<T>) {
    if deque.capacity() > 8 && deque.len() <= deque.capacity() / 4 {
        deque.shrink_to(deque.len() * 2);
    }
}

/// A time-weighted sliding window over viewer samples: running sums for the
/// average and a monotonic queue for the peak, both updated on push/prune.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    span: TimeDelta,
    /// (observed_at in ms, viewers, weight in ms) in time order.
    samples: VecDeque<(i64, i64, i64)>,
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
            samples: VecDeque::new(),
            weighted: 0,
            weight: 0,
            peak: VecDeque::new(),
        }
    }

    fn push(&mut self, at: DateTime<Utc>, viewers: i64, weight_ms: i64) {
        let at = ms(at);
        self.samples.push_back((at, viewers, weight_ms));
        self.weighted += i128::from(viewers) * i128::from(weight_ms);
        self.weight += i128::from(weight_ms);
        while self.peak.back().is_some_and(|&(_, v)| v <= viewers) {
            self.peak.pop_back();
        }
        self.peak.push_back((at, viewers));
    }

    /// Drops samples at or before `now - span`.
    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = ms(now - self.span);
        while let Some(&(at, viewers, w)) = self.samples.front() {
            if at > cutoff {
                break;
            }
            self.samples.pop_front();
            self.weighted -= i128::from(viewers) * i128::from(w);
            self.weight -= i128::from(w);
        }
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
        let sum: i64 = self.samples.iter().map(|s| s.1).sum();
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
        // See `StepTotals::push`: a total equal to the next one's is
        // redundant.
        if self.totals.back().is_some_and(|&(_, t)| t == total) {
            self.totals.pop_back();
        }
        self.totals.push_back((ms(at), total));
    }

    pub(crate) fn gained(&self) -> Option<i64> {
        Some(self.totals.back()?.1 - self.totals.front()?.1)
    }
}

/// Start of the step that `at` (ms since the epoch) falls in.
fn step_of(at: i64) -> i64 {
    at.div_euclid(STEP.num_milliseconds())
        .saturating_mul(STEP.num_milliseconds())
}

/// One [`STEP`] of a [`StepWindow`]: the sums of its samples, in 24 bytes
/// (a streamer live all day holds 146 of them; at 100,000 such streamers
/// the 64 bytes these took before were most of the views' memory).
#[derive(Debug, Clone)]
struct Step {
    /// Its newest sample, in ms: the step leaves the window with it, and
    /// starts at [`step_of`] it.
    last: i64,
    /// Σ viewers × weight in ms. It saturates rather than overflows: only
    /// viewer counts far beyond any stream's (~10^12) reach the bound.
    weighted: i64,
    /// Σ weight in ms: at most a step and one [`MAX_INTERVAL`].
    weight: u32,
}

/// [`Window`] over [`RETENTION`] in [`STEP`]s: the same running sums and
/// peak queue, over steps instead of samples.
#[derive(Debug, Clone)]
pub(crate) struct StepWindow {
    steps: VecDeque<Step>,
    weighted: i128,
    weight: i128,
    /// Candidates for the peak: (step, viewers), viewers strictly
    /// decreasing front to back.
    peak: VecDeque<(i64, i64)>,
    /// The samples of weight 0, as (step, viewers), for the plain mean of
    /// a window whose every sample is weightless ([`Window::avg`]): only
    /// the first sample of a stream can be, so this is nearly always
    /// empty, and the steps need no sums of viewers and samples.
    weightless: VecDeque<(i64, i64)>,
}

impl StepWindow {
    fn new() -> Self {
        Self {
            steps: VecDeque::new(),
            weighted: 0,
            weight: 0,
            peak: VecDeque::new(),
            weightless: VecDeque::new(),
        }
    }

    fn push(&mut self, at: DateTime<Utc>, viewers: i64, weight_ms: i64) {
        // Weights are never negative (`Tracked::sample` clamps them); a
        // step's weight is unsigned.
        let weight_ms = weight_ms.max(0);
        let at = ms(at);
        let start = step_of(at);
        if self.steps.back().is_none_or(|s| step_of(s.last) != start) {
            let step = Step {
                last: at,
                weighted: 0,
                weight: 0,
            };
            push_step(&mut self.steps, step);
        }
        if let Some(step) = self.steps.back_mut() {
            // The window's sums move by what the step's moved by, so they
            // stay the sums of the steps even where a step saturated.
            let (weighted, weight) = (step.weighted, step.weight);
            step.last = at;
            step.weighted = weighted.saturating_add(viewers.saturating_mul(weight_ms));
            step.weight = weight.saturating_add(u32::try_from(weight_ms).unwrap_or(u32::MAX));
            self.weighted += i128::from(step.weighted) - i128::from(weighted);
            self.weight += i128::from(step.weight - weight);
        }
        if weight_ms == 0 {
            self.weightless.push_back((start, viewers));
        }
        while self.peak.back().is_some_and(|&(_, v)| v <= viewers) {
            self.peak.pop_back();
        }
        // A step's candidates leave together, so one below another of its
        // own step can never be the peak: a stream whose audience falls
        // for hours keeps a candidate per step, not one per sample.
        if self.peak.back().is_none_or(|&(s, _)| s != start) {
            push_step(&mut self.peak, (start, viewers));
        }
    }

    /// Drops the steps whose newest sample is at or before `now` − 24 h.
    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = ms(now - RETENTION);
        while let Some(step) = self.steps.front() {
            if step.last > cutoff {
                break;
            }
            self.weighted -= i128::from(step.weighted);
            self.weight -= i128::from(step.weight);
            self.steps.pop_front();
        }
        // What was kept per sample leaves with its step.
        let oldest = self.steps.front().map_or(i64::MAX, |s| step_of(s.last));
        for kept in [&mut self.peak, &mut self.weightless] {
            while kept.front().is_some_and(|&(start, _)| start < oldest) {
                kept.pop_front();
            }
            shrink(kept);
        }
        shrink(&mut self.steps);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// As [`Window::avg`].
    pub(crate) fn avg(&self) -> Option<f64> {
        if self.steps.is_empty() {
            return None;
        }
        if self.weight > 0 {
            return Some(self.weighted as f64 / self.weight as f64);
        }
        let sum: i128 = self.weightless.iter().map(|w| i128::from(w.1)).sum();
        Some(sum as f64 / self.weightless.len().max(1) as f64)
    }

    pub(crate) fn peak(&self) -> Option<i64> {
        self.peak.front().map(|p| p.1)
    }
}

/// One [`STEP`] of a [`StepTotals`]: (the first total read in it, its
/// newest read in ms). The step leaves the window with its newest read,
/// and starts at [`step_of`] it.
type TotalStep = (i64, i64);

/// [`FollowerWindow`] over [`RETENTION`] in [`STEP`]s: per step its first
/// total and its newest read, and the newest total of all (the only one of
/// the steps' newest totals that `gained` needs).
#[derive(Debug, Clone)]
pub(crate) struct StepTotals {
    steps: VecDeque<TotalStep>,
    newest: i64,
}

impl StepTotals {
    fn new() -> Self {
        Self {
            steps: VecDeque::new(),
            newest: 0,
        }
    }

    /// Records a total. A step that starts with the same total as the step
    /// after it is dropped when that one begins: whichever of the two is the
    /// oldest left in the window, the window's first total is the same, so
    /// `gained` never tells them apart — and a total that does not change
    /// (most channels, most of the time, above all offline) then costs one
    /// step rather than one per read.
    fn push(&mut self, at: DateTime<Utc>, total: i64) {
        let at = ms(at);
        self.newest = total;
        match self.steps.back_mut() {
            Some(step) if step_of(step.1) == step_of(at) => step.1 = at,
            Some(step) if step.0 == total => *step = (total, at),
            _ => push_step(&mut self.steps, (total, at)),
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = ms(now - RETENTION);
        while self.steps.front().is_some_and(|s| s.1 <= cutoff) {
            self.steps.pop_front();
        }
        shrink(&mut self.steps);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub(crate) fn gained(&self) -> Option<i64> {
        Some(self.newest - self.steps.front()?.0)
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
    pub(crate) day: StepWindow,
    pub(crate) followers_hour: FollowerWindow,
    pub(crate) followers_day: StepTotals,
    pub(crate) followers_total: Option<(DateTime<Utc>, i64)>,
}

impl Tracked {
    pub(crate) fn new() -> Self {
        Self {
            login: String::new(),
            last_sample: None,
            recent: VecDeque::new(),
            hour: Window::new(TimeDelta::hours(1)),
            day: StepWindow::new(),
            followers_hour: FollowerWindow::new(TimeDelta::hours(1)),
            followers_day: StepTotals::new(),
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
        self.day.push(at, viewers, weight);
    }

    /// Records a follower total; older or equal timestamps are ignored.
    pub(crate) fn followers(&mut self, at: DateTime<Utc>, total: i64) {
        if self.followers_total.is_some_and(|(t, _)| at <= t) {
            return;
        }
        self.followers_total = Some((at, total));
        self.followers_hour.push(at, total);
        self.followers_day.push(at, total);
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
        self.day.prune(now);
        self.followers_hour.prune(now);
        self.followers_day.prune(now);
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
        self.day.is_empty() && self.followers_day.is_empty()
    }
}

mod footprint;
pub use footprint::Footprint;

#[cfg(test)]
mod tests;
