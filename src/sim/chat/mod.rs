//! The simulated world's chat: what each channel's chat says and when.
//! Generated channels chat while live ([`generate`]: in proportion to viewers,
//! deterministic for a seed); scripted channels say exactly what tests script
//! ([`SimChat::say`], [`SimChat::notice`]), so their per-minute figures can be
//! computed by hand. The IRC server (`sim::irc`) serves these lines.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::world::{Error as WorldError, World};

pub mod format;
mod generate;

pub use format::Notice;

/// Generated minutes kept for connections that are behind (older ones are
/// generated again if asked for, identically).
const CACHE_MINUTES: i64 = 10;

/// Hashes two words into one (splitmix64 of their mix).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = (a ^ b.rotate_left(17)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One line the server will send, with the (simulated) time it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutLine {
    /// When it happens.
    pub at: DateTime<Utc>,
    /// The IRC line, without the line ending.
    pub line: String,
}

impl OutLine {
    fn new(at: DateTime<Utc>, line: String) -> Self {
        Self { at, line }
    }
}

/// What the chat of the world says; shared by every connection of the IRC server.
#[derive(Debug)]
pub struct SimChat {
    world: Arc<Mutex<World>>,
    seed: u64,
    /// Chat rate factor for generated channels (0 = they stay silent).
    rate: f64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Scripted lines by channel login, in time order (ties: script order).
    scripted: HashMap<String, BTreeMap<(DateTime<Utc>, u64), String>>,
    /// Generated minutes by (channel, minute).
    cache: HashMap<(String, DateTime<Utc>), Arc<Vec<OutLine>>>,
    /// Minutes with a scripted event, by channel: generated chat bursts there.
    boosts: HashMap<String, Vec<DateTime<Utc>>>,
    seq: u64,
}

fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

impl SimChat {
    /// The chat of `world`; `rate` scales generated chat (1 = the default mix).
    pub fn new(world: Arc<Mutex<World>>, seed: u64, rate: f64) -> Self {
        Self {
            world,
            seed,
            rate: if rate.is_finite() { rate.max(0.0) } else { 1.0 },
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channel's user id, if `login` is a channel of the world.
    pub fn room_id(&self, login: &str) -> Option<String> {
        self.world().user_by_login(login).map(|u| u.id.clone())
    }

    fn room(&self, channel: &str) -> Result<String, WorldError> {
        self.room_id(channel)
            .ok_or_else(|| WorldError::UnknownUser(channel.to_owned()))
    }

    /// Scripts a chat message: `sender` says `text` in `channel` at `at`.
    /// Returns the message id.
    pub fn say(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        sender: &str,
        text: &str,
    ) -> Result<String, WorldError> {
        let room = self.room(channel)?;
        let mut inner = self.inner();
        inner.seq += 1;
        let seq = inner.seq;
        let id = format::message_id(mix(self.seed ^ 0x5151, seq));
        let who = format::Chatter::named(sender);
        let line = format::privmsg(channel, &room, &who, &id, at, text);
        inner
            .scripted
            .entry(channel.to_owned())
            .or_default()
            .insert((at, seq), line);
        Ok(id)
    }

    /// Scripts a `USERNOTICE` (a sub by `sender`, or a raid) in `channel` at
    /// `at`. A generated channel's chat also bursts in that minute.
    pub fn notice(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        sender: &str,
        notice: Notice,
    ) -> Result<(), WorldError> {
        let room = self.room(channel)?;
        let mut inner = self.inner();
        inner.seq += 1;
        let seq = inner.seq;
        let id = format::message_id(mix(self.seed ^ 0x7171, seq));
        let who = format::Chatter::named(sender);
        let line = format::usernotice(channel, &room, &who, &id, at, &notice);
        inner
            .scripted
            .entry(channel.to_owned())
            .or_default()
            .insert((at, seq), line);
        inner
            .boosts
            .entry(channel.to_owned())
            .or_default()
            .push(minute_of(at));
        inner.cache.remove(&(channel.to_owned(), minute_of(at)));
        Ok(())
    }

    /// Scripts any raw line (malformed ones too) in `channel` at `at`.
    pub fn raw(&self, channel: &str, at: DateTime<Utc>, line: &str) {
        let mut inner = self.inner();
        inner.seq += 1;
        let seq = inner.seq;
        inner
            .scripted
            .entry(channel.to_owned())
            .or_default()
            .insert((at, seq), line.to_owned());
    }

    /// The lines of `channel` due after `from` up to and including `to`, in
    /// time order.
    pub fn lines(&self, channel: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<OutLine> {
        let mut out: Vec<OutLine> = Vec::new();
        if to <= from {
            return out;
        }
        {
            let inner = self.inner();
            if let Some(s) = inner.scripted.get(channel) {
                let after = (from + TimeDelta::microseconds(1), 0);
                out.extend(
                    s.range(after..)
                        .take_while(|((t, _), _)| *t <= to)
                        .map(|((t, _), l)| OutLine::new(*t, l.clone())),
                );
            }
        }
        if self.rate > 0.0 {
            let mut m = minute_of(from);
            while m <= to {
                for l in self.generated(channel, m).iter() {
                    if l.at > from && l.at <= to {
                        out.push(l.clone());
                    }
                }
                m += TimeDelta::minutes(1);
            }
        }
        out.sort_by_key(|l| l.at);
        out
    }

    /// The generated lines of one minute (none for offline or scripted channels).
    fn generated(&self, channel: &str, minute: DateTime<Utc>) -> Arc<Vec<OutLine>> {
        let key = (channel.to_owned(), minute);
        if let Some(hit) = self.inner().cache.get(&key) {
            return hit.clone();
        }
        let live = {
            let world = self.world();
            world.user_by_login(channel).and_then(|u| {
                if world.is_scripted(&u.id) {
                    return None;
                }
                world
                    .stream_of(&u.id)
                    .map(|s| (u.id.clone(), s.viewer_count))
            })
        };
        let boost = if self
            .inner()
            .boosts
            .get(channel)
            .is_some_and(|b| b.contains(&minute))
        {
            3.0
        } else {
            1.0
        };
        let lines = Arc::new(match live {
            Some((room_id, viewers)) => generate::minute(generate::MinuteSpec {
                seed: self.seed,
                channel,
                room_id: &room_id,
                viewers: (viewers as f64 * self.rate).round() as u64,
                minute,
                boost,
            }),
            None => Vec::new(),
        });
        let mut inner = self.inner();
        inner
            .cache
            .retain(|(_, m), _| *m > minute - TimeDelta::minutes(CACHE_MINUTES));
        inner.cache.insert(key, lines.clone());
        lines
    }
}

#[cfg(test)]
mod tests;
