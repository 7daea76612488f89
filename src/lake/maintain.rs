//! Maintenance: compact closed partitions (one commit per minute makes ~1,440
//! small files per day per table), write a checkpoint, drop expired log
//! files, and vacuum the files no version references that are older than
//! the retention (see `retention` for why vacuum lists them).
//!
//! Expired log entries go by our own log retention (a day by default), not
//! Delta's `delta.logRetentionDuration` (30 days): one commit a minute makes
//! ~1,440 entries per table a day, and every commit lists `_delta_log` (on a
//! local disk object_store walks the whole directory), so with 30 days of
//! entries each commit would cost more every day for a month.
use std::time::Duration;

use chrono::{DateTime, Utc};
use deltalake::{DeltaTable, FilterLiteral, FilterOp, FilterValue, checkpoints};

use tokio_util::sync::CancellationToken;

use super::{Lake, Result, Slot};
use crate::clock::SharedClock;
use crate::schema::Table;

/// How long log entries, and files removed from tables, are kept by
/// default: a day of time travel.
pub const DEFAULT_LOG_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Removes the `_delta_log` entries of `delta` whose files are older than
/// `keep` and that no reader needs: only those before the newest checkpoint
/// that is itself older than `keep` (so every version of the last `keep`
/// stays readable). Ages are the files' own (wall clock), whatever clock the
/// service runs on.
pub(super) async fn cleanup_logs(
    delta: &DeltaTable,
    keep: Duration,
) -> Result<usize, deltalake::DeltaTableError> {
    let Some(version) = delta.version() else {
        return Ok(0);
    };
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now()
        .checked_sub_signed(keep)
        .map_or(i64::MIN, |t| t.timestamp_millis());
    checkpoints::cleanup_expired_logs_for(version, delta.log_store().as_ref(), cutoff, None).await
}

/// How long `table` keeps the files it removed: `gold` for the tables
/// cycles rewrite, `files` for the others.
fn file_retention(table: Table, files: Duration, gold: Duration) -> Duration {
    if table.rewritten_by_cycles() {
        gold
    } else {
        files
    }
}

/// What [`Lake::maintain`] does and when "now" is.
#[derive(Debug, Clone)]
pub struct MaintainOptions {
    /// Files removed from the table longer ago than this are deleted by vacuum.
    pub retention: Duration,
    /// Refuse a retention shorter than the table's
    /// `delta.deletedFileRetentionDuration` (Delta's default is 7 days; the
    /// service sets it to its vacuum retention), as delta-rs does: readers of
    /// older versions may still need those files.
    pub enforce_retention: bool,
    /// Files removed from the tables cycles rewrite
    /// ([`Table::rewritten_by_cycles`]) longer ago than this are deleted by vacuum.
    pub gold_retention: Duration,
    /// Log entries older than this (by their files' age) are removed.
    pub log_retention: Duration,
    /// The current time on the service's clock: days before its UTC date
    /// are closed (compacted).
    pub now: DateTime<Utc>,
    /// The wall-clock time, which vacuum measures the retention from:
    /// tombstones and files' modification times are wall-clock, whatever
    /// clock the service runs on (the simulator's may run fast, or in the
    /// past).
    pub wall: DateTime<Utc>,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        Self {
            retention: DEFAULT_LOG_RETENTION,
            enforce_retention: true,
            gold_retention: DEFAULT_LOG_RETENTION,
            log_retention: DEFAULT_LOG_RETENTION,
            now: Utc::now(),
            wall: Utc::now(),
        }
    }
}

/// How long `serve`'s scheduled maintenance keeps what tables no longer use.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Data files removed from a table (vacuum).
    pub files: Duration,
    /// Delta log entries ([`cleanup_logs`]).
    pub logs: Duration,
    /// Data files removed from the tables cycles rewrite
    /// ([`Table::rewritten_by_cycles`]).
    pub gold_files: Duration,
}

impl Retention {
    /// How long `table` keeps the files it removed.
    pub fn files_of(&self, table: Table) -> Duration {
        file_retention(table, self.files, self.gold_files)
    }
}

/// What maintenance did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMaintenance {
    /// The table.
    pub table: Table,
    /// Small files rewritten (removed) by compaction.
    pub files_compacted: u64,
    /// Files compaction wrote in their place.
    pub files_written: u64,
    /// Partitions that had files compacted.
    pub partitions_compacted: u64,
    /// The version a checkpoint was written at.
    pub checkpoint_version: Option<u64>,
    /// Expired log files removed.
    pub logs_removed: usize,
    /// Data files deleted by vacuum.
    pub files_vacuumed: usize,
    /// The first failure, if any (later steps of this table are skipped,
    /// other tables still run).
    pub error: Option<String>,
}

impl TableMaintenance {
    /// Adds what one compaction did.
    pub(super) fn count(&mut self, metrics: &deltalake::operations::optimize::Metrics) {
        self.files_compacted += metrics.num_files_removed;
        self.files_written += metrics.num_files_added;
        self.partitions_compacted += metrics.partitions_optimized;
    }

    fn new(table: Table) -> Self {
        Self {
            table,
            files_compacted: 0,
            files_written: 0,
            partitions_compacted: 0,
            checkpoint_version: None,
            logs_removed: 0,
            files_vacuumed: 0,
            error: None,
        }
    }
}

/// What maintenance did to every table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintainReport {
    /// One entry per table, in [`Table::ALL`] order.
    pub tables: Vec<TableMaintenance>,
}

impl MaintainReport {
    /// The entry of `table`.
    pub fn table(&self, table: Table) -> Option<&TableMaintenance> {
        self.tables.iter().find(|t| t.table == table)
    }

    /// Tables whose maintenance failed, with the error.
    pub fn errors(&self) -> Vec<(Table, &str)> {
        self.tables
            .iter()
            .filter_map(|t| t.error.as_deref().map(|e| (t.table, e)))
            .collect()
    }

    /// Logs why each failed table failed, then a summary (each table's
    /// figures were logged as it was done).
    pub fn log(&self, took: Duration) {
        for t in &self.tables {
            if let Some(e) = &t.error {
                tracing::error!(table = %t.table, "maintenance failed: {e}");
            }
        }
        let sum = |f: fn(&TableMaintenance) -> u64| self.tables.iter().map(f).sum::<u64>();
        tracing::info!(
            tables = self.tables.len(),
            failed = self.errors().len(),
            compacted = sum(|t| t.files_compacted),
            written = sum(|t| t.files_written),
            vacuumed = sum(|t| t.files_vacuumed as u64),
            seconds = format_args!("{:.1}", took.as_secs_f64()),
            "maintenance finished"
        );
    }
}

impl Lake {
    /// Maintains the lake every `every` on `clock` (the first run one
    /// interval from now), and compacts today's small files every
    /// `today_every` in between ([`Lake::compact_today`]), until `stop`;
    /// `None` turns either off. A failed run is logged and the next one
    /// still comes. Runs beside the ingest cycles: both take each table's
    /// writer lock in turn, and the tables cycles only append to are
    /// maintained and merged without it (see `closed` and `today`). After each run the memory it
    /// freed goes back to the OS ([`crate::heap::release_freed`]).
    pub async fn maintain_every(
        self,
        every: Option<Duration>,
        today_every: Option<Duration>,
        retention: Retention,
        clock: SharedClock,
        stop: CancellationToken,
    ) {
        let after = |d: Option<Duration>| {
            d.and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| clock.now() + d)
        };
        let (mut full, mut today) = (after(every), after(today_every));
        loop {
            let Some(next) = full.into_iter().chain(today).min() else {
                return;
            };
            tokio::select! {
                () = clock.sleep_until(next) => {}
                () = stop.cancelled() => return,
            }
            let now = clock.now();
            let started = std::time::Instant::now();
            if full.is_some_and(|t| t <= now) {
                let opts = MaintainOptions {
                    retention: retention.files,
                    gold_retention: retention.gold_files,
                    log_retention: retention.logs,
                    now,
                    ..Default::default()
                };
                tracing::info!("maintenance started");
                match self.maintain(&opts).await {
                    Ok(report) => report.log(started.elapsed()),
                    Err(e) => tracing::error!("maintenance failed: {e}"),
                }
                (full, today) = (after(every), after(today_every));
            } else {
                tracing::info!("compaction of today's files started");
                let (files, failed) = self.compact_today(now, retention.logs).await;
                tracing::info!(
                    compacted = files,
                    failed,
                    seconds = format_args!("{:.1}", started.elapsed().as_secs_f64()),
                    "compaction of today's files finished"
                );
                today = after(today_every);
            }
            // The files it merged and removed are read no more.
            self.forget_removed_footers();
            // What the run read and wrote was freed, but malloc keeps it.
            crate::heap::release_freed("maintenance");
        }
    }

    /// Compacts closed partitions (days before `now`'s date; the `ended`
    /// sessions; unpartitioned tables whole), checkpoints, removes expired
    /// logs and vacuums every table, one table at a time. A failing table is
    /// reported and the others still run. Only fails if the options are
    /// unusable.
    pub async fn maintain(&self, opts: &MaintainOptions) -> Result<MaintainReport> {
        let mut tables = Vec::with_capacity(Table::ALL.len());
        for table in Table::ALL {
            let mut report = TableMaintenance::new(table);
            if let Err(e) = self
                .maintain_table(self.slot(table), opts, &mut report)
                .await
            {
                tracing::warn!(%table, error = %e, "maintenance failed");
                report.error = Some(e.to_string());
            }
            tables.push(report);
        }
        Ok(MaintainReport { tables })
    }

    async fn maintain_table(
        &self,
        slot: &Slot,
        opts: &MaintainOptions,
        report: &mut TableMaintenance,
    ) -> Result<()> {
        let table = slot.table;
        let today = opts.now.date_naive().format("%Y-%m-%d").to_string();
        let filters: Vec<FilterLiteral<'_>> = match table.def().day_partition() {
            Some(day) => vec![(day, FilterOp::Lt, FilterValue::Scalar(today.as_str()))],
            None if table == Table::StreamSessions => {
                vec![("status", FilterOp::Eq, FilterValue::Scalar("ended"))]
            }
            None => Vec::new(),
        };
        let started = std::time::Instant::now();
        let locked = self
            .maintain_closed(slot, &filters, &today, opts, report)
            .await?;
        tracing::info!(
            %table,
            compacted = report.files_compacted,
            written = report.files_written,
            checkpoint = ?report.checkpoint_version,
            logs_removed = report.logs_removed,
            vacuumed = report.files_vacuumed,
            seconds = format_args!("{:.1}", started.elapsed().as_secs_f64()),
            locked = format_args!("{:.1}", locked.as_secs_f64()),
            "maintained"
        );
        Ok(())
    }
}

/// After compaction: writes a checkpoint of `delta` and removes the expired
/// log entries before it. Safe beside cycles: a checkpoint describes a
/// version already written, and the entries removed are older than any a
/// writer reads.
pub(super) async fn checkpoint_and_clean(
    slot: &Slot,
    delta: &mut DeltaTable,
    opts: &MaintainOptions,
    report: &mut TableMaintenance,
) -> Result<()> {
    let table = slot.table;
    checkpoints::create_checkpoint(delta, None)
        .await
        .map_err(slot.delta_err("checkpoint"))?;
    report.checkpoint_version = delta.version();
    // As the hourly run: a gold version whose files vacuum may delete
    // cannot be read anyway.
    let keep_logs = if table.rewritten_by_cycles() {
        opts.log_retention.min(vacuum_retention(table, opts))
    } else {
        opts.log_retention
    };
    report.logs_removed = cleanup_logs(delta, keep_logs)
        .await
        .map_err(slot.delta_err("log cleanup"))?;
    if report.logs_removed > 0 {
        // The state in hand was read from log entries just removed;
        // vacuum replays it, so it is read again from the checkpoint.
        slot.reload(delta).await;
    }
    Ok(())
}

/// How long `table` keeps the files it removed under `opts`.
pub(super) fn vacuum_retention(table: Table, opts: &MaintainOptions) -> Duration {
    file_retention(table, opts.retention, opts.gold_retention)
}
