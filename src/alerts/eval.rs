//! Evaluation: (rules, state, observation) → (fired alerts, new state), a
//! pure function. Each rule maps every channel in scope to a level — fire,
//! hold or clear — and an alert fires when an episode opens (fire after
//! clear) outside the rule's cooldown. The alert id hashes rule, key and
//! episode start, so re-evaluating a cycle after a restart yields the same ids.
use std::collections::{HashMap, HashSet};

use chrono::DateTime;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::figures::{self, Fig};
use super::input::{ChatActivity, Observation, RisingStar, SqlRow};
use super::record::{Alert, Delivery};
use super::rules::{Change, Condition, Direction, Rule, RuleSet};
use super::state::{AlertState, Chan, Episode, Micros, micros_of};

/// What one evaluation produced.
#[derive(Debug)]
pub struct Evaluation {
    /// Alerts fired, ordered by rule (file order), then key.
    pub alerts: Vec<Alert>,
    /// The state to pass to the next evaluation.
    pub state: AlertState,
}

/// Evaluates `rules` over one observation. Nothing fires on the first
/// observation of a fresh state: it only learns what is already true.
pub fn evaluate(rules: &RuleSet, mut state: AlertState, obs: &Observation) -> Evaluation {
    state.ingest(rules, obs);
    let primed = state.primed;
    let now = state.now;
    let mut alerts = Vec::new();
    let mut episodes = std::mem::take(&mut state.episodes);
    {
        let ctx = Ctx::new(&state, obs);
        for rule in rules.rules() {
            let eps = episodes.entry(rule.name.clone()).or_default();
            let fired = step(rule, &ctx, eps, now, primed);
            alerts.extend(fired);
        }
    }
    state.episodes = episodes;
    state.prune_episodes(rules);
    state.primed = true;
    Evaluation { alerts, state }
}

/// The level of one key under one rule this cycle.
enum Level {
    Fire(Fig),
    Hold,
    Clear,
}

/// Chat is keyed by user id when known, else by login.
fn chat_key(c: &ChatActivity) -> &str {
    c.user_id.as_deref().unwrap_or(c.login.as_str())
}

/// One observation's indexes, shared by every rule.
struct Ctx<'a> {
    obs: &'a Observation,
    channels: &'a HashMap<String, Chan>,
    /// Channels on air, in no particular order.
    live: Vec<(&'a str, &'a Chan)>,
    offline: Vec<(&'a str, &'a Chan)>,
    with_followers: Vec<(&'a str, &'a Chan)>,
    now: Micros,
    stars: Option<HashMap<&'a str, &'a RisingStar>>,
    chat: Option<HashMap<&'a str, &'a ChatActivity>>,
}

impl<'a> Ctx<'a> {
    fn new(state: &'a AlertState, obs: &'a Observation) -> Self {
        let mut live = Vec::with_capacity(obs.streams.len());
        let mut offline = Vec::new();
        let mut with_followers = Vec::new();
        for (k, c) in &state.channels {
            if c.live.is_some() {
                live.push((k.as_str(), c));
            } else if c.offline_since.is_some() {
                offline.push((k.as_str(), c));
            }
            if c.followers.len() >= 2 {
                with_followers.push((k.as_str(), c));
            }
        }
        Self {
            obs,
            channels: &state.channels,
            live,
            offline,
            with_followers,
            now: state.now,
            stars: obs
                .rising_stars
                .as_ref()
                .map(|v| v.iter().map(|s| (s.user_id.as_str(), s)).collect()),
            chat: obs
                .chat
                .as_ref()
                .map(|v| v.iter().map(|c| (chat_key(c), c)).collect()),
        }
    }
}

fn in_scope(rule: &Rule, c: &Chan) -> bool {
    rule.scope.is_all()
        || rule
            .scope
            .matches(&c.login, &c.game_id, &c.game_name, &c.language)
}

/// One rule over one cycle: close what cleared, open (and fire) what started.
fn step(
    rule: &Rule,
    ctx: &Ctx<'_>,
    episodes: &mut HashMap<String, Episode>,
    now: Micros,
    primed: bool,
) -> Vec<Alert> {
    let eval = RuleEval::new(rule, ctx);
    let mut hits = eval.hits();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    let hit_keys: HashSet<&str> = hits.iter().map(|h| h.0.as_str()).collect();
    for (key, e) in episodes.iter_mut() {
        if e.open && !hit_keys.contains(key.as_str()) && matches!(eval.level(key), Level::Clear) {
            e.open = false;
        }
    }
    let cooldown = micros_of(rule.cooldown);
    let mut fired = Vec::new();
    for (key, fig) in hits {
        let e = episodes.entry(key.clone()).or_insert(Episode {
            open: false,
            opened_at: now,
            last_fired: None,
        });
        if e.open {
            continue;
        }
        e.open = true;
        e.opened_at = now;
        if primed && e.last_fired.is_none_or(|f| now - f >= cooldown) {
            e.last_fired = Some(now);
            fired.push(alert(rule, ctx, &key, &fig, now));
        }
    }
    fired
}

/// A rule bound to one cycle, with what it precomputed (top-N ranks).
struct RuleEval<'r, 'a> {
    rule: &'r Rule,
    ctx: &'r Ctx<'a>,
    /// For top-N rules: key → (rank, viewers) of the first `n + margin`.
    ranks: HashMap<&'a str, (usize, i64)>,
}

impl<'r, 'a> RuleEval<'r, 'a> {
    fn new(rule: &'r Rule, ctx: &'r Ctx<'a>) -> Self {
        let mut ranks = HashMap::new();
        if let Condition::TopN { n, margin } = rule.condition {
            let mut scoped: Vec<(i64, &'a str)> = ctx
                .live
                .iter()
                .filter(|(_, c)| in_scope(rule, c))
                .map(|(k, c)| (c.live.as_ref().map_or(0, |l| l.viewers), *k))
                .collect();
            // Viewers descending, id as the tie-break: ranks are stable.
            let order = |a: &(i64, &str), b: &(i64, &str)| b.0.cmp(&a.0).then(a.1.cmp(b.1));
            let keep = (n + margin).min(scoped.len());
            if keep < scoped.len() && keep > 0 {
                scoped.select_nth_unstable_by(keep - 1, order);
            }
            scoped.truncate(keep);
            scoped.sort_unstable_by(order);
            ranks = scoped
                .into_iter()
                .enumerate()
                .map(|(i, (v, k))| (k, (i + 1, v)))
                .collect();
        }
        Self { rule, ctx, ranks }
    }

    /// Every key whose level is `Fire` this cycle.
    fn hits(&self) -> Vec<(String, Fig)> {
        let ctx = self.ctx;
        let mut out = Vec::new();
        let mut take = |key: &str, level: Level| {
            if let Level::Fire(fig) = level {
                out.push((key.to_owned(), fig));
            }
        };
        match &self.rule.condition {
            Condition::WentLive { .. } | Condition::Viewers { .. } => {
                for (k, c) in &ctx.live {
                    take(k, self.chan_level(c));
                }
            }
            Condition::WentOffline { .. } => {
                for (k, c) in &ctx.offline {
                    take(k, self.chan_level(c));
                }
            }
            Condition::Followers { .. } => {
                for (k, c) in &ctx.with_followers {
                    take(k, self.chan_level(c));
                }
            }
            Condition::TopN { .. } => {
                for k in self.ranks.keys() {
                    take(k, self.level(k));
                }
            }
            Condition::RisingStar { .. } => {
                for s in ctx.obs.rising_stars.iter().flatten() {
                    take(&s.user_id, self.level(&s.user_id));
                }
            }
            Condition::ChatSentiment { .. } | Condition::ChatRate { .. } => {
                if let Some(chat) = &ctx.chat {
                    for k in chat.keys() {
                        take(k, self.level(k));
                    }
                }
            }
            Condition::Sql { .. } => {
                for row in ctx.obs.sql.get(&self.rule.name).into_iter().flatten() {
                    take(&row.key, Level::Fire(Fig::Sql));
                }
            }
        }
        out
    }

    /// The level of `key` (a user id, or a SQL rule's key).
    fn level(&self, key: &str) -> Level {
        let ctx = self.ctx;
        let chan = ctx.channels.get(key);
        let scoped = |login: &str| match chan {
            Some(c) => in_scope(self.rule, c),
            None => self.rule.scope.matches(login, "", "", ""),
        };
        match &self.rule.condition {
            Condition::TopN { n, .. } => match self.ranks.get(key) {
                Some(&(rank, viewers)) if rank <= *n => Level::Fire(Fig::Rank { rank, viewers }),
                Some(_) => Level::Hold,
                None => Level::Clear,
            },
            Condition::RisingStar {
                max_rank,
                min_score,
            } => {
                let Some(stars) = &ctx.stars else {
                    return Level::Hold;
                };
                match stars.get(key) {
                    Some(s)
                        if scoped(&s.login)
                            && max_rank.is_none_or(|m| s.rank <= m)
                            && min_score.is_none_or(|m| s.score >= m) =>
                    {
                        Level::Fire(Fig::Star)
                    }
                    _ => Level::Clear,
                }
            }
            Condition::ChatSentiment { .. } | Condition::ChatRate { .. } => {
                let Some(chat) = &ctx.chat else {
                    return Level::Hold;
                };
                match chat.get(key) {
                    Some(a) if scoped(&a.login) => chat_level(&self.rule.condition, a),
                    _ => Level::Clear,
                }
            }
            Condition::Sql { .. } => match ctx.obs.sql.get(&self.rule.name) {
                None => Level::Hold,
                Some(rows) if rows.iter().any(|r| r.key == key) => Level::Fire(Fig::Sql),
                Some(_) => Level::Clear,
            },
            _ => chan.map_or(Level::Clear, |c| self.chan_level(c)),
        }
    }

    /// The level of a channel under a channel-state rule.
    fn chan_level(&self, c: &Chan) -> Level {
        if !in_scope(self.rule, c) {
            return Level::Clear;
        }
        let now = self.ctx.now;
        match &self.rule.condition {
            // Past `max_uptime` the episode may end: only a new stream (a
            // new start time) can fire again, and the cooldown covers restarts.
            Condition::WentLive { max_uptime } => match &c.live {
                Some(l) if now - l.started_at <= micros_of(*max_uptime) => Level::Fire(Fig::Live),
                _ => Level::Clear,
            },
            Condition::WentOffline { grace } => match c.offline_since {
                _ if c.live.is_some() => Level::Clear,
                Some(t) if now - t >= micros_of(*grace) => Level::Fire(Fig::Offline { since: t }),
                _ => Level::Hold,
            },
            Condition::Viewers {
                direction,
                change,
                window,
                min_viewers,
                min_uptime,
            } => {
                let Some(l) = &c.live else {
                    return Level::Clear;
                };
                let from = (now - micros_of(*window)).max(l.started_at + micros_of(*min_uptime));
                let mut samples = c.viewers.iter().filter(|(t, _)| *t >= from).map(|s| s.1);
                let Some(first) = samples.next() else {
                    return Level::Clear;
                };
                let (lo, hi) = samples.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)));
                let (base, edge) = if *direction == Direction::Down {
                    (hi, hi)
                } else {
                    (lo, l.viewers)
                };
                if edge.max(l.viewers) < *min_viewers {
                    return Level::Clear;
                }
                change_level(*change, *direction, base, l.viewers, window.as_secs())
            }
            Condition::Followers {
                direction,
                change,
                window,
            } => {
                let from = now - micros_of(*window);
                let mut samples = c.followers.iter().filter(|(t, _)| *t >= from).map(|s| s.1);
                let Some(first) = samples.next() else {
                    return Level::Clear;
                };
                let (lo, hi, last) = samples.fold((first, first, first), |(lo, hi, _), v| {
                    (lo.min(v), hi.max(v), v)
                });
                let base = if *direction == Direction::Down {
                    hi
                } else {
                    lo
                };
                change_level(*change, *direction, base, last, window.as_secs())
            }
            _ => Level::Clear,
        }
    }
}

/// Fire when the change from `base` to `now` meets every threshold set;
/// clear when it is below half of each; hold in between.
fn change_level(change: Change, direction: Direction, base: i64, now: i64, window_s: u64) -> Level {
    let delta = match direction {
        Direction::Down => base - now,
        _ => now - base,
    };
    let pct = (base > 0).then(|| 100.0 * delta as f64 / base as f64);
    let meets = |factor: f64| {
        change.by.is_none_or(|b| delta as f64 >= b as f64 * factor)
            && change
                .percent
                .is_none_or(|p| pct.is_some_and(|x| x >= p * factor) || (base == 0 && delta > 0))
    };
    if delta > 0 && meets(1.0) {
        Level::Fire(Fig::Change {
            from: base,
            to: now,
            pct,
            window_s,
        })
    } else if delta > 0 && meets(0.5) {
        Level::Hold
    } else {
        Level::Clear
    }
}

fn chat_level(condition: &Condition, a: &ChatActivity) -> Level {
    match condition {
        Condition::ChatSentiment {
            below,
            drop,
            min_messages,
        } => {
            let Some(s5) = a.sentiment_5m else {
                return Level::Clear;
            };
            if a.rate_5m < *min_messages {
                return Level::Clear;
            }
            let fell = a.sentiment_1h.map(|h| h - s5);
            let low = below.is_none_or(|b| s5 <= b);
            let dropped = drop.is_none_or(|d| fell.is_some_and(|f| f >= d));
            if low && dropped {
                Level::Fire(Fig::Chat)
            } else if below.is_none_or(|b| s5 <= b + 0.1)
                && drop.is_none_or(|d| fell.is_some_and(|f| f >= d / 2.0))
            {
                Level::Hold
            } else {
                Level::Clear
            }
        }
        Condition::ChatRate {
            direction,
            percent,
            min_messages,
        } => {
            if a.rate_5m.max(a.rate_1h) < *min_messages || a.rate_1h <= 0.0 {
                return Level::Clear;
            }
            let pct = 100.0 * (a.rate_5m - a.rate_1h) / a.rate_1h;
            let moved = match direction {
                Direction::Up => pct,
                Direction::Down => -pct,
                Direction::Any => pct.abs(),
            };
            if moved >= *percent {
                Level::Fire(Fig::Chat)
            } else if moved >= percent / 2.0 {
                Level::Hold
            } else {
                Level::Clear
            }
        }
        _ => Level::Clear,
    }
}

/// The alert id: the first 128 bits of SHA-256 over rule, key and the
/// episode's start, hex. Deterministic, so re-evaluating a cycle after a
/// restart produces the id already recorded (and the receiver's dedupe key).
pub fn alert_id(rule: &str, key: &str, episode_start: Micros) -> String {
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    h.update([0x1f]);
    h.update(key.as_bytes());
    h.update([0x1f]);
    h.update(episode_start.to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

fn alert(rule: &Rule, ctx: &Ctx<'_>, key: &str, fig: &Fig, now: Micros) -> Alert {
    let chan = ctx.channels.get(key);
    let sql_row: Option<&SqlRow> = ctx
        .obs
        .sql
        .get(&rule.name)
        .and_then(|rows| rows.iter().find(|r| r.key == key));
    let star = ctx.stars.as_ref().and_then(|s| s.get(key).copied());
    let chat = ctx.chat.as_ref().and_then(|c| c.get(key).copied());
    let login = chan
        .map(|c| c.login.clone())
        .filter(|l| !l.is_empty())
        .or_else(|| star.map(|s| s.login.clone()))
        .or_else(|| chat.map(|c| c.login.clone()))
        .or_else(|| sql_row.and_then(|r| r.login.clone()))
        .unwrap_or_default();
    let user_id = match rule.condition {
        Condition::Sql { .. } => sql_row.and_then(|r| r.user_id.clone()).unwrap_or_default(),
        Condition::ChatSentiment { .. } | Condition::ChatRate { .. } => {
            chat.and_then(|c| c.user_id.clone()).unwrap_or_default()
        }
        _ => key.to_owned(),
    };
    let details: Value = figures::details(rule, fig, &login, chan, star, chat, sql_row);
    Alert {
        alert_id: alert_id(&rule.name, key, now),
        cycle_id: ctx.obs.cycle_id,
        rule: rule.name.clone(),
        kind: rule.kind(),
        key: key.to_owned(),
        user_id,
        login,
        fired_at: DateTime::from_timestamp_micros(now).unwrap_or_default(),
        details,
        deliveries: rule.targets.iter().map(|t| Delivery::pending(t)).collect(),
    }
}
