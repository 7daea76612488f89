//! The export record, `gold.exports`: one row per (day, target) and state
//! change, appended only (the newest row of a pair counts; `sent` is
//! final). Read back at start-up so a day is never sent twice.
use std::collections::BTreeMap;
use std::fmt;

use arrow::array::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Error, Result};
use crate::schema::Table;

/// Where one day's export to one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportStatus {
    /// Recorded, not taken by the target yet (queued or retrying).
    Pending,
    /// The target took it: never sent again.
    Sent,
    /// The last send failed after its retries; tried again later.
    Failed,
}

impl ExportStatus {
    /// The value of `gold.exports.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Pending => "pending",
            ExportStatus::Sent => "sent",
            ExportStatus::Failed => "failed",
        }
    }

    /// How far along a send is: the newest row wins, `sent` over all.
    fn rank(self) -> u8 {
        match self {
            ExportStatus::Pending => 0,
            ExportStatus::Failed => 1,
            ExportStatus::Sent => 2,
        }
    }
}

impl fmt::Display for ExportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `gold.exports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRow {
    /// The exported day.
    pub day: NaiveDate,
    /// The target's name.
    pub target: String,
    /// When the target took it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Where it stands.
    pub status: ExportStatus,
    /// The cycle whose commit appended the row (set when appended).
    pub cycle_id: Option<i64>,
    /// Sends tried so far (null in rows of lakes older than the column).
    #[serde(default)]
    pub attempts: i64,
    /// Why the last send failed (never a URL or secret).
    pub last_error: Option<String>,
}

impl ExportRow {
    /// A send of `day` to `target`, not made yet.
    pub fn pending(day: NaiveDate, target: &str) -> Self {
        Self {
            day,
            target: target.to_owned(),
            sent_at: None,
            status: ExportStatus::Pending,
            cycle_id: None,
            attempts: 0,
            last_error: None,
        }
    }
}

/// `rows` as a `gold.exports` batch (through Arrow's JSON decoder, which
/// reads the dates and RFC 3339 times serde writes).
pub fn to_batch(rows: &[ExportRow]) -> Result<RecordBatch> {
    let bad = |e: arrow::error::ArrowError| Error::Record(e.to_string());
    let mut decoder = arrow::json::ReaderBuilder::new(Table::Exports.schema())
        .build_decoder()
        .map_err(bad)?;
    decoder.serialize(rows).map_err(bad)?;
    Ok(decoder
        .flush()
        .map_err(bad)?
        .unwrap_or_else(|| RecordBatch::new_empty(Table::Exports.schema())))
}

/// Rows read back from `gold.exports` batches.
pub fn from_batches(batches: &[RecordBatch]) -> Result<Vec<ExportRow>> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for b in batches {
        writer.write(b).map_err(|e| Error::Record(e.to_string()))?;
    }
    writer.finish().map_err(|e| Error::Record(e.to_string()))?;
    let json = writer.into_inner();
    if json.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&json).map_err(|e| Error::Record(e.to_string()))
}

/// The state of each (day, target): its newest row, `sent` winning over
/// anything recorded after it (a late duplicate outcome never reopens a day).
pub fn latest(rows: Vec<ExportRow>) -> BTreeMap<(NaiveDate, String), ExportRow> {
    let mut out: BTreeMap<(NaiveDate, String), ExportRow> = BTreeMap::new();
    for row in rows {
        let key = (row.day, row.target.clone());
        match out.get(&key) {
            Some(old) if old.status == ExportStatus::Sent => {}
            Some(old) if old.status.rank() > row.status.rank() && old.attempts > row.attempts => {
                // An older, further state read after a newer one: keep it.
            }
            _ => {
                out.insert(key, row);
            }
        }
    }
    out
}
