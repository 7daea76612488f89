//! One observation, indexed once for every rule: the channels on air, off
//! air and with follower history; each live channel's viewer span per
//! distinct rule window and follower span per follower window; which live
//! channels each distinct scope covers; the top of the live ranking per
//! scope. Rules then scan flat arrays instead of each walking every
//! channel's samples (with 100,000 live streams and 50 rules that walk was
//! most of the cost).
use std::collections::{HashMap, HashSet};

use super::channels::Channels;
use super::figures::Fig;
use super::input::{ChatActivity, Observation, RisingStar};
use super::levels::{
    FollowerSpan, Level, ViewerSpan, chan_level, follower_span, followers_level, live_level,
    viewer_span, viewers_level,
};
use super::rules::{Condition, Rule, RuleSet, Scope};
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
pub(crate) struct LiveRows {
    /// True while the live set is exactly the observation's streams, in
    /// order. An incomplete listing (channels missing from it stay live) or
    /// a channel listed twice makes it false: the frame then reads the
    /// channels instead.
    pub(crate) exact: bool,
    /// (viewers, started_at) per stream.
    on_air: Vec<(i64, Micros)>,
    /// Scope bits per stream (see `AlertState::scopes`).
    bits: Vec<u64>,
    /// Per distinct (window, min_uptime) of the viewer rules: each stream's span.
    viewer_spans: Vec<((Micros, Micros), Vec<ViewerSpan>)>,
}

impl LiveRows {
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
            on_air: Vec::with_capacity(cap),
            bits: Vec::with_capacity(cap),
            viewer_spans: keys
                .into_iter()
                .map(|k| (k, Vec::with_capacity(cap)))
                .collect(),
        }
    }

    /// The next live channel, just taken in, with its scope bits.
    pub(crate) fn push(&mut self, c: &Chan, bits: u64, now: Micros) {
        let Some(l) = &c.live else {
            return;
        };
        self.on_air.push((l.viewers, l.started_at));
        self.bits.push(bits);
        for ((window, min_uptime), spans) in &mut self.viewer_spans {
            spans.push(viewer_span(c, now, *window, *min_uptime));
        }
    }

    /// The rows cannot stand for the live set this cycle: what was gathered
    /// is dropped, and the frame gathers from the channels instead.
    pub(crate) fn inexact(&mut self) {
        self.exact = false;
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
    rows: LiveRows,
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

/// What one rule's scan found this cycle.
pub(crate) struct Scan<'a> {
    /// Every key whose level is `Fire`, in no particular order.
    pub(crate) hits: Vec<(&'a str, Fig)>,
    /// Every key at `Hold`, when the scan covers every key that is not
    /// `Clear`; `None` when the levels of other keys must be looked up.
    pub(crate) holds: Option<FastSet<&'a str>>,
}

impl<'a> Frame<'a> {
    /// The frame of `obs` once `state` has taken it in, gathering `rows`.
    pub(crate) fn new(
        rules: &'a RuleSet,
        state: &'a AlertState,
        obs: &'a Observation,
        mut rows: LiveRows,
    ) -> Self {
        let now = state.now;
        let mut live = Vec::new();
        if rows.exact {
            live = obs.streams.iter().map(|s| s.user_id.as_str()).collect();
        }
        let reads = |f: fn(&Condition) -> bool| rules.rules().iter().any(|r| f(&r.condition));
        let offline_rules = reads(|c| matches!(c, Condition::WentOffline { .. }));
        let follower_rules = reads(|c| matches!(c, Condition::Followers { .. }));
        let (mut offline, mut with_followers) = (Vec::new(), Vec::new());
        if !rows.exact || offline_rules || follower_rules {
            for (k, c) in state.channels.iter() {
                if c.live.is_some() {
                    if !rows.exact {
                        live.push(k);
                        // Bits from an earlier set of rules are recomputed.
                        let bits = if c.scope_epoch == state.scope_epoch {
                            c.scope_bits
                        } else {
                            scope_bits(&state.scopes, c)
                        };
                        rows.push(c, bits, now);
                    }
                } else if c.offline_since.is_some() && offline_rules {
                    offline.push((k, c));
                }
                if c.followers.len() >= 2 && follower_rules {
                    with_followers.push((k, c));
                }
            }
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
        let mut follower_keys = Vec::new();
        let mut tops: Vec<(&'a Scope, usize)> = Vec::new();
        for rule in rules.rules() {
            match &rule.condition {
                Condition::Followers { window, .. } => follower_keys.push(micros_of(*window)),
                Condition::TopN { n, margin } => match tops.iter_mut().find(|t| *t.0 == rule.scope)
                {
                    Some(t) => t.1 = t.1.max(n + margin),
                    None => tops.push((&rule.scope, n + margin)),
                },
                Condition::WentLive { .. } | Condition::Viewers { .. } => {}
                _ => continue,
            }
            if !rule.scope.is_all() && !self.scopes.iter().any(|s| *s.0 == rule.scope) {
                let mask = match state.scopes.iter().position(|s| *s == rule.scope) {
                    Some(b) => self
                        .rows
                        .bits
                        .iter()
                        .map(|bits| bits >> b & 1 == 1)
                        .collect(),
                    // Past 64 distinct scopes: no bit, match each channel.
                    None => self
                        .live
                        .iter()
                        .map(|k| {
                            self.channels
                                .get(k)
                                .is_some_and(|c| in_scope(&rule.scope, c))
                        })
                        .collect(),
                };
                self.scopes.push((&rule.scope, mask));
            }
        }
        follower_keys.sort_unstable();
        follower_keys.dedup();
        let now = self.now;
        self.follower_spans = follower_keys
            .into_iter()
            .map(|k| (k, Vec::with_capacity(self.with_followers.len())))
            .collect();
        for (_, c) in &self.with_followers {
            for (window, spans) in &mut self.follower_spans {
                spans.push(follower_span(c, now, *window));
            }
        }
        for (scope, keep) in tops {
            let mask = self.mask(scope);
            let mut ranked: Vec<(i64, &'a str)> = self
                .live
                .iter()
                .zip(&self.rows.on_air)
                .enumerate()
                .filter(|(i, _)| mask.is_none_or(|m| m[*i]))
                .map(|(_, (k, (viewers, _)))| (*viewers, *k))
                .collect();
            // Viewers descending, id as the tie-break: ranks are stable.
            let order = |a: &(i64, &str), b: &(i64, &str)| b.0.cmp(&a.0).then(a.1.cmp(b.1));
            let keep = keep.min(ranked.len());
            if keep < ranked.len() && keep > 0 {
                ranked.select_nth_unstable_by(keep - 1, order);
            }
            ranked.truncate(keep);
            ranked.sort_unstable_by(order);
            self.tops.push((scope, ranked));
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

    /// The scan of a rule over the channels: `None` for rule kinds whose
    /// keys are not channels (top-N, rising stars, chat, SQL).
    pub(crate) fn scan(&self, rule: &Rule) -> Option<Scan<'a>> {
        let mut hits = Vec::new();
        let mut holds = FastSet::default();
        let mut take = |key: &'a str, level: Level| match level {
            Level::Fire(fig) => hits.push((key, fig)),
            Level::Hold => {
                holds.insert(key);
            }
            Level::Clear => {}
        };
        let now = self.now;
        let mask = self.mask(&rule.scope);
        let covered = |i: usize| mask.is_none_or(|m| m[i]);
        match &rule.condition {
            Condition::WentLive { max_uptime } => {
                let max_uptime = micros_of(*max_uptime);
                for (i, &(_, started_at)) in self.rows.on_air.iter().enumerate() {
                    if covered(i) {
                        take(self.live[i], live_level(max_uptime, now, started_at));
                    }
                }
            }
            Condition::Viewers {
                window, min_uptime, ..
            } => {
                let key = (micros_of(*window), micros_of(*min_uptime));
                let spans = self.rows.viewer_spans.iter().find(|s| s.0 == key)?;
                let rows = spans.1.iter().zip(&self.rows.on_air);
                for (i, (span, &(viewers, _))) in rows.enumerate() {
                    if span.is_some() && covered(i) {
                        take(self.live[i], viewers_level(&rule.condition, *span, viewers));
                    }
                }
            }
            Condition::Followers { window, .. } => {
                let spans = self
                    .follower_spans
                    .iter()
                    .find(|s| s.0 == micros_of(*window))?;
                for (&(k, c), span) in self.with_followers.iter().zip(&spans.1) {
                    if span.is_some() && in_scope(&rule.scope, c) {
                        take(k, followers_level(&rule.condition, *span));
                    }
                }
            }
            Condition::WentOffline { .. } => {
                for &(k, c) in &self.offline {
                    if in_scope(&rule.scope, c) {
                        take(k, chan_level(&rule.condition, c, now));
                    }
                }
                // Channels neither live nor offline hold: look them up.
                return Some(Scan { hits, holds: None });
            }
            _ => return None,
        }
        Some(Scan {
            hits,
            holds: Some(holds),
        })
    }
}
