//! How long a table keeps the record of the files it removed.
//!
//! Every rewrite (a gold partition each cycle, compaction every hour) removes
//! files, and each removal stays in the table's log as a tombstone for the
//! table's `delta.deletedFileRetentionDuration` — Delta's default is a week.
//! Every checkpoint (one per ten commits) carries all of them, so a table
//! rewritten once a cycle carries ~1,400 more per day for a week, and each
//! checkpoint and fresh load reads and writes them again. Vacuum deletes a
//! removed file once its tombstone is older than the vacuum retention, so the
//! tombstones need to be kept exactly that long: [`Lake::keep_removed_files_for`]
//! sets the property to the configured vacuum retention (a day by default, as
//! long as log entries are kept, so every version that can still be read
//! keeps its files), and on the tables that cycles rewrite (gold, and the
//! open sessions) to the gold retention (an hour by default), which the
//! hourly compaction vacuums by.
//! A tombstone that a checkpoint dropped before vacuum ran (vacuum runs
//! daily — hourly for the tables cycles rewrite — and checkpoints
//! every ten commits) no longer names its file; vacuum therefore also lists
//! the table's files (its full mode) and deletes those that no version
//! references and that are older than the retention — which also clears the
//! files of a write that was killed before it committed.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deltalake::operations::vacuum::{Clock as VacuumClock, VacuumMode};
use deltalake::table::config::TablePropertiesExt as _;
use deltalake::{DeltaTable, TableProperty};

use super::maintain::{MaintainOptions, Retention, TableMaintenance, vacuum_retention};
use super::{Lake, Result, Slot};
use crate::schema::Table;

/// `d` as a Delta interval (`interval 1 days`), in the largest unit that
/// divides it: Delta (Spark and delta-rs alike) parses these.
fn interval(d: Duration) -> String {
    const UNITS: [(u128, &str); 5] = [
        (86_400_000, "days"),
        (3_600_000, "hours"),
        (60_000, "minutes"),
        (1_000, "seconds"),
        (1, "milliseconds"),
    ];
    let ms = d.as_millis();
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| ms.is_multiple_of(*size))
        .unwrap_or((1, "milliseconds"));
    format!("interval {} {unit}", ms / size)
}

impl Lake {
    /// Sets every table's `delta.deletedFileRetentionDuration` to its file
    /// retention ([`Retention::files_of`]; a metadata commit, only on the
    /// tables where it differs), so that its checkpoints carry the
    /// tombstones of removed files for as long as vacuum keeps the files,
    /// and no longer. Returns the tables changed and the tables that failed
    /// (each logged; their retention stays as it was).
    pub async fn keep_removed_files_for(&self, retention: &Retention) -> (usize, usize) {
        let (mut changed, mut failed) = (0, 0);
        for table in Table::ALL {
            match self
                .set_file_retention(table, retention.files_of(table))
                .await
            {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => {
                    failed += 1;
                    tracing::warn!(%table, error = %e, "setting how long removed files are kept failed");
                }
            }
        }
        (changed, failed)
    }

    async fn set_file_retention(
        &self,
        table: Table,
        keep: Duration,
    ) -> Result<bool, deltalake::DeltaTableError> {
        let slot = self.slot(table);
        // The state the lake was just opened with: another process changing
        // the table meanwhile makes the commit below conflict (logged).
        let mut delta = slot.writer.lock().await;
        if delta
            .snapshot()?
            .table_config()
            .deleted_file_retention_duration()
            == keep
        {
            return Ok(false);
        }
        let key = TableProperty::DeletedFileRetentionDuration
            .as_ref()
            .to_owned();
        let value = interval(keep);
        let updated = DeltaTable::clone(&delta)
            .set_tbl_properties()
            .with_properties(HashMap::from([(key, value.clone())]))
            .await?;
        *delta = updated;
        slot.publish(&delta);
        tracing::info!(%table, keep = value, "removed files are now kept as long as vacuum keeps them");
        Ok(true)
    }
}

/// Vacuums a table that cycles rewrite by its own
/// `delta.deletedFileRetentionDuration`, listing its files (full mode).
/// Not from the tombstones alone (lite mode): a checkpoint, every ten
/// commits, drops the tombstones older than that retention, so by the next
/// hourly run most of the hour's removed files are no longer named by any
/// — measured, lite mode left 4–6 times the gold on disk in the soak bench
/// until the daily maintenance. The listing costs a LIST per day partition.
/// Returns the table's state after it and that retention.
pub(super) async fn vacuum_rewritten(
    table: Table,
    delta: &DeltaTable,
) -> Result<(DeltaTable, Duration), deltalake::DeltaTableError> {
    let kept_for = delta
        .snapshot()?
        .table_config()
        .deleted_file_retention_duration();
    let (vacuumed, metrics) = DeltaTable::clone(delta)
        .vacuum()
        .with_mode(VacuumMode::Full)
        .await?;
    if !metrics.files_deleted.is_empty() {
        tracing::debug!(%table, files = metrics.files_deleted.len(), "vacuumed replaced files");
    }
    Ok((vacuumed, kept_for))
}

/// Vacuum's notion of "now", from [`MaintainOptions::wall`].
#[derive(Debug)]
struct FixedClock(i64);

impl VacuumClock for FixedClock {
    fn current_timestamp_millis(&self) -> i64 {
        self.0
    }
}

/// Deletes the files `delta` no longer references that are older than the
/// table's retention, then loads the table afresh (from the checkpoint just
/// written, in a few large batches).
pub(super) async fn vacuum(
    slot: &Slot,
    delta: &mut DeltaTable,
    opts: &MaintainOptions,
    report: &mut TableMaintenance,
) -> Result<()> {
    let retention = vacuum_retention(slot.table, opts);
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let (vacuumed, metrics) = DeltaTable::clone(delta)
        .vacuum()
        // Lists the table's files rather than trusting the tombstones
        // alone: see the module's doc (checkpoints drop expired tombstones).
        .with_mode(VacuumMode::Full)
        .with_retention_period(retention)
        .with_enforce_retention_duration(opts.enforce_retention)
        .with_clock(Arc::new(FixedClock(opts.wall.timestamp_millis())))
        .await
        .map_err(slot.delta_err("vacuum"))?;
    *delta = vacuumed;
    slot.publish(delta);
    report.files_vacuumed = metrics.files_deleted.len();
    slot.reload(delta).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_use_the_largest_whole_unit() {
        let h = 3600;
        assert_eq!(interval(Duration::from_secs(24 * h)), "interval 1 days");
        assert_eq!(interval(Duration::from_secs(7 * 24 * h)), "interval 7 days");
        assert_eq!(interval(Duration::from_secs(36 * h)), "interval 36 hours");
        assert_eq!(interval(Duration::from_secs(720)), "interval 12 minutes");
        assert_eq!(interval(Duration::from_secs(90)), "interval 90 seconds");
        assert_eq!(
            interval(Duration::from_millis(1500)),
            "interval 1500 milliseconds"
        );
        assert_eq!(interval(Duration::ZERO), "interval 0 days");
    }
}
