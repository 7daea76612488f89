//! App access token (client-credentials flow): fetched, cached, validated at
//! start and hourly on the injected clock, replaced on expiry or after a 401.
//! Neither the client secret nor the token ever reaches a log, error or `Debug`.
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;

use async_trait::async_trait;

use super::models::{ErrorBody, TokenResponse, ValidateResponse};
use super::{Error, Result, TokenKind, TokenSource};
use crate::clock::SharedClock;
use crate::config::Secret;

/// Twitch asks apps to validate their token at start and then hourly.
const VALIDATE_EVERY: TimeDelta = TimeDelta::hours(1);
/// Replace a token this long before it expires rather than eat a 401.
const EXPIRY_MARGIN: TimeDelta = TimeDelta::minutes(1);

/// A bearer token; `Debug` shows only that it exists.
#[derive(Clone)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: &str) -> Self {
        Self(value.into())
    }
    /// The value; only for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// The cached token and when it was last checked.
#[derive(Debug)]
struct Cached {
    token: AccessToken,
    /// Bumped on every new token, so concurrent 401s trigger one refresh.
    generation: u64,
    validated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// Token source for the client.
#[derive(Debug)]
pub(crate) struct Auth {
    http: reqwest::Client,
    auth_url: String,
    client_id: String,
    secret: Secret,
    clock: SharedClock,
    // A tokio mutex: a refresh holds it across the HTTP call, so concurrent
    // requests wait for the one new token instead of each fetching their own.
    cached: Mutex<Option<Cached>>,
}

impl Auth {
    pub(crate) fn new(
        http: reqwest::Client,
        auth_url: String,
        client_id: String,
        secret: Secret,
        clock: SharedClock,
    ) -> Self {
        Self {
            http,
            auth_url,
            client_id,
            secret,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// Fetches and validates a first token: bad credentials stop here.
    pub(crate) async fn start(&self) -> Result<()> {
        let mut cached = self.cached.lock().await;
        let fresh = self.fetch(0).await?;
        match self.validate(&fresh.token).await {
            Ok(Some(_)) => {
                *cached = Some(fresh);
                Ok(())
            }
            Ok(None) => Err(Error::BadCredentials {
                status: 401,
                message: "a freshly issued token failed validation".into(),
            }),
            // A Helix-compatible host without the validate endpoint: Helix
            // itself will say 401 if the token is bad.
            Err(Error::Status {
                status: 404 | 405 | 501,
                ..
            }) => {
                tracing::warn!(auth_url = %self.auth_url, "the auth host has no /validate; skipping token validation");
                *cached = Some(fresh);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The token to send now, with its generation; validates hourly and
    /// replaces a token that is about to expire or no longer validates.
    pub(crate) async fn current(&self) -> Result<(AccessToken, u64)> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        let generation = cached.as_ref().map_or(0, |c| c.generation);
        let needs_new = match cached.as_mut() {
            None => true,
            Some(c) if now + EXPIRY_MARGIN >= c.expires_at => true,
            Some(c) if now - c.validated_at >= VALIDATE_EVERY => {
                match self.validate(&c.token).await {
                    Ok(Some(expires_in)) => {
                        c.validated_at = now;
                        c.expires_at = after(now, expires_in);
                        false
                    }
                    Ok(None) => true,
                    Err(e) => {
                        // The auth host is unreachable: keep the token (Helix
                        // will say 401 if it is bad) and try again next hour.
                        tracing::warn!(error = %e, "token validation failed; keeping the token");
                        c.validated_at = now;
                        false
                    }
                }
            }
            Some(_) => false,
        };
        if needs_new {
            *cached = Some(self.fetch(generation + 1).await?);
        }
        let c = cached.as_ref().ok_or_else(|| Error::Status {
            endpoint: "oauth2/token".into(),
            status: 0,
            message: "no token".into(),
        })?;
        Ok((c.token.clone(), c.generation))
    }

    /// Helix said 401 to the token of `generation`: replace it unless a
    /// concurrent request already did.
    pub(crate) async fn refresh(&self, generation: u64) -> Result<()> {
        let mut cached = self.cached.lock().await;
        let current = cached.as_ref().map_or(0, |c| c.generation);
        if current == generation {
            *cached = Some(self.fetch(current + 1).await?);
        }
        Ok(())
    }

    async fn fetch(&self, generation: u64) -> Result<Cached> {
        const ENDPOINT: &str = "oauth2/token";
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose()),
            ("grant_type", "client_credentials"),
        ];
        let url = format!("{}/token", self.auth_url);
        let send = |in_query: bool| {
            let req = self.http.post(&url);
            // Twitch reads a form body; some Helix look-alikes (twitch-cli's
            // mock) read only the query string. The query is tried second,
            // and only when the body form was refused without a word.
            let req = if in_query {
                req.query(&form)
            } else {
                req.form(&form)
            };
            async move {
                let resp = req.send().await.map_err(|e| transport(ENDPOINT, e))?;
                let status = resp.status().as_u16();
                let body = resp.bytes().await.map_err(|e| transport(ENDPOINT, e))?;
                Ok::<_, Error>((status, body))
            }
        };
        let (mut status, mut body) = send(false).await?;
        if status == 400 && body.iter().all(u8::is_ascii_whitespace) {
            (status, body) = send(true).await?;
        }
        // Some hosts answer 200 with an error body: read the status inside.
        if (200..300).contains(&status)
            && let Ok(e) = serde_json::from_slice::<crate::twitch::models::ErrorBody>(&body)
            && e.status >= 400
        {
            status = e.status;
        }
        if !(200..300).contains(&status) {
            let message = self.scrub(error_message(&body));
            return Err(match status {
                400 | 401 | 403 => Error::BadCredentials { status, message },
                _ => Error::Status {
                    endpoint: ENDPOINT.into(),
                    status,
                    message,
                },
            });
        }
        let t: TokenResponse = serde_json::from_slice(&body).map_err(|source| Error::Parse {
            endpoint: ENDPOINT.into(),
            source,
        })?;
        let now = self.clock.now();
        Ok(Cached {
            token: AccessToken(t.access_token.into()),
            generation,
            validated_at: now,
            expires_at: after(now, t.expires_in),
        })
    }

    /// `Some(expires_in)` when valid, `None` when the host says 401.
    async fn validate(&self, token: &AccessToken) -> Result<Option<u64>> {
        const ENDPOINT: &str = "oauth2/validate";
        let resp = self
            .http
            .get(format!("{}/validate", self.auth_url))
            .header("Authorization", format!("OAuth {}", token.expose()))
            .send()
            .await
            .map_err(|e| transport(ENDPOINT, e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| transport(ENDPOINT, e))?;
        match status {
            200..300 => {
                let v: ValidateResponse =
                    serde_json::from_slice(&body).map_err(|source| Error::Parse {
                        endpoint: ENDPOINT.into(),
                        source,
                    })?;
                if v.client_id != self.client_id {
                    return Err(Error::BadCredentials {
                        status,
                        message: "the token belongs to another client id".into(),
                    });
                }
                Ok(Some(v.expires_in))
            }
            401 => Ok(None),
            _ => Err(Error::Status {
                endpoint: ENDPOINT.into(),
                status,
                message: self.scrub(error_message(&body)),
            }),
        }
    }

    /// Belt and braces: a server that echoes the secret must not leak it.
    fn scrub(&self, message: String) -> String {
        let secret = self.secret.expose();
        if secret.is_empty() {
            message
        } else {
            message.replace(secret, "***")
        }
    }
}

#[async_trait]
impl TokenSource for Auth {
    async fn current(&self) -> Result<(AccessToken, u64)> {
        Auth::current(self).await
    }
    async fn renew(&self, generation: u64) -> Result<()> {
        self.refresh(generation).await
    }
    fn kind(&self) -> TokenKind {
        TokenKind::App
    }
}

/// `now + s` seconds, saturating (a huge `expires_in` must not panic).
pub(crate) fn after(now: DateTime<Utc>, s: u64) -> DateTime<Utc> {
    TimeDelta::from_std(Duration::from_secs(s))
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub(crate) fn transport(endpoint: &str, source: reqwest::Error) -> Error {
    if source.is_timeout() {
        Error::Timeout {
            endpoint: endpoint.into(),
        }
    } else {
        // Strip the URL: it is not secret, but keep errors short and uniform.
        Error::Transport {
            endpoint: endpoint.into(),
            source: source.without_url(),
        }
    }
}

/// The `message` of an error body, or the body itself.
pub(crate) fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if !e.message.is_empty() => e.message,
        Ok(e) if !e.error.is_empty() => e.error,
        _ => {
            let text = String::from_utf8_lossy(body);
            let mut s: String = text.chars().take(200).collect();
            if s.len() < text.len() {
                s.push('…');
            }
            s
        }
    }
}
