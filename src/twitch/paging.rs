//! Pagination bookkeeping for Helix list sweeps: when to stop (end, repeated
//! cursor, page cap) and stream deduplication. Kept apart from I/O so that the
//! benchmark and bronze replay run exactly the client's parse + dedup code.
use std::collections::HashSet;

use super::models::{Envelope, Stream, parse_page};

/// Decides whether a sweep goes on after each page.
#[derive(Debug, Clone)]
pub struct CursorGuard {
    seen: HashSet<String>,
    pages: usize,
    max_pages: usize,
}

/// Why a paginated sequence stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// No cursor or an empty one: the normal end.
    End,
    /// The cursor was already seen in this sweep (a loop).
    RepeatedCursor,
    /// `max_pages` pages were fetched.
    PageCap,
}

impl CursorGuard {
    /// A guard allowing at most `max_pages` pages (at least one).
    pub fn new(max_pages: usize) -> Self {
        Self {
            seen: HashSet::new(),
            pages: 0,
            max_pages: max_pages.max(1),
        }
    }

    /// Records one received page and its cursor: `Ok(cursor)` to fetch next,
    /// `Err(why)` to stop.
    pub fn next(&mut self, cursor: Option<&str>) -> Result<String, Stop> {
        self.pages += 1;
        let cursor = cursor.filter(|c| !c.is_empty()).ok_or(Stop::End)?;
        if !self.seen.insert(cursor.to_owned()) {
            return Err(Stop::RepeatedCursor);
        }
        if self.pages >= self.max_pages {
            return Err(Stop::PageCap);
        }
        Ok(cursor.to_owned())
    }

    /// Pages recorded so far.
    pub fn pages(&self) -> usize {
        self.pages
    }
}

/// Something that consumes list pages: parses a body, keeps its items and
/// hands back the next cursor.
pub trait PageSink {
    /// How many items to ask for on the next page (`first`, 1..=100).
    fn first(&self) -> usize;
    /// Parses one page body, keeps its items, returns its cursor.
    fn push(&mut self, body: &[u8]) -> serde_json::Result<Option<String>>;
    /// Whether enough items have arrived (a `limit` was reached).
    fn is_full(&self) -> bool;
}

/// Streams of one sweep, deduplicated by stream id: the first occurrence
/// wins and arrival order is kept.
#[derive(Debug, Clone, Default)]
pub struct StreamSet {
    ids: HashSet<String>,
    streams: Vec<Stream>,
    limit: Option<usize>,
    duplicates: usize,
}

impl StreamSet {
    /// An empty set that stops growing at `limit` streams.
    pub fn new(limit: Option<usize>) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Adds streams, skipping ids already present.
    pub fn extend(&mut self, streams: impl IntoIterator<Item = Stream>) {
        for s in streams {
            if self.is_full() {
                break;
            }
            if self.ids.contains(&s.id) {
                self.duplicates += 1;
            } else {
                self.ids.insert(s.id.clone());
                self.streams.push(s);
            }
        }
    }

    /// Streams kept so far.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether no stream was kept.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// How many repeated streams were dropped.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// The streams in arrival order.
    pub fn into_streams(self) -> Vec<Stream> {
        self.streams
    }
}

impl PageSink for StreamSet {
    fn first(&self) -> usize {
        page_size(self.limit, self.streams.len())
    }
    fn push(&mut self, body: &[u8]) -> serde_json::Result<Option<String>> {
        let page: Envelope<Stream> = parse_page(body)?;
        let cursor = page.cursor().map(str::to_owned);
        self.extend(page.data);
        Ok(cursor)
    }
    fn is_full(&self) -> bool {
        self.limit.is_some_and(|l| self.streams.len() >= l)
    }
}

/// Items of a paginated list kept as they come (e.g. top games), up to a limit.
#[derive(Debug, Clone)]
pub struct ItemList<T> {
    items: Vec<T>,
    limit: Option<usize>,
}

impl<T> ItemList<T> {
    /// An empty list that stops growing at `limit` items.
    pub fn new(limit: Option<usize>) -> Self {
        Self {
            items: Vec::new(),
            limit,
        }
    }
    /// The items in arrival order.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }
}

impl<T: for<'de> serde::Deserialize<'de>> PageSink for ItemList<T> {
    fn first(&self) -> usize {
        page_size(self.limit, self.items.len())
    }
    fn push(&mut self, body: &[u8]) -> serde_json::Result<Option<String>> {
        let page: Envelope<T> = parse_page(body)?;
        let cursor = page.cursor().map(str::to_owned);
        let room = self
            .limit
            .map_or(usize::MAX, |l| l.saturating_sub(self.items.len()));
        self.items.extend(page.data.into_iter().take(room));
        Ok(cursor)
    }
    fn is_full(&self) -> bool {
        self.limit.is_some_and(|l| self.items.len() >= l)
    }
}

/// Helix pages hold at most 100 items; ask for no more than still needed.
fn page_size(limit: Option<usize>, have: usize) -> usize {
    limit.map_or(100, |l| l.saturating_sub(have)).clamp(1, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: &[u32], cursor: Option<&str>) -> Vec<u8> {
        let data: Vec<String> = ids
            .iter()
            .map(|i| {
                format!(
                    r#"{{"id":"{i}","user_id":"u{i}","user_login":"l{i}","user_name":"n",
                    "viewer_count":{i},"started_at":"2026-01-01T00:00:00Z"}}"#
                )
            })
            .collect();
        let pagination = cursor.map_or("{}".to_owned(), |c| format!(r#"{{"cursor":"{c}"}}"#));
        format!(
            r#"{{"data":[{}],"pagination":{pagination}}}"#,
            data.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn dedups_by_id_keeping_the_first_occurrence_in_order() {
        let mut set = StreamSet::new(None);
        assert_eq!(
            set.push(&page(&[3, 2, 1], Some("a"))).unwrap().as_deref(),
            Some("a")
        );
        assert_eq!(set.push(&page(&[1, 0], None)).unwrap(), None);
        assert_eq!(set.duplicates(), 1);
        let ids: Vec<_> = set.into_streams().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["3", "2", "1", "0"]);
    }

    #[test]
    fn limit_caps_items_and_page_size() {
        let mut set = StreamSet::new(Some(150));
        assert_eq!(set.first(), 100);
        set.push(&page(&(0..100).collect::<Vec<_>>(), Some("a")))
            .unwrap();
        assert_eq!(set.first(), 50);
        set.push(&page(&(100..200).collect::<Vec<_>>(), Some("b")))
            .unwrap();
        assert!(set.is_full());
        assert_eq!(set.len(), 150);
    }

    #[test]
    fn guard_stops_on_end_repeat_and_cap() {
        let mut g = CursorGuard::new(10);
        assert_eq!(g.next(Some("a")), Ok("a".to_owned()));
        assert_eq!(g.next(Some("b")), Ok("b".to_owned()));
        assert_eq!(g.next(Some("a")), Err(Stop::RepeatedCursor));
        let mut g = CursorGuard::new(2);
        assert_eq!(g.next(Some("")), Err(Stop::End));
        assert_eq!(g.next(Some("x")), Err(Stop::PageCap));
        assert_eq!(g.pages(), 2);
    }

    #[test]
    fn a_malformed_page_is_an_error_not_a_panic() {
        let mut set = StreamSet::new(None);
        assert!(set.push(b"{\"data\":[{\"id\":").is_err());
        assert!(set.is_empty());
    }
}
