//! What to poll within the rate-limit budget: pure planning, kept apart from
//! the I/O that carries it out so it can be tested on its own.
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::twitch::StreamQuery;

/// What the operator asked to watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// Channel logins (polled by 100 per request).
    pub channels: Vec<String>,
    /// Categories, by id or by name (the poller looks names up once; an
    /// all-digit value is an id).
    pub categories: Vec<String>,
    /// Languages (paginated sweeps).
    pub languages: Vec<String>,
    /// Top N live streams.
    pub top_n: usize,
    /// Every live stream.
    pub full_sweep: bool,
}

impl Targets {
    /// The `/streams` queries of one cycle. A full sweep covers everything
    /// else, so it replaces the other queries.
    pub fn stream_queries(&self) -> Vec<StreamQuery> {
        if self.full_sweep {
            return vec![StreamQuery::default()];
        }
        let mut queries = Vec::new();
        if !self.channels.is_empty() {
            queries.push(StreamQuery {
                user_logins: self.channels.clone(),
                ..Default::default()
            });
        }
        for game in &self.categories {
            queries.push(StreamQuery {
                game_ids: vec![game.clone()],
                ..Default::default()
            });
        }
        for lang in &self.languages {
            queries.push(StreamQuery {
                languages: vec![lang.clone()],
                ..Default::default()
            });
        }
        if self.top_n > 0 {
            queries.push(StreamQuery {
                limit: Some(self.top_n),
                ..Default::default()
            });
        }
        queries
    }
}

/// Requests one cycle may spend: the bucket refills `limit` points a minute;
/// a cycle keeps 20% headroom for retries and other clients of the app id.
pub fn cycle_budget(limit_per_minute: u32, poll_interval: std::time::Duration) -> usize {
    let minutes = (poll_interval.as_secs_f64() / 60.0).min(1.0);
    ((limit_per_minute as f64) * minutes * 0.8).floor() as usize
}

/// The second half of a cycle's requests, planned once the streams are known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUp {
    /// Users whose profile to fetch (new, or last checked over a day ago).
    pub profiles: Vec<String>,
    /// Users whose follower total to fetch this cycle.
    pub followers: Vec<String>,
    /// Category ids not yet known.
    pub games: Vec<String>,
    /// Profile fetches pushed to later cycles for lack of budget.
    pub deferred_profiles: usize,
    /// Follower fetches due but pushed to later cycles.
    pub deferred_followers: usize,
}

/// Inputs to [`plan_follow_up`].
#[derive(Debug)]
pub struct FollowUpInput<'a> {
    /// Requests left in this cycle's budget.
    pub budget: usize,
    /// Now.
    pub now: DateTime<Utc>,
    /// Every user being monitored, with when its profile was last fetched.
    pub profile_checked: &'a HashMap<String, Option<DateTime<Utc>>>,
    /// Every user being monitored, with when its followers were last fetched.
    pub followers_checked: &'a HashMap<String, Option<DateTime<Utc>>>,
    /// How often to refresh profiles.
    pub profile_interval: chrono::TimeDelta,
    /// How often to refresh follower totals.
    pub follower_interval: chrono::TimeDelta,
    /// Category ids seen but unknown.
    pub unknown_games: Vec<String>,
}

/// Plans profiles (100 per request), unknown games (100 per request) and
/// follower totals (1 per request, most overdue first) within the budget.
pub fn plan_follow_up(input: FollowUpInput<'_>) -> FollowUp {
    let mut budget = input.budget;
    let mut out = FollowUp::default();
    // The `room` most overdue ids (never checked first, ties by id for
    // determinism) and how many were due. Only those are sorted and
    // copied: at 100,000 channels nearly all are due and little fits.
    let due = |checked: &HashMap<String, Option<DateTime<Utc>>>, every, room: usize| {
        let mut due: Vec<(Option<DateTime<Utc>>, &String)> = checked
            .iter()
            .filter(|(_, at)| at.is_none_or(|at| input.now - at >= every))
            .map(|(id, at)| (*at, id))
            .collect();
        let total = due.len();
        if room < due.len() {
            if room > 0 {
                due.select_nth_unstable(room - 1);
            }
            due.truncate(room);
        }
        due.sort_unstable();
        let ids: Vec<String> = due.into_iter().map(|(_, id)| id.clone()).collect();
        (ids, total)
    };
    let mut games = input.unknown_games;
    games.sort();
    games.dedup();
    let game_requests = games.len().div_ceil(100).min(budget);
    budget -= game_requests;
    games.truncate(game_requests * 100);
    out.games = games;

    let (profiles, due_profiles) = due(
        input.profile_checked,
        input.profile_interval,
        budget.saturating_mul(100),
    );
    budget -= profiles.len().div_ceil(100);
    out.deferred_profiles = due_profiles - profiles.len();
    out.profiles = profiles;

    let (followers, due_followers) = due(input.followers_checked, input.follower_interval, budget);
    out.deferred_followers = due_followers - followers.len();
    out.followers = followers;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn full_sweep_replaces_other_queries() {
        let t = Targets {
            channels: vec!["a".into()],
            full_sweep: true,
            top_n: 5,
            ..Default::default()
        };
        assert_eq!(t.stream_queries(), vec![StreamQuery::default()]);
        let t = Targets {
            channels: vec!["a".into()],
            categories: vec!["33".into()],
            languages: vec!["de".into()],
            top_n: 5,
            full_sweep: false,
        };
        assert_eq!(t.stream_queries().len(), 4);
    }

    #[test]
    fn budget_keeps_headroom() {
        assert_eq!(cycle_budget(800, std::time::Duration::from_secs(60)), 640);
        assert_eq!(cycle_budget(800, std::time::Duration::from_secs(15)), 160);
        assert_eq!(cycle_budget(800, std::time::Duration::from_secs(600)), 640);
    }

    #[test]
    fn follow_up_fits_the_budget_and_defers_the_rest() {
        let now = DateTime::from_timestamp(1_767_571_200, 0).unwrap();
        let mut profiles = HashMap::new();
        let mut followers = HashMap::new();
        for i in 0..250 {
            profiles.insert(format!("{i:03}"), None);
            // Half checked 20 minutes ago (due), half 5 minutes ago (not due).
            let at = now - TimeDelta::minutes(if i % 2 == 0 { 20 } else { 5 });
            followers.insert(format!("{i:03}"), Some(at));
        }
        let plan = plan_follow_up(FollowUpInput {
            budget: 50,
            now,
            profile_checked: &profiles,
            followers_checked: &followers,
            profile_interval: TimeDelta::days(1),
            follower_interval: TimeDelta::minutes(15),
            unknown_games: vec!["7".into(), "7".into()],
        });
        assert_eq!(plan.games, vec!["7"]);
        assert_eq!(plan.profiles.len(), 250); // 3 requests
        assert_eq!(plan.deferred_profiles, 0);
        assert_eq!(plan.followers.len(), 46); // 50 - 1 - 3
        assert_eq!(plan.deferred_followers, 125 - 46);
        // Equally overdue: the lowest ids, in order.
        let want: Vec<String> = (0..46).map(|i| format!("{:03}", i * 2)).collect();
        assert_eq!(plan.followers, want);
    }
}
