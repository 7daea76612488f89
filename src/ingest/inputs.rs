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
        let mut responses = state::responses(&batches)?;
        responses.sort_by(|a, b| a.fetched_at.cmp(&b.fetched_at).then(a.page.cmp(&b.page)));
        let batches = lake.scan(Table::ChatMessages, Some(&filter)).await?;
        let mut chat = chat::lines_of(&batches)?;
        // Stable: lines received in the same microsecond keep bronze's order.
        chat.sort_by_key(|l| l.received_at);
        Ok(Self { responses, chat })
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
