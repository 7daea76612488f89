//! Whole-table rewrites for `rebuild`: replaces every row of a derived table
//! in one commit, whatever cycles it has seen. Idempotent by nature (the
//! same input gives the same table), so no txn check; the commit records the
//! base app id at `cycle_id` so later cycles continue after it.
use arrow::array::RecordBatch;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;

use super::write::{app_id, conform};
use super::{Error, Lake, Result};
use crate::schema::Table;

impl Lake {
    /// Replaces all rows of `table` with `batches` in one commit; returns the
    /// new table version.
    pub async fn rewrite(
        &self,
        table: Table,
        batches: Vec<RecordBatch>,
        cycle_id: i64,
    ) -> Result<u64> {
        if table.def().append_only {
            return Err(Error::Unsupported {
                op: "rewrite",
                table,
                reason: "the table is append-only".into(),
            });
        }
        let batches = conform(table, batches)?;
        let slot = self.slot(table);
        let mut delta = slot.writer.lock().await;
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("rewrite"))?;
        let props = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id(table, None), cycle_id));
        let new = delta
            .clone()
            .write(batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_commit_properties(props)
            .await
            .map_err(slot.delta_err("rewrite"))?;
        *delta = new;
        slot.publish(&delta);
        Ok(delta.version().unwrap_or_default() as u64)
    }
}
