//! Whole-table rewrites for `rebuild`: replaces every row of a derived table
//! in one commit, whatever cycles it has seen. Idempotent by nature (the
//! same input gives the same table), so no txn check; the commit records the
//! base app id at `cycle_id` so later cycles continue after it.
//!
//! The rows come from memory and from Parquet files staged on local disk
//! ([`Lake::rewrite_staged`]): the write streams through DataFusion, so a
//! table larger than memory can be rewritten.
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;

use super::read::session_config;
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
        self.rewrite_staged(table, batches, Vec::new(), cycle_id)
            .await
    }

    /// [`Lake::rewrite`] of `batches` and the rows of the Parquet `files`
    /// (local paths, each in the table's contract schema).
    pub async fn rewrite_staged(
        &self,
        table: Table,
        batches: Vec<RecordBatch>,
        files: Vec<PathBuf>,
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
        let input = staged_rows(table, batches, &files)
            .await
            .map_err(|source| Error::Query {
                op: "rewrite",
                table,
                source: Box::new(source),
            })?;
        let mut delta = slot.writer.lock().await;
        delta
            .update_state()
            .await
            .map_err(slot.delta_err("rewrite"))?;
        let props = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id(table, None), cycle_id));
        let new = delta
            .clone()
            .write(Vec::new())
            .with_input_plan(input)
            .with_save_mode(SaveMode::Overwrite)
            .with_commit_properties(props)
            .await
            .map_err(slot.delta_err("rewrite"))?;
        *delta = new;
        slot.publish(&delta);
        Ok(delta.version().unwrap_or_default() as u64)
    }
}

/// A plan reading `batches` and then `files`, in the table's schema.
async fn staged_rows(
    table: Table,
    batches: Vec<RecordBatch>,
    files: &[PathBuf],
) -> datafusion::error::Result<datafusion::logical_expr::LogicalPlan> {
    let ctx = SessionContext::new_with_config(session_config());
    let schema = table.schema();
    let memory = MemTable::try_new(Arc::clone(&schema), vec![batches])?;
    let mut rows = ctx.read_table(Arc::new(memory))?;
    if !files.is_empty() {
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let options = ParquetReadOptions::default().schema(&schema);
        rows = rows.union(ctx.read_parquet(paths, options).await?)?;
    }
    Ok(rows.into_unoptimized_plan())
}
