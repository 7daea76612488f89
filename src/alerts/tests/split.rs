//! Evaluation split over threads (channels by slot range, scans by pass,
//! steps by rule) against the same evaluation on one thread: the same
//! alerts and the same state, cycle after cycle, over the random world of
//! the scan tests, with a channel listed twice now and then.
use super::harness::rules;
use super::scan::{RULES, World};
use crate::alerts::{AlertState, Evaluation, evaluate, par};

/// What two states must agree on: every channel record (in slot order)
/// and every rule's episodes (sorted).
fn summary(state: &AlertState) -> (Vec<String>, Vec<String>) {
    let channels = state
        .channels
        .iter()
        .map(|(k, c)| format!("{k} {c:?}"))
        .collect();
    let mut episodes: Vec<String> = state
        .episodes
        .iter()
        .flat_map(|(rule, eps)| eps.iter().map(move |(k, e)| format!("{rule} {k} {e:?}")))
        .collect();
    episodes.sort();
    (channels, episodes)
}

#[test]
fn a_split_evaluation_equals_one_on_a_single_thread() {
    let rules = rules(RULES);
    let mut world = World::new(300, 17);
    let (mut one, mut split) = (AlertState::default(), AlertState::default());
    let mut fired = 0;
    for minute in 1..=40 {
        let mut obs = world.observation(minute);
        if minute % 7 == 0
            && let Some(s) = obs.streams.first().cloned()
        {
            obs.streams.push(s);
        }
        let a: Evaluation = par::with_parts(1, || evaluate(&rules, one, &obs));
        let b: Evaluation = par::with_parts(3, || evaluate(&rules, split, &obs));
        let ids = |e: &Evaluation| -> Vec<String> {
            e.alerts
                .iter()
                .map(|a| format!("{} {} {}", a.alert_id, a.key, a.details))
                .collect()
        };
        assert_eq!(ids(&a), ids(&b), "minute {minute}");
        assert_eq!(summary(&a.state), summary(&b.state), "minute {minute}");
        fired += a.alerts.len();
        (one, split) = (a.state, b.state);
    }
    assert!(fired > 100, "{fired}");
}
