//! Bronze → silver: derives one cycle's typed, deduplicated rows from the raw
//! Helix responses of that cycle and the running state. The same function
//! serves live cycles, crash repair and `rebuild`, so all three agree.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use url::form_urlencoded;

use super::profiles::{self, Profiles};
use super::sessions::{Observation, Session, SessionUpdate, Sessionizer};
use crate::twitch::RawResponse;
use crate::twitch::models::{Envelope, Follower, Game, Stream, User, parse_page};

/// The longest time a follower delta spans: a total read longer than this
/// after the previous one — a channel the poller forgot while it was offline
/// and read again when it came back, or reads deferred for a day — gets a
/// null delta (unknown, as for the first read), so that weeks of gains do
/// not land on the day it comes back (daily gains and the leaderboards and
/// rising stars built on them sum the deltas).
pub const MAX_DELTA_SPAN: TimeDelta = TimeDelta::hours(24);

/// One row of `silver.stream_snapshots`.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    /// When observed (the page's fetch time).
    pub observed_at: DateTime<Utc>,
    /// Cycle.
    pub cycle_id: i64,
    /// The stream as Helix listed it.
    pub stream: Stream,
    /// Parsed `started_at`.
    pub started_at: DateTime<Utc>,
    /// Session the sample belongs to.
    pub session_id: String,
    /// Seconds this sample stands for (time weighting).
    pub interval_seconds: f64,
}

/// One row of `silver.follower_snapshots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerRow {
    /// When observed.
    pub observed_at: DateTime<Utc>,
    /// Cycle.
    pub cycle_id: i64,
    /// Broadcaster.
    pub user_id: String,
    /// Total followers.
    pub followers_total: i64,
    /// Change since the previous snapshot of this user (None for the first).
    pub followers_delta: Option<i64>,
}

/// One row of `silver.streamers` (SCD type 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamerRow {
    /// The profile.
    pub user: User,
    /// Parsed account creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Version start.
    pub valid_from: DateTime<Utc>,
    /// Version end (None while current).
    pub valid_to: Option<DateTime<Utc>>,
    /// Whether this is the current version.
    pub is_current: bool,
    /// Cycle that wrote this version.
    pub cycle_id: i64,
}

/// State carried from cycle to cycle, rebuilt from silver at start-up.
#[derive(Debug, Clone, Default)]
pub struct SilverState {
    /// Open sessions.
    pub sessions: Sessionizer,
    /// Latest follower total per user, with when it was observed.
    pub followers: HashMap<String, (i64, DateTime<Utc>)>,
    /// Every user's profile versions (history and current).
    pub streamers: Profiles,
    /// Known categories.
    pub games: BTreeMap<String, Game>,
    /// Chat of the days recent cycles touched, folded so far.
    pub chat: super::chat::ChatDays,
}

/// The silver rows one cycle produced.
#[derive(Debug, Clone, Default)]
pub struct SilverRows {
    /// Deduplicated stream samples.
    pub snapshots: Vec<SnapshotRow>,
    /// Follower samples with deltas.
    pub followers: Vec<FollowerRow>,
    /// Whether `silver.streamers` changed.
    pub streamers_changed: bool,
    /// New current profile versions (each closes the user's previous one).
    pub new_streamers: Vec<StreamerRow>,
    /// Whether `silver.games` changed.
    pub games_changed: bool,
    /// Sessions that ended this cycle.
    pub ended_sessions: Vec<Session>,
    /// Responses that were not a usable success (status or body).
    pub errors: usize,
    /// Stream rows dropped as duplicates of a stream already seen this cycle.
    pub duplicates: usize,
    /// The `silver.chat_minutes` rows this cycle's chat messages changed
    /// (as folded so far: a minute may span cycles).
    pub chat_minutes: Vec<crate::chat::ChatMinute>,
}

impl SilverRows {
    /// The UTC days whose gold these rows change: those of the stream
    /// samples, of the follower totals, and of the new profile versions (a
    /// streamer's daily login comes from the profile valid on the day).
    pub fn days(&self) -> BTreeSet<NaiveDate> {
        let samples = self.snapshots.iter().map(|r| r.observed_at);
        let follows = self.followers.iter().map(|r| r.observed_at);
        let profiles = self.new_streamers.iter().map(|r| r.valid_from);
        samples
            .chain(follows)
            .chain(profiles)
            .map(|t| t.date_naive())
            .collect()
    }
}

/// Derives cycle `cycle_id`'s silver rows from its raw responses, advancing
/// `state`. `now` closes sessions unseen for longer than the merge gap.
pub fn derive(
    cycle_id: i64,
    responses: &[RawResponse],
    now: DateTime<Utc>,
    state: &mut SilverState,
) -> SilverRows {
    let mut rows = SilverRows::default();
    let mut seen_streams = HashSet::new();
    let mut seen_users = HashSet::new();
    let mut streams = Vec::new();
    for r in responses {
        if !(200..300).contains(&r.http_status) {
            rows.errors += 1;
            continue;
        }
        let body = r.payload.as_bytes();
        let ok = match r.endpoint.as_str() {
            "streams" => parse_page::<Stream>(body).map(|page| {
                for s in page.data {
                    // A viewer count beyond i64 is no count (it would wrap).
                    if i64::try_from(s.viewer_count).is_err() {
                        rows.errors += 1;
                        continue;
                    }
                    // Helix paging repeats streams while counts move: first wins.
                    if !seen_streams.insert(s.id.clone()) || !seen_users.insert(s.user_id.clone()) {
                        rows.duplicates += 1;
                        continue;
                    }
                    match parse_time(&s.started_at) {
                        Some(started_at) => streams.push((r.fetched_at, started_at, s)),
                        None => rows.errors += 1,
                    }
                }
            }),
            "users" => parse_page::<User>(body).map(|page| {
                for u in page.data {
                    profiles::upsert(
                        &mut state.streamers,
                        &mut rows.new_streamers,
                        u,
                        r.fetched_at,
                        cycle_id,
                    );
                }
            }),
            "channels/followers" => parse_page::<Follower>(body).map(|page| {
                let Some(user_id) = query_value(&r.request_query, "broadcaster_id") else {
                    return;
                };
                // A missing total is unknown, never zero: no row.
                if let Some(total) = page.total {
                    // Nor is a total beyond i64 a count (it would wrap
                    // negative, and the next delta overflow): an error.
                    let Ok(total) = i64::try_from(total) else {
                        rows.errors += 1;
                        return;
                    };
                    let previous = state.followers.get(&user_id).copied();
                    // Replaying a cycle whose rows are already applied changes nothing.
                    if previous.is_some_and(|(_, at)| at >= r.fetched_at) {
                        return;
                    }
                    state
                        .followers
                        .insert(user_id.clone(), (total, r.fetched_at));
                    let delta = previous
                        .filter(|&(_, at)| r.fetched_at - at <= MAX_DELTA_SPAN)
                        .map(|(p, _)| total - p);
                    rows.followers.push(FollowerRow {
                        observed_at: r.fetched_at,
                        cycle_id,
                        user_id,
                        followers_total: total,
                        followers_delta: delta,
                    });
                }
            }),
            "games" | "games/top" => parse_page::<Game>(body).map(|page: Envelope<Game>| {
                for g in page.data {
                    if state.games.get(&g.id) != Some(&g) {
                        state.games.insert(g.id.clone(), g);
                        rows.games_changed = true;
                    }
                }
            }),
            _ => Ok(()),
        };
        if ok.is_err() {
            rows.errors += 1;
        }
    }
    let observations: Vec<Observation> = streams
        .iter()
        .map(|(observed_at, started_at, s)| Observation {
            user_id: s.user_id.clone(),
            user_login: s.user_login.clone(),
            stream_id: s.id.clone(),
            started_at: *started_at,
            observed_at: *observed_at,
            viewers: s.viewer_count as i64,
            game_name: s.game_name.clone(),
        })
        .collect();
    rows.streamers_changed = !rows.new_streamers.is_empty();
    // A total read longer than MAX_DELTA_SPAN before this cycle can give no
    // later read a delta: forget it, so the map holds the channels read in
    // the last day, not every channel ever read.
    state
        .followers
        .retain(|_, &mut (_, at)| now - at <= MAX_DELTA_SPAN);
    let SessionUpdate { samples, ended } = state.sessions.apply(&observations, now);
    rows.ended_sessions = ended;
    rows.snapshots = streams
        .into_iter()
        .zip(samples)
        .map(
            |((observed_at, started_at, stream), (session_id, w))| SnapshotRow {
                observed_at,
                cycle_id,
                stream,
                started_at,
                session_id,
                interval_seconds: w.interval_seconds,
            },
        )
        .collect();
    rows
}

/// Parses an RFC 3339 timestamp into UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The first value of `key` in a URL query string.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_571_200, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn resp(endpoint: &str, query: &str, status: u16, fetched: i64, body: &str) -> RawResponse {
        RawResponse {
            endpoint: endpoint.into(),
            request_query: query.into(),
            page: 0,
            http_status: status,
            fetched_at: at(fetched),
            payload: body.into(),
        }
    }

    fn stream(id: &str, user: &str, viewers: u64) -> String {
        format!(
            r#"{{"id":"{id}","user_id":"{user}","user_login":"l{user}","user_name":"L","game_id":"1",
            "game_name":"Chess","type":"live","title":"t","tags":["x"],"viewer_count":{viewers},
            "started_at":"2026-01-05T00:00:00Z","language":"en","thumbnail_url":"","tag_ids":[],
            "is_mature":false}}"#
        )
    }

    /// A `/users` page with profile `u1` under `login`.
    fn user(login: &str) -> String {
        format!(
            r#"{{"data":[{{"id":"u1","login":"{login}","display_name":"A","type":"",
            "broadcaster_type":"","description":"","profile_image_url":"","offline_image_url":"",
            "view_count":0,"created_at":"2020-01-01T00:00:00Z"}}]}}"#
        )
    }

    fn page(items: &[String]) -> String {
        format!(r#"{{"data":[{}],"pagination":{{}}}}"#, items.join(","))
    }

    #[test]
    fn counts_beyond_i64_are_errors_not_wrapped_counts() {
        let q = "broadcaster_id=u1";
        let big = page(&[stream("s1", "u1", 1 << 63), stream("s1", "u1", 7)]);
        let responses = [
            resp("streams", "first=100", 200, 0, &big),
            resp(
                "channels/followers",
                q,
                200,
                0,
                r#"{"total":9223372036854775808,"data":[]}"#,
            ),
            resp("channels/followers", q, 200, 1, r#"{"total":1,"data":[]}"#),
        ];
        let mut state = SilverState::default();
        let rows = derive(1, &responses, at(2), &mut state);
        assert_eq!(rows.errors, 2);
        // The stream's next item in the page is not taken for a duplicate.
        let viewers: Vec<_> = rows
            .snapshots
            .iter()
            .map(|r| r.stream.viewer_count)
            .collect();
        assert_eq!(viewers, [7]);
        let totals: Vec<_> = rows
            .followers
            .iter()
            .map(|f| (f.followers_total, f.followers_delta))
            .collect();
        assert_eq!(totals, [(1, None)]);
    }

    #[test]
    fn duplicate_pages_give_each_stream_once_and_failures_are_counted() {
        let mut state = SilverState::default();
        let p1 = page(&[stream("s1", "u1", 10), stream("s2", "u2", 5)]);
        let p2 = page(&[stream("s2", "u2", 6), stream("s3", "u3", 1)]);
        let rows = derive(
            1,
            &[
                resp("streams", "first=100", 200, 1, &p1),
                resp("streams", "first=100&after=x", 200, 1, &p2),
                resp("streams", "first=100&after=y", 200, 1, "{\"data\":[tru"),
                resp("streams", "first=100&after=z", 503, 1, "{}"),
            ],
            at(1),
            &mut state,
        );
        let ids: Vec<_> = rows
            .snapshots
            .iter()
            .map(|r| r.stream.id.as_str())
            .collect();
        assert_eq!(ids, ["s1", "s2", "s3"]);
        assert_eq!(rows.snapshots[1].stream.viewer_count, 5);
        assert_eq!(rows.duplicates, 1);
        assert_eq!(rows.errors, 2);
    }

    #[test]
    fn follower_deltas_and_unknown_totals() {
        let mut state = SilverState::default();
        let f = |t: &str| format!(r#"{{"data":[],{t}"pagination":{{}}}}"#);
        let q = "broadcaster_id=u1";
        let r1 = derive(
            1,
            &[
                resp("channels/followers", q, 200, 1, &f("\"total\":100,")),
                resp(
                    "channels/followers",
                    "broadcaster_id=u2",
                    200,
                    1,
                    &f("\"total\":5,"),
                ),
            ],
            at(1),
            &mut state,
        );
        let r2 = derive(
            2,
            &[resp("channels/followers", q, 200, 2, &f(""))],
            at(2),
            &mut state,
        );
        let r3 = derive(
            3,
            &[resp("channels/followers", q, 200, 3, &f("\"total\":130,"))],
            at(3),
            &mut state,
        );
        assert_eq!(r1.followers[0].followers_delta, None);
        assert!(
            r2.followers.is_empty(),
            "a missing total is unknown, not zero"
        );
        assert_eq!(r3.followers[0].followers_delta, Some(30));
        assert_eq!(r3.followers[0].followers_total, 130);
        // A day after the previous read: still a delta; later: unknown.
        let day = MAX_DELTA_SPAN.num_minutes();
        for (cycle, minute, total, delta) in
            [(4, 3 + day, 150, Some(20)), (5, 4 + 2 * day, 900, None)]
        {
            let r = derive(
                cycle,
                &[resp(
                    "channels/followers",
                    q,
                    200,
                    minute,
                    &f(&format!("\"total\":{total},")),
                )],
                at(minute),
                &mut state,
            );
            assert_eq!(r.followers[0].followers_delta, delta, "cycle {cycle}");
        }
        // u2's total, read once more than a day ago, can give no delta: gone.
        let held: Vec<_> = state.followers.keys().collect();
        assert_eq!(held, ["u1"]);
    }

    #[test]
    fn a_rename_closes_the_old_profile_version() {
        let mut state = SilverState::default();
        let r1 = derive(
            1,
            &[resp("users", "id=u1", 200, 1, &user("alice"))],
            at(1),
            &mut state,
        );
        let r2 = derive(
            2,
            &[resp("users", "id=u1", 200, 2, &user("alice"))],
            at(2),
            &mut state,
        );
        let r3 = derive(
            3,
            &[resp("users", "id=u1", 200, 3, &user("alicia"))],
            at(3),
            &mut state,
        );
        assert!(r1.streamers_changed && !r2.streamers_changed && r3.streamers_changed);
        let history = &state.streamers["u1"];
        assert_eq!(history.len(), 2);
        assert_eq!(
            (history[0].is_current, history[0].valid_to),
            (false, Some(at(3)))
        );
        assert_eq!(
            (&*history[1].login, history[1].is_current),
            ("alicia", true)
        );
    }

    #[test]
    fn two_changes_in_one_cycle_leave_one_version_as_the_lake_merge_does() {
        let mut state = SilverState::default();
        let one = |cycle: i64, logins: &[(&str, i64)], state: &mut SilverState| {
            let rs: Vec<RawResponse> = logins
                .iter()
                .map(|&(l, t)| resp("users", "id=u1", 200, t, &user(l)))
                .collect();
            derive(cycle, &rs, at(logins[logins.len() - 1].1), state)
        };
        one(1, &[("alice", 1)], &mut state);
        let r2 = one(2, &[("alicia", 2), ("ally", 3)], &mut state);
        let r3 = one(3, &[("bob", 4), ("ally", 5)], &mut state);
        assert_eq!(r2.new_streamers.len(), 1);
        assert_eq!(r2.new_streamers[0].user.login, "ally");
        assert!(r3.new_streamers.is_empty() && !r3.streamers_changed);
        let history: Vec<_> = state.streamers["u1"]
            .iter()
            .map(|r| (&*r.login, r.valid_from, r.valid_to, r.is_current))
            .collect();
        assert_eq!(
            history,
            [
                ("alice", at(1), Some(at(3)), false),
                ("ally", at(3), None, true),
            ]
        );
    }
}
