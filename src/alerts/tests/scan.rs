//! The frame's scans (flat arrays, one pass per rule) against the
//! definitions they shortcut: every channel's level looked up one by one,
//! and the live ranking sorted in full, over a random world of streams that
//! start, end, wander, get raided and crash, with followers, categories and
//! languages.
use std::collections::BTreeMap;

use chrono::TimeDelta;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::harness::{rules, t0};
use crate::alerts::frame::{Frame, in_scope};
use crate::alerts::levels::{Level, chan_level};
use crate::alerts::rules::Condition;
use crate::alerts::{AlertState, Observation, evaluate};
use crate::live::{FollowerSample, LiveStream};

pub(super) const RULES: &str = r#"
[[rules]]
name = "live"
kind = "went_live"
max_uptime = "5m"
[[rules]]
name = "live_de"
kind = "went_live"
languages = ["de"]
[[rules]]
name = "off"
kind = "went_offline"
grace = "2m"
[[rules]]
name = "drop"
kind = "viewers_drop"
percent = 30
window = "5m"
[[rules]]
name = "drop_slow"
kind = "viewers_drop"
percent = 20
by = 5
window = "15m"
min_uptime = "3m"
[[rules]]
name = "gain_game"
kind = "viewers_gain"
percent = 50
window = "10m"
min_viewers = 10
categories = ["Game 1", "2"]
[[rules]]
name = "follows"
kind = "followers_gain"
by = 30
window = "10m"
[[rules]]
name = "unfollows_few"
kind = "followers_loss"
percent = 2
channels = ["c3", "C5", "c8", "c13"]
[[rules]]
name = "top"
kind = "top_n"
n = 5
[[rules]]
name = "top_wide"
kind = "top_n"
n = 12
margin = 4
[[rules]]
name = "top_fr"
kind = "top_n"
n = 3
languages = ["fr"]
"#;

/// A random world: `n` channels, about two thirds live at any time.
pub(super) struct World {
    rng: ChaCha8Rng,
    /// login → (viewers if live, stream number, start minute, followers).
    chans: BTreeMap<usize, (Option<i64>, u32, i64, i64)>,
}

impl World {
    /// `n` channels, none live yet.
    pub(super) fn new(n: usize, seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            chans: (0..n)
                .map(|i| (i, (None, 0, 0, 1000 + i as i64 * 7)))
                .collect(),
        }
    }

    pub(super) fn observation(&mut self, minute: i64) -> Observation {
        let now = t0() + TimeDelta::minutes(minute);
        let mut obs = Observation {
            cycle_id: minute,
            observed_at: now,
            complete: self.rng.random_bool(0.9),
            ..Observation::default()
        };
        for (&i, (viewers, stream, start, followers)) in &mut self.chans {
            let u: f64 = self.rng.random();
            *viewers = match *viewers {
                Some(_) if u < 0.05 => None,
                Some(v) if u < 0.08 => Some(v * 3 + 10),
                Some(v) if u < 0.11 => Some(v / 3),
                Some(v) => Some((v + self.rng.random_range(-3..=3) * v / 20).max(0)),
                None if u < 0.1 => {
                    *stream += 1;
                    *start = minute - self.rng.random_range(0..3);
                    Some(self.rng.random_range(0..500))
                }
                None => None,
            };
            *followers += self.rng.random_range(-8..=12);
            let user_id = format!("{}", 100 + i);
            if let Some(v) = *viewers {
                obs.streams.push(LiveStream {
                    user_id: user_id.clone(),
                    login: format!("c{i}"),
                    stream_id: format!("{i}-{stream}"),
                    game_id: format!("{}", i % 4),
                    game_name: format!("Game {}", i % 4),
                    title: "t".into(),
                    language: ["en", "de", "fr"][i % 3].into(),
                    viewer_count: v,
                    started_at: t0() + TimeDelta::minutes(*start),
                    observed_at: now,
                });
            } else {
                obs.logins.insert(user_id.clone(), format!("c{i}"));
            }
            if (i as i64 + minute) % 3 == 0 {
                obs.followers.push(FollowerSample {
                    user_id,
                    followers_total: *followers,
                    observed_at: now,
                });
            }
        }
        obs
    }
}

#[test]
fn each_scan_finds_exactly_what_the_level_of_every_channel_says() {
    let rules = rules(RULES);
    let mut world = World::new(120, 16);
    let mut state = AlertState::default();
    let (mut fires, mut holds, mut ranked) = (0, 0, 0);
    for minute in 1..=60 {
        let obs = world.observation(minute);
        state = evaluate(&rules, state, &obs).state;
        // The rows as a fresh ingest of the same observation gathers them.
        let rows = state.clone().ingest(&rules, &obs);
        let frame = Frame::new(&rules, &state, &obs, rows);
        let scans = frame.scans(&rules);
        for (rule, scan) in rules.rules().iter().zip(scans) {
            if let Condition::TopN { n, margin } = rule.condition {
                let mut all: Vec<(i64, &str)> = state
                    .channels
                    .iter()
                    .filter(|(_, c)| in_scope(&rule.scope, c))
                    .filter_map(|(k, c)| c.live.as_ref().map(|l| (l.viewers, k)))
                    .collect();
                all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                all.truncate(n + margin);
                let ranks = frame.ranks(&rule.scope, n + margin);
                assert_eq!(ranks.len(), all.len(), "{}", rule.name);
                for (i, (v, k)) in all.iter().enumerate() {
                    assert_eq!(
                        ranks.get(k),
                        Some(&(i + 1, *v)),
                        "{} at {minute}",
                        rule.name
                    );
                }
                ranked += ranks.len();
                continue;
            }
            let scan = scan.expect("a channel rule");
            for (key, c) in state.channels.iter() {
                let want = if in_scope(&rule.scope, c) {
                    chan_level(&rule.condition, c, state.now)
                } else {
                    Level::Clear
                };
                let hit = scan.hits.iter().find(|h| h.0 == key);
                let held = scan.holds.as_ref().map(|h| h.contains(key));
                let at = format!("rule {} channel {key} minute {minute}", rule.name);
                match want {
                    Level::Fire(fig) => {
                        assert!(hit.is_some_and(|h| h.1 == fig), "{at}: fire");
                        fires += 1;
                    }
                    Level::Hold => {
                        assert!(hit.is_none() && held != Some(false), "{at}: hold");
                        holds += 1;
                    }
                    Level::Clear => assert!(hit.is_none() && held != Some(true), "{at}: clear"),
                }
            }
            assert!(
                scan.hits.iter().all(|h| state.channels.get(h.0).is_some()),
                "{}",
                rule.name
            );
        }
    }
    // The world exercised every level, not just the quiet one.
    assert!(
        fires > 200 && holds > 20 && ranked > 500,
        "{fires} {holds} {ranked}"
    );
}
