//! The user token file: `twitch-monitor login` writes it, `serve` reads it
//! and writes back the refresh tokens Twitch rotates. JSON, owner-only
//! (0600 on Unix), always replaced whole through a temporary file and a
//! rename, so a crash never leaves half a token behind.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Error, Result};
use crate::config::Secret;

/// What the file holds. `Debug` hides the refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogin {
    /// The refresh token (the only secret in the file).
    pub refresh_token: Secret,
    /// Id of the user who logged in.
    pub user_id: String,
    /// Login of the user who logged in.
    pub login: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    refresh_token: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    saved_at: Option<DateTime<Utc>>,
}

/// The file at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    /// The file at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored login; `None` when there is no file.
    pub fn load(&self) -> Result<Option<StoredLogin>> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(e)),
        };
        warn_if_shared(&self.path);
        let d: OnDisk = serde_json::from_slice(&text).map_err(|e| Error::TokenFile {
            path: self.path.clone(),
            // serde_json's message names a position, never the content.
            message: format!("not a token file: {e}"),
        })?;
        if d.refresh_token.is_empty() {
            return Err(Error::TokenFile {
                path: self.path.clone(),
                message: "it holds no refresh token".into(),
            });
        }
        Ok(Some(StoredLogin {
            refresh_token: Secret::from(d.refresh_token.as_str()),
            user_id: d.user_id,
            login: d.login,
            scopes: d.scopes,
        }))
    }

    /// Replaces the file with `login`, readable by the owner only.
    pub fn save(&self, login: &StoredLogin) -> Result<()> {
        let body = serde_json::to_vec_pretty(&OnDisk {
            refresh_token: login.refresh_token.expose().to_owned(),
            user_id: login.user_id.clone(),
            login: login.login.clone(),
            scopes: login.scopes.clone(),
            saved_at: Some(Utc::now()),
        })
        .map_err(|e| Error::TokenFile {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir).map_err(|e| self.error(e))?;
        // tempfile creates the file 0600 in the same directory, so the
        // rename below is atomic and the token is never world-readable.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| self.error(e))?;
        tmp.write_all(&body)
            .and_then(|()| tmp.write_all(b"\n"))
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.error(e))?;
        restrict(tmp.path()).map_err(|e| self.error(e))?;
        tmp.persist(&self.path).map_err(|e| self.error(e.error))?;
        Ok(())
    }

    /// Replaces the refresh token, keeping whom it belongs to.
    pub fn save_refresh_token(&self, refresh_token: &Secret) -> Result<()> {
        let mut login = self.load()?.unwrap_or_else(|| StoredLogin {
            refresh_token: refresh_token.clone(),
            user_id: String::new(),
            login: String::new(),
            scopes: Vec::new(),
        });
        login.refresh_token = refresh_token.clone();
        self.save(&login)
    }

    fn error(&self, e: std::io::Error) -> Error {
        Error::TokenFile {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Someone else can read the token: say so (the file still works).
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the user token file is readable by other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_owner_only_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::new(dir.path().join("sub/token.json"));
        assert_eq!(file.load().unwrap(), None);
        let login = StoredLogin {
            refresh_token: Secret::from("r1"),
            user_id: "7".into(),
            login: "me".into(),
            scopes: vec!["chat:read".into()],
        };
        file.save(&login).unwrap();
        assert_eq!(file.load().unwrap().as_ref(), Some(&login));
        file.save_refresh_token(&Secret::from("r2")).unwrap();
        let again = file.load().unwrap().unwrap();
        assert_eq!(again.refresh_token.expose(), "r2");
        assert_eq!(again.login, "me");
        // Only the token file is left: the temporary file was renamed.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["token.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{again:?}").contains("r2"));
    }

    #[test]
    fn a_broken_file_is_an_error_that_does_not_echo_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, "secretvalue{").unwrap();
        let e = TokenFile::new(&path).load().unwrap_err().to_string();
        assert!(
            e.contains("not a token file") && !e.contains("secretvalue"),
            "{e}"
        );
    }
}
