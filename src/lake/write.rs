//! Exactly-once writes: append and replace-where, each a single Delta commit
//! carrying the cycle's txn marker, skipped when the table already has it.
use arrow::array::{RecordBatch, new_null_array};
use arrow::compute::{
    CastOptions, cast_with_options, concat_batches, sort_to_indices, take_record_batch,
};
use arrow::error::ArrowError;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::future::BoxFuture;

use super::{Error, Lake, Result};
use crate::schema::{Layer, Table};

/// Prefix of every app id this service writes.
pub const APP_PREFIX: &str = "twitch-monitor";

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// A new table version was committed.
    Committed {
        /// The version committed.
        version: u64,
        /// Rows written.
        rows: usize,
    },
    /// The table already holds this cycle (or a later one) for this app id:
    /// nothing was written (an idempotent replay).
    Skipped {
        /// The last cycle the table has for this app id.
        last_cycle: i64,
    },
    /// There was nothing to change, so nothing was committed (SCD2 upsert
    /// with no changed rows).
    Unchanged,
}

impl CommitOutcome {
    /// Whether a new version was committed.
    pub fn is_committed(&self) -> bool {
        matches!(self, CommitOutcome::Committed { .. })
    }
}

/// The Delta txn app id for writes to `table`: `twitch-monitor:<layer>.<table>`,
/// plus `:<suffix>` for a table that takes several commits per cycle (each
/// commit kind gets its own suffix, so each is exactly-once on its own).
pub fn app_id(table: Table, suffix: Option<&str>) -> String {
    match suffix {
        Some(s) => format!("{APP_PREFIX}:{}:{s}", table.qualified_name()),
        None => format!("{APP_PREFIX}:{}", table.qualified_name()),
    }
}

/// A SQL `column IN ('a', 'b')` predicate for replace-where, values quoted
/// and escaped: `in_list("day", ["2026-01-05"])`.
pub fn in_list<I, V>(column: &str, values: I) -> String
where
    I: IntoIterator<Item = V>,
    V: std::fmt::Display,
{
    let quoted: Vec<String> = values
        .into_iter()
        .map(|v| format!("'{}'", v.to_string().replace('\'', "''")))
        .collect();
    if quoted.is_empty() {
        // Matches nothing: replacing "no partition" only adds the rows.
        return "false".to_string();
    }
    format!("{column} IN ({})", quoted.join(", "))
}

/// The last txn version recorded in `delta` for `app_id`.
pub(crate) async fn txn_version(
    delta: &DeltaTable,
    app_id: &str,
) -> Result<Option<i64>, DeltaTableError> {
    delta
        .snapshot()?
        .transaction_version(delta.log_store().as_ref(), app_id)
        .await
}

/// Reshapes `batches` to the contract schema of `table`: columns matched by
/// name, cast where the type differs only in representation (`Utf8View` from
/// a DataFusion query, a list item field named `item`), missing nullable
/// columns filled with nulls. Unknown columns, missing required columns and
/// nulls in required columns are errors. Empty batches are dropped; if none
/// is left, one empty batch stands in so the commit still happens.
pub(crate) fn conform(table: Table, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    let schema = table.schema();
    let bad = |source| Error::BatchSchema { table, source };
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(batches.len().max(1));
    for batch in batches.into_iter().filter(|b| b.num_rows() > 0) {
        let bs = batch.schema();
        if let Some(extra) = bs
            .fields()
            .iter()
            .find(|f| schema.field_with_name(f.name()).is_err())
        {
            return Err(bad(ArrowError::SchemaError(format!(
                "unknown column {}",
                extra.name()
            ))));
        }
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = match bs.index_of(field.name()) {
                Ok(i) => batch.column(i).clone(),
                Err(_) if field.is_nullable() => {
                    new_null_array(field.data_type(), batch.num_rows())
                }
                Err(e) => return Err(bad(e)),
            };
            let column = if column.data_type() == field.data_type() {
                column
            } else {
                cast_with_options(&column, field.data_type(), &opts).map_err(bad)?
            };
            columns.push(column);
        }
        out.push(RecordBatch::try_new(schema.clone(), columns).map_err(bad)?);
    }
    if out.is_empty() {
        out.push(RecordBatch::new_empty(schema));
    }
    Ok(out)
}

/// `batches` as one batch sorted by the column `table`'s reads look rows up
/// by (the first of [`super::cluster::columns`]), if it has one. Cycles
/// write `silver.stream_snapshots` in the order Helix lists streams (by
/// viewers), so every file held every channel in every page; sorted by
/// `user_id`, each page of a file holds a range of channels, and the page
/// index lets a look-up of one channel (the streamer page, an analyst's
/// `WHERE user_id = …`) read one page of each file of today instead of all
/// of them. The closed days are z-ordered by the same column.
fn sorted_for_reads(table: Table, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    let Some(&[column, ..]) = super::cluster::columns(table) else {
        return Ok(batches);
    };
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let bad = |source| Error::BatchSchema { table, source };
    let batch = concat_batches(&first.schema(), &batches).map_err(bad)?;
    let key = batch.column(batch.schema().index_of(column).map_err(bad)?);
    let order = sort_to_indices(key, None, None).map_err(bad)?;
    Ok(vec![take_record_batch(&batch, &order).map_err(bad)?])
}

/// Rows per Parquet page in the tables whose rows are sorted for look-ups
/// ([`sorted_for_reads`]); Parquet's default is 20,000. A cycle's run of
/// sorted rows (80,000 at 100,000 live streams) then spans 20 pages rather
/// than 4, and today's merged files, which hold one such run per cycle, one
/// after the other, have fewer pages straddling two runs (whose statistics
/// cover every channel): a look-up reads about a tenth of each file instead
/// of a half.
const LOOKUP_PAGE_ROWS: usize = 4_096;

/// How a cycle's files are written. Bronze (the raw responses and chat
/// lines, kept for ever and read again only by `rebuild`) is compressed
/// with zstd: its JSON text takes ~40% less room than with delta-rs's
/// default Snappy, at about the same write speed. Silver and gold, which
/// queries read all day, keep Snappy, the faster to decode, until compaction
/// merges them ([`merge_properties`]); the tables sorted for look-ups have
/// smaller pages ([`LOOKUP_PAGE_ROWS`]).
fn writer_properties(table: Table) -> Option<WriterProperties> {
    let compression = if table.layer() == Layer::Bronze {
        // Level 1: as small as level 3 on these files, and faster.
        Compression::ZSTD(ZstdLevel::default())
    } else if super::cluster::columns(table).is_some() {
        Compression::SNAPPY
    } else {
        return None;
    };
    Some(properties(table, compression))
}

/// How compaction (delta-rs's optimize) writes `table`'s merged files: as
/// delta-rs does by default (zstd level 4), and in the smaller pages of the
/// tables sorted for look-ups.
pub(super) fn merge_properties(table: Table) -> WriterProperties {
    properties(
        table,
        Compression::ZSTD(ZstdLevel::try_new(4).unwrap_or_default()),
    )
}

fn properties(table: Table, compression: Compression) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_created_by(format!("delta-rs version {}", deltalake::crate_version()))
        .set_compression(compression);
    if super::cluster::columns(table).is_some() {
        builder = builder.set_data_page_row_count_limit(LOOKUP_PAGE_ROWS);
    }
    builder.build()
}

/// A cycle's commit: its txn marker, and no expired-log cleanup. delta-rs
/// cleans up after every commit by default, listing the whole `_delta_log`
/// each time (up to 30 days of one commit a minute); maintenance cleans up
/// once per run instead ([`super::maintain`]).
fn commit_properties(app_id: &str, cycle_id: i64) -> CommitProperties {
    CommitProperties::default()
        .with_application_transaction(Transaction::new(app_id, cycle_id))
        .with_cleanup_expired_logs(Some(false))
}

/// The write a [`Lake::commit_once`] call performs: gets the table at its
/// newest version and the commit properties to use; returns the new table
/// state and rows written, or `None` when there was nothing to commit.
pub(crate) type WriteFn = Box<
    dyn FnOnce(
            DeltaTable,
            CommitProperties,
        ) -> BoxFuture<'static, Result<Option<(DeltaTable, usize)>>>
        + Send,
>;

impl Lake {
    /// Appends `batches` to `table` exactly once for `cycle_id` (base app id).
    pub async fn append(
        &self,
        table: Table,
        batches: Vec<RecordBatch>,
        cycle_id: i64,
    ) -> Result<CommitOutcome> {
        self.append_as(table, batches, cycle_id, None).await
    }

    /// [`Lake::append`] under app id suffix `suffix` (for a second commit
    /// kind on the same table in one cycle).
    pub async fn append_as(
        &self,
        table: Table,
        batches: Vec<RecordBatch>,
        cycle_id: i64,
        suffix: Option<&str>,
    ) -> Result<CommitOutcome> {
        let batches = sorted_for_reads(table, conform(table, batches)?)?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let location = self.table_location(table).to_string();
        self.commit_once(
            table,
            "append",
            cycle_id,
            suffix,
            Box::new(move |delta, props| {
                Box::pin(async move {
                    let mut write = delta
                        .write(batches)
                        .with_save_mode(SaveMode::Append)
                        .with_commit_properties(props);
                    if let Some(properties) = writer_properties(table) {
                        write = write.with_writer_properties(properties);
                    }
                    let delta = write.await.map_err(|source| Error::Delta {
                        op: "append",
                        table,
                        location,
                        source: Box::new(source),
                    })?;
                    Ok(Some((delta, rows)))
                })
            }),
        )
        .await
    }

    /// Replaces the rows matching `predicate` (SQL over the table's columns;
    /// keep it on partition columns, e.g. `day = '2026-01-05'`, so only those
    /// partitions' files are touched — see [`in_list`]) with `batches`, in one
    /// commit, exactly once for (`cycle_id`, `suffix`). Every new row must
    /// satisfy the predicate. Empty `batches` deletes the matching rows.
    pub async fn replace(
        &self,
        table: Table,
        predicate: &str,
        batches: Vec<RecordBatch>,
        cycle_id: i64,
        suffix: Option<&str>,
    ) -> Result<CommitOutcome> {
        if table.def().append_only {
            return Err(Error::Unsupported {
                op: "replace",
                table,
                reason: "the table is append-only".into(),
            });
        }
        let batches = conform(table, batches)?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let location = self.table_location(table).to_string();
        let predicate = predicate.to_string();
        self.commit_once(
            table,
            "replace",
            cycle_id,
            suffix,
            Box::new(move |delta, props| {
                Box::pin(async move {
                    let delta = delta
                        .write(batches)
                        .with_save_mode(SaveMode::Overwrite)
                        .with_replace_where(predicate)
                        .with_commit_properties(props)
                        .await
                        .map_err(|source| Error::Delta {
                            op: "replace",
                            table,
                            location,
                            source: Box::new(source),
                        })?;
                    Ok(Some((delta, rows)))
                })
            }),
        )
        .await
    }

    /// The exactly-once protocol around one write: refresh, skip if the
    /// table's txn for this app id is already at `cycle_id` or beyond, else
    /// run `write` with the txn marker in its commit. If the write fails, the
    /// table is checked again: a concurrent writer that committed the same
    /// cycle turns the failure into `Skipped`.
    pub(crate) async fn commit_once(
        &self,
        table: Table,
        op: &'static str,
        cycle_id: i64,
        suffix: Option<&str>,
        write: WriteFn,
    ) -> Result<CommitOutcome> {
        let slot = self.slot(table);
        let app = app_id(table, suffix);
        let mut delta = slot.writer.lock().await;
        delta.update_state().await.map_err(slot.delta_err(op))?;
        slot.publish(&delta);
        if let Some(last) = txn_version(&delta, &app)
            .await
            .map_err(slot.delta_err(op))?
            && last >= cycle_id
        {
            tracing::debug!(%table, app, cycle_id, last, "cycle already committed, skipping");
            return Ok(CommitOutcome::Skipped { last_cycle: last });
        }
        match write(delta.clone(), commit_properties(&app, cycle_id)).await {
            Ok(Some((new, rows))) => {
                *delta = new;
                slot.publish(&delta);
                let version = delta.version().unwrap_or_default();
                slot.renew(&mut delta, false).await;
                tracing::debug!(%table, app, cycle_id, version, rows, "committed");
                Ok(CommitOutcome::Committed { version, rows })
            }
            Ok(None) => Ok(CommitOutcome::Unchanged),
            Err(e) => {
                if delta.update_state().await.is_ok() {
                    slot.publish(&delta);
                    if let Ok(Some(last)) = txn_version(&delta, &app).await
                        && last >= cycle_id
                    {
                        // Another writer's commit, or ours whose answer
                        // was lost (the store failed after persisting it).
                        tracing::warn!(%table, app, cycle_id, error = %e, "a commit failed but the cycle is in the table: done");
                        return Ok(CommitOutcome::Skipped { last_cycle: last });
                    }
                }
                Err(e)
            }
        }
    }
}
