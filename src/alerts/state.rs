//! What evaluation remembers between cycles: per channel, its recent viewer
//! and follower samples and whether it is live; per rule and channel, the
//! open episode and when the rule last fired. Owned by value and threaded
//! through [`super::evaluate`], so evaluation stays a pure function.
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::channels::Channels;
use super::frame::{FastMap, LiveRows};
use super::input::Observation;
use super::intake::{self, Intake};
use super::record::Alert;
use super::rules::{Condition, RuleSet, Scope};
use crate::live::LiveStream;

/// Microseconds since the epoch: the state's time unit (cheap to compare).
pub(crate) type Micros = i64;

pub(crate) fn micros(t: DateTime<Utc>) -> Micros {
    t.timestamp_micros()
}

pub(crate) fn micros_of(d: std::time::Duration) -> Micros {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// How long a live channel may be missing from listings that were not
/// complete (a `/streams` page failed) before it is taken as ended anyway,
/// unless [`AlertState::with_session_gap`] says otherwise: the default
/// session gap, after which silver ends its session too. A complete
/// listing ends a missing channel at once; without this, Helix failing a
/// page in every cycle would keep every channel that ever went live on air
/// here — no offline alert, and a record per channel for good. A cycle
/// whose listing failed whole (no stream at all) ends no channel: Twitch
/// being down is not every channel going offline.
pub const ENDED_WHEN_UNLISTED_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// The stream a channel has on air.
#[derive(Debug, Clone, Default)]
pub(crate) struct OnAir {
    pub(crate) stream_id: String,
    pub(crate) started_at: Micros,
    pub(crate) viewers: i64,
    pub(crate) title: String,
}

/// Everything remembered about one channel.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chan {
    pub(crate) login: String,
    pub(crate) game_id: String,
    pub(crate) game_name: String,
    pub(crate) language: String,
    /// Set while the channel is in the live set.
    pub(crate) live: Option<OnAir>,
    /// The last stream, kept once it ended (for the offline alert's figures).
    pub(crate) last: Option<OnAir>,
    /// When it left the live set, until it comes back.
    pub(crate) offline_since: Option<Micros>,
    /// (observed_at, viewers) of the stream on air, oldest first.
    pub(crate) viewers: VecDeque<(Micros, i64)>,
    /// (observed_at, followers_total), oldest first.
    pub(crate) followers: VecDeque<(Micros, i64)>,
    /// [`fingerprint`] of the stream row last taken in (0: none).
    pub(crate) fingerprint: u64,
    /// Bit i: whether `AlertState::scopes[i]` covers the channel, as of
    /// its last stream row, under `scope_epoch`.
    pub(crate) scope_bits: u64,
    pub(crate) scope_epoch: u32,
    /// The `AlertState::tick` of the last observation that listed it.
    pub(crate) seen: u64,
    /// When that observation was made.
    pub(crate) seen_at: Micros,
    /// When the newest follower sample was observed.
    pub(crate) newest_follower: Micros,
}

/// The text of a stream row that the channel record keeps: login,
/// category, language, stream id and title.
pub(crate) fn row_text(s: &LiveStream) -> [&str; 6] {
    [
        &s.login,
        &s.game_id,
        &s.game_name,
        &s.language,
        &s.stream_id,
        &s.title,
    ]
}

/// One rule's episode for one channel (or SQL key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Episode {
    /// The condition holds (or has not cleared yet).
    pub(crate) open: bool,
    /// When the current (or last) episode opened.
    pub(crate) opened_at: Micros,
    /// When the rule last fired for this key.
    pub(crate) last_fired: Option<Micros>,
    /// The [`AlertState`] tick of the last evaluation that found the key
    /// at `Fire` (0: none).
    pub(crate) last_hit: u64,
}

/// The state threaded from one evaluation to the next. Start with
/// [`AlertState::default`]; the first observation only primes it (nothing
/// fires for what was already true when the service started).
#[derive(Debug, Clone, Default)]
pub struct AlertState {
    pub(crate) primed: bool,
    pub(crate) last_cycle: Option<i64>,
    pub(crate) now: Micros,
    pub(crate) channels: Channels,
    /// rule name → key → episode.
    pub(crate) episodes: FastMap<String, FastMap<CompactString, Episode>>,
    /// The rules' distinct scopes other than all, in rule order, at most
    /// 64: what each live channel's `scope_bits` answer.
    pub(crate) scopes: Vec<Scope>,
    /// Bumped whenever `scopes` changes.
    pub(crate) scope_epoch: u32,
    /// Counts observations taken in.
    pub(crate) tick: u64,
    /// How long a channel missing from incomplete listings stays on air;
    /// `None`: [`ENDED_WHEN_UNLISTED_FOR`].
    pub(crate) session_gap: Option<Micros>,
}

impl AlertState {
    /// The same state ending channels missing from incomplete listings
    /// after `gap` (the configured `--session-gap`, as silver does) instead
    /// of [`ENDED_WHEN_UNLISTED_FOR`].
    pub fn with_session_gap(mut self, gap: std::time::Duration) -> Self {
        self.session_gap = Some(micros_of(gap));
        self
    }

    /// The cycle last evaluated.
    pub fn last_cycle(&self) -> Option<i64> {
        self.last_cycle
    }

    /// Channels remembered (live, recently offline, or with follower history).
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// Open episodes over all rules.
    pub fn open_episodes(&self) -> usize {
        self.episodes
            .values()
            .flat_map(|m| m.values())
            .filter(|e| e.open)
            .count()
    }

    /// Seeds cooldowns from alerts already fired (read back from
    /// `gold.alerts` at start-up): a restart does not fire them again while
    /// their rule's cooldown runs, and their episodes count as open until
    /// the condition is seen to clear. Rules no longer configured are skipped.
    pub fn restore(&mut self, rules: &RuleSet, fired: &[Alert]) {
        for a in fired {
            let Some(rule) = rules.get(&a.rule) else {
                continue;
            };
            let at = micros(a.fired_at);
            let episodes = self.episodes.entry(rule.name.clone()).or_default();
            let e = episodes.entry(a.key().into()).or_insert(Episode {
                open: true,
                opened_at: at,
                last_fired: Some(at),
                last_hit: 0,
            });
            if e.last_fired.is_none_or(|f| f < at) {
                *e = Episode {
                    open: true,
                    opened_at: at,
                    last_fired: Some(at),
                    last_hit: 0,
                };
            }
        }
    }

    /// Takes in one observation: samples, live set, offline transitions,
    /// then forgets what no rule can still look at.
    pub(crate) fn ingest<'a>(&mut self, rules: &RuleSet, obs: &'a Observation) -> LiveRows<'a> {
        let now = micros(obs.observed_at);
        self.now = now;
        self.last_cycle = Some(obs.cycle_id);
        let keep = Retention::of(rules);
        let mut scopes: Vec<Scope> = Vec::new();
        for r in rules.rules() {
            if !r.scope.is_all() && !scopes.contains(&r.scope) && scopes.len() < 64 {
                scopes.push(r.scope.clone());
            }
        }
        if scopes != self.scopes {
            self.scopes = scopes;
            self.scope_epoch += 1;
        }
        // Marks the channels seen this cycle: the others have ended (below).
        self.tick += 1;
        let streams = &obs.streams;
        let slots = intake::slots(&mut self.channels, streams);
        let intake = Intake {
            rules,
            now,
            tick: self.tick,
            keep_viewers: keep.viewers,
            scopes: &self.scopes,
            epoch: self.scope_epoch,
            complete: obs.complete,
        };
        let mut rows = intake.streams(&mut self.channels, streams, &slots);
        let tick = self.tick;
        for f in &obs.followers {
            if keep.followers == 0 {
                break;
            }
            let c = self.channels.get_or_insert(&f.user_id);
            let at = micros(f.observed_at);
            if c.followers.back().is_none_or(|&(t, _)| t < at) {
                c.followers.push_back((at, f.followers_total));
                c.newest_follower = at;
            }
            drop_before(&mut c.followers, now - keep.followers);
        }
        for (user_id, login) in &obs.logins {
            if let Some(c) = self.channels.get_mut(user_id)
                && c.login.is_empty()
            {
                login.clone_into(&mut c.login);
            }
        }
        // One pass over every channel, touching only what it holds inline
        // (not its sample buffers: those were pruned as samples came in).
        let complete = obs.complete;
        // A listing that failed whole (Twitch down) says nothing of anyone.
        let listed = !obs.streams.is_empty();
        let unlisted_for = self
            .session_gap
            .unwrap_or_else(|| micros_of(ENDED_WHEN_UNLISTED_FOR));
        self.channels.retain(|slot, c| {
            if c.seen != tick
                && (complete || listed && now - c.seen_at > unlisted_for)
                && let Some(on_air) = c.live.take()
            {
                // Missing from a complete listing, or from every listing
                // for longer than a session gap: it has ended.
                c.last = Some(on_air);
                c.offline_since = Some(now);
            }
            if c.live.is_none() {
                c.viewers.clear();
            }
            if c.newest_follower < now - keep.followers {
                c.followers.clear();
            }
            let offline_kept = c.offline_since.is_some_and(|t| now - t <= keep.offline);
            let kept = c.live.is_some() || offline_kept || !c.followers.is_empty();
            if kept {
                rows.index(slot, c);
            }
            kept
        });
        rows
    }

    /// Forgets closed episodes whose cooldown is over, and open ones of
    /// rules that no longer exist.
    pub(crate) fn prune_episodes(&mut self, rules: &RuleSet) {
        let now = self.now;
        self.episodes.retain(|name, episodes| {
            let Some(rule) = rules.get(name) else {
                return false;
            };
            let cooldown = micros_of(rule.cooldown);
            let offline = matches!(rule.condition, Condition::WentOffline { .. });
            episodes.retain(|_, e| {
                let cooled = e.last_fired.is_none_or(|f| now - f >= cooldown);
                // An offline episode needs the channel to come back before
                // it can fire again; once cooled, nothing is left to remember.
                !(cooled && (!e.open || offline))
            });
            !episodes.is_empty()
        });
    }
}

/// Drops the samples observed before `t` (samples are oldest first).
pub(crate) fn drop_before(samples: &mut VecDeque<(Micros, i64)>, t: Micros) {
    while samples.front().is_some_and(|s| s.0 < t) {
        samples.pop_front();
    }
}

/// How far back the rules look: their longest window (what a replay of
/// recent cycles must cover to rebuild the state).
pub(crate) fn lookback(rules: &RuleSet) -> Micros {
    let r = Retention::of(rules);
    r.viewers.max(r.followers).max(r.offline)
}

/// How long samples are kept: as long as the longest window that reads them.
#[derive(Debug, Clone, Copy)]
struct Retention {
    viewers: Micros,
    followers: Micros,
    offline: Micros,
}

impl Retention {
    fn of(rules: &RuleSet) -> Self {
        let mut r = Self {
            viewers: 0,
            followers: 0,
            offline: 0,
        };
        for rule in rules.rules() {
            match &rule.condition {
                Condition::Viewers { window, .. } => r.viewers = r.viewers.max(micros_of(*window)),
                Condition::Followers { window, .. } => {
                    r.followers = r.followers.max(micros_of(*window));
                }
                Condition::WentOffline { grace } => {
                    r.offline = r.offline.max(micros_of(*grace + rule.cooldown));
                }
                _ => {}
            }
        }
        r
    }
}
