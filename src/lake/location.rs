//! Where the lake lives: a local path or an object-store URL, and the URL of
//! each table under it (`<root>/<layer>/<table>`).
use std::path::Path;
use std::sync::Once;

use url::Url;

use super::error::{Error, Result};
use crate::schema::Table;

/// URL schemes the lake accepts besides plain paths.
const SCHEMES: &[&str] = &[
    "file", "s3", "s3a", "az", "azure", "abfs", "abfss", "adl", "gs", "memory",
];

/// Registers deltalake's object-store handlers once. The `deltalake` crate
/// also does this from a constructor; doing it explicitly keeps working if
/// that ever changes, and registration is idempotent.
pub(crate) fn register_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        deltalake::aws::register_handlers(None);
        deltalake::azure::register_handlers(None);
        deltalake::gcp::register_handlers(None);
    });
}

/// The parsed root of the lake.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    /// Always ends with `/`.
    url: Url,
    /// Local directory, for `file:` roots (table directories are created).
    local: Option<std::path::PathBuf>,
}

impl Root {
    /// Parses `location`: a URL with a supported scheme, or a local path
    /// (created if missing).
    pub(crate) fn parse(location: &str) -> Result<Root> {
        let invalid = |reason: String| Error::InvalidLocation {
            location: redact(location),
            reason,
        };
        if location.trim().is_empty() {
            return Err(invalid("empty".into()));
        }
        if location.contains("://") {
            let mut url = Url::parse(location).map_err(|e| invalid(e.to_string()))?;
            if !SCHEMES.contains(&url.scheme()) {
                return Err(invalid(format!(
                    "unsupported scheme {:?} (use a path or one of {SCHEMES:?})",
                    url.scheme()
                )));
            }
            if url.scheme() == "file" {
                let path = url
                    .to_file_path()
                    .map_err(|()| invalid("not a local file URL".into()))?;
                return Self::local(location, &path);
            }
            if !url.path().ends_with('/') {
                url.set_path(&format!("{}/", url.path()));
            }
            return Ok(Root { url, local: None });
        }
        Self::local(location, Path::new(location))
    }

    fn local(location: &str, path: &Path) -> Result<Root> {
        std::fs::create_dir_all(path).map_err(|source| Error::CreateDir {
            path: path.display().to_string(),
            source,
        })?;
        let abs = std::fs::canonicalize(path).map_err(|source| Error::CreateDir {
            path: path.display().to_string(),
            source,
        })?;
        let url = Url::from_directory_path(&abs).map_err(|()| Error::InvalidLocation {
            location: location.to_string(),
            reason: "not an absolute local path".into(),
        })?;
        Ok(Root {
            url,
            local: Some(abs),
        })
    }

    /// The URL of `table`; for local roots its directory is created.
    pub(crate) fn table_url(&self, table: Table) -> Result<Url> {
        let def = table.def();
        if let Some(dir) = &self.local {
            let path = dir.join(def.layer.as_str()).join(def.name);
            std::fs::create_dir_all(&path).map_err(|source| Error::CreateDir {
                path: path.display().to_string(),
                source,
            })?;
        }
        self.url
            .join(&format!("{}/{}/", def.layer.as_str(), def.name))
            .map_err(|e| Error::InvalidLocation {
                location: self.display(),
                reason: e.to_string(),
            })
    }

    /// The root without any credentials, for logs and errors.
    pub(crate) fn display(&self) -> String {
        redact(self.url.as_str())
    }
}

/// An object store rooted at `location` (a path, created if missing, or
/// any URL the lake accepts), reached with the lake's storage options:
/// where export files go. Returns the store and the root for messages
/// (without credentials).
pub fn object_store_at(
    location: &str,
    options: &super::StorageOptions,
) -> Result<(std::sync::Arc<dyn deltalake::ObjectStore>, String)> {
    register_handlers();
    let root = Root::parse(location)?;
    let store = deltalake::DeltaTableBuilder::from_url(root.url.clone())
        .and_then(|b| b.with_storage_options(options.clone()).build_storage())
        .map_err(|e| Error::InvalidLocation {
            location: root.display(),
            reason: e.to_string(),
        })?
        .object_store(None);
    Ok((store, root.display()))
}

/// `url` with any user info removed (a URL may carry `user:secret@`).
pub(crate) fn redact(location: &str) -> String {
    match Url::parse(location) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            // Both setters only fail for URLs that cannot have credentials.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => location.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_table_paths() {
        let root = Root::parse("s3://bucket/lake").unwrap();
        assert_eq!(
            root.table_url(Table::HelixResponses).unwrap().as_str(),
            "s3://bucket/lake/bronze/helix_responses/"
        );
        let root = Root::parse("gs://b/").unwrap();
        assert_eq!(
            root.table_url(Table::StreamerDaily).unwrap().as_str(),
            "gs://b/gold/streamer_daily/"
        );
    }

    #[test]
    fn bad_locations_are_refused_and_redacted() {
        let err = Root::parse("ftp://user:hunter2@host/x").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unsupported scheme"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(Root::parse("  ").is_err());
    }

    #[test]
    fn local_paths_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::parse(dir.path().join("a/b").to_str().unwrap()).unwrap();
        let url = root.table_url(Table::Games).unwrap();
        assert!(url.as_str().starts_with("file://"));
        assert!(dir.path().join("a/b/silver/games").is_dir());
    }
}
