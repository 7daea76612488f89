//! Evaluation: (rules, state, observation) → (fired alerts, new state), a
//! pure function. Each rule maps every channel in scope to a level — fire,
//! hold or clear — and an alert fires when an episode opens (fire after
//! clear) outside the rule's cooldown. The alert id hashes rule, key and
//! episode start, so re-evaluating a cycle after a restart yields the same ids.
use chrono::DateTime;
use compact_str::CompactString;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::figures::{self, Fig};
use super::frame::{FastMap, Frame, Scan, in_scope};
use super::input::{Observation, SqlRow};
use super::levels::{Level, chan_level, chat_level};
use super::par;
use super::record::{Alert, Delivery};
use super::rules::{Condition, Rule, RuleSet};
use super::state::{AlertState, Episode, Micros, micros_of};

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
    let rows = state.ingest(rules, obs);
    let primed = state.primed;
    let now = state.now;
    let tick = state.tick;
    let mut episodes = std::mem::take(&mut state.episodes);
    // Each rule's episodes, taken out so that rules step on any core.
    let mut own: Vec<_> = rules
        .rules()
        .iter()
        .map(|r| episodes.remove(&r.name).unwrap_or_default())
        .collect();
    let alerts: Vec<Alert> = {
        let frame = Frame::new(rules, &state, obs, rows);
        let scans = frame.scans(rules);
        let jobs: Vec<_> = rules.rules().iter().zip(scans).zip(&mut own).collect();
        let cost = |((_, scan), eps): &((&Rule, Option<Scan>), &mut FastMap<_, _>)| {
            eps.len() + scan.as_ref().map_or(frame.live_len(), |s| s.hits.len())
        };
        par::map(jobs, cost, |((rule, scan), eps)| {
            step(rule, &frame, scan, eps, (now, tick), primed)
        })
        .into_iter()
        .flatten()
        .collect()
    };
    for (rule, eps) in rules.rules().iter().zip(own) {
        episodes.insert(rule.name.clone(), eps);
    }
    state.episodes = episodes;
    state.prune_episodes(rules);
    state.primed = true;
    Evaluation { alerts, state }
}

/// One rule over one cycle: close what cleared, open (and fire) what started.
fn step<'a>(
    rule: &Rule,
    frame: &Frame<'a>,
    scan: Option<Scan<'a>>,
    episodes: &mut FastMap<CompactString, Episode>,
    (now, tick): (Micros, u64),
    primed: bool,
) -> Vec<Alert> {
    let eval = RuleEval::new(rule, frame);
    let scan = scan.unwrap_or_else(|| eval.scan());
    let cooldown = micros_of(rule.cooldown);
    // Hits first, one look-up each: every hit's episode is stamped with
    // this evaluation's tick, so the pass below skips them without a set
    // of hit keys (a hundred thousand hits a cycle at 100,000 streams).
    let mut fired = Vec::new();
    for (key, fig) in scan.hits {
        let e = match episodes.get_mut(key) {
            Some(e) => e,
            None => episodes.entry(key.into()).or_insert(Episode {
                open: false,
                opened_at: now,
                last_fired: None,
                last_hit: tick,
            }),
        };
        e.last_hit = tick;
        if e.open {
            continue;
        }
        e.open = true;
        e.opened_at = now;
        if primed && e.last_fired.is_none_or(|f| now - f >= cooldown) {
            e.last_fired = Some(now);
            fired.push((key, fig));
        }
    }
    for (key, e) in episodes.iter_mut() {
        if !e.open || e.last_hit == tick {
            continue;
        }
        let cleared = match &scan.holds {
            Some(holds) => !holds.contains(key.as_str()),
            None => matches!(eval.level(key), Level::Clear),
        };
        if cleared {
            e.open = false;
        }
    }
    fired.sort_unstable_by(|a, b| a.0.cmp(b.0));
    fired
        .into_iter()
        .map(|(key, fig)| alert(rule, frame, key, &fig, now))
        .collect()
}

/// A rule bound to one cycle, with what it precomputed (top-N ranks).
struct RuleEval<'r, 'a> {
    rule: &'r Rule,
    frame: &'r Frame<'a>,
    /// For top-N rules: key → (rank, viewers) of the first `n + margin`.
    ranks: FastMap<&'a str, (usize, i64)>,
}

impl<'r, 'a> RuleEval<'r, 'a> {
    fn new(rule: &'r Rule, frame: &'r Frame<'a>) -> Self {
        let ranks = match rule.condition {
            Condition::TopN { n, margin } => frame.ranks(&rule.scope, n + margin),
            _ => FastMap::default(),
        };
        Self { rule, frame, ranks }
    }

    /// Every key at `Fire` this cycle, for rules the frame does not scan.
    fn scan(&self) -> Scan<'a> {
        let frame = self.frame;
        let mut hits = Vec::new();
        let mut take = |key: &'a str| {
            if let Level::Fire(fig) = self.level(key) {
                hits.push((key, fig));
            }
        };
        match &self.rule.condition {
            Condition::TopN { .. } => self.ranks.keys().for_each(|k| take(k)),
            Condition::RisingStar { .. } => {
                for s in frame.obs.rising_stars.iter().flatten() {
                    take(&s.user_id);
                }
            }
            Condition::ChatSentiment { .. } | Condition::ChatRate { .. } => {
                if let Some(chat) = &frame.chat {
                    chat.keys().for_each(|k| take(k));
                }
            }
            Condition::Sql { .. } => {
                for row in frame.obs.sql.get(&self.rule.name).into_iter().flatten() {
                    hits.push((&row.key, Fig::Sql));
                }
            }
            // Channel rules are scanned by the frame (unless it lacks their rows).
            _ => frame.channels.keys().for_each(&mut take),
        }
        Scan { hits, holds: None }
    }

    /// The level of `key` (a user id, or a SQL rule's key).
    fn level(&self, key: &str) -> Level {
        let frame = self.frame;
        let chan = frame.channels.get(key);
        let scoped = |login: &str| match chan {
            Some(c) => in_scope(&self.rule.scope, c),
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
                let Some(stars) = &frame.stars else {
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
                let Some(chat) = &frame.chat else {
                    return Level::Hold;
                };
                match chat.get(key) {
                    Some(a) if scoped(&a.login) => chat_level(&self.rule.condition, a),
                    _ => Level::Clear,
                }
            }
            Condition::Sql { .. } => match frame.obs.sql.get(&self.rule.name) {
                None => Level::Hold,
                Some(rows) if rows.iter().any(|r| r.key == key) => Level::Fire(Fig::Sql),
                Some(_) => Level::Clear,
            },
            _ => match chan {
                Some(c) if in_scope(&self.rule.scope, c) => {
                    chan_level(&self.rule.condition, c, frame.now)
                }
                _ => Level::Clear,
            },
        }
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

fn alert(rule: &Rule, ctx: &Frame<'_>, key: &str, fig: &Fig, now: Micros) -> Alert {
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
