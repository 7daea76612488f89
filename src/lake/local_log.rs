//! The local-disk object store for lakes on a path: object_store's
//! `LocalFileSystem`, except that listing a `_delta_log` directory from an
//! offset (what delta-rs and delta-kernel do on every commit, snapshot
//! refresh and transaction check, ~50 times a cycle) compares entry names
//! before doing any other work.
//!
//! Why: `LocalFileSystem` walks the directory and turns every entry into an
//! object path (a URL round trip) before it can compare it with the offset.
//! A day of log is ~1,600 entries per table (1,440 one-minute commits and
//! their checkpoints): 1.4 ms per listing here, so a cycle's listings cost
//! more as the day's log fills. Comparing the file names first leaves a
//! directory read; only the entries after the offset (the newest commit or
//! two) are looked up, through `LocalFileSystem` itself, so they come back
//! exactly as it would list them. Every other call goes to it unchanged.
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, Result,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

/// The name of a Delta table's log directory.
const LOG_DIR: &str = "_delta_log";

/// `LocalFileSystem` at the root, with a fast offset listing of logs.
#[derive(Debug, Default, Clone)]
pub(crate) struct LocalLog {
    inner: Arc<LocalFileSystem>,
}

impl fmt::Display for LocalLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalLog({})", self.inner)
    }
}

/// The names in `dir` after `offset` (a name in it), or `None` when the
/// directory holds anything the plain listing treats specially (a
/// subdirectory, an upload in progress, a name that is not UTF-8).
fn names_after(dir: &std::path::Path, offset: &str) -> std::io::Result<Option<Vec<String>>> {
    let mut after = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            return Ok(None);
        };
        if !plain(&name) || !entry.file_type()?.is_file() {
            return Ok(None);
        }
        if name.as_str() > offset {
            after.push(name);
        }
    }
    Ok(Some(after))
}

/// A name an object path holds as it is on disk (no escaping, no upload
/// suffix), so names and paths sort alike.
fn plain(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl LocalLog {
    /// The log entries of `prefix` after `offset`, or `None` to list the
    /// plain way.
    async fn fast_list(&self, prefix: &Path, offset: &Path) -> Option<Result<Vec<ObjectMeta>>> {
        // Only a log directory, and an offset inside it.
        if prefix.filename() != Some(LOG_DIR) {
            return None;
        }
        let name = offset.prefix_match(prefix)?.collect::<Vec<_>>();
        let [name] = name.as_slice() else {
            return None;
        };
        let name = name.as_ref().to_owned();
        if !plain(&name) {
            return None;
        }
        let dir: PathBuf = self.inner.path_to_filesystem(prefix).ok()?;
        let names = tokio::task::spawn_blocking(move || names_after(&dir, &name))
            .await
            .ok()?
            .ok()??;
        let heads = names.into_iter().map(|n| {
            let location = prefix.clone().join(n);
            async move {
                match self.inner.head(&location).await {
                    // Removed since the directory was read (log clean-up).
                    Err(Error::NotFound { .. }) => Ok(None),
                    found => found.map(Some),
                }
            }
        });
        let found: Result<Vec<Option<ObjectMeta>>> =
            stream::iter(heads).buffered(8).try_collect().await;
        Some(found.map(|f| f.into_iter().flatten().collect()))
    }
}

#[async_trait]
impl ObjectStore for LocalLog {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let Some(prefix) = prefix.cloned() else {
            return self.inner.list_with_offset(None, offset);
        };
        let (me, offset) = (self.clone(), offset.clone());
        stream::once(async move {
            match me.fast_list(&prefix, &offset).await {
                Some(Ok(found)) => stream::iter(found.into_iter().map(Ok)).boxed(),
                Some(Err(e)) => stream::iter([Err(e)]).boxed(),
                None => me.inner.list_with_offset(Some(&prefix), &offset),
            }
        })
        .flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both stores' listing of `prefix` from `offset`, sorted.
    async fn both(root: &std::path::Path, prefix: &str, offset: &str) -> [Vec<ObjectMeta>; 2] {
        let plain = LocalFileSystem::new();
        let fast = LocalLog::default();
        let prefix = Path::from_filesystem_path(root.join(prefix)).unwrap();
        let offset = prefix.clone().join(offset);
        let mut out = [Vec::new(), Vec::new()];
        for (i, store) in [&plain as &dyn ObjectStore, &fast].into_iter().enumerate() {
            let mut found: Vec<ObjectMeta> = store
                .list_with_offset(Some(&prefix), &offset)
                .try_collect()
                .await
                .unwrap();
            found.sort_by(|a, b| a.location.cmp(&b.location));
            out[i] = found;
        }
        out
    }

    #[tokio::test]
    async fn lists_a_log_from_an_offset_as_local_file_system_does() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("t/_delta_log");
        std::fs::create_dir_all(&log).unwrap();
        for v in 0..30 {
            std::fs::write(log.join(format!("{v:020}.json")), "{}").unwrap();
        }
        std::fs::write(log.join(format!("{:020}.checkpoint.parquet", 20)), "x").unwrap();
        std::fs::write(log.join("_last_checkpoint"), "{}").unwrap();

        let [plain, fast] = both(dir.path(), "t/_delta_log", &format!("{:020}", 20)).await;
        assert_eq!(fast, plain);
        // 20.checkpoint.parquet, 20.json .. 29.json, _last_checkpoint.
        assert_eq!(fast.len(), 12, "{fast:?}");

        let [plain, fast] = both(dir.path(), "t/_delta_log", &format!("{:020}.json", 29)).await;
        assert_eq!(fast, plain);
        assert_eq!(fast.len(), 1, "only _last_checkpoint sorts after: {fast:?}");
    }

    #[tokio::test]
    async fn anything_unusual_is_listed_the_plain_way() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("t/_delta_log");
        std::fs::create_dir_all(log.join("_commits")).unwrap();
        std::fs::write(log.join(format!("{:020}.json", 1)), "{}").unwrap();
        // A subdirectory (listed recursively), an upload in progress (hidden)
        // and a name object paths escape.
        std::fs::write(
            log.join("_commits").join(format!("{:020}.uuid.json", 2)),
            "{}",
        )
        .unwrap();
        std::fs::write(log.join(format!("{:020}.json#1", 3)), "{}").unwrap();
        std::fs::write(log.join("a b.json"), "{}").unwrap();
        let [plain, fast] = both(dir.path(), "t/_delta_log", &format!("{:020}", 0)).await;
        assert_eq!(fast, plain);
        assert_eq!(plain.len(), 3, "{plain:?}");
        // Not a log directory: the plain listing.
        let [plain, fast] = both(dir.path(), "t", "_delta_log").await;
        assert_eq!(fast, plain);
    }
}
