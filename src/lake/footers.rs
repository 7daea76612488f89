//! The Parquet footers (file metadata and page indexes) kept between reads.
//!
//! DataFusion caches each Parquet file's decoded footer in its runtime, keyed
//! by the file's path, so that the next scan of the file skips reading and
//! parsing it again. Every `SessionContext` built with a default runtime has
//! a cache of its own of up to 50 MiB, and nothing ever tells a cache that a
//! file left its table: a gold partition that a cycle replaces, today's small
//! files merged every hour, the closed days compacted. Such entries stay
//! until the cache is full. Heap profiles of two days of `serve` at 12,000
//! channels (2026-12-08, `docs/heap-profiling.md`) had the footers of files
//! gone from their tables grow from 0.5 to 57 MiB, the largest part of what
//! the second day held over the first at the same hour.
//!
//! So the lake's reads and the query engine share one cache of at most
//! [`FOOTER_CACHE_BYTES`], and [`Lake::forget_removed_footers`] drops the
//! entries of files that no table holds any more: what stays is bounded by
//! the files the tables hold, not by how long the process has run.
use std::collections::HashSet;
use std::sync::Arc;

use datafusion::execution::cache::cache_manager::{CacheManagerConfig, FileMetadataCache};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use deltalake::logstore::object_store::path::Path;

use super::Lake;

/// The most footer bytes the shared cache keeps (least recently used go
/// first). The tables' live files need a few MiB at 12,000 channels.
pub const FOOTER_CACHE_BYTES: usize = 32 << 20;

/// A DataFusion runtime whose footer cache is `cache` (a new one of
/// [`FOOTER_CACHE_BYTES`] when `None`), on top of `builder`'s settings.
pub fn with_footer_cache(
    builder: RuntimeEnvBuilder,
    cache: Option<&Arc<FileMetadataCache>>,
) -> RuntimeEnvBuilder {
    let limit = cache.map_or(FOOTER_CACHE_BYTES, |c| c.cache_limit());
    builder.with_cache_manager(
        CacheManagerConfig::default()
            .with_file_metadata_cache(cache.map(Arc::clone))
            // DataFusion sets a shared cache's limit to this one.
            .with_metadata_cache_limit(limit),
    )
}

/// The runtime of the lake's reads: default settings, a footer cache of
/// [`FOOTER_CACHE_BYTES`].
pub(super) fn runtime() -> Arc<RuntimeEnv> {
    with_footer_cache(RuntimeEnvBuilder::new(), None)
        .build_arc()
        .unwrap_or_default()
}

impl Lake {
    /// The footer cache every read of this lake goes through; hand it to a
    /// query engine over the lake (`EngineOptions::footer_cache`) so that
    /// both share it.
    pub fn footer_cache(&self) -> Arc<FileMetadataCache> {
        self.inner
            .read
            .runtime
            .cache_manager
            .get_file_metadata_cache()
    }

    /// Drops the cached footers of files under a table of this lake that
    /// its newest loaded state no longer holds (replaced, merged, or
    /// vacuumed); returns how many. Entries outside the lake's tables are
    /// left to the cache's own limit. Cheap: a look at the file lists in
    /// memory of the tables that have cached footers.
    pub fn forget_removed_footers(&self) -> usize {
        let cache = self.footer_cache();
        let entries = cache.list_entries();
        let mut forgot = 0;
        for slot in &self.inner.slots {
            let Ok(root) = Path::from_url_path(slot.url.path()) else {
                continue;
            };
            let cached: Vec<&Path> = entries.keys().filter(|p| p.prefix_matches(&root)).collect();
            if cached.is_empty() {
                continue;
            }
            let delta = slot.latest.load();
            let Ok(snapshot) = delta.snapshot() else {
                // A table not loaded: its entries cannot be judged.
                continue;
            };
            let live: HashSet<Path> = snapshot
                .log_data()
                .into_iter()
                .map(|file| {
                    root.parts()
                        .chain(file.object_store_path().parts())
                        .collect()
                })
                .collect();
            for path in cached {
                if !live.contains(path) && cache.remove(path).is_some() {
                    forgot += 1;
                }
            }
        }
        forgot
    }
}
