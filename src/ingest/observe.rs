//! What the runner tells the consumers of cycles: every finished cycle,
//! committed or failed, through one trait. The consumers are listed once,
//! where the service is wired (`app.rs`), and called in that order — so a
//! consumer that reads the live views or the catalog (alert rules, say) is
//! listed after the ones that refresh them, and a consumer that commits a
//! state table keyed by the cycle id (the alerts outbox, exports sent when
//! a day closes: [`CommitReport::closed_days`]) runs after the cycle's gold
//! commit.
//!
//! Implementations for what `ingest` can see live beside it (metrics here,
//! the live views in [`super::live`]); modules below `ingest` in the
//! dependency order implement [`CycleObserver`] themselves, and a module
//! that must not know about cycles (the query catalog) is adapted with
//! [`after_commit`].
use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;

use super::Error;
use super::pipeline::CommitReport;
use super::summary::CycleSummary;
use crate::metrics::{Metrics, Outcome};

/// A consumer's failure: logged by the runner, never stops ingest.
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// One finished cycle, as its consumers see it.
#[derive(Debug)]
pub struct FinishedCycle {
    /// What it polled and wrote, how long it took (poll time included).
    pub summary: CycleSummary,
    /// What its commit did, or why the cycle failed (connecting, reopening
    /// the lake, committing). A failed cycle committed nothing new.
    pub outcome: Result<CommitReport, Error>,
}

impl FinishedCycle {
    /// The commit report, if the cycle committed.
    pub fn report(&self) -> Option<&CommitReport> {
        self.outcome.as_ref().ok()
    }

    /// Why the cycle failed, if it did.
    pub fn error(&self) -> Option<&Error> {
        self.outcome.as_ref().err()
    }
}

/// A consumer of finished cycles. The runner awaits each consumer before
/// the next one and before its next cycle: work that may take long or wait
/// on the network (delivering alerts, sending exports) belongs in a task of
/// the consumer's own, fed from here.
#[async_trait]
pub trait CycleObserver: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Called once per finished cycle, committed or failed, in cycle order.
    async fn on_cycle(&self, cycle: &FinishedCycle) -> Result<(), ObserverError>;
}

/// Cycle counts and durations, Helix requests, rows written, rate limit.
#[async_trait]
impl CycleObserver for Metrics {
    fn name(&self) -> &str {
        "metrics"
    }

    async fn on_cycle(&self, cycle: &FinishedCycle) -> Result<(), ObserverError> {
        let s = &cycle.summary;
        // A poll's responses count once, not again when a commit that
        // waited for the lake is tried anew.
        for ((endpoint, status), n) in s.responses.iter().filter(|_| s.attempt <= 1) {
            for _ in 0..*n {
                self.helix_request(endpoint, (*status != 0).then_some(*status));
            }
        }
        self.backlog(s.waiting, s.dropped);
        let outcome = match cycle.outcome {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Error,
        };
        self.cycle_finished(outcome, Duration::from_secs_f64(s.seconds));
        if let Some(r) = s.rate_limit_remaining {
            self.rate_limit_remaining(i64::from(r));
        }
        if let Some(report) = cycle.report() {
            for (&table, &rows) in &report.per_table {
                self.rows_written(table, rows as u64);
            }
        }
        Ok(())
    }
}

/// A consumer that only needs to know a cycle committed; see [`after_commit`].
pub struct AfterCommit<F> {
    name: &'static str,
    run: F,
}

impl<F> fmt::Debug for AfterCommit<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterCommit")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Runs `run` after every committed cycle (failed cycles changed nothing),
/// e.g. the query catalog's refresh, which must not depend on `ingest`.
pub fn after_commit<F, Fut, E>(name: &'static str, run: F) -> AfterCommit<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    AfterCommit { name, run }
}

#[async_trait]
impl<F, Fut, E> CycleObserver for AfterCommit<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    async fn on_cycle(&self, cycle: &FinishedCycle) -> Result<(), ObserverError> {
        if cycle.outcome.is_ok() {
            (self.run)().await?;
        }
        Ok(())
    }
}
