//! The cycle runner: the one loop of ingest. Every poll interval it runs a
//! cycle — connect if needed, poll, commit through the pipeline — and hands
//! the finished cycle, committed or failed, to its consumers in order.
//!
//! ```text
//! run ── every poll interval ──┐
//!   connect (once; the source's seam)          ┐ abandoned on shutdown:
//!   poll  ── Helix ──> backlog                  ┘ nothing written yet
//!   for each poll in the backlog, oldest first, one cycle each:
//!     drain ── chat lines ──> CycleInputs         (given back if the commit fails)
//!     commit ── plan::plan ──> pipeline ──> Delta (never interrupted)
//!          └ on failure: the poll waits in the backlog for the next cycle,
//!            and the pipeline is reopened from the lake (the interrupted
//!            cycle repaired) before the next commit
//!     notify ──> consumers (metrics, live views, query catalog, …)
//! ```
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use super::backlog::{Backlog, Waiting};
use super::chat::ChatFeed;
use super::inputs::CycleInputs;
use super::observe::{CycleObserver, FinishedCycle};
use super::pipeline::{CommitReport, Pipeline};
use super::poll::{FORGET_AFTER, PollSettings, Polled, Poller, PollerSeed};
use super::source::Connect;
use super::summary::CycleSummary;
use super::{Error, Result};
use crate::clock::SharedClock;
use crate::lake::Lake;

/// Everything a runner is built from.
#[derive(Debug, Clone)]
pub struct RunnerArgs {
    /// The lake cycles commit to.
    pub lake: Lake,
    /// The time cycles are scheduled and stamped on (simulated in sim mode).
    pub clock: SharedClock,
    /// How to reach Twitch.
    pub connect: Arc<dyn Connect>,
    /// What to poll and how often (its `poll_interval` is the cycle period).
    pub poll: PollSettings,
    /// Restarts within this gap continue a stream session.
    pub session_gap: Duration,
    /// Bytes of Helix responses kept while the lake refuses commits.
    pub backlog_limit: u64,
}

/// Runs cycles and tells its consumers about each.
pub struct CycleRunner {
    args: RunnerArgs,
    poller: Option<Poller>,
    /// `None` after a failed commit, until reopened from the lake.
    pipeline: Option<Pipeline>,
    /// The id of the next cycle, as far as the runner knows.
    next_cycle_id: i64,
    observers: Vec<Arc<dyn CycleObserver>>,
    /// Chat, the second source, when there is one.
    chat: Option<ChatFeed>,
    /// Polls whose commit failed, waiting for the lake.
    backlog: Backlog,
}

impl fmt::Debug for CycleRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let observers: Vec<&str> = self.observers.iter().map(|o| o.name()).collect();
        f.debug_struct("CycleRunner")
            .field("connected", &self.poller.is_some())
            .field("next_cycle_id", &self.next_cycle_id)
            .field("observers", &observers)
            .finish_non_exhaustive()
    }
}

/// A cycle's poll phase: what it brought, and when it began.
struct Poll {
    started: Instant,
    started_at: DateTime<Utc>,
    result: Result<Polled>,
}

impl CycleRunner {
    /// Opens the pipeline over the lake — rebuilding the running state and
    /// repairing a cycle a crash interrupted (returned when it wrote
    /// anything). Needs no Twitch.
    pub async fn open(args: RunnerArgs) -> Result<(Self, Option<CommitReport>)> {
        let interval = args.poll.poll_interval;
        let (pipeline, repaired) =
            Pipeline::open(args.lake.clone(), interval, args.session_gap).await?;
        let runner = Self {
            next_cycle_id: pipeline.next_cycle_id(),
            backlog: Backlog::new(args.backlog_limit),
            args,
            poller: None,
            pipeline: Some(pipeline),
            observers: Vec::new(),
            chat: None,
        };
        Ok((runner, repaired))
    }

    /// Adds a consumer of finished cycles; consumers are called in the
    /// order they were added.
    pub fn observe(mut self, observer: impl CycleObserver + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// Lands the lines of `chat` in every cycle, beside the Helix responses.
    pub fn with_chat(mut self, chat: ChatFeed) -> Self {
        self.chat = Some(chat);
        self
    }

    /// Connects to Twitch now (a cycle connects by itself when it must; this
    /// lets start-up report bad credentials before serving).
    pub async fn connect(&mut self) -> Result<()> {
        self.poller = Some(self.new_poller().await?);
        Ok(())
    }

    /// A poller over a new connection, seeded from the running state so a
    /// restart does not fetch everything again at once: the channels seen
    /// live in the last [`FORGET_AFTER`] (from the lake, so a restart does
    /// not make the channels it still reads count as seen), when their
    /// follower totals were last read, and the known categories.
    async fn new_poller(&self) -> Result<Poller> {
        let helix = self.args.connect.connect().await.map_err(Error::Connect)?;
        let mut seed = PollerSeed::default();
        if let Some(p) = &self.pipeline {
            let since = self.args.clock.now() - FORGET_AFTER;
            seed.last_seen = p.last_seen_live(since).await.unwrap_or_else(|e| {
                tracing::warn!(
                    "reading when channels were last live failed ({e}); polling starts afresh"
                );
                HashMap::new()
            });
            let read = &p.state().followers;
            seed.followers_checked = seed
                .last_seen
                .keys()
                .filter_map(|id| read.get(id).map(|&(_, at)| (id.clone(), at)))
                .collect();
            seed.games = p.state().games.keys().cloned().collect();
        }
        let (poll, clock) = (self.args.poll.clone(), self.args.clock.clone());
        Ok(Poller::new(helix, clock, poll, seed))
    }

    /// The pipeline (lake and running state), unless a failed commit left
    /// it to be reopened.
    pub fn pipeline(&self) -> Option<&Pipeline> {
        self.pipeline.as_ref()
    }

    /// Runs one whole cycle now — after the polls still waiting for the
    /// lake, if any — and tells the consumers of each. Returns the last
    /// cycle: this poll's, or the failure that left polls waiting.
    pub async fn run_cycle(&mut self) -> FinishedCycle {
        let poll = self.poll().await;
        self.settle(poll).await
    }

    /// Runs a cycle every poll interval until `stop` is cancelled. A cycle
    /// being polled is abandoned (nothing was written); one being committed
    /// finishes, and its consumers hear of it. While Twitch cannot be
    /// reached the next attempt comes sooner (capped, jittered backoff); the
    /// lake, live views and catalog keep serving what they have meanwhile.
    /// While the lake refuses commits, polls wait in the backlog.
    pub async fn run(mut self, stop: CancellationToken) {
        let period = self.args.poll.poll_interval;
        let mut failed_connects = 0u32;
        loop {
            let started = self.args.clock.now();
            let poll = tokio::select! {
                poll = self.poll() => poll,
                () = stop.cancelled() => return,
            };
            let finished = self.settle(poll).await;
            let next = match finished.error() {
                Some(Error::Connect(e)) => {
                    failed_connects += 1;
                    let wait = retry_after(e, failed_connects, period);
                    tracing::warn!(
                        attempt = failed_connects,
                        "cannot reach Twitch; serving what the lake has and trying again in {}",
                        humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                    );
                    self.args.clock.now() + to_delta(wait)
                }
                _ => {
                    failed_connects = 0;
                    started + to_delta(period)
                }
            };
            tokio::select! {
                () = self.args.clock.sleep_until(next) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// Commits the polls waiting for the lake, oldest first and each as a
    /// cycle of its own, then `poll`'s, and tells the consumers of each
    /// cycle. Stops at the first failed commit: that poll and the ones
    /// after it wait for the next cycle. Returns the last finished cycle.
    async fn settle(&mut self, poll: Poll) -> FinishedCycle {
        let polled = match poll.result {
            Ok(polled) => polled,
            Err(e) => {
                let summary = CycleSummary {
                    cycle_id: self.next_cycle_id,
                    started_at: poll.started_at,
                    finished_at: self.args.clock.now(),
                    seconds: poll.started.elapsed().as_secs_f64(),
                    waiting: self.backlog.len(),
                    dropped: self.backlog.dropped(),
                    ..Default::default()
                };
                let finished = FinishedCycle {
                    summary,
                    outcome: Err(e),
                };
                self.notify(&finished).await;
                return finished;
            }
        };
        self.backlog.push(polled);
        let mut started = poll.started;
        loop {
            let Some(mut waiting) = self.backlog.pop() else {
                unreachable!("the backlog holds at least the poll just pushed")
            };
            let fresh = self.backlog.is_empty();
            let mut finished = self.commit(&mut waiting).await;
            finished.summary.seconds = started.elapsed().as_secs_f64();
            let failed = finished.outcome.is_err();
            if failed {
                self.backlog.put_back(waiting);
            }
            finished.summary.waiting = self.backlog.len();
            finished.summary.dropped = self.backlog.dropped();
            if !failed {
                // The cycle replaced today's gold partitions: their old
                // files' footers are of no more use.
                self.args.lake.forget_removed_footers();
            }
            self.notify(&finished).await;
            if failed || fresh {
                return finished;
            }
            // The first commit counts this interval's polling time; those
            // after it only their own.
            started = Instant::now();
        }
    }

    /// Connects if needed, then polls. Writes nothing.
    async fn poll(&mut self) -> Poll {
        let (started, started_at) = (Instant::now(), self.args.clock.now());
        let poller = match self.poller.take() {
            Some(p) => Ok(p),
            None => self.new_poller().await,
        };
        let result = match poller {
            Ok(p) => Ok(self.poller.insert(p).poll().await),
            Err(e) => Err(e),
        };
        Poll {
            started,
            started_at,
            result,
        }
    }

    /// Commits a waiting poll as the next cycle (or finds that its last
    /// failed attempt landed after all).
    async fn commit(&mut self, waiting: &mut Waiting) -> FinishedCycle {
        waiting.attempts += 1;
        // Moved, not copied (a poll of 100,000 streams is tens of MB); put
        // back below if the commit fails.
        let mut inputs = CycleInputs {
            responses: std::mem::take(&mut waiting.polled.responses),
            chat: Vec::new(),
        };
        inputs.in_replay_order();
        let mut summary = CycleSummary::polled(self.next_cycle_id, &waiting.polled, &inputs);
        summary.attempt = waiting.attempts;
        let outcome = self
            .commit_inputs(&mut inputs, &mut waiting.tried, &mut summary)
            .await;
        if outcome.is_err() {
            waiting.polled.responses = inputs.responses;
        }
        if let Ok(report) = &outcome {
            summary.errors = summary.errors.max(report.silver.errors);
            summary.duplicates = report.silver.duplicates;
            summary.written = report.written;
            summary
                .stages
                .extend(report.stages.iter().map(|(s, d)| (*s, d.as_secs_f64())));
        }
        summary.finished_at = self.args.clock.now();
        FinishedCycle { summary, outcome }
    }

    /// Opens the pipeline if a failed commit closed it, then commits
    /// `inputs` with the chat lines waiting, as the next cycle. `tried` is
    /// the cycle id the same poll's last commit was attempted as (set
    /// here): when the reopened lake is past it, that attempt landed
    /// (reopening repaired what it had left undone) and nothing is
    /// committed again.
    async fn commit_inputs(
        &mut self,
        inputs: &mut CycleInputs,
        tried: &mut Option<i64>,
        summary: &mut CycleSummary,
    ) -> Result<CommitReport> {
        let mut repair = None;
        let pipeline = match self.pipeline.take() {
            Some(p) => p,
            None => {
                let interval = self.args.poll.poll_interval;
                let lake = self.args.lake.clone();
                let (p, repaired) = Pipeline::open(lake, interval, self.args.session_gap).await?;
                if let Some(r) = &repaired {
                    tracing::warn!(
                        silver = r.written.silver,
                        gold = r.written.gold,
                        "repaired the cycle the failed commit interrupted"
                    );
                }
                repair = repaired;
                p
            }
        };
        let pipeline = self.pipeline.insert(pipeline);
        self.next_cycle_id = pipeline.next_cycle_id();
        if let Some(t) = tried.filter(|&t| t < pipeline.next_cycle_id()) {
            // Only the poll at the front of the backlog is attempted, it
            // stays there until it lands (or is dropped), and `tried` is
            // set by its own attempts only: cycle `t` is this poll.
            summary.cycle_id = t;
            return Ok(repair.unwrap_or_default());
        }
        let cycle_id = pipeline.next_cycle_id();
        summary.cycle_id = cycle_id;
        // Everything the chat source delivered since the last commit lands
        // in this one exactly-once commit too.
        if let Some(chat) = &self.chat {
            inputs.chat = chat.drain();
            summary.chat_lines = inputs.chat.len();
        }
        *tried = Some(cycle_id);
        match pipeline.commit(cycle_id, inputs).await {
            Ok(report) => {
                self.next_cycle_id = pipeline.next_cycle_id();
                Ok(report)
            }
            Err(e) => {
                // Its running state ran ahead of the lake: reload before
                // the next commit.
                self.pipeline = None;
                if let Some(chat) = &self.chat {
                    // Drained lines leave the source only with their commit.
                    let lines = std::mem::take(&mut inputs.chat);
                    chat.settle_failed(&self.args.lake, cycle_id, lines).await;
                }
                Err(e)
            }
        }
    }

    async fn notify(&self, cycle: &FinishedCycle) {
        match &cycle.outcome {
            Ok(_) => tracing::info!("{}", cycle.summary),
            Err(e) => tracing::error!(
                "cycle {} failed after {:.2} s: {e}",
                cycle.summary.cycle_id,
                cycle.summary.seconds
            ),
        }
        for observer in &self.observers {
            if let Err(e) = observer.on_cycle(cycle).await {
                tracing::error!(consumer = observer.name(), "a cycle consumer failed: {e}");
            }
        }
    }
}

/// First wait after a failed connection; doubled per failure up to the poll
/// interval.
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Wait after Twitch refused the credentials: they rarely fix themselves,
/// and each attempt is logged loudly.
const RETRY_REFUSED: Duration = Duration::from_secs(300);

/// How long to wait before connecting again after `failures` failed
/// connections in a row: capped, jittered exponential backoff for an
/// unreachable or failing auth host (so a short outage costs seconds, not a
/// cycle), and a slow retry when the credentials were refused.
fn retry_after(error: &crate::twitch::Error, failures: u32, period: Duration) -> Duration {
    if matches!(error, crate::twitch::Error::BadCredentials { .. }) {
        return period.max(RETRY_REFUSED);
    }
    let full = RETRY_FIRST
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(period.max(RETRY_FIRST));
    full.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::minutes(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twitch::Error as Helix;

    #[test]
    fn retries_back_off_to_the_poll_interval_and_refusals_wait_long() {
        let period = Duration::from_secs(60);
        let down = Helix::Status {
            endpoint: "oauth2/token".into(),
            status: 503,
            message: String::new(),
        };
        let first = retry_after(&down, 1, period);
        assert!(
            first >= Duration::from_millis(500) && first <= RETRY_FIRST,
            "{first:?}"
        );
        let fourth = retry_after(&down, 4, period);
        assert!(fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8));
        for failures in [7, 30, u32::MAX] {
            let w = retry_after(&down, failures, period);
            assert!(w >= period / 2 && w <= period, "{failures}: {w:?}");
        }
        let refused = Helix::BadCredentials {
            status: 403,
            message: "invalid client secret".into(),
        };
        assert_eq!(retry_after(&refused, 1, period), RETRY_REFUSED);
    }
}
