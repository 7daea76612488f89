//! The Helix endpoints over the world: parameters checked the way Twitch
//! checks them, list values as repeated keys, pages behind opaque base64
//! cursors computed against the world as it is at each request.
use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::sim::World;
use crate::twitch::models::{ErrorBody, Pagination, Stream};

/// Helix's limit on list values and page size.
const MAX_VALUES: usize = 100;

/// Query parameters in order, repeated keys kept.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: &str) -> Self {
        Self(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }
    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A status and a JSON body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// A Helix error body: `{"error": reason, "status": n, "message": ...}`.
    pub(crate) fn error(status: u16, message: impl Into<String>) -> Self {
        let reason = axum::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason());
        let body = ErrorBody {
            error: reason.unwrap_or("Error").to_owned(),
            status,
            message: message.into(),
        };
        Self {
            status,
            body: to_json(&body),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::error(400, message)
    }
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// Page-level faults decided for this request.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PageFaults {
    pub(crate) overlap: usize,
    pub(crate) skip: usize,
    pub(crate) loop_after: u32,
    pub(crate) drop_total: bool,
}

#[derive(Serialize)]
struct Out<'a, T> {
    data: &'a [T],
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
}

/// Serializes a response into a buffer sized for it up front (pages of
/// streams are the hot path of a benchmark sweep).
fn out<T: Serialize>(data: &[T], pagination: Option<Pagination>, total: Option<u64>) -> Reply {
    let mut body = Vec::with_capacity(64 + data.len() * 640);
    let ok = serde_json::to_writer(
        &mut body,
        &Out {
            data,
            pagination,
            total,
        },
    );
    match ok {
        Ok(()) => Reply { status: 200, body },
        Err(e) => Reply::error(500, e.to_string()),
    }
}

/// What a cursor carries: an offset into the current list and the page number.
#[derive(Serialize, Deserialize)]
struct CursorBody {
    o: usize,
    p: u32,
}

fn encode_cursor(offset: usize, page: u32) -> String {
    STANDARD.encode(to_json(&CursorBody { o: offset, p: page }))
}

fn decode_cursor(c: &str) -> Option<CursorBody> {
    serde_json::from_slice(&STANDARD.decode(c).ok()?).ok()
}

/// Answers one Helix request (`endpoint` without the `/helix/` prefix).
pub(crate) fn answer(world: &World, endpoint: &str, p: &Params, faults: PageFaults) -> Reply {
    let r = match endpoint {
        "streams" => streams(world, p, faults),
        "users" => users(world, p),
        "channels" => channels(world, p),
        "channels/followers" => followers(world, p, faults),
        "games" => games(world, p),
        "games/top" => {
            let top = world.top_games();
            page(&top, p, PageFaults::default())
        }
        _ => Err(Reply::error(
            404,
            format!("no such endpoint: /helix/{endpoint}"),
        )),
    };
    r.unwrap_or_else(|e| e)
}

/// Values of list keys, refusing more than 100 in total like Helix.
fn values<'a>(p: &'a Params, keys: &[&str]) -> Result<Vec<Vec<&'a str>>, Reply> {
    let lists: Vec<Vec<&str>> = keys.iter().map(|k| p.all(k)).collect();
    if lists.iter().map(Vec::len).sum::<usize>() > MAX_VALUES {
        let names = keys.join("\" and \"");
        return Err(Reply::bad_request(format!(
            "The parameters \"{names}\" may hold at most {MAX_VALUES} values in total"
        )));
    }
    Ok(lists)
}

fn first(p: &Params) -> Result<usize, Reply> {
    match p.one("first") {
        None => Ok(20),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=MAX_VALUES).contains(n)).ok_or_else(|| {
            Reply::bad_request(
                "The parameter \"first\" was malformed: the value must be greater than or equal to 1 and less than or equal to 100",
            )
        }),
    }
}

/// One page of `items` after the request's cursor.
fn page<T: Serialize>(items: &[T], p: &Params, faults: PageFaults) -> Result<Reply, Reply> {
    let first = first(p)?;
    let (offset, index) = match p.one("after") {
        None | Some("") => (0, 0),
        Some(c) => {
            let c = decode_cursor(c).ok_or_else(|| Reply::bad_request("invalid cursor"))?;
            (c.o, c.p)
        }
    };
    // Overlap stays below the page size so every page still moves forward.
    let (overlap, skip) = if index > 0 {
        (faults.overlap.min(first - 1), faults.skip)
    } else {
        (0, 0)
    };
    // Both at once, as when some streams moved down past the page boundary
    // (listed again) and others up past it (listed on no page): the page
    // repeats the last `overlap` items before `offset`, then goes on `skip`
    // items after it.
    let offset = offset.min(items.len());
    let repeated = &items[offset.saturating_sub(overlap)..offset];
    let start = offset.saturating_add(skip).min(items.len());
    let end = start
        .saturating_add(first - repeated.len())
        .min(items.len());
    let cursor = (end < items.len()).then(|| {
        if faults.loop_after > 0 && index + 1 == faults.loop_after {
            encode_cursor(0, 0) // back to the first page: a loop
        } else {
            encode_cursor(end, index + 1)
        }
    });
    let data: Vec<&T> = repeated.iter().chain(&items[start..end]).collect();
    Ok(out(&data, Some(Pagination { cursor }), None))
}

fn streams(world: &World, p: &Params, faults: PageFaults) -> Result<Reply, Reply> {
    let [users, logins] =
        <[_; 2]>::try_from(values(p, &["user_id", "user_login"])?).unwrap_or_default();
    let games = values(p, &["game_id"])?.concat();
    let languages = values(p, &["language"])?.concat();
    if !matches!(p.one("type"), None | Some("all" | "live")) {
        return Err(Reply::bad_request(
            "The parameter \"type\" was malformed: must be all or live",
        ));
    }
    let all = world.live_streams();
    if users.is_empty() && logins.is_empty() && games.is_empty() && languages.is_empty() {
        return page(all, p, faults);
    }
    // Each value is one value: "a,b" matches nothing, as on Twitch.
    let (games, languages): (HashSet<&str>, HashSet<&str>) =
        (games.into_iter().collect(), languages.into_iter().collect());
    let wanted = |s: &&Stream| {
        (games.is_empty() || games.contains(s.game_id.as_str()))
            && (languages.is_empty() || languages.contains(s.language.as_str()))
    };
    let matching: Vec<&Stream> = if users.is_empty() && logins.is_empty() {
        all.iter().filter(wanted).collect()
    } else {
        // Up to 100 channels, found by index rather than by a pass over
        // every live stream, and listed in the list's order.
        let ids = users.iter().map(|u| world.live_slot(u, false));
        let by_login = logins.iter().map(|l| world.live_slot(l, true));
        let mut slots: Vec<usize> = ids.chain(by_login).flatten().collect();
        slots.sort_unstable();
        slots.dedup();
        slots.into_iter().map(|i| &all[i]).filter(wanted).collect()
    };
    page(&matching, p, faults)
}

fn users(world: &World, p: &Params) -> Result<Reply, Reply> {
    let [ids, logins] = <[_; 2]>::try_from(values(p, &["id", "login"])?).unwrap_or_default();
    if ids.is_empty() && logins.is_empty() {
        return Err(Reply::bad_request(
            "Must provide an ID, Login or OAuth Token.",
        ));
    }
    let mut seen = HashSet::new();
    let found: Vec<_> = ids
        .iter()
        .filter_map(|id| world.user(id))
        .chain(logins.iter().filter_map(|l| world.user_by_login(l)))
        .filter(|u| seen.insert(u.id.clone()))
        .collect();
    Ok(out(&found, None, None))
}

fn channels(world: &World, p: &Params) -> Result<Reply, Reply> {
    let ids = values(p, &["broadcaster_id"])?.concat();
    if ids.is_empty() {
        return Err(Reply::bad_request(
            "Missing required parameter \"broadcaster_id\"",
        ));
    }
    let found: Vec<_> = ids.iter().filter_map(|id| world.channel(id)).collect();
    Ok(out(&found, None, None))
}

fn followers(world: &World, p: &Params, faults: PageFaults) -> Result<Reply, Reply> {
    let id = p
        .one("broadcaster_id")
        .ok_or_else(|| Reply::bad_request("Missing required parameter \"broadcaster_id\""))?;
    // App tokens see no follower list, only the total (which Twitch sometimes omits).
    let total = (!faults.drop_total).then(|| world.followers(id).unwrap_or(0));
    Ok(out::<()>(&[], Some(Pagination::default()), total))
}

fn games(world: &World, p: &Params) -> Result<Reply, Reply> {
    let [ids, names] = <[_; 2]>::try_from(values(p, &["id", "name"])?).unwrap_or_default();
    if ids.is_empty() && names.is_empty() {
        return Err(Reply::bad_request("Must provide at least one id or name"));
    }
    let all = world.games();
    let mut seen = HashSet::new();
    let found: Vec<_> = ids
        .iter()
        .filter_map(|id| all.iter().find(|g| g.id == *id))
        .chain(
            names
                .iter()
                .filter_map(|n| all.iter().find(|g| g.name == *n)),
        )
        .filter(|g| seen.insert(g.id.clone()))
        .collect();
    Ok(out(&found, None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let c = encode_cursor(300, 3);
        let back = decode_cursor(&c).unwrap();
        assert_eq!((back.o, back.p), (300, 3));
        assert!(decode_cursor("not base64!").is_none());
    }

    #[test]
    fn repeated_keys_are_values_and_more_than_100_is_refused() {
        let q: String = (0..101).map(|i| format!("id={i}&")).collect();
        let p = Params::parse(&q);
        assert_eq!(p.all("id").len(), 101);
        let r = values(&p, &["id", "login"]).unwrap_err();
        assert_eq!(r.status, 400);
        let body: ErrorBody = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body.error, "Bad Request");
    }

    #[test]
    fn streams_by_channel_keep_the_lists_order_and_the_other_filters() {
        let start = chrono::DateTime::from_timestamp(1_767_614_400, 0).unwrap();
        let world = World::with_live_streams(4, 300, start);
        let live = world.live_streams();
        let (a, b, c) = (&live[7], &live[120], &live[250]);
        let query = format!(
            "user_id={}&user_login={}&user_id={}&user_id=999999999&user_login={}",
            c.user_id, b.user_login, a.user_id, a.user_login
        );
        let listed = |q: &str| -> Vec<String> {
            let r = streams(&world, &Params::parse(q), PageFaults::default()).unwrap();
            let page: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["user_id"].as_str().unwrap().to_owned())
                .collect()
        };
        // By viewers as the list stands, each once, unknown ids left out.
        assert_eq!(
            listed(&query),
            [&a.user_id, &b.user_id, &c.user_id].map(String::clone)
        );
        // Helix ANDs the other keys.
        let game = format!("{query}&game_id={}", b.game_id);
        let want: Vec<_> = [a, b, c]
            .iter()
            .filter(|s| s.game_id == b.game_id)
            .map(|s| s.user_id.clone())
            .collect();
        assert_eq!(listed(&game), want);
    }

    #[test]
    fn a_page_can_repeat_and_skip_at_once() {
        let items: Vec<u32> = (0..10).collect();
        let faults = PageFaults {
            overlap: 1,
            skip: 2,
            ..PageFaults::default()
        };
        let q = format!("first=4&after={}", encode_cursor(4, 1));
        let r = page(&items, &Params::parse(&q), faults).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        // Item 3 again, items 4 and 5 on no page.
        assert_eq!(body["data"], serde_json::json!([3, 6, 7, 8]));
        let next = decode_cursor(body["pagination"]["cursor"].as_str().unwrap()).unwrap();
        assert_eq!((next.o, next.p), (9, 2));
    }
}
