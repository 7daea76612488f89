//! The files target: a day's gold tables as CSV, Parquet or JSON (one JSON
//! object per line), one folder per day, `DIR/<day>/<table>.<ext>`. Each
//! file is written to a hidden temporary name in the same folder and
//! renamed into place, so a crash never leaves a half file under a real
//! name. The rows are the day's (for `leaderboard_weekly`, the ISO week
//! that contains the day), read through the lake's DataFusion reads.
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use chrono::{Datelike, NaiveDate, TimeDelta};
use datafusion::parquet::arrow::ArrowWriter;

use super::{Error, Result};
pub use crate::config::ExportFormat as Format;
use crate::http::csv_ready;
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

/// Writes `rows` under `dir/<day>/` in `format`; returns the files written.
pub fn write_day(
    dir: &Path,
    day: NaiveDate,
    format: Format,
    rows: &[(Table, Vec<RecordBatch>)],
) -> Result<Vec<PathBuf>> {
    let folder = dir.join(day.to_string());
    let io = |path: &Path, e: std::io::Error| Error::Write(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
    let mut written = Vec::new();
    for (table, batches) in rows {
        let name = format!("{}.{}", table.name(), format.extension());
        let path = folder.join(&name);
        let temp = folder.join(format!(".{name}.tmp"));
        let file = File::create(&temp).map_err(|e| io(&temp, e))?;
        let result = write_file(file, format, table.schema(), batches);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        std::fs::rename(&temp, &path).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

fn write_file(
    file: File,
    format: Format,
    schema: arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let arrow = |e: arrow::error::ArrowError| Error::Write(e.to_string());
    let mut out = BufWriter::new(file);
    match format {
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            if batches.iter().all(|b| b.num_rows() == 0) {
                // A header alone says which columns there would be.
                let empty = RecordBatch::new_empty(schema);
                w.write(&csv_ready(&empty).map_err(arrow)?).map_err(arrow)?;
            }
            for b in batches {
                w.write(&csv_ready(b).map_err(arrow)?).map_err(arrow)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                w.write(b).map_err(arrow)?;
            }
            w.finish().map_err(arrow)?;
        }
        Format::Parquet => {
            let parquet =
                |e: datafusion::parquet::errors::ParquetError| Error::Write(e.to_string());
            let schema = batches.first().map_or(schema, RecordBatch::schema);
            let mut w = ArrowWriter::try_new(&mut out, schema, None).map_err(parquet)?;
            for b in batches {
                w.write(b).map_err(parquet)?;
            }
            w.close().map_err(parquet)?;
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::Write(e.error().to_string()))?;
    file.sync_all().map_err(|e| Error::Write(e.to_string()))?;
    Ok(())
}
