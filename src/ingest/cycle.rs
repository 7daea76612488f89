//! One whole ingest cycle — poll, then commit — and the one-line summary the
//! operator sees for it.
use std::fmt;

use chrono::{DateTime, Utc};

use super::Result;
use super::pipeline::{CommitReport, Pipeline, Written};
use super::poll::{Polled, Poller};

/// The outcome of one cycle, as logged and as kept for `live.ingest_status`.
#[derive(Debug, Clone, Default)]
pub struct CycleSummary {
    /// Cycle id.
    pub cycle_id: i64,
    /// When polling started.
    pub started_at: DateTime<Utc>,
    /// When the last commit finished.
    pub finished_at: DateTime<Utc>,
    /// Distinct live streams seen.
    pub streams_seen: usize,
    /// HTTP requests sent.
    pub requests: u64,
    /// Latest `Ratelimit-Remaining`.
    pub rate_limit_remaining: Option<u32>,
    /// Failed requests and unusable pages.
    pub errors: usize,
    /// Of those, errors of the `/streams` queries.
    pub stream_errors: usize,
    /// Stream rows dropped as paging duplicates.
    pub duplicates: usize,
    /// Rows written per layer.
    pub written: Written,
    /// Profile and follower fetches deferred for lack of budget.
    pub deferred: (usize, usize),
    /// Real seconds the cycle took.
    pub seconds: f64,
}

impl fmt::Display for CycleSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cycle {}: {} streams, {} requests, {} errors, rate limit {} left, {:.2} s, \
             rows bronze {} silver {} gold {}",
            self.cycle_id,
            self.streams_seen,
            self.requests,
            self.errors,
            self.rate_limit_remaining
                .map_or_else(|| "?".into(), |r| r.to_string()),
            self.seconds,
            self.written.bronze,
            self.written.silver,
            self.written.gold,
        )?;
        if self.duplicates > 0 {
            write!(f, ", {} duplicate stream rows dropped", self.duplicates)?;
        }
        if self.deferred != (0, 0) {
            write!(
                f,
                ", deferred {} profiles {} followers",
                self.deferred.0, self.deferred.1
            )?;
        }
        Ok(())
    }
}

/// Polls and commits cycles.
#[derive(Debug)]
pub struct Ingestor {
    poller: Poller,
    pipeline: Pipeline,
}

impl Ingestor {
    /// An ingestor over an opened pipeline.
    pub fn new(poller: Poller, pipeline: Pipeline) -> Self {
        Self { poller, pipeline }
    }

    /// The pipeline (lake and running state).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Reloads the pipeline's running state from the lake (after a failed commit).
    pub async fn reopen(&mut self) -> Result<()> {
        self.pipeline = self.pipeline.reopen().await?;
        Ok(())
    }

    /// Polls Twitch for the next cycle (no lake writes: safe to abandon).
    pub async fn poll(&mut self) -> Polled {
        self.poller.poll().await
    }

    /// Commits what [`Ingestor::poll`] brought as the next cycle.
    pub async fn commit(&mut self, polled: Polled) -> Result<(CycleSummary, CommitReport)> {
        let real = std::time::Instant::now();
        let cycle_id = self.pipeline.next_cycle_id().await?;
        let report = self.pipeline.commit(cycle_id, &polled.responses).await?;
        let summary = CycleSummary {
            cycle_id,
            started_at: polled.started_at,
            finished_at: polled.finished_at,
            streams_seen: polled.streams_seen,
            requests: polled.requests,
            rate_limit_remaining: polled.rate_limit_remaining,
            errors: polled.errors.max(report.silver.errors),
            stream_errors: polled.stream_errors,
            duplicates: report.silver.duplicates,
            written: report.written,
            deferred: (polled.deferred_profiles, polled.deferred_followers),
            seconds: (polled.elapsed + real.elapsed()).as_secs_f64(),
        };
        Ok((summary, report))
    }

    /// Runs one cycle: poll, then commit bronze → silver → gold.
    pub async fn run_cycle(&mut self) -> Result<(CycleSummary, CommitReport)> {
        let polled = self.poll().await;
        self.commit(polled).await
    }
}
