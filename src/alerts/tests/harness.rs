//! A minute-by-minute driver for evaluation tests: channels with scripted
//! viewer and follower curves, one observation per minute.
use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::alerts::{Alert, AlertState, AlertsConfig, Observation, RuleSet, evaluate};
use crate::live::{FollowerSample, LiveStream};

/// Rules from TOML (targets: none).
pub(super) fn rules(text: &str) -> RuleSet {
    let env = |_: &str| None;
    AlertsConfig::from_table(toml::from_str(text).unwrap(), &env)
        .unwrap()
        .rules
}

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()
}

/// One channel as the test scripts it.
#[derive(Debug, Clone)]
pub(super) struct Chan {
    pub(super) user_id: String,
    pub(super) login: String,
    pub(super) game: String,
    pub(super) language: String,
    /// Live with this many viewers, or offline.
    pub(super) viewers: Option<i64>,
    pub(super) stream: u32,
    pub(super) started: DateTime<Utc>,
    pub(super) followers: Option<i64>,
}

/// The driver.
pub(super) struct Run {
    pub(super) rules: RuleSet,
    pub(super) state: AlertState,
    pub(super) minute: i64,
    pub(super) chans: BTreeMap<String, Chan>,
    pub(super) fired: Vec<Alert>,
    /// Applied to each observation before it is evaluated.
    pub(super) extra: Box<dyn FnMut(&mut Observation)>,
}

impl Run {
    pub(super) fn new(rules: RuleSet) -> Self {
        Self {
            rules,
            state: AlertState::default(),
            minute: 0,
            chans: BTreeMap::new(),
            fired: Vec::new(),
            extra: Box::new(|_| {}),
        }
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        t0() + TimeDelta::minutes(self.minute)
    }

    /// Adds a channel, live with `viewers` (started `ago` minutes before now) or offline.
    pub(super) fn add(&mut self, login: &str, viewers: Option<i64>, ago: i64) -> &mut Self {
        let user_id = format!("{}", 1000 + self.chans.len());
        let started = self.now() - TimeDelta::minutes(ago);
        self.chans.insert(
            login.to_owned(),
            Chan {
                user_id,
                login: login.to_owned(),
                game: "Just Chatting".into(),
                language: "en".into(),
                viewers,
                stream: 1,
                started,
                followers: None,
            },
        );
        self
    }

    pub(super) fn chan(&mut self, login: &str) -> &mut Chan {
        self.chans.get_mut(login).unwrap()
    }

    pub(super) fn set_viewers(&mut self, login: &str, v: i64) {
        self.chan(login).viewers = Some(v);
    }

    pub(super) fn go_live(&mut self, login: &str, v: i64) {
        let now = self.now();
        let c = self.chan(login);
        c.viewers = Some(v);
        c.stream += 1;
        c.started = now;
    }

    pub(super) fn go_offline(&mut self, login: &str) {
        self.chan(login).viewers = None;
    }

    pub(super) fn user_id(&self, login: &str) -> String {
        self.chans[login].user_id.clone()
    }

    pub(super) fn observation(&self, cycle: i64) -> Observation {
        let now = self.now();
        let mut obs = Observation {
            cycle_id: cycle,
            observed_at: now,
            complete: true,
            ..Observation::default()
        };
        for c in self.chans.values() {
            if let Some(v) = c.viewers {
                obs.streams.push(LiveStream {
                    user_id: c.user_id.clone(),
                    login: c.login.clone(),
                    stream_id: format!("{}-{}", c.user_id, c.stream),
                    game_id: "509658".into(),
                    game_name: c.game.clone(),
                    title: format!("{} streams", c.login),
                    language: c.language.clone(),
                    viewer_count: v,
                    started_at: c.started,
                    observed_at: now,
                });
            }
            if c.viewers.is_none() {
                obs.logins.insert(c.user_id.clone(), c.login.clone());
            }
            if let Some(f) = c.followers {
                obs.followers.push(FollowerSample {
                    user_id: c.user_id.clone(),
                    followers_total: f,
                    observed_at: now,
                });
            }
        }
        obs
    }

    /// Advances one minute and evaluates; returns what fired.
    pub(super) fn tick(&mut self) -> Vec<Alert> {
        self.minute += 1;
        let mut obs = self.observation(self.minute);
        (self.extra)(&mut obs);
        let state = std::mem::take(&mut self.state);
        let out = evaluate(&self.rules, state, &obs);
        self.state = out.state;
        self.fired.extend(out.alerts.iter().cloned());
        out.alerts
    }

    /// `n` minutes, calling `each(run, minute_index)` before each.
    pub(super) fn ticks(&mut self, n: usize, mut each: impl FnMut(&mut Run, usize)) {
        for i in 0..n {
            each(self, i);
            self.tick();
        }
    }

    /// The same channels, rules and alerts, a fresh state (for restarts).
    pub(super) fn clone_script(&self) -> Run {
        Run {
            rules: self.rules.clone(),
            state: AlertState::default(),
            minute: self.minute,
            chans: self.chans.clone(),
            fired: self.fired.clone(),
            extra: Box::new(|_| {}),
        }
    }

    /// (rule, login) of everything fired so far.
    pub(super) fn fired_pairs(&self) -> Vec<(String, String)> {
        self.fired
            .iter()
            .map(|a| (a.rule.clone(), a.login.clone()))
            .collect()
    }
}

/// A deterministic wobble of ±`pct` % around `base` (noise).
pub(super) fn wobble(base: i64, pct: i64, i: usize) -> i64 {
    let steps = [0, 1, -1, 2, -2, 1, 0, -1];
    base + base * pct * steps[i % steps.len()] / 200
}
