//! Today's small files merged during the day ([`Lake::compact_today`]):
//! cycles write one file per table and cycle, so reads, merges and
//! checkpoints during the day would otherwise handle one file per cycle so
//! far.
//!
//! The tables cycles only append to ([`Table::only_appended_by_cycles`]: bronze and
//! the snapshot tables, also the largest) are merged beside the cycles, as
//! their closed days are (see `closed` for why Delta's conflict checks make
//! that safe: a merge commits no data change and no read predicate, so a
//! cycle's blind append to the same partition does not conflict with it,
//! whichever commits first). Under the writer lock, at 220,000 simulated
//! channels, these hourly merges were the day's longest cycles (4.9–5.9 s in
//! the evening). The writer lock is taken only to copy the table's state and
//! to bring the merge up to the cycles' commits since. The other tables are
//! rewritten by cycles and small: they are merged under the lock.
use std::num::NonZeroU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deltalake::{DeltaTable, FilterLiteral, FilterOp, FilterValue};

use super::closed::{self, PauseAt};
use super::maintain::cleanup_logs;
use super::retention::vacuum_rewritten;
use super::write::merge_properties;
use super::{Lake, Result, Slot};
use crate::schema::Table;

/// Files of today's partitions smaller than this are merged during the day
/// ([`Lake::compact_today`]); larger ones are left alone.
pub const TODAY_TARGET_SIZE: NonZeroU64 = NonZeroU64::new(32 << 20).unwrap();

impl Lake {
    /// Merges the small files that cycles write (one per table and cycle)
    /// into files of up to [`TODAY_TARGET_SIZE`]: today's partition of
    /// every day-partitioned table, and the tables that are not partitioned
    /// by day (streamers, sessions, games, alerts, exports) whole. Files
    /// that reached the target are left alone, so a row is rewritten only a
    /// few times. The tables cycles rewrite ([`Table::rewritten_by_cycles`]) are
    /// vacuumed too, by their own `delta.deletedFileRetentionDuration`
    /// (`serve` sets it to the gold retention, see
    /// [`Lake::keep_removed_files_for`]), so the day's replaced partitions
    /// do not pile up until the daily maintenance. Then removes the log
    /// entries older than `log_retention`, or than that retention for those
    /// tables ([`cleanup_logs`]: a version whose files are gone cannot be
    /// read anyway), so the log a commit lists stays that long. Returns the
    /// files merged and the tables that failed (each logged); the next run
    /// tries again.
    pub async fn compact_today(&self, now: DateTime<Utc>, log_retention: Duration) -> (u64, usize) {
        let today = now.date_naive().format("%Y-%m-%d").to_string();
        let (mut files, mut failed) = (0, 0);
        for table in Table::ALL {
            let filters: Vec<FilterLiteral<'_>> = match table.def().day_partition() {
                Some(day) => vec![(day, FilterOp::Eq, FilterValue::Scalar(today.as_str()))],
                None => Vec::new(),
            };
            let slot = self.slot(table);
            let started = std::time::Instant::now();
            let merged = if table.only_appended_by_cycles() {
                self.merge_today_beside(slot, &filters, log_retention).await
            } else {
                merge_today_locked(slot, &filters, log_retention).await
            };
            match merged {
                Ok((merged, locked)) => {
                    files += merged;
                    tracing::debug!(
                        %table,
                        merged,
                        seconds = format_args!("{:.2}", started.elapsed().as_secs_f64()),
                        locked = format_args!("{:.2}", locked.as_secs_f64()),
                        "today's files merged"
                    );
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(%table, error = %e, "compacting today's files failed");
                }
            }
        }
        (files, failed)
    }

    /// [`Lake::compact_today`] of a table cycles only append to, beside
    /// them; returns the files merged and how long it held the writer lock.
    async fn merge_today_beside(
        &self,
        slot: &Slot,
        filters: &[FilterLiteral<'_>],
        log_retention: Duration,
    ) -> Result<(u64, Duration)> {
        let (copy, mut held) = {
            let delta = slot.writer.lock().await;
            let locked = std::time::Instant::now();
            (DeltaTable::clone(&delta), locked.elapsed())
        };
        self.pause_at(PauseAt::Today).await;
        let (merged, metrics) = merge(slot, copy, filters).await?;
        cleanup_logs(&merged, log_retention)
            .await
            .map_err(slot.delta_err("log cleanup"))?;
        if metrics.num_files_removed > 0 {
            let mut delta = slot.writer.lock().await;
            let locked = std::time::Instant::now();
            closed::catch_up(slot, &mut delta, merged).await?;
            // The merge's commit counts towards loading the state afresh, as
            // a cycle's does (the copy was updated in place, not reloaded).
            slot.renew(&mut delta, false).await;
            held += locked.elapsed();
        }
        Ok((metrics.num_files_removed, held))
    }
}

/// [`Lake::compact_today`] of a table cycles rewrite, under its writer lock
/// (they are small); returns the files merged and how long it held the lock.
async fn merge_today_locked(
    slot: &Slot,
    filters: &[FilterLiteral<'_>],
    log_retention: Duration,
) -> Result<(u64, Duration)> {
    let mut delta = slot.writer.lock().await;
    let locked = std::time::Instant::now();
    let (merged, metrics) = merge(slot, DeltaTable::clone(&delta), filters).await?;
    if metrics.num_files_removed > 0 {
        *delta = merged;
        slot.renew(&mut delta, false).await;
    }
    let mut keep_logs = log_retention;
    if slot.table.rewritten_by_cycles() {
        let (vacuumed, kept_for) = vacuum_rewritten(slot.table, &delta)
            .await
            .map_err(slot.delta_err("vacuum"))?;
        keep_logs = keep_logs.min(kept_for);
        // Vacuum commits (its start and end) when it deletes.
        if vacuumed.version() != delta.version() {
            *delta = vacuumed;
            slot.publish(&delta);
        }
    }
    cleanup_logs(&delta, keep_logs)
        .await
        .map_err(slot.delta_err("log cleanup"))?;
    Ok((metrics.num_files_removed, locked.elapsed()))
}

/// Merges `delta`'s small files in the partitions matching `filters` (all
/// of them when empty); returns the table after, published to readers, and
/// what was done.
async fn merge(
    slot: &Slot,
    delta: DeltaTable,
    filters: &[FilterLiteral<'_>],
) -> Result<(DeltaTable, deltalake::operations::optimize::Metrics)> {
    let (merged, metrics) = delta
        .optimize()
        .with_filters(filters)
        .with_target_size(TODAY_TARGET_SIZE)
        .with_writer_properties(merge_properties(slot.table))
        .await
        .map_err(slot.delta_err("merge today's files"))?;
    if metrics.num_files_removed > 0 {
        slot.publish(&merged);
    }
    Ok((merged, metrics))
}
