//! One observation, indexed once for every rule: the channels on air, off
//! air and with follower history; each live channel's viewer span per
//! distinct rule window and follower span per follower window; which live
//! channels each distinct scope covers; the top of the live ranking per
//! scope. Rules then scan flat arrays instead of each walking every
//! channel's samples (with 100,000 live streams and 50 rules that walk was
//! most of the cost).
use std::collections::{HashMap, HashSet};

mod scan;
pub(crate) use scan::Scan;

use super::channels::Channels;
use super::input::{ChatActivity, Observation, RisingStar};
use super::levels::{FollowerSpan, ViewerSpan, follower_span, viewer_span};
use super::par;
use super::rules::{Condition, RuleSet, Scope};
use super::state::{AlertState, Chan, Micros, micros_of};

/// A hash map on a fast hasher (keys are ids from Twitch, not attacker-chosen
/// in any way that matters here).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// A hash set on the same hasher.
pub(crate) type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// Chat is keyed by user id when known, else by login.
pub(crate) fn chat_key(c: &ChatActivity) -> &str {
    c.user_id.as_deref().unwrap_or(c.login.as_str())
}

pub(crate) fn in_scope(scope: &Scope, c: &Chan) -> bool {
    scope.is_all() || scope.matches(&c.login, &c.game_id, &c.game_name, &c.language)
}

/// Bit i set when `scopes[i]` covers `c`.
pub(crate) fn scope_bits(scopes: &[Scope], c: &Chan) -> u64 {
    scopes
        .iter()
        .enumerate()
        .filter(|(_, scope)| in_scope(scope, c))
        .fold(0, |bits, (i, _)| bits | 1 << i)
}

/// The live channels' figures, gathered by [`AlertState::ingest`] while
/// each channel's samples are in cache: a second walk over 100,000
/// channels' sample buffers costs a cache miss per channel.
pub(crate) struct LiveRows<'a> {
    /// True while the live set is exactly the observation's streams (in
    /// no particular order). An incomplete listing (channels missing from it stay live) or
    /// a channel listed twice makes it false: the frame then reads the
    /// channels instead.
    pub(crate) exact: bool,
    /// The user id of each stream, taken while its row is in cache.
    keys: Vec<&'a str>,
    /// (viewers, started_at) per stream.
    on_air: Vec<(i64, Micros)>,
    /// Scope bits per stream (see `AlertState::scopes`).
    bits: Vec<u64>,
    /// Per distinct (window, min_uptime) of the viewer rules: each stream's span.
    viewer_spans: Vec<((Micros, Micros), Vec<ViewerSpan>)>,
    /// Slots (see [`Channels::at`]) of the channels kept after the
    /// observation: on air (gathered only when not exact), off air since a
    /// known time, and with at least two follower samples.
    live_slots: Vec<u32>,
    offline_slots: Vec<u32>,
    follower_slots: Vec<u32>,
}

impl<'a> LiveRows<'a> {
    pub(crate) fn new(rules: &RuleSet, streams: usize, complete: bool) -> Self {
        let mut keys: Vec<(Micros, Micros)> = rules
            .rules()
            .iter()
            .filter_map(|r| match &r.condition {
                Condition::Viewers {
                    window, min_uptime, ..
                } => Some((micros_of(*window), micros_of(*min_uptime))),
                _ => None,
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let cap = if complete { streams } else { 0 };
        Self {
            exact: complete,
            keys: Vec::with_capacity(cap),
            on_air: Vec::with_capacity(cap),
            bits: Vec::with_capacity(cap),
            viewer_spans: keys
                .into_iter()
                .map(|k| (k, Vec::with_capacity(cap)))
                .collect(),
            live_slots: Vec::new(),
            offline_slots: Vec::new(),
            follower_slots: Vec::new(),
        }
    }

    /// Notes a channel kept at `slot` once the observation is taken in, so
    /// that the frame need not walk every channel again.
    pub(crate) fn index(&mut self, slot: u32, c: &Chan) {
        if c.live.is_some() {
            if !self.exact {
                self.live_slots.push(slot);
            }
        } else if c.offline_since.is_some() {
            self.offline_slots.push(slot);
        }
        if c.followers.len() >= 2 {
            self.follower_slots.push(slot);
        }
    }

    /// The next stream of the observation, just taken in (its channel `c`
    /// with scope bits `bits`).
    pub(crate) fn push_stream(&mut self, key: &'a str, c: &Chan, bits: u64, now: Micros) {
        if c.live.is_some() {
            self.keys.push(key);
            self.push(c, bits, now);
        }
    }

    /// The next live channel with its scope bits.
    fn push(&mut self, c: &Chan, bits: u64, now: Micros) {
        let Some(l) = &c.live else {
            return;
        };
        self.on_air.push((l.viewers, l.started_at));
        self.bits.push(bits);
        for ((window, min_uptime), spans) in &mut self.viewer_spans {
            spans.push(viewer_span(c, now, *window, *min_uptime));
        }
    }

    /// Adds the rows gathered from another part of the streams.
    pub(crate) fn append(&mut self, mut more: LiveRows<'a>) {
        if !(self.exact && more.exact) {
            self.inexact();
            return;
        }
        self.keys.append(&mut more.keys);
        self.on_air.append(&mut more.on_air);
        self.bits.append(&mut more.bits);
        for (mine, theirs) in self.viewer_spans.iter_mut().zip(&mut more.viewer_spans) {
            mine.1.append(&mut theirs.1);
        }
    }

    /// The rows cannot stand for the live set this cycle: what was gathered
    /// is dropped, and the frame gathers from the channels instead.
    pub(crate) fn inexact(&mut self) {
        self.exact = false;
        self.keys.clear();
        self.on_air.clear();
        self.bits.clear();
        self.viewer_spans.iter_mut().for_each(|s| s.1.clear());
    }
}

/// The indexes of one observation.
pub(crate) struct Frame<'a> {
    pub(crate) obs: &'a Observation,
    pub(crate) channels: &'a Channels,
    pub(crate) now: Micros,
    /// Keys of the channels on air, in no particular order.
    live: Vec<&'a str>,
    rows: LiveRows<'a>,
    offline: Vec<(&'a str, &'a Chan)>,
    with_followers: Vec<(&'a str, &'a Chan)>,
    /// Per distinct window of the follower rules: the follower span of
    /// each channel in `with_followers`.
    follower_spans: Vec<(Micros, Vec<FollowerSpan>)>,
    /// Per distinct scope (other than all) of the rules over live
    /// channels: whether it covers each channel in `live`.
    scopes: Vec<(&'a Scope, Vec<bool>)>,
    /// Per distinct scope of the top-N rules: its live channels by viewers
    /// descending (id breaks ties), as many as its longest rule reads.
    tops: Vec<(&'a Scope, Vec<(i64, &'a str)>)>,
    pub(crate) stars: Option<FastMap<&'a str, &'a RisingStar>>,
    pub(crate) chat: Option<FastMap<&'a str, &'a ChatActivity>>,
}

impl<'a> Frame<'a> {
    /// The frame of `obs` once `state` has taken it in, gathering `rows`.
    pub(crate) fn new(
        rules: &'a RuleSet,
        state: &'a AlertState,
        obs: &'a Observation,
        mut rows: LiveRows<'a>,
    ) -> Self {
        let now = state.now;
        let mut live = std::mem::take(&mut rows.keys);
        let reads = |f: fn(&Condition) -> bool| rules.rules().iter().any(|r| f(&r.condition));
        let channels = &state.channels;
        let (mut offline, mut with_followers) = (Vec::new(), Vec::new());
        if reads(|c| matches!(c, Condition::WentOffline { .. })) {
            offline = rows.offline_slots.iter().map(|&s| channels.at(s)).collect();
        }
        if reads(|c| matches!(c, Condition::Followers { .. })) {
            with_followers = rows
                .follower_slots
                .iter()
                .map(|&s| channels.at(s))
                .collect();
        }
        for slot in std::mem::take(&mut rows.live_slots) {
            let (k, c) = channels.at(slot);
            live.push(k);
            // Bits from an earlier set of rules are recomputed.
            let bits = if c.scope_epoch == state.scope_epoch {
                c.scope_bits
            } else {
                scope_bits(&state.scopes, c)
            };
            rows.push(c, bits, now);
        }
        let mut frame = Self {
            obs,
            channels: &state.channels,
            now,
            live,
            rows,
            offline,
            with_followers,
            follower_spans: Vec::new(),
            scopes: Vec::new(),
            tops: Vec::new(),
            stars: obs
                .rising_stars
                .as_ref()
                .map(|v| v.iter().map(|s| (s.user_id.as_str(), s)).collect()),
            chat: obs
                .chat
                .as_ref()
                .map(|v| v.iter().map(|c| (chat_key(c), c)).collect()),
        };
        frame.index(rules, state);
        frame
    }

    /// Follower spans, scope masks and top lists for what `rules` read.
    fn index(&mut self, rules: &'a RuleSet, state: &AlertState) {
        let mut windows = Vec::new();
        let mut tops: Vec<(&'a Scope, usize)> = Vec::new();
        let mut scopes: Vec<&'a Scope> = Vec::new();
        for rule in rules.rules() {
            match &rule.condition {
                Condition::Followers { window, .. } => windows.push(micros_of(*window)),
                Condition::TopN { n, margin } => match tops.iter_mut().find(|t| *t.0 == rule.scope)
                {
                    Some(t) => t.1 = t.1.max(n + margin),
                    None => tops.push((&rule.scope, n + margin)),
                },
                Condition::WentLive { .. } | Condition::Viewers { .. } => {}
                _ => continue,
            }
            if !rule.scope.is_all() && !scopes.contains(&&rule.scope) {
                scopes.push(&rule.scope);
            }
        }
        windows.sort_unstable();
        windows.dedup();
        // Scope masks and follower spans (by ranges of channels), then the
        // top lists (which read the masks), each on any core.
        let n = self.with_followers.len();
        let ranges = if windows.is_empty() {
            Vec::new()
        } else {
            par::ranges(n, par::parts(n))
        };
        let jobs = scopes
            .into_iter()
            .map(Job::Mask)
            .chain(ranges.into_iter().map(Job::Spans))
            .collect();
        let cost = |job: &Job| match job {
            Job::Mask(_) => self.live.len(),
            Job::Spans(r) => r.len() * 4,
        };
        let done = par::map(jobs, cost, |job| match job {
            Job::Mask(scope) => Done::Mask(scope, self.scope_mask(scope, state)),
            Job::Spans(r) => {
                let mut spans: Vec<Vec<FollowerSpan>> = windows
                    .iter()
                    .map(|_| Vec::with_capacity(r.len()))
                    .collect();
                for (_, c) in &self.with_followers[r] {
                    for (w, spans) in windows.iter().zip(&mut spans) {
                        spans.push(follower_span(c, self.now, *w));
                    }
                }
                Done::Spans(spans)
            }
        });
        self.follower_spans = windows
            .iter()
            .map(|&w| (w, Vec::with_capacity(n)))
            .collect();
        for d in done {
            match d {
                Done::Mask(scope, mask) => self.scopes.push((scope, mask)),
                Done::Spans(spans) => {
                    for (all, mut part) in self.follower_spans.iter_mut().zip(spans) {
                        all.1.append(&mut part);
                    }
                }
            }
        }
        let this = &*self;
        let ranked = par::map(
            tops,
            |_| this.live.len(),
            |(scope, keep)| {
                let mask = this.mask(scope);
                let rows = this.live.iter().zip(&this.rows.on_air).enumerate();
                let ranked = top(
                    rows.filter(|(i, _)| mask.is_none_or(|m| m[*i]))
                        .map(|(_, (k, (viewers, _)))| (*viewers, *k)),
                    keep,
                );
                (scope, ranked)
            },
        );
        self.tops = ranked;
    }

    /// Whether `scope` covers each live channel: its bit in the channels'
    /// scope bits, or (past 64 distinct scopes) a match of each channel.
    fn scope_mask(&self, scope: &Scope, state: &AlertState) -> Vec<bool> {
        match state.scopes.iter().position(|s| s == scope) {
            Some(b) => self
                .rows
                .bits
                .iter()
                .map(|bits| bits >> b & 1 == 1)
                .collect(),
            None => self
                .live
                .iter()
                .map(|k| self.channels.get(k).is_some_and(|c| in_scope(scope, c)))
                .collect(),
        }
    }

    /// Which live channels `scope` covers (`None`: all).
    fn mask(&self, scope: &Scope) -> Option<&[bool]> {
        if scope.is_all() {
            return None;
        }
        self.scopes
            .iter()
            .find(|s| s.0 == scope)
            .map(|s| s.1.as_slice())
    }

    /// How many channels are on air.
    pub(crate) fn live_len(&self) -> usize {
        self.live.len()
    }

    /// The live ranking of `scope`: key → (rank, viewers) down to rank `len`.
    pub(crate) fn ranks(&self, scope: &Scope, len: usize) -> FastMap<&'a str, (usize, i64)> {
        let top = self.tops.iter().find(|t| t.0 == scope);
        top.map(|t| &t.1[..len.min(t.1.len())])
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, &(v, k))| (k, (i + 1, v)))
            .collect()
    }
}

/// A part of [`Frame::index`]'s work.
enum Job<'a> {
    Mask(&'a Scope),
    /// The follower spans of these channels of `with_followers`.
    Spans(std::ops::Range<usize>),
}

enum Done<'a> {
    Mask(&'a Scope, Vec<bool>),
    /// Per follower window, the span of each channel of the range.
    Spans(Vec<Vec<FollowerSpan>>),
}

/// The first `keep` of `rows` by viewers descending, id breaking ties (so
/// ranks are stable), in that order. One pass with a bounded heap: most
/// rows lose to the weakest kept one on viewers alone.
fn top<'a>(rows: impl Iterator<Item = (i64, &'a str)>, keep: usize) -> Vec<(i64, &'a str)> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // Ordered so that the heap's greatest element is the weakest kept.
    let mut heap: BinaryHeap<(Reverse<i64>, &'a str)> = BinaryHeap::with_capacity(keep + 1);
    for (viewers, key) in rows {
        if heap.len() < keep {
            heap.push((Reverse(viewers), key));
        } else if let Some(mut weakest) = heap.peek_mut()
            && (viewers > weakest.0.0 || (viewers == weakest.0.0 && key < weakest.1))
        {
            *weakest = (Reverse(viewers), key);
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .map(|(Reverse(viewers), key)| (viewers, key))
        .collect()
}
