//! The polling half of a cycle: plans what to ask within the rate-limit
//! budget ([`targets`], pure), carries it out against the [`Helix`] seam and
//! collects every raw response for bronze.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;

use crate::clock::SharedClock;
use crate::twitch::{self, Helix, RawResponse};

pub mod recheck;
pub mod targets;

use recheck::Sweeps;
pub use targets::Targets;
use targets::{FollowUpInput, cycle_budget, plan_follow_up};

/// How often things are refreshed.
#[derive(Debug, Clone)]
pub struct PollSettings {
    /// What to watch.
    pub targets: Targets,
    /// Time between cycles (sets the budget).
    pub poll_interval: Duration,
    /// Follower totals are refreshed this often per user.
    pub follower_interval: Duration,
    /// Profiles are refreshed this often per user.
    pub profile_interval: Duration,
    /// Follower requests in flight at once.
    pub concurrency: usize,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            targets: Targets::default(),
            poll_interval: Duration::from_secs(60),
            follower_interval: Duration::from_secs(15 * 60),
            profile_interval: Duration::from_secs(24 * 3600),
            concurrency: 8,
        }
    }
}

/// How long a channel not watched by name stays monitored after it was
/// last seen live: its follower total and profile are refreshed that long
/// (the live views' 24-hour follower gains and the day's gold want them
/// after the stream ends), then it is forgotten until it goes live again.
/// Without this every channel ever seen would be asked for its follower
/// total every interval for ever, and the poller's maps, and the live
/// views (which keep a channel while its window holds follower totals),
/// would grow with every channel Twitch ever showed.
pub const FORGET_AFTER: TimeDelta = TimeDelta::hours(24);

/// What a poller starts from after a restart (all empty for a first start).
#[derive(Debug, Clone, Default)]
pub struct PollerSeed {
    /// When each channel was last seen live (see [`FORGET_AFTER`]).
    pub last_seen: HashMap<String, DateTime<Utc>>,
    /// When the follower totals of those channels were last read.
    pub followers_checked: HashMap<String, DateTime<Utc>>,
    /// Category ids already known.
    pub games: Vec<String>,
}

/// What one poll brought back.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// Every response, in request order.
    pub responses: Vec<RawResponse>,
    /// Distinct live streams seen.
    pub streams_seen: usize,
    /// Streams the sweep's paging skipped, found when the channels it
    /// listed the cycle before and not now were asked for by id (see
    /// [`recheck`]).
    pub found_again: usize,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Errors met (failed calls, unparseable pages).
    pub errors: usize,
    /// Errors of the `/streams` queries alone (the heart of a cycle).
    pub stream_errors: usize,
    /// Latest `Ratelimit-Remaining`.
    pub rate_limit_remaining: Option<u32>,
    /// Profile fetches deferred to later cycles.
    pub deferred_profiles: usize,
    /// Follower fetches deferred to later cycles.
    pub deferred_followers: usize,
    /// When polling started.
    pub started_at: DateTime<Utc>,
    /// When polling finished.
    pub finished_at: DateTime<Utc>,
    /// Real time polling took.
    pub elapsed: Duration,
}

/// Polls Twitch cycle after cycle, remembering what it already knows
/// (profiles, follower check times, categories) to spend the budget well.
#[derive(Debug)]
pub struct Poller {
    helix: Arc<dyn Helix>,
    clock: SharedClock,
    settings: PollSettings,
    profile_checked: HashMap<String, Option<DateTime<Utc>>>,
    followers_checked: HashMap<String, Option<DateTime<Utc>>>,
    /// When each monitored channel was last seen live; see [`FORGET_AFTER`].
    last_seen: HashMap<String, DateTime<Utc>>,
    /// Channels watched by name: monitored while offline, never forgotten.
    watched: HashSet<String>,
    known_games: HashSet<String>,
    channels_resolved: bool,
    /// Category names of the targets not yet turned into ids.
    category_names: Vec<String>,
    followers_refused_until: Option<DateTime<Utc>>,
    /// What each sweep listed the cycle before.
    sweeps: Sweeps,
}

impl Poller {
    /// A poller, starting from `seed` (what a restart remembers).
    pub fn new(
        helix: Arc<dyn Helix>,
        clock: SharedClock,
        settings: PollSettings,
        seed: PollerSeed,
    ) -> Self {
        let PollerSeed {
            last_seen,
            followers_checked,
            games: known_games,
        } = seed;
        let mut settings = settings;
        // Helix sweeps categories by id; names are looked up on the first poll.
        let (ids, names) = std::mem::take(&mut settings.targets.categories)
            .into_iter()
            .partition(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()));
        settings.targets.categories = ids;
        Self {
            helix,
            clock,
            settings,
            category_names: names,
            profile_checked: HashMap::new(),
            watched: HashSet::new(),
            // Every monitored channel has an entry; those never read are due.
            followers_checked: last_seen
                .keys()
                .map(|id| (id.clone(), followers_checked.get(id).copied()))
                .collect(),
            last_seen,
            known_games: known_games.into_iter().collect(),
            channels_resolved: false,
            followers_refused_until: None,
            sweeps: Sweeps::default(),
        }
    }

    /// Turns the category names of the targets into ids (`/games?name=`,
    /// which wants the exact title, e.g. `Just Chatting`). A failed call is retried
    /// next cycle; a name Twitch does not know is reported once and dropped.
    async fn resolve_categories(&mut self, out: &mut Polled) {
        let games = self.helix.games(&[], &self.category_names).await;
        out.errors += games.errors.len();
        out.responses.extend(games.responses);
        if !games.errors.is_empty() {
            return;
        }
        for name in std::mem::take(&mut self.category_names) {
            match games
                .value
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(&name))
            {
                Some(g) => {
                    tracing::info!(category = %name, id = %g.id, "watching category");
                    self.known_games.insert(g.id.clone());
                    if !self.settings.targets.categories.contains(&g.id) {
                        self.settings.targets.categories.push(g.id.clone());
                    }
                }
                None => {
                    tracing::warn!(category = %name, "Twitch knows no category of this name; not watching it")
                }
            }
        }
    }

    /// Stops monitoring the channels not seen live for [`FORGET_AFTER`]
    /// (those watched by name stay).
    fn forget_unseen(&mut self, now: DateTime<Utc>) {
        let cutoff = now - FORGET_AFTER;
        let before = self.last_seen.len();
        let watched = &self.watched;
        self.last_seen
            .retain(|id, seen| *seen > cutoff || watched.contains(id));
        if self.last_seen.len() == before {
            return;
        }
        let keep = |id: &String| self.last_seen.contains_key(id) || watched.contains(id);
        self.profile_checked.retain(|id, _| keep(id));
        self.followers_checked.retain(|id, _| keep(id));
        tracing::debug!(
            forgotten = before - self.last_seen.len(),
            monitored = self.followers_checked.len(),
            "channels not seen live for a day are no longer monitored"
        );
    }

    /// Records a live stream: its channel is monitored (profile, follower
    /// total), last seen now, and its category looked up if new.
    fn note_live(
        &mut self,
        s: twitch::Stream,
        seen_at: DateTime<Utc>,
        unknown_games: &mut Vec<String>,
        seen: &mut HashSet<String>,
    ) {
        if !s.game_id.is_empty() && !self.known_games.contains(&s.game_id) {
            unknown_games.push(s.game_id.clone());
        }
        self.profile_checked
            .entry(s.user_id.clone())
            .or_insert(None);
        self.followers_checked
            .entry(s.user_id.clone())
            .or_insert(None);
        match self.last_seen.get_mut(&s.user_id) {
            Some(at) => *at = seen_at,
            None => {
                self.last_seen.insert(s.user_id, seen_at);
            }
        }
        seen.insert(s.id);
    }

    /// Runs one poll: streams first, then profiles, unknown categories and
    /// follower totals within what is left of the budget.
    pub async fn poll(&mut self) -> Polled {
        let real = std::time::Instant::now();
        let before = self.helix.stats().requests;
        let mut out = Polled {
            started_at: self.clock.now(),
            ..Default::default()
        };
        let limit = self.helix.stats().rate_limit_limit.unwrap_or(800);
        let budget = cycle_budget(limit, self.settings.poll_interval);

        let mut seen = HashSet::new();
        let mut unknown_games = Vec::new();
        // Watched logins resolve to ids once, so they are tracked while offline too.
        if !self.channels_resolved && !self.settings.targets.channels.is_empty() {
            let users = self.helix.users(&[], &self.settings.targets.channels).await;
            out.errors += users.errors.len();
            out.responses.extend(users.responses);
            self.channels_resolved = users.errors.is_empty();
            let now = self.clock.now();
            for u in users.value {
                self.profile_checked.insert(u.id.clone(), Some(now));
                self.watched.insert(u.id.clone());
                self.followers_checked.entry(u.id).or_insert(None);
            }
        }
        if !self.category_names.is_empty() {
            self.resolve_categories(&mut out).await;
        }
        let seen_at = self.clock.now();
        for query in self.settings.targets.stream_queries() {
            let streams = self.helix.streams(&query).await;
            let complete = streams.errors.is_empty();
            let pages = streams.responses.len();
            out.errors += streams.errors.len();
            out.stream_errors += streams.errors.len();
            out.responses.extend(streams.responses);
            let mut listed: HashSet<String> =
                streams.value.iter().map(|s| s.user_id.clone()).collect();
            for s in streams.value {
                self.note_live(s, seen_at, &mut unknown_games, &mut seen);
            }
            if !Sweeps::rechecked(&query) {
                continue;
            }
            if let Some(again) = complete
                .then(|| self.sweeps.missed(&query, &listed, pages))
                .flatten()
            {
                let found = self.helix.streams(&again).await;
                out.errors += found.errors.len();
                out.stream_errors += found.errors.len();
                out.responses.extend(found.responses);
                for s in found.value {
                    listed.insert(s.user_id.clone());
                    out.found_again += 1;
                    self.note_live(s, seen_at, &mut unknown_games, &mut seen);
                }
            }
            self.sweeps.remember(&query, listed, complete);
        }
        out.streams_seen = seen.len();

        self.forget_unseen(self.clock.now());

        let spent = (self.helix.stats().requests - before) as usize;
        let plan = plan_follow_up(FollowUpInput {
            budget: budget.saturating_sub(spent),
            now: self.clock.now(),
            profile_checked: &self.profile_checked,
            followers_checked: &self.followers_checked,
            profile_interval: TimeDelta::from_std(self.settings.profile_interval)
                .unwrap_or(TimeDelta::days(1)),
            follower_interval: TimeDelta::from_std(self.settings.follower_interval)
                .unwrap_or(TimeDelta::minutes(15)),
            unknown_games,
        });
        out.deferred_profiles = plan.deferred_profiles;
        out.deferred_followers = plan.deferred_followers;

        if !plan.games.is_empty() {
            let games = self.helix.games(&plan.games, &[]).await;
            out.errors += games.errors.len();
            out.responses.extend(games.responses);
            // Ids Helix does not know are not asked for again every cycle.
            self.known_games.extend(plan.games);
        }
        if !plan.profiles.is_empty() {
            let users = self.helix.users(&plan.profiles, &[]).await;
            out.errors += users.errors.len();
            out.responses.extend(users.responses);
            let now = self.clock.now();
            for id in plan.profiles {
                self.profile_checked.insert(id, Some(now));
            }
        }
        let followers = if self
            .followers_refused_until
            .is_some_and(|t| self.clock.now() < t)
        {
            Vec::new()
        } else {
            plan.followers
        };
        let mut refused = false;
        for chunk in followers.chunks(self.settings.concurrency.max(1) * 4) {
            // Owned ids and client handles keep this future `Send` for spawning.
            let calls: Vec<_> = chunk
                .iter()
                .map(|id| {
                    let (helix, id) = (Arc::clone(&self.helix), id.clone());
                    async move { helix.follower_total(&id).await }
                })
                .collect();
            let totals: Vec<_> = futures::stream::iter(calls)
                .buffered(self.settings.concurrency.max(1))
                .collect()
                .await;
            let now = self.clock.now();
            for (id, fetched) in chunk.iter().zip(totals) {
                out.errors += fetched.errors.len();
                // A 401 answered by a renewal and a successful retry is not
                // a refusal: only the call's final error counts.
                refused |= fetched.errors.iter().any(|e| {
                    matches!(
                        **e,
                        twitch::Error::Status {
                            status: 401 | 403,
                            ..
                        }
                    )
                });
                out.responses.extend(fetched.responses);
                self.followers_checked.insert(id.clone(), Some(now));
            }
            if refused {
                // Refused for good (the client has explained why, once):
                // stop asking for an hour, not every call.
                let until = self.clock.now() + TimeDelta::hours(1);
                tracing::info!(%until, "Helix refused /channels/followers; follower totals paused");
                self.followers_refused_until = Some(until);
                break;
            }
        }

        let stats = self.helix.stats();
        out.requests = stats.requests - before;
        out.rate_limit_remaining = stats.rate_limit_remaining;
        out.finished_at = self.clock.now();
        out.elapsed = real.elapsed();
        out
    }
}
