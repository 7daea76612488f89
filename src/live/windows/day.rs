//! The 24-hour window of one streamer: a ring of [`STEP`]s (clock hours),
//! allocated whole when the streamer is first seen and never grown, holding
//! the viewer sums, the peak and the follower totals of each hour.
//!
//! A ring is 25 steps of 28 bytes (700 bytes), resident from its first
//! write, so the views hold what they will hold for as many streamers as
//! are tracked from the first hour on, instead of growing step by step
//! until midnight. Before (10-minute steps in queues), 100,000 streamers
//! live all day took the views from 302 MiB at the first hundred cycles to
//! 768 MiB at the close, 514 MiB of it the day's steps, their peaks and
//! follower totals, where the rings take 67 MiB all day. A streamer seen once costs the whole ring for a day, and the 24 hours
//! have an edge an hour wide (see [`DayRing`]).
use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::{RETENTION, STEP, ms, shrink};

const STEP_MS: i64 = STEP.num_milliseconds();

/// The steps that overlap the last 24 hours: the current one, and the 24
/// before it (the oldest holds the 24-hour cut).
const SLOTS: usize = (RETENTION.num_minutes() / STEP.num_minutes()) as usize + 1;
const SPAN: i64 = SLOTS as i64;

/// [`Slot::bits`] above the weight: the step has a viewer sample, a
/// follower read.
const SAMPLED: u32 = 1 << 31;
const READ: u32 = 1 << 30;
/// [`Slot::bits`] below the flags: the step's weight in ms. A step's weights
/// add up to at most a step and one `MAX_INTERVAL` (70 minutes, under 2^23).
const WEIGHT: u32 = READ - 1;

/// The step `at` (ms since the epoch) falls in, counted from the epoch.
pub(crate) fn step_of(at: i64) -> i64 {
    at.div_euclid(STEP_MS)
}

/// The oldest step a window at `now` holds: the one the 24-hour cut falls in.
fn oldest_step(now: DateTime<Utc>) -> i64 {
    step_of(ms(now - RETENTION))
}

/// When the oldest step a window at `now` holds begins.
pub(crate) fn oldest_start(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(oldest_step(now).saturating_mul(STEP_MS))
        .unwrap_or(now - RETENTION)
}

fn slot_of(step: i64) -> usize {
    step.rem_euclid(SPAN) as usize
}

/// One step of a ring: 28 bytes (`packed(4)` spares the 4 bytes of padding
/// an `i64` beside a `u32` would take). Fields are read by copying the
/// whole slot, never borrowed. An empty slot is all zeros.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, packed(4))]
struct Slot {
    /// Σ viewers × weight in ms. It saturates rather than overflows: only
    /// viewer counts far beyond any stream's (~10^12) reach the bound.
    weighted: i64,
    /// The most viewers of a sample in the step.
    peak: i64,
    /// The first follower total read in the step.
    first_total: i64,
    /// The weight ([`WEIGHT`]) and the flags [`SAMPLED`] and [`READ`].
    bits: u32,
}

/// Viewers and followers over the steps that overlap the last 24 hours:
/// the current clock hour and the 24 before it, so the window reaches back
/// 24 to 25 hours. Running sums for the average; the peak is looked for
/// again among the 25 steps only when its own step leaves.
#[derive(Debug, Clone)]
pub(crate) struct DayRing {
    slots: Box<[Slot; SLOTS]>,
    /// The oldest and newest steps the ring may hold (fewer than [`SLOTS`]
    /// apart); every slot outside them is empty.
    span: Option<(i64, i64)>,
    /// Σ of the steps' `weighted` and weights: exact, the window's sums
    /// move by what a step's moved by.
    weighted: i128,
    weight: i128,
    /// The peak, as (step, viewers): the newest step with that many.
    peak: Option<(i64, i64)>,
    /// The samples of weight 0, as (step, viewers), for the plain mean of a
    /// window whose every sample is weightless (as `Window::avg`): only the
    /// first sample of a stream can be, so this is nearly always empty.
    weightless: VecDeque<(i64, i64)>,
    /// The oldest step with a follower read.
    first_read: Option<i64>,
    /// The newest follower total.
    newest_total: i64,
}

impl DayRing {
    pub(crate) fn new() -> Self {
        Self {
            slots: Box::new([Slot::default(); SLOTS]),
            span: None,
            weighted: 0,
            weight: 0,
            peak: None,
            weightless: VecDeque::new(),
            first_read: None,
            newest_total: 0,
        }
    }

    /// Records a viewer sample of `weight_ms` (never negative: a negative
    /// one counts as 0).
    pub(crate) fn sample(&mut self, at: DateTime<Utc>, viewers: i64, weight_ms: i64) {
        let weight_ms = weight_ms.max(0);
        let step = step_of(ms(at));
        let Some(slot) = self.slot(step) else { return };
        let before = *slot;
        let fresh = before.bits & SAMPLED == 0;
        let weight = (before.bits & WEIGHT)
            .saturating_add(u32::try_from(weight_ms).unwrap_or(WEIGHT))
            .min(WEIGHT);
        let (weighted, peak) = (before.weighted, before.peak);
        let after = Slot {
            weighted: weighted.saturating_add(viewers.saturating_mul(weight_ms)),
            peak: if fresh { viewers } else { peak.max(viewers) },
            first_total: before.first_total,
            bits: (before.bits & READ) | SAMPLED | weight,
        };
        *slot = after;
        self.weighted += i128::from(after.weighted) - i128::from(weighted);
        self.weight += i128::from(weight) - i128::from(before.bits & WEIGHT);
        if weight_ms == 0 {
            self.weightless.push_back((step, viewers));
        }
        if self
            .peak
            .is_none_or(|(s, p)| viewers > p || (viewers == p && step >= s))
        {
            self.peak = Some((step, viewers));
        }
    }

    /// Records a follower total, read in time order.
    pub(crate) fn read(&mut self, at: DateTime<Utc>, total: i64) {
        let step = step_of(ms(at));
        let Some(slot) = self.slot(step) else { return };
        if slot.bits & READ == 0 {
            slot.bits |= READ;
            slot.first_total = total;
        }
        self.newest_total = total;
        if self.first_read.is_none_or(|first| step < first) {
            self.first_read = Some(step);
        }
    }

    /// The slot of `step`. A newer step than the ring's newest first drops
    /// the steps a ring's length or more before it (outside any 24 hours
    /// that include it). None for a step that old itself.
    fn slot(&mut self, step: i64) -> Option<&mut Slot> {
        match self.span {
            Some((_, newest)) if step <= newest - SPAN => return None,
            Some((_, newest)) if step > newest => {
                self.drop_before(step - SPAN + 1);
                let oldest = self.span.map_or(step, |(oldest, _)| oldest);
                self.span = Some((oldest, step));
            }
            Some((oldest, newest)) => self.span = Some((oldest.min(step), newest)),
            None => self.span = Some((step, step)),
        }
        Some(&mut self.slots[slot_of(step)])
    }

    /// Moves the window's edge to `now`: drops the steps that end at or
    /// before `now` − 24 h.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        self.drop_before(oldest_step(now));
    }

    /// Drops the steps before `keep`.
    fn drop_before(&mut self, keep: i64) {
        let Some((oldest, newest)) = self.span else {
            return;
        };
        if oldest >= keep {
            return;
        }
        for step in oldest..keep.min(newest + 1) {
            let slot = std::mem::take(&mut self.slots[slot_of(step)]);
            self.weighted -= i128::from(slot.weighted);
            self.weight -= i128::from(slot.bits & WEIGHT);
        }
        self.span = (keep <= newest).then_some((keep, newest));
        if self.peak.is_some_and(|(step, _)| step < keep) {
            let peak = self
                .steps()
                .filter(|(_, s)| s.bits & SAMPLED != 0)
                .map(|(step, s)| (step, s.peak))
                .max_by_key(|&(step, viewers)| (viewers, step));
            self.peak = peak;
        }
        if self.first_read.is_some_and(|step| step < keep) {
            let first = self.steps().find(|(_, s)| s.bits & READ != 0);
            self.first_read = first.map(|(step, _)| step);
        }
        while self
            .weightless
            .front()
            .is_some_and(|&(step, _)| step < keep)
        {
            self.weightless.pop_front();
        }
        shrink(&mut self.weightless);
        if self.is_empty() {
            self.span = None;
        }
    }

    /// The steps the ring may hold, oldest first, with their slots.
    fn steps(&self) -> impl Iterator<Item = (i64, Slot)> + use<'_> {
        let (oldest, newest) = self.span.unwrap_or((1, 0));
        (oldest..=newest).map(|step| (step, self.slots[slot_of(step)]))
    }

    /// No sample and no read left.
    pub(crate) fn is_empty(&self) -> bool {
        self.peak.is_none() && self.first_read.is_none()
    }

    /// Time-weighted average viewers; the plain mean when every sample is
    /// weightless (a single first sample at the stream's start).
    pub(crate) fn avg(&self) -> Option<f64> {
        self.peak?;
        if self.weight > 0 {
            return Some(self.weighted as f64 / self.weight as f64);
        }
        let sum: i128 = self.weightless.iter().map(|w| i128::from(w.1)).sum();
        Some(sum as f64 / self.weightless.len().max(1) as f64)
    }

    pub(crate) fn peak(&self) -> Option<i64> {
        self.peak.map(|(_, viewers)| viewers)
    }

    /// The newest follower total − the first total of the oldest step with
    /// a read.
    pub(crate) fn gained(&self) -> Option<i64> {
        let first = self.slots[slot_of(self.first_read?)].first_total;
        Some(self.newest_total - first)
    }

    /// Bytes held: the ring and the weightless samples' room.
    pub(crate) fn footprint(&self) -> usize {
        std::mem::size_of::<[Slot; SLOTS]>()
            + self.weightless.capacity() * std::mem::size_of::<(i64, i64)>()
    }

    /// Steps with a sample or a read.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.steps().filter(|(_, s)| s.bits != 0).count()
    }
}

#[cfg(test)]
mod tests;
