//! The chat source as the cycle runner sees it: lines drained into a
//! cycle's inputs and dropped from the source only once that cycle has
//! committed them; the joined channels kept to the watched ones plus the
//! top N live after every committed cycle.
use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::super::observe::{CycleObserver, FinishedCycle, ObserverError};
use crate::chat::{ChatLine, ChatSource};
use crate::lake::Lake;
use crate::schema::Table;

/// The runner's hold on the chat source.
#[derive(Debug, Clone)]
pub struct ChatFeed {
    source: Arc<dyn ChatSource>,
}

impl ChatFeed {
    /// Feeds cycles from `source`.
    pub fn new(source: Arc<dyn ChatSource>) -> Self {
        Self { source }
    }

    /// Every line buffered since the last drain, for the cycle about to commit.
    pub fn drain(&self) -> Vec<ChatLine> {
        self.source.drain()
    }

    /// After cycle `cycle_id` failed: gives `lines` back to the source unless
    /// they reached `bronze.chat_messages` before the failure (a later write
    /// failed; start-up repair derives the rest from bronze). Asked at once,
    /// before any later commit moves the table's txn marker on. When the
    /// lake cannot even say, the lines go back: the append most likely failed
    /// with the rest, and a line lost would not come back, where a line
    /// doubled at worst shows in the counts.
    pub async fn settle_failed(&self, lake: &Lake, cycle_id: i64, lines: Vec<ChatLine>) {
        if lines.is_empty() {
            return;
        }
        match lake.last_cycle(Table::ChatMessages, None).await {
            Ok(Some(last)) if last >= cycle_id => {
                tracing::info!(
                    cycle_id,
                    lines = lines.len(),
                    "the failed cycle's chat lines reached bronze; repair derives the rest"
                );
            }
            Ok(_) => self.source.restore(lines),
            Err(e) => {
                tracing::warn!(
                    cycle_id,
                    "cannot tell whether the failed cycle's chat reached bronze ({e}); \
                     its lines go to the next cycle"
                );
                self.source.restore(lines);
            }
        }
    }
}

/// Keeps the chat source in the channels worth reading: the watched ones
/// and the top N live by viewers of the last committed cycle.
#[derive(Debug, Clone)]
pub struct ChatChannels {
    source: Arc<dyn ChatSource>,
    watched: Vec<String>,
    top_n: usize,
}

impl ChatChannels {
    /// Joins `watched` now; after each committed cycle, `watched` plus the
    /// `top_n` live channels with the most viewers.
    pub fn new(source: Arc<dyn ChatSource>, watched: Vec<String>, top_n: usize) -> Self {
        source.set_channels(&watched);
        Self {
            source,
            watched,
            top_n,
        }
    }

    /// The channels for a cycle that saw `live` (login, viewers).
    pub fn channels<'a>(&self, live: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<String> {
        let mut live: Vec<(&str, u64)> = live.into_iter().collect();
        live.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut out: BTreeSet<String> = self
            .watched
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let mut added = 0;
        for (login, _) in live {
            if added == self.top_n {
                break;
            }
            if out.insert(login.to_ascii_lowercase()) {
                added += 1;
            }
        }
        out.into_iter().collect()
    }
}

#[async_trait]
impl CycleObserver for ChatChannels {
    fn name(&self) -> &str {
        "chat channels"
    }

    async fn on_cycle(&self, cycle: &FinishedCycle) -> Result<(), ObserverError> {
        if let Some(report) = cycle.report() {
            let live = report
                .silver
                .snapshots
                .iter()
                .map(|r| (r.stream.user_login.as_str(), r.stream.viewer_count));
            self.source.set_channels(&self.channels(live));
        }
        Ok(())
    }
}
