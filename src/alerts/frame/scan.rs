//! The scans of the channel rules: every key at fire (and at hold) per rule,
//! from the frame's flat arrays. Rules that read the same rows (all
//! went-live rules; the viewer rules of one window) share one pass over
//! them: with 100,000 live streams each pass streams megabytes from memory,
//! so 21 viewer rules over three windows cost three passes, not 21.
use super::{FastSet, Frame, in_scope};
use crate::alerts::figures::Fig;
use crate::alerts::levels::{Level, chan_level, followers_level, live_level, viewers_level};
use crate::alerts::par;
use crate::alerts::rules::{Condition, Rule, RuleSet};
use crate::alerts::state::{Micros, micros_of};

/// What one rule's scan found this cycle.
#[derive(Default)]
pub(crate) struct Scan<'a> {
    /// Every key whose level is `Fire`, in no particular order.
    pub(crate) hits: Vec<(&'a str, Fig)>,
    /// Every key at `Hold`, when the scan covers every key that is not
    /// `Clear`; `None` when the levels of other keys must be looked up.
    pub(crate) holds: Option<FastSet<&'a str>>,
}

impl<'a> Scan<'a> {
    fn take(&mut self, key: &'a str, level: Level) {
        match level {
            Level::Fire(fig) => self.hits.push((key, fig)),
            Level::Hold => {
                self.holds.get_or_insert_default().insert(key);
            }
            Level::Clear => {}
        }
    }

    /// A scan that has seen every key not at `Clear`.
    fn complete() -> Self {
        Self {
            hits: Vec::new(),
            holds: Some(FastSet::default()),
        }
    }
}

/// The rows a rule's scan reads: rules with the same one are scanned together.
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Live,
    /// A viewer rule's (window, min_uptime).
    Viewers(Micros, Micros),
}

fn pass(rule: &Rule) -> Option<Pass> {
    match &rule.condition {
        Condition::WentLive { .. } => Some(Pass::Live),
        Condition::Viewers {
            window, min_uptime, ..
        } => Some(Pass::Viewers(micros_of(*window), micros_of(*min_uptime))),
        _ => None,
    }
}

impl<'a> Frame<'a> {
    /// The scan of each of `rules`, in order: `None` for rule kinds whose
    /// keys are not channels (top-N, rising stars, chat, SQL). The passes
    /// run on any core (see `par`).
    pub(crate) fn scans(&self, rules: &'a RuleSet) -> Vec<Option<Scan<'a>>> {
        let rules = rules.rules();
        // Rule indexes scanned together: those sharing a pass, else one.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut grouped = vec![false; rules.len()];
        for i in 0..rules.len() {
            if grouped[i] {
                continue;
            }
            let p = pass(&rules[i]);
            let group: Vec<usize> = (i..rules.len())
                .filter(|&j| !grouped[j] && (j == i || (p.is_some() && pass(&rules[j]) == p)))
                .collect();
            group.iter().for_each(|&j| grouped[j] = true);
            groups.push(group);
        }
        let cost = |group: &Vec<usize>| match &rules[group[0]].condition {
            Condition::Followers { .. } => self.with_followers.len(),
            Condition::WentOffline { .. } => self.offline.len(),
            _ if pass(&rules[group[0]]).is_some() => self.live.len() * group.len(),
            _ => 0,
        };
        let scanned = par::map(groups, cost, |group| {
            let scans: Vec<Option<Scan<'a>>> = match pass(&rules[group[0]]) {
                Some(p) => {
                    let members: Vec<&Rule> = group.iter().map(|&j| &rules[j]).collect();
                    match self.scan_pass(p, &members) {
                        Some(scans) => scans.into_iter().map(Some).collect(),
                        None => group.iter().map(|_| None).collect(),
                    }
                }
                None => vec![self.scan_one(&rules[group[0]])],
            };
            group.into_iter().zip(scans).collect::<Vec<_>>()
        });
        let mut out: Vec<Option<Scan<'a>>> = rules.iter().map(|_| None).collect();
        for (j, scan) in scanned.into_iter().flatten() {
            out[j] = scan;
        }
        out
    }

    /// One pass over the live rows for `rules`, which all read `p`.
    fn scan_pass(&self, p: Pass, rules: &[&Rule]) -> Option<Vec<Scan<'a>>> {
        let now = self.now;
        let masks: Vec<Option<&[bool]>> = rules.iter().map(|r| self.mask(&r.scope)).collect();
        let mut scans: Vec<Scan<'a>> = rules.iter().map(|_| Scan::complete()).collect();
        let on_air = self.rows.on_air.iter().zip(&self.live).enumerate();
        match p {
            Pass::Live => {
                let limits: Vec<Micros> = rules
                    .iter()
                    .map(|r| match r.condition {
                        Condition::WentLive { max_uptime } => micros_of(max_uptime),
                        _ => 0,
                    })
                    .collect();
                // Past the longest limit every rule is at clear.
                let longest = limits.iter().copied().max().unwrap_or(0);
                for (i, (&(_, started_at), &key)) in on_air {
                    if now - started_at > longest {
                        continue;
                    }
                    for (r, scan) in scans.iter_mut().enumerate() {
                        if masks[r].is_none_or(|m| m[i]) {
                            scan.take(key, live_level(limits[r], now, started_at));
                        }
                    }
                }
            }
            Pass::Viewers(window, min_uptime) => {
                let key = (window, min_uptime);
                let spans = &self.rows.viewer_spans.iter().find(|s| s.0 == key)?.1;
                for ((i, (&(viewers, _), &key)), span) in on_air.zip(spans) {
                    if span.is_none() {
                        continue;
                    }
                    for (r, scan) in scans.iter_mut().enumerate() {
                        if masks[r].is_none_or(|m| m[i]) {
                            scan.take(key, viewers_level(&rules[r].condition, *span, viewers));
                        }
                    }
                }
            }
        }
        Some(scans)
    }

    /// The scan of a channel rule whose rows no other rule reads (followers,
    /// went offline); `None` for any other rule.
    fn scan_one(&self, rule: &Rule) -> Option<Scan<'a>> {
        let now = self.now;
        match &rule.condition {
            Condition::Followers { window, .. } => {
                let mut scan = Scan::complete();
                let spans = self
                    .follower_spans
                    .iter()
                    .find(|s| s.0 == micros_of(*window))?;
                for (&(k, c), span) in self.with_followers.iter().zip(&spans.1) {
                    if span.is_some() && in_scope(&rule.scope, c) {
                        scan.take(k, followers_level(&rule.condition, *span));
                    }
                }
                Some(scan)
            }
            Condition::WentOffline { .. } => {
                // Only hits: the other keys' levels are looked up (channels
                // neither live nor offline hold).
                let mut scan = Scan::default();
                for &(k, c) in &self.offline {
                    if in_scope(&rule.scope, c)
                        && let Level::Fire(fig) = chan_level(&rule.condition, c, now)
                    {
                        scan.hits.push((k, fig));
                    }
                }
                Some(scan)
            }
            _ => None,
        }
    }
}
