//! The scans of the channel rules: every key at fire (and at hold) per rule,
//! from the frame's flat arrays. Rules that read the same rows (all
//! went-live rules; the viewer rules of one window) share one pass over
//! them: with 100,000 live streams each pass streams megabytes from memory,
//! so 21 viewer rules over three windows cost three passes, not 21.
use super::{FastSet, Frame, in_scope};
use crate::alerts::figures::Fig;
use crate::alerts::levels::{Level, chan_level, followers_level, live_level, viewers_level};
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
    /// keys are not channels (top-N, rising stars, chat, SQL).
    pub(crate) fn scans(&self, rules: &'a RuleSet) -> Vec<Option<Scan<'a>>> {
        let rules = rules.rules();
        let mut out: Vec<Option<Scan<'a>>> = rules.iter().map(|r| self.scan_one(r)).collect();
        let mut done = vec![false; rules.len()];
        for (i, rule) in rules.iter().enumerate() {
            let Some(p) = pass(rule).filter(|_| !done[i]) else {
                continue;
            };
            let group: Vec<usize> = (i..rules.len())
                .filter(|&j| !done[j] && pass(&rules[j]) == Some(p))
                .collect();
            let members: Vec<&Rule> = group.iter().map(|&j| &rules[j]).collect();
            let Some(scans) = self.scan_pass(p, &members) else {
                continue; // no rows for it (out stays None)
            };
            for (j, scan) in group.into_iter().zip(scans) {
                done[j] = true;
                out[j] = Some(scan);
            }
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
