//! Local disk for `rebuild`'s image: rows that only grow (a day's stream
//! snapshots, say) go to Parquet files in a temporary directory once a
//! partition holds [`SPILL_ROWS`] of them in memory, so a rebuild's memory
//! does not grow with the lake. The files are read back when each table is
//! rewritten ([`crate::lake::Lake::rewrite_staged`]) and deleted with the
//! directory when the rebuild ends, however it ends.
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use super::{Error, Result};
use crate::lake::write::conform;
use crate::schema::Table;

/// Rows of one partition held in memory before they go to disk: at a few
/// hundred bytes a row, some tens of megabytes per table.
pub(super) const SPILL_ROWS: usize = 200_000;

/// The temporary directory and a counter for file names.
#[derive(Debug)]
pub(super) struct Spill {
    dir: tempfile::TempDir,
    files: usize,
}

impl Spill {
    /// A new directory under the system's temporary directory (`TMPDIR`).
    pub(super) fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("twitch-monitor-rebuild-")
            .tempdir()
            .map_err(|e| spill_error(&std::env::temp_dir(), e))?;
        Ok(Spill { dir, files: 0 })
    }

    /// Writes `batches` of `table` to a new file, in the table's contract
    /// schema; returns its path.
    pub(super) fn write(&mut self, table: Table, batches: Vec<RecordBatch>) -> Result<PathBuf> {
        self.files += 1;
        let name = format!("{}-{:06}.parquet", table.qualified_name(), self.files);
        let path = self.dir.path().join(name);
        let batches = conform(table, batches)?;
        let file = std::fs::File::create(&path).map_err(|e| spill_error(&path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::LZ4_RAW)
            .build();
        let mut writer = ArrowWriter::try_new(file, table.schema(), Some(props))
            .map_err(|e| spill_error(&path, e))?;
        for batch in &batches {
            writer.write(batch).map_err(|e| spill_error(&path, e))?;
        }
        writer.close().map_err(|e| spill_error(&path, e))?;
        Ok(path)
    }
}

/// Deletes a file no longer wanted (its partition was replaced); a failure
/// only leaves it to the directory's removal at the end.
pub(super) fn discard(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::debug!(path = %path.display(), "could not delete a spilled file early: {e}");
    }
}

fn spill_error(path: &Path, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Spill {
        path: path.to_owned(),
        source: source.into(),
    }
}
