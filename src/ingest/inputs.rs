//! What one cycle commits: everything its sources delivered since the cycle
//! before. The commit plan takes this whole, so a new source (chat lines
//! buffered between cycles) is a new field here and new steps in the plan —
//! landing in the same exactly-once cycle commit — not a new path.
use chrono::{DateTime, Utc};

use super::{Result, chat, state};
use crate::chat::ChatLine;
use crate::lake::Lake;
use crate::schema::Table;
use crate::twitch::RawResponse;

/// One cycle's inputs, as polled (a live cycle) or as bronze kept them
/// (start-up repair, `rebuild`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleInputs {
    /// Every Helix response page, failures included, in arrival order
    /// (`bronze.helix_responses`).
    pub responses: Vec<RawResponse>,
    /// Every chat line drained from the chat source, malformed ones
    /// included, oldest first (`bronze.chat_messages`).
    pub chat: Vec<ChatLine>,
}

impl CycleInputs {
    /// Cycle `cycle_id` read back from bronze, in arrival order.
    pub async fn from_bronze(lake: &Lake, cycle_id: i64) -> Result<Self> {
        let filter = format!("cycle_id = {cycle_id}");
        let batches = lake.scan(Table::HelixResponses, Some(&filter)).await?;
        let responses = state::responses(&batches)?;
        let batches = lake.scan(Table::ChatMessages, Some(&filter)).await?;
        let mut chat = chat::lines_of(&batches)?;
        // Stable: lines received in the same microsecond keep bronze's order.
        chat.sort_by_key(|l| l.received_at);
        let mut inputs = Self { responses, chat };
        inputs.in_replay_order();
        Ok(inputs)
    }

    /// Puts the responses in the order every derivation reads them: by
    /// fetch time, then page number, ties kept as they are (a stable sort).
    /// A live cycle sorts its poll this way before writing bronze, so its
    /// repair and `rebuild`, which sort bronze the same way, read the pages
    /// in the order it did (which page wins a stream listed twice, and so
    /// the row's time), even when concurrent requests landed out of order.
    pub fn in_replay_order(&mut self) {
        self.responses
            .sort_by(|a, b| a.fetched_at.cmp(&b.fetched_at).then(a.page.cmp(&b.page)));
    }

    /// The cycle's "now": when it last heard from Helix. Taken from the
    /// inputs, never from a clock, so a live cycle, its repair and `rebuild`
    /// derive the same rows. (Chat lines restored from a failed cycle may be
    /// older, and chat rows never depend on "now".)
    pub fn now(&self) -> Option<DateTime<Utc>> {
        self.responses.iter().map(|r| r.fetched_at).max()
    }

    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.responses.is_empty() && self.chat.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_order_is_fetch_time_then_page_with_ties_kept() {
        let t = |s: i64| DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap();
        let r = |query: &str, page: u32, at: i64| RawResponse {
            endpoint: "streams".into(),
            request_query: query.into(),
            page,
            http_status: 200,
            fetched_at: t(at),
            payload: String::new(),
        };
        // As concurrent requests may land: a later fetch first, and two
        // requests' first pages fetched in the same instant.
        let mut inputs = CycleInputs {
            responses: vec![
                r("b", 1, 5),
                r("a", 0, 2),
                r("b", 0, 2),
                r("c", 0, 2),
                r("a", 1, 3),
            ],
            chat: Vec::new(),
        };
        inputs.in_replay_order();
        let order: Vec<(String, u32)> = inputs
            .responses
            .iter()
            .map(|r| (r.request_query.clone(), r.page))
            .collect();
        let want = [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1)];
        assert_eq!(order, want.map(|(q, p)| (q.to_owned(), p)));
        assert_eq!(inputs.now(), Some(t(5)));
    }
}
