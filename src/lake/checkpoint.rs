//! A table whose newest checkpoint cannot be read. A checkpoint only sums
//! up the commits before it (the JSON entries of `_delta_log` stay the
//! record), so when a table fails to load and its newest checkpoint is not
//! readable Parquet, the checkpoint is moved out of the log — to
//! `_corrupt_checkpoints/` beside it, kept for whoever wants to look, and
//! ignored by Delta readers and vacuum as every `_`-prefixed directory is —
//! together with the `_last_checkpoint` hint that points at it, and the
//! table loads from the checkpoint before it and the commits since.
use bytes::Bytes;
use datafusion::object_store::ObjectStoreExt;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::{DeltaTableError, ObjectStore, Path};
use futures::TryStreamExt;
use url::Url;

use super::{StorageOptions, builder};

/// Where unreadable checkpoints go, under the table's root.
const ASIDE: &str = "_corrupt_checkpoints";

/// Moves the table's newest checkpoint aside if it is not readable Parquet.
/// Returns its name when it did (the caller loads the table again), `None`
/// when there is no checkpoint or the newest one reads fine.
pub(super) async fn set_aside_unreadable(
    url: &Url,
    options: &StorageOptions,
) -> Result<Option<String>, DeltaTableError> {
    let store = builder(url, options)?.build_storage()?.object_store(None);
    let log = Path::from("_delta_log");
    let names: Vec<String> = store
        .list(Some(&log))
        .map_ok(|m| m.location.filename().unwrap_or_default().to_owned())
        .try_collect()
        .await?;
    // Single-file checkpoints, `<20-digit version>.checkpoint.parquet`, as
    // delta-rs writes them; the zero-padded names sort by version.
    let Some(newest) = names
        .iter()
        .filter(|n| {
            n.strip_suffix(".checkpoint.parquet")
                .is_some_and(|v| v.len() == 20 && v.bytes().all(|b| b.is_ascii_digit()))
        })
        .max()
    else {
        return Ok(None);
    };
    let path = log.clone().join(newest.as_str());
    let body = store.get(&path).await?.bytes().await?;
    if readable(body) {
        return Ok(None);
    }
    let aside = Path::from(ASIDE).join(newest.as_str());
    store.copy(&path, &aside).await?;
    store.delete(&path).await?;
    let hint = log.clone().join("_last_checkpoint");
    match store.delete(&hint).await {
        Ok(()) | Err(deltalake::ObjectStoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Some(newest.clone()))
}

/// Whether `body` is a Parquet file whose every row can be read.
fn readable(body: Bytes) -> bool {
    let Ok(reader) = ParquetRecordBatchReaderBuilder::try_new(body).and_then(|b| b.build()) else {
        return false;
    };
    reader.into_iter().all(|batch| batch.is_ok())
}
