//! Compacting closed partitions, the first step of the daily maintenance
//! ([`super::Lake::maintain`]): closed days clustered where that pays
//! ([`super::cluster`]), then every closed partition's small files merged.
//!
//! The tables cycles only append to — the bronze tables and the snapshot
//! tables of silver, also the largest — are compacted beside the cycles,
//! without their writer lock: at 20,000 live streams a day's bronze and
//! snapshots are gigabytes, and merging them under the lock made the cycle
//! at midnight wait 44 s. That is safe by Delta's own conflict checks: a
//! compaction rewrites closed files without changing data, a cycle blindly
//! appends new files, so whichever commits second is rebased over the other
//! (delta-rs reads the winning commits, finds no conflict, commits at the
//! next version and brings its snapshot up to date). The other tables are
//! rewritten by cycles (merges, replaced partitions) and are small: they are
//! compacted under the lock, as before.
use std::sync::{Arc, PoisonError};

use deltalake::{DeltaTable, FilterLiteral};
use tokio::sync::Notify;

use super::maintain::TableMaintenance;
use super::{Lake, Result, Slot, cluster};
use crate::schema::Table;

/// Whether cycles only append to `table` (see `ingest::plan`), so its
/// closed partitions may be compacted while cycles commit.
pub(super) fn beside_cycles(table: Table) -> bool {
    matches!(
        table,
        Table::HelixResponses
            | Table::ChatMessages
            | Table::StreamSnapshots
            | Table::FollowerSnapshots
    )
}

/// A pause in the next compaction beside cycles, for tests that commit
/// while one is under way: [`Lake::pause_next_compaction`].
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Pause {
    arrived: Notify,
    resume: Notify,
}

impl Pause {
    /// Waits until a compaction beside cycles has reached the pause (it
    /// holds no writer lock there).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the paused compaction go on.
    pub fn resume(&self) {
        self.resume.notify_one();
    }
}

impl Lake {
    /// Makes the next compaction beside cycles wait in the returned pause
    /// until it is resumed. For tests; nothing else sets it.
    #[doc(hidden)]
    pub fn pause_next_compaction(&self) -> Arc<Pause> {
        let pause = Arc::new(Pause::default());
        *self
            .inner
            .pause
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&pause));
        pause
    }

    /// Compacts the partitions of `slot`'s table matching `filters` (the
    /// closed ones), clustering closed days first, and returns the writer
    /// lock with the table brought up to date: beside cycles for the tables
    /// [`beside_cycles`] names, under the lock for the others.
    pub(super) async fn compact_closed<'a>(
        &self,
        slot: &'a Slot,
        filters: &[FilterLiteral<'_>],
        today: &str,
        report: &mut TableMaintenance,
    ) -> Result<tokio::sync::MutexGuard<'a, DeltaTable>> {
        let mut delta = slot.writer.lock().await;
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("refresh"))?;
        if !beside_cycles(slot.table) {
            *delta = compact(slot, DeltaTable::clone(&delta), filters, today, report).await?;
            return Ok(delta);
        }
        let copy = DeltaTable::clone(&delta);
        drop(delta);
        let pause = self
            .inner
            .pause
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(pause) = pause {
            pause.arrived.notify_one();
            pause.resume.notified().await;
        }
        compact(slot, copy, filters, today, report).await?;
        let mut delta = slot.writer.lock().await;
        // The compaction's commits, and any cycle's since the copy.
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("refresh"))?;
        slot.publish(&delta);
        Ok(delta)
    }
}

/// Clusters and merges `delta`'s closed partitions; returns the table after.
async fn compact(
    slot: &Slot,
    mut delta: DeltaTable,
    filters: &[FilterLiteral<'_>],
    today: &str,
    report: &mut TableMaintenance,
) -> Result<DeltaTable> {
    // Closed days still in small files are clustered first (see `cluster`);
    // one that cannot be is merged below like the others.
    let clustered = cluster::closed_days(&mut delta, slot.table, today).await;
    if clustered.partitions_optimized > 0 {
        slot.publish(&delta);
    }
    report.files_compacted += clustered.num_files_removed;
    report.files_written += clustered.num_files_added;
    report.partitions_compacted += clustered.partitions_optimized;
    let (optimized, metrics) = delta
        .optimize()
        .with_filters(filters)
        .await
        .map_err(slot.delta_err("optimize"))?;
    slot.publish(&optimized);
    report.files_compacted += metrics.num_files_removed;
    report.files_written += metrics.num_files_added;
    report.partitions_compacted += metrics.partitions_optimized;
    Ok(optimized)
}
