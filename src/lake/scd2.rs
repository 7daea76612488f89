//! SCD type 2 upserts (silver.streamers): the newest observed version of each
//! entity goes in; entities whose tracked columns changed get their current
//! row closed (`valid_to`, `is_current = false`) and a new current row, in one
//! MERGE commit. Unchanged entities cost nothing, and a cycle whose changes
//! are all new entities appends their rows (there is nothing to close), which
//! costs a fraction of a MERGE: the common case, as new channels go live.
//!
//! Memory: the change detection joins the source with the current rows only,
//! and the MERGE source holds just the changed rows (twice: the classic
//! "merge key / null key" staging that lets one MERGE both close and insert).
//! SCD2 tables are small (one row per profile version), so this is bounded.
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionContext, col, lit};
use datafusion::scalar::ScalarValue;
use deltalake::protocol::SaveMode;

use super::read::session_config;
use super::write::{CommitOutcome, conform};
use super::{Error, Lake, Result};
use crate::schema::{Table, scd2};

/// Staging column of the MERGE source: the key for rows that close a current
/// version, null for rows to insert.
const MERGE_KEY: &str = "__merge_key";
/// Column of the change detection: true for a key without a current row.
const NEW_KEY: &str = "__new_key";

/// Columns that never count as a change: the key and the bookkeeping.
fn is_bookkeeping(name: &str, key: &str) -> bool {
    name == key
        || name == scd2::VALID_FROM
        || name == scd2::VALID_TO
        || name == scd2::IS_CURRENT
        || name == "cycle_id"
}

/// The change-detection query: newest source row per key that is new or
/// differs from the current target row in any tracked column, and whether
/// the key is new ([`NEW_KEY`]).
fn changed_rows_sql(table: Table, key: &str) -> String {
    let schema = table.schema();
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("s.\"{}\"", f.name()))
        .collect();
    let same: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| !is_bookkeeping(f.name(), key))
        .map(|f| format!("(s.\"{0}\" IS NOT DISTINCT FROM t.\"{0}\")", f.name()))
        .collect();
    let same = if same.is_empty() {
        "true".to_string()
    } else {
        same.join(" AND ")
    };
    format!(
        "WITH ranked AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY \"{key}\" \
           ORDER BY \"{from}\" DESC) AS __rn FROM source) \
         SELECT {cols}, t.\"{key}\" IS NULL AS {NEW_KEY} FROM ranked s \
         LEFT JOIN (SELECT * FROM target WHERE \"{current}\") t ON s.\"{key}\" = t.\"{key}\" \
         WHERE s.__rn = 1 AND (t.\"{key}\" IS NULL OR NOT ({same}))",
        from = scd2::VALID_FROM,
        current = scd2::IS_CURRENT,
        cols = cols.join(", "),
    )
}

impl Lake {
    /// Upserts the newest observed version of each entity into an SCD type 2
    /// table, exactly once for `cycle_id`. Each source row is a full contract
    /// row with `valid_from` = when it was observed, `valid_to` null and
    /// `is_current` true; several rows for one key keep the newest. New keys
    /// are inserted; keys whose tracked columns changed get the current row
    /// closed at the new row's `valid_from` and the new row inserted; the
    /// rest are left alone (`Unchanged` when nothing differs).
    pub async fn upsert_scd2(
        &self,
        table: Table,
        batches: Vec<RecordBatch>,
        cycle_id: i64,
    ) -> Result<CommitOutcome> {
        let Some(key) = table.def().scd2_key else {
            return Err(Error::Unsupported {
                op: "upsert_scd2",
                table,
                reason: "not an SCD type 2 table".into(),
            });
        };
        let batches = conform(table, batches)?;
        let location = self.table_location(table).to_string();
        self.commit_once(
            table,
            "merge",
            cycle_id,
            None,
            Box::new(move |delta, props| {
                Box::pin(async move {
                    let qerr = |op| {
                        move |source| Error::Query {
                            op,
                            table,
                            source: Box::new(source),
                        }
                    };
                    let derr = |source| Error::Delta {
                        op: "merge",
                        table,
                        location: location.clone(),
                        source: Box::new(source),
                    };
                    let ctx = SessionContext::new_with_config(session_config());
                    let state = Arc::new(ctx.state());
                    let target = delta
                        .table_provider()
                        .with_session(Arc::clone(&state))
                        .await
                        .map_err(qerr("scd2 target"))?;
                    let source = MemTable::try_new(table.schema(), vec![batches])
                        .map_err(qerr("scd2 source"))?;
                    ctx.register_table("target", target)
                        .map_err(qerr("scd2 target"))?;
                    ctx.register_table("source", Arc::new(source))
                        .map_err(qerr("scd2 source"))?;
                    let changed = ctx
                        .sql(&changed_rows_sql(table, key))
                        .await
                        .map_err(qerr("scd2 change detection"))?
                        .collect()
                        .await
                        .map_err(qerr("scd2 change detection"))?;
                    let changed: Vec<RecordBatch> =
                        changed.into_iter().filter(|b| b.num_rows() > 0).collect();
                    let rows: usize = changed.iter().map(RecordBatch::num_rows).sum();
                    if rows == 0 {
                        return Ok(None);
                    }
                    let all_new = changed.iter().all(|b| {
                        b.column_by_name(NEW_KEY)
                            .and_then(|c| c.as_boolean_opt())
                            .is_some_and(|c| c.null_count() == 0 && c.true_count() == c.len())
                    });
                    let changed: Vec<RecordBatch> = changed
                        .into_iter()
                        .map(|mut b| {
                            if let Ok(i) = b.schema().index_of(NEW_KEY) {
                                b.remove_column(i);
                            }
                            b
                        })
                        .collect();
                    if all_new {
                        // First versions only: nothing to close.
                        let delta = delta
                            .write(conform(table, changed)?)
                            .with_save_mode(SaveMode::Append)
                            .with_commit_properties(props)
                            .await
                            .map_err(derr)?;
                        return Ok(Some((delta, rows)));
                    }
                    let changed = ctx.read_batches(changed).map_err(qerr("scd2 staging"))?;
                    let closing = changed
                        .clone()
                        .with_column(MERGE_KEY, col(key))
                        .map_err(qerr("scd2 staging"))?;
                    let inserting = changed
                        .with_column(MERGE_KEY, lit(ScalarValue::Utf8(None)))
                        .map_err(qerr("scd2 staging"))?;
                    let staged = closing.union(inserting).map_err(qerr("scd2 staging"))?;
                    let predicate = format!(
                        "target.\"{key}\" = source.{MERGE_KEY} AND target.\"{}\" = true",
                        scd2::IS_CURRENT
                    );
                    let columns: Vec<String> = table
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                    let (delta, metrics) = delta
                        .merge(staged, predicate)
                        .with_source_alias("source")
                        .with_target_alias("target")
                        .with_session_state(state)
                        .with_commit_properties(props)
                        .when_matched_update(|u| {
                            u.update(scd2::IS_CURRENT, "false")
                                .update(scd2::VALID_TO, format!("source.\"{}\"", scd2::VALID_FROM))
                        })
                        .map_err(derr)?
                        .when_not_matched_insert(|i| {
                            columns.iter().fold(
                                i.predicate(format!("source.{MERGE_KEY} IS NULL")),
                                |i, c| i.set(c.as_str(), format!("source.\"{c}\"")),
                            )
                        })
                        .map_err(derr)?
                        .await
                        .map_err(derr)?;
                    Ok(Some((delta, metrics.num_target_rows_inserted)))
                })
            }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn change_detection_plans_against_the_contract() {
        let ctx = SessionContext::new_with_config(session_config());
        for name in ["source", "target"] {
            let empty = MemTable::try_new(Table::Streamers.schema(), vec![vec![]]).unwrap();
            ctx.register_table(name, Arc::new(empty)).unwrap();
        }
        let sql = changed_rows_sql(Table::Streamers, "user_id");
        let df = ctx.sql(&sql).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
        assert_eq!(
            df.schema().as_arrow().fields().len(),
            Table::Streamers.schema().fields().len() + 1,
            "the contract's columns and {NEW_KEY}"
        );
    }
}
