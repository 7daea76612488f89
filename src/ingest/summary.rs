//! The one-line summary of a cycle the operator sees, kept for
//! `live.ingest_status` and the metrics: what the poll brought, what the
//! commit wrote, how long the whole cycle took.
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::inputs::CycleInputs;
use super::pipeline::Written;
use super::poll::Polled;

/// The outcome of one cycle, as logged and as kept for `live.ingest_status`.
#[derive(Debug, Clone, Default)]
pub struct CycleSummary {
    /// Cycle id (for a cycle that failed before committing, the id it was
    /// to have).
    pub cycle_id: i64,
    /// When polling started.
    pub started_at: DateTime<Utc>,
    /// When the cycle ended (its commit finished or failed).
    pub finished_at: DateTime<Utc>,
    /// Distinct live streams seen.
    pub streams_seen: usize,
    /// HTTP requests sent.
    pub requests: u64,
    /// Responses received, by endpoint and HTTP status (0: no answer).
    pub responses: BTreeMap<(String, u16), u64>,
    /// Latest `Ratelimit-Remaining`.
    pub rate_limit_remaining: Option<u32>,
    /// Failed requests and unusable pages.
    pub errors: usize,
    /// Of those, errors of the `/streams` queries.
    pub stream_errors: usize,
    /// Stream rows dropped as paging duplicates.
    pub duplicates: usize,
    /// Streams the sweep's paging skipped, found when asked for by id.
    pub found_again: usize,
    /// Rows written per layer.
    pub written: Written,
    /// Profile and follower fetches deferred for lack of budget.
    pub deferred: (usize, usize),
    /// Real seconds the whole cycle took: connecting, polling, committing.
    pub seconds: f64,
    /// Where those seconds went: the poll, then each layer of the commit.
    pub stages: Vec<(&'static str, f64)>,
    /// Chat lines the cycle took from the chat source (malformed ones too).
    pub chat_lines: usize,
    /// Which commit of its poll this was: 1, or more when earlier commits
    /// failed and the poll waited for the lake in the backlog.
    pub attempt: u32,
    /// Polls still waiting for the lake after this cycle.
    pub waiting: usize,
    /// Polls dropped from the backlog over its bound, since start.
    pub dropped: u64,
}

impl CycleSummary {
    /// What the poll of cycle `cycle_id` brought (the commit fills in the rest).
    pub fn polled(cycle_id: i64, polled: &Polled, inputs: &CycleInputs) -> Self {
        let mut responses = BTreeMap::new();
        for r in &inputs.responses {
            *responses
                .entry((r.endpoint.clone(), r.http_status))
                .or_default() += 1;
        }
        Self {
            cycle_id,
            started_at: polled.started_at,
            finished_at: polled.finished_at,
            streams_seen: polled.streams_seen,
            requests: polled.requests,
            responses,
            rate_limit_remaining: polled.rate_limit_remaining,
            errors: polled.errors,
            stream_errors: polled.stream_errors,
            found_again: polled.found_again,
            deferred: (polled.deferred_profiles, polled.deferred_followers),
            chat_lines: inputs.chat.len(),
            stages: vec![("poll", polled.elapsed.as_secs_f64())],
            attempt: 1,
            ..Default::default()
        }
    }
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
        if self.chat_lines > 0 {
            write!(f, ", {} chat lines", self.chat_lines)?;
        }
        if self.duplicates > 0 {
            write!(f, ", {} duplicate stream rows dropped", self.duplicates)?;
        }
        if self.found_again > 0 {
            write!(
                f,
                ", {} streams skipped by the sweep found by id",
                self.found_again
            )?;
        }
        if self.attempt > 1 {
            write!(
                f,
                ", commit attempt {} of a poll from {}",
                self.attempt, self.started_at
            )?;
        }
        if self.waiting > 0 {
            write!(f, ", {} polls waiting for the lake", self.waiting)?;
        }
        if self.deferred != (0, 0) {
            write!(
                f,
                ", deferred {} profiles {} followers",
                self.deferred.0, self.deferred.1
            )?;
        }
        if !self.stages.is_empty() {
            f.write_str(", took")?;
            for (stage, seconds) in &self.stages {
                write!(f, " {stage} {seconds:.2} s")?;
            }
        }
        Ok(())
    }
}
