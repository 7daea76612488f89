//! Helix response bodies through every decoder that reads them: the list
//! pages (streams, users, followers, games), the paging cursor guard, error
//! bodies, and the bronze replay that turns kept pages into silver rows.
use chrono::{DateTime, TimeDelta, Utc};
use serde::de::IgnoredAny;

use crate::ingest::silver::{SilverState, derive};
use crate::twitch::models::{ErrorBody, Follower, Game, User, parse_page};
use crate::twitch::paging::{CursorGuard, ItemList, PageSink, StreamSet};
use crate::twitch::{RawResponse, error_message};

/// Splits one input into several bodies. A NUL byte cannot occur in JSON
/// text, so no real body is cut; several bodies let the fuzzer reach what
/// spans pages (dedup across pages, repeated cursors, follower deltas).
const SEPARATOR: u8 = 0;

/// At most this many bodies per input (a sweep of a few pages).
const MAX_BODIES: usize = 8;

/// The endpoints whose pages bronze replay reads.
const ENDPOINTS: [&str; 5] = [
    "streams",
    "users",
    "channels/followers",
    "games",
    "games/top",
];

/// Feeds `data` — one Helix body, or several separated by NUL bytes — to the
/// decoders as any endpoint would receive it (any endpoint may answer with
/// any body: Twitch's misbehaviour, a proxy's error page). Never panics on
/// malformed input: errors are what a bad body must produce.
pub fn helix(data: &[u8]) {
    let bodies: Vec<&[u8]> = data.split(|&b| b == SEPARATOR).take(MAX_BODIES).collect();

    // One sweep per page type: parse, dedup, follow cursors.
    let mut streams = StreamSet::new(Some(250));
    let mut users = ItemList::<User>::new(None);
    let mut games = ItemList::<Game>::new(Some(150));
    let mut followers = ItemList::<Follower>::new(None);
    let mut guard = CursorGuard::new(4);
    for body in &bodies {
        let _ = streams.push(body);
        let _ = users.push(body);
        let _ = games.push(body);
        let _ = followers.push(body);
        assert!(
            (1..=100).contains(&streams.first()),
            "page size out of range"
        );
        // What a failed request reports: never fails itself, and a body that
        // is not an error body is cut to 200 characters.
        let message = error_message(body);
        assert!(message.chars().count() <= 201 || is_error_body(body));
        // Paging bookkeeping reads the envelope alone, whatever the items
        // (the sweep would stop at the first `Err`; the bodies go on here
        // so every decoder sees each of them).
        let page = parse_page::<IgnoredAny>(body);
        let _ = guard.next(page.as_ref().ok().and_then(|p| p.cursor()));
    }
    assert!(streams.len() <= 250);
    drop((
        users.into_items(),
        games.into_items(),
        followers.into_items(),
    ));

    // Bronze replay: the same bodies as kept responses of every endpoint,
    // one minute apart, twice (a replayed cycle must change nothing).
    let start = DateTime::from_timestamp(1_767_571_200, 0).unwrap_or_default();
    let responses: Vec<RawResponse> = bodies
        .iter()
        .enumerate()
        .flat_map(|(i, body)| {
            let at = start + TimeDelta::minutes(i as i64);
            ENDPOINTS.map(|endpoint| response(endpoint, at, body))
        })
        .collect();
    let now = start + TimeDelta::hours(1);
    let mut state = SilverState::default();
    let first = derive(1, &responses, now, &mut state);
    let again = derive(1, &responses, now, &mut state);
    assert!(
        again.followers.is_empty(),
        "a replayed cycle added follower rows"
    );
    drop((first, again));
}

/// Whether the body is an error body with a message or reason (passed on
/// whole, whatever its length).
fn is_error_body(body: &[u8]) -> bool {
    serde_json::from_slice::<ErrorBody>(body)
        .is_ok_and(|e| !e.message.is_empty() || !e.error.is_empty())
}

fn response(endpoint: &str, at: DateTime<Utc>, body: &[u8]) -> RawResponse {
    RawResponse {
        endpoint: endpoint.to_owned(),
        request_query: "broadcaster_id=141981764&first=100".to_owned(),
        page: 0,
        http_status: 200,
        fetched_at: at,
        // As the client keeps a body: lossy only if it is not UTF-8.
        payload: String::from_utf8_lossy(body).into_owned(),
    }
}
