//! Exports as a consumer of cycles: when a cycle closes a UTC day (and,
//! after a start, for every recent day with gold that was never sent —
//! catch-up, oldest first), the day's summary is recorded as `pending` in
//! `gold.exports` in the cycle's exactly-once commit, then handed to the
//! notifier's background workers. Their outcomes reach `gold.exports` with
//! the next cycle's commit; a `sent` row is final, so a restart, a crash
//! after the send was recorded, or a `rebuild` never sends a day twice. A
//! failed send is tried again after a backoff that doubles per failure.
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use tokio::task::JoinHandle;

use super::files::day_rows;
use super::message::{key, message};
use super::record::{ExportRow, ExportStatus, from_batches, latest, to_batch};
use super::summary::{Scope, Sizes, summarize};
use super::target::{DayExport, DayTarget, Workers};
use super::{Error, Result, load};
use crate::clock::SharedClock;
use crate::ingest::{CycleObserver, FinishedCycle, observe::ObserverError};
use crate::lake::Lake;
use crate::metrics::Metrics;
use crate::notify::{Outcome, OutcomeStatus};
use crate::schema::Table;

/// How far back a start catches up on days never sent: a target added to
/// a lake with a long history gets the last week, not every day since.
pub const CATCH_UP_DAYS: i64 = 7;

/// The wait before a failed day is tried again; doubles per failure.
const RETRY_FIRST: TimeDelta = TimeDelta::minutes(5);
/// The longest wait between two tries of a failed day.
const RETRY_MAX: TimeDelta = TimeDelta::hours(6);

/// Everything the export service is built from.
#[derive(Debug)]
pub struct ExportServiceArgs {
    /// Where closed days go (names are `gold.exports.target`).
    pub targets: Vec<Arc<dyn DayTarget>>,
    /// List sizes of the summary.
    pub sizes: Sizes,
    /// What the summary covers.
    pub scope: Scope,
    /// The cycle interval (tells ingest gaps from ordinary spacing).
    pub poll_interval: Duration,
    /// The lake holding gold and `gold.exports`.
    pub lake: Lake,
    /// Where send counts go.
    pub metrics: Metrics,
    /// Times backoff and outcomes.
    pub clock: SharedClock,
}

/// Sends each closed day's summary once per target (see the module
/// documentation). Cheap to clone.
#[derive(Clone)]
pub struct ExportService {
    inner: Arc<Inner>,
}

/// What the service knows of each (day, target).
#[derive(Debug, Default)]
struct Book {
    /// The newest state of each pair ever recorded or decided.
    state: BTreeMap<(NaiveDate, String), ExportRow>,
    /// Pairs handed to the notifier and not finished yet.
    in_flight: BTreeSet<(NaiveDate, String)>,
    /// Rows not appended to `gold.exports` yet, in the order they changed.
    unwritten: Vec<ExportRow>,
    /// When each pair that failed in this process is due again, and how
    /// many times it failed (pairs failed before a start are due at once).
    retry: BTreeMap<(NaiveDate, String), (DateTime<Utc>, u32)>,
}

impl Book {
    fn change(&mut self, row: ExportRow) {
        self.state
            .insert((row.day, row.target.clone()), row.clone());
        self.unwritten.push(row);
    }

    fn not_sent(&self) -> usize {
        self.state
            .values()
            .filter(|r| r.status != ExportStatus::Sent)
            .count()
    }
}

struct Inner {
    targets: Vec<String>,
    sizes: Sizes,
    scope: Scope,
    poll_interval: Duration,
    lake: Lake,
    metrics: Metrics,
    clock: SharedClock,
    book: Arc<Mutex<Book>>,
    caught_up: AtomicBool,
    /// Whether any target takes the day's rows.
    needs_rows: bool,
    workers: Workers,
    outcomes: JoinHandle<()>,
}

impl fmt::Debug for ExportService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportService")
            .field("targets", &self.inner.targets)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.outcomes.abort();
    }
}

fn lock(book: &Mutex<Book>) -> MutexGuard<'_, Book> {
    // Every update is a few map operations: never torn by a panic.
    book.lock().unwrap_or_else(|e| e.into_inner())
}

impl ExportService {
    /// Reads `gold.exports` back and starts one sending worker per target.
    /// Catch-up waits for the first committed cycle (its time says which
    /// days are closed).
    pub async fn start(args: ExportServiceArgs) -> Result<Self> {
        let rows = from_batches(&args.lake.read_all(Table::Exports).await?)?;
        let mut book = Book {
            state: latest(rows),
            ..Book::default()
        };
        // A send recorded as pending whose outcome never was (a stop or a
        // crash in between) is due again now: the receiver sees the same key.
        for row in book.state.values_mut() {
            if row.status == ExportStatus::Pending {
                row.last_error.get_or_insert_with(|| "interrupted".into());
                row.status = ExportStatus::Failed;
            }
        }
        let targets: Vec<String> = args.targets.iter().map(|t| t.name().to_owned()).collect();
        let needs_rows = args.targets.iter().any(|t| t.needs_rows());
        let (workers, mut outcomes) = Workers::start(args.targets, args.clock.clone())?;
        args.metrics.exports_pending(book.not_sent());
        let book = Arc::new(Mutex::new(book));
        let (shared, metrics) = (Arc::clone(&book), args.metrics.clone());
        let outcomes = tokio::spawn(async move {
            while let Some(o) = outcomes.recv().await {
                apply(&shared, &metrics, &o);
            }
        });
        tracing::info!(targets = ?targets, "daily exports ready");
        Ok(Self {
            inner: Arc::new(Inner {
                targets,
                sizes: args.sizes,
                scope: args.scope,
                poll_interval: args.poll_interval,
                lake: args.lake,
                metrics: args.metrics,
                clock: args.clock,
                book,
                caught_up: AtomicBool::new(false),
                needs_rows,
                workers,
                outcomes,
            }),
        })
    }
}

/// Records a send's end (a duplicate or unknown outcome changes nothing).
fn apply(book: &Mutex<Book>, metrics: &Metrics, o: &Outcome) {
    let Some(day) = o
        .key
        .strip_prefix("daily-summary-")
        .and_then(|d| d.parse::<NaiveDate>().ok())
    else {
        return;
    };
    let mut book = lock(book);
    let pair = (day, o.target.clone());
    if !book.in_flight.remove(&pair) {
        return;
    }
    let Some(mut row) = book.state.get(&pair).cloned() else {
        return;
    };
    row.attempts += i64::from(o.attempts);
    row.cycle_id = None;
    match o.status {
        OutcomeStatus::Delivered => {
            row.status = ExportStatus::Sent;
            row.sent_at = Some(o.finished_at);
            row.last_error = None;
            book.retry.remove(&pair);
            tracing::info!(%day, target = %o.target, "daily summary sent");
        }
        OutcomeStatus::Failed => {
            row.status = ExportStatus::Failed;
            row.last_error = o.error.clone();
            let failures = book.retry.get(&pair).map_or(0, |r| r.1) + 1;
            book.retry
                .insert(pair.clone(), (o.finished_at + backoff(failures), failures));
            tracing::warn!(%day, target = %o.target, error = ?o.error, "daily summary not sent: will retry");
        }
    }
    metrics.export_send(&o.target, row.status.as_str());
    book.change(row);
    metrics.exports_pending(book.not_sent());
}

/// The wait after the `failures`-th failure of a pair: the first wait,
/// doubled per failure, at most [`RETRY_MAX`].
fn backoff(failures: u32) -> TimeDelta {
    RETRY_FIRST
        .checked_mul(1 << failures.saturating_sub(1).min(10))
        .unwrap_or(RETRY_MAX)
        .min(RETRY_MAX)
}

impl Inner {
    /// Days with gold from `today - CATCH_UP_DAYS` up to yesterday.
    async fn catch_up_days(&self, today: NaiveDate) -> Result<Vec<NaiveDate>> {
        let from = today - TimeDelta::days(CATCH_UP_DAYS);
        let filter = format!("day >= DATE '{from}' AND day < DATE '{today}'");
        let batches = self.lake.scan(Table::StreamerDaily, Some(&filter)).await?;
        let mut days = BTreeSet::new();
        for b in &batches {
            let col = b
                .column_by_name("day")
                .and_then(|c| c.as_any().downcast_ref::<arrow::array::Date32Array>());
            for d in col.into_iter().flatten().flatten() {
                if let Some(day) = arrow::temporal_conversions::date32_to_datetime(d) {
                    days.insert(day.date());
                }
            }
        }
        Ok(days.into_iter().collect())
    }

    /// The pairs to send now: new closed days, and failed ones now due.
    fn due(&self, closed: &[NaiveDate], now: DateTime<Utc>) -> Vec<(NaiveDate, String)> {
        let mut book = lock(&self.book);
        let mut due = BTreeSet::new();
        for &day in closed {
            for t in &self.targets {
                let pair = (day, t.clone());
                if !book.state.contains_key(&pair) {
                    book.change(ExportRow::pending(day, t));
                    due.insert(pair);
                }
            }
        }
        for (pair, row) in &book.state {
            let known = self.targets.contains(&pair.1);
            if known
                && row.status == ExportStatus::Failed
                && !book.in_flight.contains(pair)
                && book.retry.get(pair).is_none_or(|r| r.0 <= now)
            {
                due.insert(pair.clone());
            }
        }
        for pair in &due {
            book.in_flight.insert(pair.clone());
        }
        self.metrics.exports_pending(book.not_sent());
        // BTreeSet order: oldest day first.
        due.into_iter().collect()
    }

    /// Appends the rows not recorded yet, exactly once for `cycle_id`;
    /// what the lake refuses is kept for the next cycle.
    async fn record(&self, cycle_id: i64) {
        let mut rows = std::mem::take(&mut lock(&self.book).unwritten);
        if rows.is_empty() {
            return;
        }
        for r in &mut rows {
            r.cycle_id = Some(cycle_id);
        }
        let result = match to_batch(&rows) {
            Ok(batch) => self
                .lake
                .append(Table::Exports, vec![batch], cycle_id)
                .await
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!("gold.exports not written this cycle (kept for the next): {e}");
            let mut book = lock(&self.book);
            rows.append(&mut book.unwritten);
            book.unwritten = rows;
        }
    }

    /// Builds each due day's export once and queues it for its targets.
    async fn send(&self, due: Vec<(NaiveDate, String)>) {
        let mut built = BTreeMap::new();
        for (day, target) in due {
            if let Entry::Vacant(slot) = built.entry(day) {
                slot.insert(self.build(day).await.map(Arc::new));
            }
            let queued = match &built[&day] {
                Ok(d) => self.workers.submit(&target, Arc::clone(d)),
                Err(e) => Err(Error::Read(e.to_string())),
            };
            if let Err(e) = queued {
                // As a failed send: tried again after the backoff.
                let outcome = Outcome {
                    key: key(day),
                    target,
                    status: OutcomeStatus::Failed,
                    attempts: 0,
                    finished_at: self.clock.now(),
                    error: Some(e.to_string()),
                };
                apply(&self.book, &self.metrics, &outcome);
            }
        }
    }

    /// `day`'s summary, its message and (when a target wants them) its rows.
    async fn build(&self, day: NaiveDate) -> Result<DayExport> {
        let gold = load(&self.lake, day).await?;
        let summary = summarize(&gold, &self.scope, self.sizes, self.poll_interval);
        let rows = if self.needs_rows {
            day_rows(&self.lake, day).await?
        } else {
            Vec::new()
        };
        Ok(DayExport {
            day,
            message: message(&summary),
            summary,
            rows,
        })
    }
}

#[async_trait]
impl CycleObserver for ExportService {
    fn name(&self) -> &str {
        "exports"
    }

    async fn on_cycle(&self, cycle: &FinishedCycle) -> std::result::Result<(), ObserverError> {
        let inner = &self.inner;
        let Some(report) = cycle.report() else {
            return Ok(());
        };
        let today = cycle.summary.started_at.date_naive();
        let mut closed: BTreeSet<NaiveDate> = report
            .closed_days
            .iter()
            .copied()
            .filter(|d| *d < today)
            .collect();
        if !inner.caught_up.load(Ordering::Relaxed) {
            match inner.catch_up_days(today).await {
                Ok(days) => {
                    closed.extend(days);
                    inner.caught_up.store(true, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!("exports catch-up postponed to the next cycle: {e}"),
            }
        }
        let closed: Vec<NaiveDate> = closed.into_iter().collect();
        let due = inner.due(&closed, inner.clock.now());
        // Recorded before it is sent: a crash from here on sends it again
        // (same key), never loses it.
        inner.record(cycle.summary.cycle_id).await;
        inner.send(due).await;
        Ok(())
    }
}
