//! The user side of Twitch OAuth: the Device Code Grant flow behind
//! `twitch-monitor login`, the refresh-token grant that keeps a user token
//! alive, and validation (whom a user token belongs to, which scopes).
//! The Twitch facts behind each call, with sources, are in docs/twitch-auth.md.
use std::time::Duration;

use serde::Deserialize;

use super::auth::{AccessToken, error_message, transport};
use super::{Error, Result};
use crate::clock::SharedClock;
use crate::config::Secret;

/// The scopes `login` asks for: follower totals now, chat later. Without
/// `moderator:read:followers` Twitch still answers totals to a user token,
/// but asking for it now spares the user a second login when follower lists
/// (broadcaster or moderator only) are wanted.
pub const SCOPES: &[&str] = &["moderator:read:followers", "chat:read"];

/// `grant_type` of device-code token requests (RFC 8628).
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: every `slow_down` adds 5 seconds to the polling interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The app as the auth host knows it, for user-token requests.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    auth_url: String,
    client_id: String,
    /// Sent by confidential clients; public clients have none.
    client_secret: Option<Secret>,
}

/// What the user has to do: open `verification_uri`, enter `user_code`.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// The code the user types (or finds prefilled) on Twitch.
    pub user_code: String,
    /// Where to approve the app.
    pub verification_uri: String,
    /// How long the code is good for.
    pub expires_in: Duration,
    /// How long to wait between polls.
    pub interval: Duration,
    /// The code the app polls with (a secret: whoever has it gets the token).
    device_code: Secret,
}

/// A user token as the token endpoint issued it.
#[derive(Debug, Clone)]
pub struct UserGrant {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token (public clients: one use, then a new one).
    pub refresh_token: Secret,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Whom a user token belongs to, from `/oauth2/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserIdentity {
    /// The user's login.
    #[serde(default)]
    pub login: String,
    /// The user's id.
    #[serde(default)]
    pub user_id: String,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds until the access token expires.
    #[serde(default)]
    pub expires_in: u64,
}

/// Progress while waiting for the user, for the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Not approved yet (`authorization_pending`).
    Pending,
    /// The host asked to poll less often; the new interval.
    SlowDown(Duration),
    /// The host could not be reached or failed; polling goes on.
    Unreachable,
}

/// One poll of the token endpoint with a device code.
#[derive(Debug)]
enum Poll {
    Ready(UserGrant),
    Waiting(Waiting),
}

#[derive(Deserialize)]
struct DeviceBody {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    #[serde(default = "default_interval")]
    interval: u64,
}

fn default_interval() -> u64 {
    5
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default, deserialize_with = "scope_list")]
    scope: Vec<String>,
}

/// `scope` is a list on Twitch; a space-separated string per RFC 6749 elsewhere.
fn scope_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scope {
        List(Vec<String>),
        Text(String),
        Null(()),
    }
    Ok(match Scope::deserialize(d)? {
        Scope::List(v) => v,
        Scope::Text(s) => s.split_whitespace().map(str::to_owned).collect(),
        Scope::Null(()) => Vec::new(),
    })
}

impl OAuthClient {
    /// A client for the auth host at `auth_url` (e.g. `https://id.twitch.tv/oauth2`).
    pub fn new(
        auth_url: &str,
        client_id: String,
        client_secret: Option<Secret>,
        timeout: Duration,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| transport("client", e))?;
        Ok(Self {
            http,
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: client_secret.filter(|s| !s.expose().is_empty()),
        })
    }

    /// Asks for a device code for `scopes` (`POST /oauth2/device`).
    pub async fn start_device(&self, scopes: &[&str]) -> Result<DeviceCode> {
        const ENDPOINT: &str = "oauth2/device";
        let scopes = scopes.join(" ");
        let form = [("client_id", self.client_id.as_str()), ("scopes", &scopes)];
        let (status, body) = self.post("device", ENDPOINT, &form).await?;
        if !(200..300).contains(&status) {
            return Err(self.refused(ENDPOINT, status, &body, None));
        }
        let d: DeviceBody = parse(ENDPOINT, &body)?;
        Ok(DeviceCode {
            user_code: d.user_code,
            verification_uri: d.verification_uri,
            expires_in: Duration::from_secs(d.expires_in),
            interval: Duration::from_secs(d.interval.max(1)),
            device_code: Secret::from(d.device_code.as_str()),
        })
    }

    /// Polls until the user approves `code`, honouring the interval and
    /// `slow_down`; stops with [`Error::DeviceCodeExpired`] when the code
    /// expires and [`Error::AuthorizationDenied`] when the user declines.
    pub async fn wait_for_approval(
        &self,
        code: &DeviceCode,
        clock: &SharedClock,
        mut progress: impl FnMut(Waiting) + Send,
    ) -> Result<UserGrant> {
        let deadline = super::auth::after(clock.now(), code.expires_in.as_secs());
        let mut interval = code.interval;
        loop {
            clock.sleep(interval).await;
            if clock.now() >= deadline {
                return Err(Error::DeviceCodeExpired);
            }
            match self.poll_device(code).await? {
                Poll::Ready(grant) => return Ok(grant),
                Poll::Waiting(w) => {
                    if let Waiting::SlowDown(_) = w {
                        interval += SLOW_DOWN_STEP;
                        progress(Waiting::SlowDown(interval));
                    } else {
                        progress(w);
                    }
                }
            }
        }
    }

    async fn poll_device(&self, code: &DeviceCode) -> Result<Poll> {
        const ENDPOINT: &str = "oauth2/token";
        let scopes = SCOPES.join(" ");
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("scopes", &scopes),
            ("device_code", code.device_code.expose()),
            ("grant_type", DEVICE_GRANT),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let (status, body) = match self.post("token", ENDPOINT, &form).await {
            Ok(r) => r,
            // A network blip while the user is on the Twitch page is no
            // reason to give up: the deadline still bounds the wait.
            Err(Error::Transport { .. } | Error::Timeout { .. }) => {
                return Ok(Poll::Waiting(Waiting::Unreachable));
            }
            Err(e) => return Err(e),
        };
        if (200..300).contains(&status) {
            return Ok(Poll::Ready(self.grant(ENDPOINT, &body)?));
        }
        if status >= 500 {
            return Ok(Poll::Waiting(Waiting::Unreachable));
        }
        let message = error_message(&body);
        let m = message.to_ascii_lowercase();
        if m.contains("authorization_pending") {
            Ok(Poll::Waiting(Waiting::Pending))
        } else if m.contains("slow_down") {
            Ok(Poll::Waiting(Waiting::SlowDown(code.interval)))
        } else if m.contains("invalid device code") || m.contains("expired") {
            Err(Error::DeviceCodeExpired)
        } else if m.contains("denied") {
            Err(Error::AuthorizationDenied {
                message: self.scrub(message, None),
            })
        } else {
            Err(self.refused(ENDPOINT, status, &body, None))
        }
    }

    /// Trades `refresh_token` for a new access token (and, for public
    /// clients always, a new refresh token): [`Error::RefreshRejected`] when
    /// the host refuses it.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<UserGrant> {
        const ENDPOINT: &str = "oauth2/token";
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let (status, body) = self.post("token", ENDPOINT, &form).await?;
        match status {
            200..300 => {
                let mut grant = self.grant(ENDPOINT, &body)?;
                // Confidential clients may get no new refresh token: keep the old.
                if grant.refresh_token.expose().is_empty() {
                    grant.refresh_token = refresh_token.clone();
                }
                Ok(grant)
            }
            400 | 401 | 403 => Err(Error::RefreshRejected {
                message: self.scrub(error_message(&body), Some(refresh_token)),
            }),
            _ => Err(self.refused(ENDPOINT, status, &body, Some(refresh_token))),
        }
    }

    /// Whom `token` belongs to; `Ok(None)` when the host says it is not valid.
    pub async fn validate(&self, token: &AccessToken) -> Result<Option<UserIdentity>> {
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
            200..300 => Ok(Some(parse(ENDPOINT, &body)?)),
            401 => Ok(None),
            _ => Err(self.refused(ENDPOINT, status, &body, None)),
        }
    }

    fn grant(&self, endpoint: &str, body: &[u8]) -> Result<UserGrant> {
        let g: GrantBody = parse(endpoint, body)?;
        Ok(UserGrant {
            access_token: AccessToken::new(&g.access_token),
            refresh_token: Secret::from(g.refresh_token.as_str()),
            expires_in: g.expires_in,
            scopes: g.scope,
        })
    }

    async fn post(
        &self,
        path: &str,
        endpoint: &'static str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>)> {
        let resp = self
            .http
            .post(format!("{}/{path}", self.auth_url))
            .form(form)
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| transport(endpoint, e))?;
        Ok((status, body.to_vec()))
    }

    fn refused(&self, endpoint: &str, status: u16, body: &[u8], token: Option<&Secret>) -> Error {
        let message = self.scrub(error_message(body), token);
        match status {
            400 if message.to_ascii_lowercase().contains("client") => {
                Error::BadCredentials { status, message }
            }
            _ => Error::Status {
                endpoint: endpoint.into(),
                status,
                message,
            },
        }
    }

    /// A host that echoes what it was sent must not leak it into a message.
    fn scrub(&self, message: String, token: Option<&Secret>) -> String {
        let mut message = message;
        for s in [self.client_secret.as_ref(), token].into_iter().flatten() {
            if !s.expose().is_empty() {
                message = message.replace(s.expose(), "***");
            }
        }
        message
    }
}

fn parse<T: serde::de::DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| Error::Parse {
        endpoint: endpoint.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_as_twitch_lists_or_rfc_strings() {
        let list: GrantBody =
            serde_json::from_str(r#"{"access_token":"a","scope":["x","y"]}"#).unwrap();
        assert_eq!(list.scope, ["x", "y"]);
        let text: GrantBody =
            serde_json::from_str(r#"{"access_token":"a","scope":"x y"}"#).unwrap();
        assert_eq!(text.scope, ["x", "y"]);
        let none: GrantBody = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert!(none.scope.is_empty() && none.refresh_token.is_empty());
    }

    #[test]
    fn secrets_are_scrubbed_and_never_debug_printed() {
        let c = OAuthClient::new(
            "http://127.0.0.1:1/oauth2/",
            "id".into(),
            Some(Secret::from("s3cret")),
            Duration::from_secs(1),
        )
        .unwrap();
        let rt = Secret::from("refresh123");
        assert_eq!(
            c.scrub("bad s3cret and refresh123".into(), Some(&rt)),
            "bad *** and ***"
        );
        let grant = UserGrant {
            access_token: AccessToken::new("acc999"),
            refresh_token: rt,
            expires_in: 1,
            scopes: vec![],
        };
        let shown = format!("{grant:?} {c:?}");
        assert!(
            !shown.contains("acc999") && !shown.contains("refresh123") && !shown.contains("s3cret")
        );
    }
}
