//! The files target: a day's gold tables as CSV, Parquet or JSON (one JSON
//! object per line), one folder per day, `<location>/<day>/<table>.<ext>`,
//! in a local folder or an object store (the lake's URL schemes). The rows
//! are the day's (for `leaderboard_weekly`, the ISO week that contains the
//! day), read through the lake's DataFusion reads.
use arrow::array::RecordBatch;
use chrono::{Datelike, NaiveDate, TimeDelta};
use datafusion::object_store::ObjectStoreExt;
use deltalake::{ObjectStore, Path as StorePath};

use super::encode::{Encoding, encode_all};
use super::{Error, Result};
pub use crate::config::ExportFormat as Format;
use crate::lake::Lake;
use crate::schema::{Layer, Origin, Table};

/// The gold tables a day's export holds: the derived ones (the state
/// tables record what the service did, not the day's data).
pub fn day_tables() -> Vec<Table> {
    Table::ALL
        .into_iter()
        .filter(|t| t.layer() == Layer::Gold && t.def().origin == Origin::Derived)
        .collect()
}

/// The SQL filter selecting `table`'s rows of `day`.
fn day_filter(table: Table, day: NaiveDate) -> Option<String> {
    let column = table.def().day_partition()?;
    Some(if table == Table::LeaderboardWeekly {
        let monday = day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()));
        format!("{column} = DATE '{monday}'")
    } else {
        format!("{column} = DATE '{day}'")
    })
}

/// The rows of every day table for `day`, by table.
pub async fn day_rows(lake: &Lake, day: NaiveDate) -> Result<Vec<(Table, Vec<RecordBatch>)>> {
    let mut out = Vec::new();
    for table in day_tables() {
        let filter = day_filter(table, day);
        let batches = lake.scan(table, filter.as_deref()).await?;
        out.push((table, batches));
    }
    Ok(out)
}

/// Whether the lake holds any derived gold row for `day`.
pub fn has_rows(rows: &[(Table, Vec<RecordBatch>)]) -> bool {
    rows.iter()
        .filter(|(t, _)| *t != Table::LeaderboardWeekly)
        .any(|(_, b)| b.iter().any(|b| b.num_rows() > 0))
}

/// Writes `rows` under `<day>/` of `store` in `format`; returns the
/// paths written, relative to the store's root. Each file is one put: a
/// local folder gets it through a hidden temporary file renamed into
/// place, an object store as one object, so a crash never leaves a half
/// file under a real name.
pub async fn write_day(
    store: &dyn ObjectStore,
    day: NaiveDate,
    format: Format,
    rows: &[(Table, Vec<RecordBatch>)],
) -> Result<Vec<String>> {
    let encoding = Encoding::from(format);
    let mut written = Vec::new();
    for (table, batches) in rows {
        let name = format!("{day}/{}.{}", table.name(), format.extension());
        let bytes = encode_all(encoding, table.schema(), batches)
            .map_err(|e| Error::Write(format!("{name}: {e}")))?;
        store
            .put(&StorePath::from(name.as_str()), bytes.into())
            .await
            .map_err(|e| Error::Write(format!("{name}: {e}")))?;
        written.push(name);
    }
    Ok(written)
}
