//! Taking in an observation's streams: each stream's row updates its
//! channel's record (text, stream on air, viewer samples) and the live row
//! the frame scans is gathered while that record is in cache. With many
//! streams the records are split by slot over the cores (see `par`): each
//! thread updates only the channels in its range of slots, in stream order,
//! so a channel listed twice is still seen twice by one thread.
use std::hash::BuildHasher;

use super::channels::{Channels, Part};
use super::frame::{LiveRows, scope_bits};
use super::par;
use super::prefetch;
use super::rules::{RuleSet, Scope};
use super::state::{Chan, Micros, drop_before, micros, row_text};
use crate::live::LiveStream;

/// What every stream of one observation is taken in with.
pub(crate) struct Intake<'r> {
    pub(crate) rules: &'r RuleSet,
    pub(crate) now: Micros,
    /// The `AlertState` tick of this observation.
    pub(crate) tick: u64,
    /// How long viewer samples are kept (0: none are).
    pub(crate) keep_viewers: Micros,
    pub(crate) scopes: &'r [Scope],
    pub(crate) epoch: u32,
    /// Whether the streams are the whole live set.
    pub(crate) complete: bool,
}

impl Intake<'_> {
    /// Takes in `streams`, whose channels are at `slots`, and gathers their
    /// live rows.
    pub(crate) fn streams<'a>(
        &self,
        channels: &mut Channels,
        streams: &'a [LiveStream],
        slots: &[u32],
    ) -> LiveRows<'a> {
        // One part (and no thread) below the split threshold.
        let n = par::parts(streams.len());
        let mut parts = channels.parts_mut(n);
        let mut orders: Vec<Vec<u32>> = (0..parts.len())
            .map(|_| Vec::with_capacity(streams.len() / n + 1))
            .collect();
        for (i, &slot) in slots.iter().enumerate() {
            if let Some(p) = parts.iter().position(|p| p.holds(slot)) {
                orders[p].push(i as u32);
            }
        }
        let jobs: Vec<_> = parts.iter_mut().zip(&orders).collect();
        let mut gathered = par::map(
            jobs,
            |(_, order)| order.len(),
            |(part, order)| self.part(part, streams, slots, order),
        )
        .into_iter();
        let mut rows = gathered
            .next()
            .unwrap_or_else(|| LiveRows::new(self.rules, 0, self.complete));
        gathered.for_each(|more| rows.append(more));
        rows
    }

    /// Takes in the streams at `order` (indexes into `streams`), all of
    /// whose channels are in `part`.
    fn part<'a>(
        &self,
        part: &mut Part<'_>,
        streams: &'a [LiveStream],
        slots: &[u32],
        order: &[u32],
    ) -> LiveRows<'a> {
        let mut rows = LiveRows::new(self.rules, order.len(), self.complete);
        for (k, &i) in order.iter().enumerate() {
            let view: &Part<'_> = part;
            let at = |j: usize| {
                let i = *order.get(j)? as usize;
                Some((&streams[i], view.at(slots[i])))
            };
            prefetch::rows_ahead(at, k);
            let i = i as usize;
            self.stream(&streams[i], part.at_mut(slots[i]), &mut rows);
        }
        rows
    }

    /// Updates `c` from its stream's row `s` and gathers its live row.
    fn stream<'a>(&self, s: &'a LiveStream, c: &mut Chan, rows: &mut LiveRows<'a>) {
        let now = self.now;
        let fingerprint = fingerprint(s);
        let same_text = c.fingerprint == fingerprint && (c.live.is_some() || c.last.is_some());
        if !same_text {
            if c.login != s.login {
                s.login.clone_into(&mut c.login);
            }
            if c.game_id != s.game_id || c.game_name != s.game_name {
                s.game_id.clone_into(&mut c.game_id);
                s.game_name.clone_into(&mut c.game_name);
            }
            if c.language != s.language {
                s.language.clone_into(&mut c.language);
            }
        }
        if c.seen == self.tick {
            rows.inexact(); // listed twice
        }
        c.seen = self.tick;
        c.seen_at = now;
        if !same_text || c.scope_epoch != self.epoch {
            c.scope_bits = scope_bits(self.scopes, c);
            c.scope_epoch = self.epoch;
        }
        let continues = (same_text
            || c.last
                .as_ref()
                .or(c.live.as_ref())
                .is_some_and(|l| l.stream_id == s.stream_id))
            && c.offline_since.is_none_or(|t| t == now);
        if !continues {
            // A new stream (or a first sight): its samples start afresh.
            c.viewers.clear();
        }
        let mut on_air = c.live.take().or_else(|| c.last.take()).unwrap_or_default();
        if !same_text {
            if on_air.stream_id != s.stream_id {
                s.stream_id.clone_into(&mut on_air.stream_id);
            }
            if on_air.title != s.title {
                s.title.clone_into(&mut on_air.title);
            }
            c.fingerprint = fingerprint;
        }
        on_air.started_at = micros(s.started_at);
        on_air.viewers = s.viewer_count;
        c.live = Some(on_air);
        c.last = None;
        c.offline_since = None;
        let at = micros(s.observed_at).max(now);
        if c.viewers.back().is_none_or(|&(t, _)| t < at) && self.keep_viewers > 0 {
            c.viewers.push_back((at, s.viewer_count));
        }
        // Pruned here, while the samples are in cache.
        drop_before(&mut c.viewers, now - self.keep_viewers);
        if rows.exact {
            rows.push_stream(&s.user_id, c, c.scope_bits, now);
        }
    }
}

/// The channel slot of each of `streams`, new channels added: the look-ups
/// split over the cores (they only read), the additions after them.
pub(crate) fn slots(channels: &mut Channels, streams: &[LiveStream]) -> Vec<u32> {
    let ranges = par::ranges(streams.len(), par::parts(streams.len()));
    let found: Vec<Option<u32>> = {
        let channels = &*channels;
        par::map(
            ranges,
            |r| r.len(),
            |r| {
                r.map(|i| {
                    prefetch::id_ahead(streams, i);
                    channels.find(&streams[i].user_id)
                })
                .collect::<Vec<_>>()
            },
        )
        .into_iter()
        .flatten()
        .collect()
    };
    found
        .into_iter()
        .zip(streams)
        .map(|(slot, s)| slot.unwrap_or_else(|| channels.slot_or_insert(&s.user_id)))
        .collect()
}

/// A hash of [`row_text`]. When it matches the channel's, none of those
/// strings needs comparing: with 100,000 channels each comparison is a
/// cache miss.
fn fingerprint(s: &LiveStream) -> u64 {
    foldhash::fast::FixedState::with_seed(0x7477_6974_6368).hash_one(row_text(s))
}
