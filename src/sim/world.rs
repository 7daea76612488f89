//! A deterministic Twitch world: channels with daily rhythms, heavy-tailed
//! popularity, sessions, restarts, raids, renames and bans, stepped one
//! simulated minute at a time. Pure model (no I/O): the local Helix server
//! (`sim::server`) reads it, the integration tests script it.
//!
//! Determinism: the same [`WorldConfig`] and the same sequence of calls give
//! the same world. Every minute step draws from a generator seeded by
//! (seed, minute), so `advance_to(T)` reaches the same state whether it is
//! called once or through any intermediate times.
use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

use crate::twitch::models::{Channel, Game, Stream, User};

mod catalog;
mod dynamics;
mod names;
mod script;
#[cfg(test)]
mod tests;

pub use script::ScriptedChannel;

use dynamics::Chan;

/// What a scripting call can get wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such user (or the user is banned).
    #[error("unknown user id {0:?}")]
    UnknownUser(String),
    /// No such category id.
    #[error("unknown game id {0:?}")]
    UnknownGame(String),
    /// The login belongs to another user.
    #[error("login {0:?} is already taken")]
    LoginTaken(String),
    /// The user id belongs to another user.
    #[error("user id {0:?} is already taken")]
    UserIdTaken(String),
    /// Not a Twitch-shaped login (a-z, 0-9, `_`, 1 to 25 characters).
    #[error("invalid login {0:?}: expected 1-25 characters of a-z, 0-9 and _")]
    InvalidLogin(String),
    /// The call needs a live stream and the channel is offline.
    #[error("user {0:?} is not live")]
    NotLive(String),
    /// The channel is already live.
    #[error("user {0:?} is already live")]
    AlreadyLive(String),
}

/// Result of the scripting calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to build a world. `WorldConfig { seed, channels, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Same seed, same world.
    pub seed: u64,
    /// Number of generated channels (0 is fine: a world of scripted channels only).
    pub channels: usize,
    /// Simulated time at creation.
    pub start: DateTime<Utc>,
    /// Bench/scale mode: every generated channel is live at `start` (sessions
    /// that began up to 4 h earlier and last at least 30 more minutes), so
    /// `channels` is exactly the number of live streams. Afterwards channels
    /// follow their normal daily rhythm, unless [`Self::keep_live`].
    pub all_live: bool,
    /// Every generated channel whose stream ends starts its next stream the
    /// minute after (a new stream id), instead of waiting for its next
    /// session of the day: with [`Self::all_live`], the number of live
    /// streams stays near `channels` all day (a day-long soak at a given
    /// load).
    pub keep_live: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            channels: 300,
            start: Utc
                .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            all_live: false,
            keep_live: false,
        }
    }
}

/// The simulated world: users, their channels and live streams, categories.
pub struct World {
    seed: u64,
    /// See [`WorldConfig::keep_live`].
    keep_live: bool,
    now: DateTime<Utc>,
    /// Unix minute of the last applied step (the state is "as of" this minute).
    minute: i64,
    chans: Vec<Chan>,
    /// Parallel to `chans`: the channel's user (kept after a ban, but unlisted).
    users: Vec<User>,
    by_id: HashMap<String, usize>,
    by_login: HashMap<String, usize>,
    /// Every login ever used (renamed and banned ones stay reserved).
    taken: HashSet<String>,
    games: Vec<Game>,
    game_by_id: HashMap<String, usize>,
    game_by_name: HashMap<String, usize>,
    /// Live streams sorted by viewers desc, ties by channel creation order.
    live: Vec<Stream>,
    /// Parallel to `live`: the channel index ([`TOMBSTONE`] once ended, until re-sorted).
    live_chan: Vec<usize>,
    /// Categories by live viewers desc, ties by catalog order.
    ranked_games: Vec<Game>,
    /// Live viewers per category (catalog order).
    game_viewers: Vec<u64>,
    next_stream_id: u64,
    next_scripted_id: u64,
    generation: u64,
}

/// Marks a `live_chan` entry whose stream ended during the current step.
const TOMBSTONE: usize = usize::MAX;

/// First stream id (Twitch stream ids are 11-digit numbers).
const FIRST_STREAM_ID: u64 = 40_000_000_001;

/// First id of scripted users without an explicit id (7 digits, below every
/// generated id, so the two never collide).
const FIRST_SCRIPTED_ID: u64 = 1_000_001;

impl fmt::Debug for World {
    // A summary: the full state of a 100k-channel world is no log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("channels", &self.chans.len())
            .field("live", &self.live.len())
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

fn minute_time(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(m * 60, 0).unwrap_or_default()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl World {
    /// Builds the world at `cfg.start`.
    pub fn new(cfg: WorldConfig) -> Self {
        let games = catalog::games();
        let game_by_id = games
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        let game_by_name = games
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.clone(), i))
            .collect();
        let mut w = Self {
            seed: cfg.seed,
            keep_live: cfg.keep_live,
            now: cfg.start,
            minute: cfg.start.timestamp().div_euclid(60),
            chans: Vec::with_capacity(cfg.channels),
            users: Vec::with_capacity(cfg.channels),
            by_id: HashMap::with_capacity(cfg.channels),
            by_login: HashMap::with_capacity(cfg.channels),
            taken: HashSet::with_capacity(cfg.channels),
            game_viewers: vec![0; games.len()],
            ranked_games: games.clone(),
            games,
            game_by_id,
            game_by_name,
            live: Vec::new(),
            live_chan: Vec::new(),
            // Offset by the start minute: a world restarted later (a demo
            // resuming after a crash) never reuses an earlier world's ids.
            next_stream_id: FIRST_STREAM_ID
                + (cfg.start.timestamp().max(0) as u64 / 60 % 1_000_000) * 1_000_000,
            next_scripted_id: FIRST_SCRIPTED_ID,
            generation: 0,
        };
        w.live.reserve(if cfg.all_live {
            cfg.channels
        } else {
            cfg.channels / 4
        });
        w.generate(&cfg);
        w.resort();
        w
    }

    /// Bench/scale helper: a world of `n` generated channels that are all live
    /// at `start` (see [`WorldConfig::all_live`]).
    pub fn with_live_streams(seed: u64, n: usize, start: DateTime<Utc>) -> Self {
        Self::new(WorldConfig {
            seed,
            channels: n,
            start,
            all_live: true,
            ..WorldConfig::default()
        })
    }

    /// Advances the world to `now` in whole simulated minutes (no-op if `now`
    /// is not later). Cost is linear in the minutes stepped.
    pub fn advance_to(&mut self, now: DateTime<Utc>) {
        let target = now.timestamp().div_euclid(60);
        while self.minute < target {
            self.minute += 1;
            self.step(self.minute);
        }
        self.now = self.now.max(now);
    }

    /// The world's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Changes whenever anything observable may have changed (live set, viewer
    /// counts, users, followers): a cache key for serialized pages.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Same as [`Self::generation`].
    pub fn version(&self) -> u64 {
        self.generation
    }

    /// Live streams, sorted by viewers descending (as `/streams` lists them);
    /// ties keep channel creation order.
    pub fn live_streams(&self) -> &[Stream] {
        &self.live
    }

    /// The live stream of a user, if any.
    pub fn stream_of(&self, user_id: &str) -> Option<&Stream> {
        let i = self.index(user_id)?;
        self.chans[i].slot.map(|s| &self.live[s])
    }

    /// Where the live stream of a user id or login stands in
    /// [`Self::live_streams`], if it is live.
    pub fn live_slot(&self, user_id_or_login: &str, by_login: bool) -> Option<usize> {
        let index = if by_login {
            self.by_login.get(user_id_or_login).copied()
        } else {
            self.index(user_id_or_login)
        };
        self.chans[index?].slot
    }

    /// A user by id (banned users are absent).
    pub fn user(&self, id: &str) -> Option<&User> {
        self.index(id).map(|i| &self.users[i])
    }

    /// A user by login (current logins only; banned users are absent).
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        let i = *self.by_login.get(login)?;
        Some(&self.users[i])
    }

    /// Every (non-banned) user, in creation order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users
            .iter()
            .zip(&self.chans)
            .filter(|(_, c)| !c.banned)
            .map(|(u, _)| u)
    }

    /// Channel information of a user: current (or, offline, last) category,
    /// title, language and tags.
    pub fn channel(&self, id: &str) -> Option<Channel> {
        let i = self.index(id)?;
        let (u, c) = (&self.users[i], &self.chans[i]);
        let game = c.game.map(|g| &self.games[g]);
        Some(Channel {
            broadcaster_id: u.id.clone(),
            broadcaster_login: u.login.clone(),
            broadcaster_name: u.display_name.clone(),
            broadcaster_language: c.language.clone(),
            game_id: game.map(|g| g.id.clone()).unwrap_or_default(),
            game_name: game.map(|g| g.name.clone()).unwrap_or_default(),
            title: c.title.clone(),
            tags: c.tags.clone(),
            delay: 0,
        })
    }

    /// Follower total of a user.
    pub fn followers(&self, id: &str) -> Option<u64> {
        self.index(id).map(|i| self.chans[i].followers)
    }

    /// Every category, in catalog order.
    pub fn games(&self) -> &[Game] {
        &self.games
    }

    /// A category by id.
    pub fn game(&self, id: &str) -> Option<&Game> {
        self.game_by_id.get(id).map(|&i| &self.games[i])
    }

    /// A category by exact name.
    pub fn game_by_name(&self, name: &str) -> Option<&Game> {
        self.game_by_name.get(name).map(|&i| &self.games[i])
    }

    /// Categories by current live viewers, descending (every category is
    /// listed; ties keep catalog order).
    pub fn top_games(&self) -> Vec<Game> {
        self.ranked_games.clone()
    }

    /// [`Self::top_games`] without the copy.
    pub fn ranked_games(&self) -> &[Game] {
        &self.ranked_games
    }

    /// Current live viewers of a category.
    pub fn game_viewers(&self, id: &str) -> Option<u64> {
        self.game_by_id.get(id).map(|&i| self.game_viewers[i])
    }

    /// Logins of every (non-banned) user, in creation order.
    pub fn logins(&self) -> Vec<String> {
        self.users().map(|u| u.login.clone()).collect()
    }

    /// Channel index of a non-banned user id.
    fn index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Starts a stream of channel `i` at `started`, with the channel's current
    /// category, title and tags; returns the new stream id. The stream is
    /// appended: call [`Self::resort`] before anyone reads `live`.
    fn open_stream(&mut self, i: usize, started: DateTime<Utc>, viewers: u64) -> String {
        let id = self.next_stream_id.to_string();
        self.next_stream_id += 1;
        let (u, c) = (&self.users[i], &self.chans[i]);
        let game = c.game.map(|g| &self.games[g]);
        self.live.push(Stream {
            id: id.clone(),
            user_id: u.id.clone(),
            user_login: u.login.clone(),
            user_name: u.display_name.clone(),
            game_id: game.map(|g| g.id.clone()).unwrap_or_default(),
            game_name: game.map(|g| g.name.clone()).unwrap_or_default(),
            stream_type: "live".into(),
            title: c.title.clone(),
            tags: c.tags.clone(),
            viewer_count: viewers,
            started_at: rfc3339(started),
            language: c.language.clone(),
            thumbnail_url: thumbnail(&u.login),
            tag_ids: Vec::new(),
            is_mature: false,
        });
        self.live_chan.push(i);
        self.chans[i].slot = Some(self.live.len() - 1);
        id
    }

    /// Ends the stream of channel `i` (if live); [`Self::resort`] drops it.
    fn close_stream(&mut self, i: usize) {
        if let Some(s) = self.chans[i].slot.take() {
            self.live_chan[s] = TOMBSTONE;
        }
    }

    /// Copies channel `i`'s category and title onto its live stream.
    fn sync_stream(&mut self, i: usize) {
        let Some(s) = self.chans[i].slot else { return };
        let c = &self.chans[i];
        let st = &mut self.live[s];
        match c.game.map(|g| &self.games[g]) {
            Some(g) if st.game_id != g.id => {
                st.game_id.clone_from(&g.id);
                st.game_name.clone_from(&g.name);
            }
            Some(_) => {}
            None => {
                st.game_id.clear();
                st.game_name.clear();
            }
        }
        if st.title != c.title {
            st.title.clone_from(&c.title);
        }
    }

    /// Copies user `i`'s login and display name onto its live stream.
    fn sync_stream_user(&mut self, i: usize) {
        let Some(s) = self.chans[i].slot else { return };
        let u = &self.users[i];
        let st = &mut self.live[s];
        st.user_login.clone_from(&u.login);
        st.user_name.clone_from(&u.display_name);
        st.thumbnail_url = thumbnail(&u.login);
    }

    /// Bans channel `i`: its stream ends and the user disappears.
    fn ban_index(&mut self, i: usize) {
        self.close_stream(i);
        let c = &mut self.chans[i];
        c.banned = true;
        c.scripted = true; // a banned channel never evolves again
        let u = &self.users[i];
        self.by_id.remove(&u.id);
        self.by_login.remove(&u.login);
    }

    /// Renames user `i` to `login` (already reserved in `taken`).
    fn rename_index(&mut self, i: usize, login: String, display: String) {
        let u = &mut self.users[i];
        self.by_login.remove(&u.login);
        self.by_login.insert(login.clone(), i);
        u.login = login;
        u.display_name = display;
        self.sync_stream_user(i);
    }

    /// Drops ended streams, re-sorts by viewers, refreshes slots and category
    /// totals, and bumps the generation. Sorts keys, then permutes the streams
    /// in place: no stream is cloned or reallocated.
    fn resort(&mut self) {
        // (viewers, channel, position); ended streams sort last and are cut off.
        let mut order: Vec<(u64, usize, usize)> = self
            .live_chan
            .iter()
            .enumerate()
            .map(|(pos, &c)| (self.live[pos].viewer_count, c, pos))
            .collect();
        order.sort_unstable_by(|a, b| {
            (a.1 == TOMBSTONE)
                .cmp(&(b.1 == TOMBSTONE))
                .then(b.0.cmp(&a.0))
                .then(a.1.cmp(&b.1))
        });
        // Apply the permutation (new position k takes old position order[k])
        // by following its cycles.
        let mut done = vec![false; order.len()];
        for first in 0..order.len() {
            let mut cur = first;
            while !done[cur] {
                done[cur] = true;
                let next = order[cur].2;
                if next == first {
                    break;
                }
                self.live.swap(cur, next);
                cur = next;
            }
        }
        let kept = order.iter().take_while(|o| o.1 != TOMBSTONE).count();
        self.live.truncate(kept);
        order.truncate(kept);
        self.live_chan.clear();
        self.live_chan.extend(order.iter().map(|&(_, c, _)| c));
        self.game_viewers.iter_mut().for_each(|v| *v = 0);
        for (slot, &(viewers, c, _)) in order.iter().enumerate() {
            self.chans[c].slot = Some(slot);
            if let Some(g) = self.chans[c].game {
                self.game_viewers[g] += viewers;
            }
        }
        let mut ranked: Vec<usize> = (0..self.games.len()).collect();
        ranked.sort_by(|&a, &b| {
            self.game_viewers[b]
                .cmp(&self.game_viewers[a])
                .then(a.cmp(&b))
        });
        self.ranked_games = ranked.into_iter().map(|g| self.games[g].clone()).collect();
        self.generation += 1;
    }
}

/// Twitch's thumbnail URL template for a login.
fn thumbnail(login: &str) -> String {
    format!("https://static-cdn.jtvnw.net/previews-ttv/live_user_{login}-{{width}}x{{height}}.jpg")
}
