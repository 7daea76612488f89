//! Polls waiting for the lake. When a cycle's commit fails — the disk is
//! full, the lake read-only, the object store down — what the poll brought
//! from Helix is kept here, and committed, each poll as a cycle of its own
//! and oldest first, before the next poll's. Twitch does not answer for the
//! past: a poll not kept is a minute of data lost for good.
//!
//! The backlog is bounded by the size of the response bodies it holds;
//! beyond the bound the oldest polls are dropped, logged and counted.
use std::collections::VecDeque;

use super::poll::Polled;

/// A poll whose commit has not succeeded yet.
#[derive(Debug)]
pub(super) struct Waiting {
    /// What the poll brought (its responses are the cycle's inputs).
    pub(super) polled: Polled,
    /// Commits tried so far.
    pub(super) attempts: u32,
    /// The cycle id of the last attempt: if a reopened lake is past it,
    /// that attempt landed after all (and was repaired when reopening).
    pub(super) tried: Option<i64>,
    bytes: u64,
}

/// Polls waiting for the lake, oldest first, bounded in bytes.
#[derive(Debug)]
pub(super) struct Backlog {
    polls: VecDeque<Waiting>,
    bytes: u64,
    limit: u64,
    dropped: u64,
}

impl Backlog {
    /// An empty backlog holding at most `limit` bytes of response bodies.
    pub(super) fn new(limit: u64) -> Self {
        Self {
            polls: VecDeque::new(),
            bytes: 0,
            limit,
            dropped: 0,
        }
    }

    /// Adds a fresh poll at the back; drops the oldest polls while the
    /// backlog is over its bound (never the poll just added).
    pub(super) fn push(&mut self, polled: Polled) {
        let bytes = polled
            .responses
            .iter()
            .map(|r| r.payload.len() as u64)
            .sum();
        self.bytes += bytes;
        self.polls.push_back(Waiting {
            polled,
            attempts: 0,
            tried: None,
            bytes,
        });
        while self.bytes > self.limit && self.polls.len() > 1 {
            let Some(old) = self.pop() else { break };
            self.dropped += 1;
            tracing::error!(
                started_at = %old.polled.started_at,
                responses = old.polled.responses.len(),
                bytes = old.bytes,
                limit = self.limit,
                "the lake has refused commits for too long: a poll waiting for it was dropped (raise --backlog-limit to keep more)"
            );
        }
    }

    /// Takes the oldest waiting poll.
    pub(super) fn pop(&mut self) -> Option<Waiting> {
        let w = self.polls.pop_front()?;
        self.bytes -= w.bytes;
        Some(w)
    }

    /// Puts a poll whose commit failed back at the front.
    pub(super) fn put_back(&mut self, w: Waiting) {
        self.bytes += w.bytes;
        self.polls.push_front(w);
    }

    /// Polls waiting.
    pub(super) fn len(&self) -> usize {
        self.polls.len()
    }

    /// Whether no poll waits.
    pub(super) fn is_empty(&self) -> bool {
        self.polls.is_empty()
    }

    /// Polls dropped over the bound since start.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::twitch::RawResponse;

    fn poll(bytes: usize, tag: &str) -> Polled {
        Polled {
            responses: vec![RawResponse {
                endpoint: "streams".into(),
                request_query: tag.into(),
                page: 0,
                http_status: 200,
                fetched_at: Utc::now(),
                payload: "x".repeat(bytes),
            }],
            ..Polled::default()
        }
    }

    fn tags(b: &mut Backlog) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(w) = b.pop() {
            out.push(w.polled.responses[0].request_query.clone());
        }
        out
    }

    #[test]
    fn keeps_polls_in_order_and_drops_the_oldest_over_the_bound() {
        let mut b = Backlog::new(250);
        b.push(poll(100, "a"));
        b.push(poll(100, "b"));
        assert_eq!((b.len(), b.dropped()), (2, 0));
        let first = b.pop().unwrap();
        b.put_back(first);
        b.push(poll(100, "c"));
        assert_eq!((b.len(), b.dropped()), (2, 1));
        assert_eq!(tags(&mut b), ["b", "c"]);
        assert_eq!(b.bytes, 0);
    }

    #[test]
    fn a_poll_larger_than_the_bound_is_still_kept_alone() {
        let mut b = Backlog::new(10);
        b.push(poll(5, "a"));
        b.push(poll(50, "big"));
        assert_eq!((b.len(), b.dropped()), (1, 1));
        assert_eq!(tags(&mut b), ["big"]);
    }
}
