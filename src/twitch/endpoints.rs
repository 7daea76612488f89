//! The Helix endpoints on top of [`HelixClient::get`]: repeated-key list
//! parameters batched by 100, pagination until an empty or repeated cursor or
//! the page cap, stream deduplication, and errors collected instead of thrown.
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::client::HelixClient;
use super::models::{Channel, Envelope, Game, Stream, User, parse_page};
use super::paging::{CursorGuard, ItemList, PageSink, Stop, StreamSet};
use super::{ClientStats, Error, Fetched, Helix, RawResponse, StreamQuery};

/// Helix accepts at most this many list values per request.
const MAX_VALUES: usize = 100;

/// Query pairs of one request.
type Pairs<'a> = Vec<(&'static str, &'a str)>;

/// Splits repeated-key values into requests of at most 100 values, all keys
/// combined (Helix counts `id` and `login` together). No values: one empty batch.
fn batches<'a>(lists: &[(&'static str, &'a [String])]) -> Vec<Pairs<'a>> {
    let all: Pairs<'a> = lists
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (*k, v.as_str())))
        .collect();
    if all.is_empty() {
        return vec![Vec::new()];
    }
    all.chunks(MAX_VALUES).map(<[_]>::to_vec).collect()
}

/// Where one call's responses and errors accumulate.
struct Sink<'a> {
    responses: &'a mut Vec<RawResponse>,
    errors: &'a mut Vec<Arc<Error>>,
}

impl HelixClient {
    /// Fetches pages of `endpoint` with the `base` filters into `sink` until
    /// the end, a repeated cursor, the page cap or the sink's limit.
    async fn paginate(
        &self,
        endpoint: &str,
        base: &[(&'static str, &str)],
        items: &mut (impl PageSink + Send),
        out: &mut Sink<'_>,
    ) {
        let mut guard = CursorGuard::new(self.inner.max_pages);
        let mut after: Option<String> = None;
        loop {
            let first = items.first().to_string();
            let mut pairs: Vec<(&str, &str)> = base.to_vec();
            pairs.push(("first", &first));
            if let Some(a) = &after {
                pairs.push(("after", a));
            }
            let page = u32::try_from(guard.pages()).unwrap_or(u32::MAX);
            // A garbled page is usually a passing fault: ask once more before
            // giving up, since the cursor to go on is inside the garbled body.
            let mut retried = false;
            let cursor = loop {
                let at = match self.get(endpoint, &pairs, page, out.responses).await {
                    Ok(at) => at,
                    Err(e) => return out.errors.push(Arc::new(e)),
                };
                match items.push(out.responses[at].payload.as_bytes()) {
                    Ok(c) => break c,
                    Err(_) if !retried => {
                        tracing::warn!(endpoint, page, "unparseable page, asking once more");
                        retried = true;
                    }
                    Err(source) => {
                        return out.errors.push(Arc::new(Error::Parse {
                            endpoint: endpoint.into(),
                            source,
                        }));
                    }
                }
            };
            if items.is_full() {
                return;
            }
            match guard.next(cursor.as_deref()) {
                Ok(c) => after = Some(c),
                Err(Stop::End) => return,
                Err(why) => {
                    tracing::warn!(
                        endpoint,
                        pages = guard.pages(),
                        ?why,
                        "stopped paginating early"
                    );
                    return;
                }
            }
        }
    }

    /// One unpaginated list request per batch; items of every batch that parsed.
    async fn list<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        batches: Vec<Pairs<'_>>,
    ) -> Fetched<Vec<T>> {
        let mut out: Fetched<Vec<T>> = Fetched::default();
        for pairs in batches {
            for attempt in 0..2 {
                let at = match self.get(endpoint, &pairs, 0, &mut out.responses).await {
                    Ok(at) => at,
                    Err(e) => {
                        out.errors.push(Arc::new(e));
                        break;
                    }
                };
                match parse_page::<T>(out.responses[at].payload.as_bytes()) {
                    Ok(page) => {
                        out.value.extend(page.data);
                        break;
                    }
                    // Garbled: ask once more (see `paginate`).
                    Err(_) if attempt == 0 => {}
                    Err(source) => out.errors.push(Arc::new(Error::Parse {
                        endpoint: endpoint.into(),
                        source,
                    })),
                }
            }
        }
        out
    }
}

#[async_trait]
impl Helix for HelixClient {
    async fn streams(&self, query: &StreamQuery) -> Fetched<Vec<Stream>> {
        let mut fetched = Fetched::default();
        let mut set = StreamSet::new(query.limit);
        if query.limit == Some(0) {
            return fetched;
        }
        let mut out = Sink {
            responses: &mut fetched.responses,
            errors: &mut fetched.errors,
        };
        let users = batches(&[
            ("user_id", &query.user_ids),
            ("user_login", &query.user_logins),
        ]);
        let games = batches(&[("game_id", &query.game_ids)]);
        let languages = batches(&[("language", &query.languages)]);
        // Different keys narrow each other (Helix ANDs them), so every
        // combination of batches is one sweep; dedup spans them all.
        'sweep: for u in &users {
            for g in &games {
                for l in &languages {
                    if set.is_full() {
                        break 'sweep;
                    }
                    let base: Vec<_> = u.iter().chain(g).chain(l).copied().collect();
                    self.paginate("streams", &base, &mut set, &mut out).await;
                }
            }
        }
        fetched.value = set.into_streams();
        fetched
    }

    async fn users(&self, ids: &[String], logins: &[String]) -> Fetched<Vec<User>> {
        if ids.is_empty() && logins.is_empty() {
            return Fetched::default();
        }
        self.list("users", batches(&[("id", ids), ("login", logins)]))
            .await
    }

    async fn channels(&self, broadcaster_ids: &[String]) -> Fetched<Vec<Channel>> {
        if broadcaster_ids.is_empty() {
            return Fetched::default();
        }
        self.list("channels", batches(&[("broadcaster_id", broadcaster_ids)]))
            .await
    }

    async fn follower_total(&self, broadcaster_id: &str) -> Fetched<Option<u64>> {
        const ENDPOINT: &str = "channels/followers";
        let mut out = Fetched::default();
        let pairs = [("broadcaster_id", broadcaster_id)];
        let tokens = self.followers_tokens();
        match self
            .get_as(&*tokens, ENDPOINT, &pairs, 0, &mut out.responses)
            .await
        {
            Ok(at) => match parse_page::<IgnoredAny>(out.responses[at].payload.as_bytes()) {
                Ok(Envelope { total, .. }) => out.value = total,
                Err(source) => out.errors.push(Arc::new(Error::Parse {
                    endpoint: ENDPOINT.into(),
                    source,
                })),
            },
            Err(e) => {
                self.explain_followers_refusal(&e, tokens.kind());
                out.errors.push(Arc::new(e));
            }
        }
        out
    }

    async fn games(&self, ids: &[String], names: &[String]) -> Fetched<Vec<Game>> {
        if ids.is_empty() && names.is_empty() {
            return Fetched::default();
        }
        self.list("games", batches(&[("id", ids), ("name", names)]))
            .await
    }

    async fn top_games(&self, n: usize) -> Fetched<Vec<Game>> {
        let mut fetched = Fetched::default();
        if n == 0 {
            return fetched;
        }
        let mut items = ItemList::new(Some(n));
        let mut out = Sink {
            responses: &mut fetched.responses,
            errors: &mut fetched.errors,
        };
        self.paginate("games/top", &[], &mut items, &mut out).await;
        fetched.value = items.into_items();
        fetched
    }

    fn stats(&self) -> ClientStats {
        self.client_stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_combine_keys_and_split_at_100() {
        let ids: Vec<String> = (0..150).map(|i| i.to_string()).collect();
        let logins: Vec<String> = (0..60).map(|i| format!("l{i}")).collect();
        let b = batches(&[("id", &ids), ("login", &logins)]);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, 10]);
        assert_eq!(b[1][49], ("id", "149"));
        assert_eq!(b[1][50], ("login", "l0"));
        assert_eq!(batches(&[("id", &[])]), vec![Vec::new()]);
    }
}
