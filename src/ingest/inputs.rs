//! What one cycle commits: everything its sources delivered since the cycle
//! before. The commit plan takes this whole, so a new source (chat lines
//! buffered between cycles) is a new field here and new steps in the plan —
//! landing in the same exactly-once cycle commit — not a new path.
use chrono::{DateTime, Utc};

use super::{Result, state};
use crate::lake::Lake;
use crate::schema::Table;
use crate::twitch::RawResponse;

/// One cycle's inputs, as polled (a live cycle) or as bronze kept them
/// (start-up repair, `rebuild`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleInputs {
    /// Every Helix response page, failures included, in arrival order
    /// (`bronze.helix_responses`).
    pub responses: Vec<RawResponse>,
}

impl CycleInputs {
    /// Cycle `cycle_id` read back from bronze, in arrival order.
    pub async fn from_bronze(lake: &Lake, cycle_id: i64) -> Result<Self> {
        let filter = format!("cycle_id = {cycle_id}");
        let batches = lake.scan(Table::HelixResponses, Some(&filter)).await?;
        let mut responses = state::responses(&batches)?;
        responses.sort_by(|a, b| a.fetched_at.cmp(&b.fetched_at).then(a.page.cmp(&b.page)));
        Ok(Self { responses })
    }

    /// The cycle's "now": when it last heard from a source. Taken from the
    /// inputs, never from a clock, so a live cycle, its repair and `rebuild`
    /// derive the same rows.
    pub fn now(&self) -> Option<DateTime<Utc>> {
        self.responses.iter().map(|r| r.fetched_at).max()
    }

    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.responses.is_empty()
    }
}
