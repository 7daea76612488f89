//! Compacting closed partitions, the first step of the daily maintenance
//! ([`super::Lake::maintain`]): closed days clustered where that pays
//! ([`super::cluster`]), then every closed partition's small files merged;
//! and where the whole of a table's maintenance runs.
//!
//! The tables cycles only append to — the bronze tables and the snapshot
//! tables of silver, also the largest — are maintained beside the cycles,
//! without their writer lock: at 20,000 live streams a day's bronze and
//! snapshots are gigabytes, and merging them under the lock made the cycle
//! at midnight wait 44 s; at 12,000 channels the checkpoint, log cleanup,
//! vacuum and reload that followed under the lock still made it wait 7 s. That is safe by Delta's own conflict checks: a
//! compaction rewrites closed files without changing data, a cycle blindly
//! appends new files, so whichever commits second is rebased over the other
//! (delta-rs reads the winning commits, finds no conflict, commits at the
//! next version and brings its snapshot up to date). The steps after it are
//! safe beside cycles too: a checkpoint describes a version already
//! written; the log entries removed are older than the log retention; and
//! vacuum deletes only files older than the file retention that the state
//! in hand does not name, which a cycle's files, written seconds before
//! their commit, never are once that retention is ten minutes or more
//! ([`VACUUM_BESIDE_CYCLES`]). The writer lock is then taken only to bring
//! the result up to the cycles' commits since. The other tables are
//! rewritten by cycles (merges, replaced partitions) and are small: they are
//! maintained under the lock.
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use deltalake::{DeltaTable, FilterLiteral};
use tokio::sync::Notify;

use super::maintain::{self, MaintainOptions, TableMaintenance};
use super::write::merge_properties;
use super::{Lake, Result, Slot, cluster, retention};

/// The shortest file retention at which a table is vacuumed beside cycles.
/// Vacuum deletes files that the state it has in hand does not name and
/// that are older than the retention; a cycle writes its files before it
/// commits them, so a vacuum beside it must not take files of a few seconds
/// for garbage. Shorter retentions (tests, deliberate settings) vacuum under
/// the writer lock. Ten minutes is a hundred times a cycle's write at
/// 100,000 live streams, and lets the soak benchmark's sped-up day (a
/// day's retention is 12 minutes at 120×) vacuum as `serve` does.
pub(super) const VACUUM_BESIDE_CYCLES: Duration = Duration::from_secs(600);

/// Where the next maintenance beside cycles pauses, for tests that commit
/// meanwhile: [`Lake::pause_maintenance`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseAt {
    /// Before the closed days are compacted.
    Compaction,
    /// After the vacuum, before the writer's state catches up.
    CatchUp,
    /// Before today's files are merged ([`Lake::compact_today`]), after
    /// the table's state was copied.
    Today,
}

/// A pause in the next maintenance beside cycles: [`Lake::pause_maintenance`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Pause {
    at: PauseAt,
    arrived: Notify,
    resume: Notify,
}

impl Pause {
    /// Waits until a maintenance beside cycles has reached the pause (it
    /// holds no writer lock there).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the paused maintenance go on.
    pub fn resume(&self) {
        self.resume.notify_one();
    }
}

impl Lake {
    /// Makes the next maintenance beside cycles wait at `at` until the
    /// returned pause is resumed. For tests; nothing else sets it.
    #[doc(hidden)]
    pub fn pause_maintenance(&self, at: PauseAt) -> Arc<Pause> {
        let pause = Arc::new(Pause {
            at,
            arrived: Notify::new(),
            resume: Notify::new(),
        });
        *self
            .inner
            .pause
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&pause));
        pause
    }

    /// Waits in the pause set for `at`, if any.
    pub(super) async fn pause_at(&self, at: PauseAt) {
        let pause = {
            let mut set = self
                .inner
                .pause
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            set.take_if(|p| p.at == at)
        };
        if let Some(pause) = pause {
            pause.arrived.notify_one();
            pause.resume.notified().await;
        }
    }

    /// Maintains `slot`'s table: compacts the partitions matching
    /// `filters` (the closed ones), clustering closed days first, writes a
    /// checkpoint, removes expired log entries and vacuums, then leaves the
    /// writer's state loaded afresh. Beside cycles for the tables
    /// [`Table::only_appended_by_cycles`] names — all of it, vacuum too when its retention
    /// is at least [`VACUUM_BESIDE_CYCLES`] — under the writer lock for the
    /// others. Returns how long it held the lock.
    pub(super) async fn maintain_closed(
        &self,
        slot: &Slot,
        filters: &[FilterLiteral<'_>],
        today: &str,
        opts: &MaintainOptions,
        report: &mut TableMaintenance,
    ) -> Result<Duration> {
        let mut delta = slot.writer.lock().await;
        let mut locked = Instant::now();
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("refresh"))?;
        let copy = DeltaTable::clone(&delta);
        if !slot.table.only_appended_by_cycles() {
            *delta = tidy(slot, copy, filters, today, opts, report, true).await?;
            slot.renewed();
            return Ok(locked.elapsed());
        }
        drop(delta);
        let mut held = locked.elapsed();
        self.pause_at(PauseAt::Compaction).await;
        let vacuum_beside = maintain::vacuum_retention(slot.table, opts) >= VACUUM_BESIDE_CYCLES;
        let copy = tidy(slot, copy, filters, today, opts, report, vacuum_beside).await?;
        self.pause_at(PauseAt::CatchUp).await;
        let mut delta = slot.writer.lock().await;
        locked = Instant::now();
        if catch_up(slot, &mut delta, copy).await? {
            slot.renewed();
        }
        if !vacuum_beside {
            retention::vacuum(slot, &mut delta, opts, report).await?;
            slot.renewed();
        }
        held += locked.elapsed();
        Ok(held)
    }
}

/// Under the writer lock (`delta`, the writer's state): brings `copy` — a
/// copy of that state taken earlier and maintained beside the cycles — up to
/// the cycles' commits since, makes it the writer's state and publishes it;
/// whether it did (otherwise the writer's state is brought up to date).
pub(super) async fn catch_up(
    slot: &Slot,
    delta: &mut DeltaTable,
    mut copy: DeltaTable,
) -> Result<bool> {
    copy.update_state()
        .await
        .map_err(slot.delta_err("refresh"))?;
    let took = copy.version() >= delta.version();
    if took {
        *delta = copy;
    } else {
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("refresh"))?;
    }
    slot.publish(delta);
    Ok(took)
}

/// Compacts `delta`'s closed partitions, writes a checkpoint, removes the
/// expired log entries and, if `vacuum`, vacuums; returns the table after.
async fn tidy(
    slot: &Slot,
    delta: DeltaTable,
    filters: &[FilterLiteral<'_>],
    today: &str,
    opts: &MaintainOptions,
    report: &mut TableMaintenance,
    vacuum: bool,
) -> Result<DeltaTable> {
    let mut delta = compact(slot, delta, filters, today, report).await?;
    maintain::checkpoint_and_clean(slot, &mut delta, opts, report).await?;
    if vacuum {
        retention::vacuum(slot, &mut delta, opts, report).await?;
    }
    Ok(delta)
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
    report.count(&clustered);
    let (optimized, metrics) = delta
        .optimize()
        .with_filters(filters)
        .with_writer_properties(merge_properties(slot.table))
        .await
        .map_err(slot.delta_err("optimize"))?;
    slot.publish(&optimized);
    report.count(&metrics);
    Ok(optimized)
}
