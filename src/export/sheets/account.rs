//! The service account a Sheets export authenticates as: its key file,
//! and the signed JWT (RS256) a token request carries.
use std::fmt;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::{SCOPE, TOKEN_URL};
use crate::export::{Error, Result};

/// A service account, from the JSON key file Google issues for it.
pub struct ServiceAccount {
    email: String,
    key: EncodingKey,
    key_id: Option<String>,
    pub(super) token_url: Url,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("email", &self.email)
            .field("key", &"***")
            .field("token_url", &self.token_url.as_str())
            .finish()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Reads the key file at `path`; the error names the file and what is
    /// wrong with it, never the key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad =
            |why: String| Error::Target(format!("service account key {}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        Self::from_json(&text).map_err(|e| bad(e.to_string()))
    }

    /// Parses a key file's text.
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::Target(why.to_owned());
        // serde_json's message could quote the key: say only where it broke.
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            Error::Target(format!(
                "not a service account key file (JSON with client_email and private_key): line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        if file.kind.as_deref().is_some_and(|k| k != "service_account") {
            return Err(bad("its type is not \"service_account\""));
        }
        let key = EncodingKey::from_rsa_pem(file.private_key.as_bytes())
            .map_err(|_| bad("private_key is not an RSA private key in PEM"))?;
        let token_url = Url::parse(file.token_uri.as_deref().unwrap_or(TOKEN_URL))
            .map_err(|_| bad("token_uri is not a URL"))?;
        Ok(Self {
            email: file.client_email,
            key,
            key_id: file.private_key_id,
            token_url,
        })
    }

    /// The account's email (the spreadsheet must be shared with it).
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The signed assertion of a token request made at `now`.
    pub(super) fn assertion(&self, aud: &Url, now: DateTime<Utc>) -> Result<String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: i64,
            exp: i64,
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.key_id);
        let claims = Claims {
            iss: &self.email,
            scope: SCOPE,
            aud: aud.as_str(),
            iat: now.timestamp(),
            exp: (now + TimeDelta::hours(1)).timestamp(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::Target(format!("signing the token request: {e}")))
    }
}
