//! The real Helix HTTP client: one request at a time goes through token,
//! rate-limit permit, send, record, and the retry rules (401 → new token once,
//! 429 → wait for the reset, 5xx/timeouts → bounded backoff with jitter).
//! The endpoints themselves (batching, pagination) are in `endpoints`.
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::auth::{Auth, error_message, transport};
use super::ratelimit::{RateHeaders, RateLimiter};
use super::{ClientStats, Error, RawResponse, Result, TokenKind, TokenSource};
use crate::clock::SharedClock;
use crate::config::Secret;

/// 429s tolerated for one request before giving up: each is followed by a
/// wait for the reset, so this only ends a server that never lets us in.
const MAX_429_RETRIES: u32 = 20;
/// First backoff after a 5xx or timeout; doubles per attempt.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest single backoff.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Everything the client needs.
#[derive(Debug, Clone)]
pub struct ClientArgs {
    /// Helix base URL, e.g. `https://api.twitch.tv/helix`.
    pub helix_url: String,
    /// OAuth base URL, e.g. `https://id.twitch.tv/oauth2`.
    pub auth_url: String,
    /// App client id.
    pub client_id: String,
    /// App client secret.
    pub client_secret: Secret,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Retries after 5xx/timeouts.
    pub max_retries: u32,
    /// Page cap per sweep.
    pub max_pages: usize,
    /// Time source for rate-limit waits and `fetched_at`.
    pub clock: SharedClock,
}

/// The client's settings plus an optional user token for
/// `/channels/followers` (every other endpoint uses the app token).
#[derive(Debug, Clone)]
pub struct ClientSetup {
    /// The client's settings.
    pub args: ClientArgs,
    /// The user token for follower totals, if the user logged in.
    pub followers_token: Option<Arc<dyn TokenSource>>,
}

/// The Helix client: cheap to clone, shared by concurrent callers.
#[derive(Clone)]
pub struct HelixClient {
    pub(super) inner: Arc<Inner>,
}

/// State shared by clones.
#[derive(Debug)]
pub(super) struct Inner {
    http: reqwest::Client,
    helix_url: String,
    client_id: String,
    pub(super) clock: SharedClock,
    max_retries: u32,
    pub(super) max_pages: usize,
    auth: Arc<Auth>,
    /// The token `/channels/followers` is asked with (the app token without a login).
    followers: Arc<dyn TokenSource>,
    /// Whether a refusal of `/channels/followers` has been explained in the log.
    followers_explained: AtomicBool,
    limiter: RateLimiter,
    stats: Mutex<ClientStats>,
}

impl fmt::Debug for HelixClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately short: no token, no secret, no internals.
        f.debug_struct("HelixClient")
            .field("helix_url", &self.inner.helix_url)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

impl HelixClient {
    /// Fetches and validates an app token; fails with
    /// [`Error::BadCredentials`] when the auth host refuses the credentials.
    pub async fn connect(args: ClientArgs) -> Result<Self> {
        Self::connect_with(args, None).await
    }

    /// [`HelixClient::connect`], asking `/channels/followers` with
    /// `followers_token` when there is one.
    pub async fn connect_with(
        args: ClientArgs,
        followers_token: Option<Arc<dyn TokenSource>>,
    ) -> Result<Self> {
        let helix_url = base_url(&args.helix_url)?;
        let auth_url = base_url(&args.auth_url)?;
        let http = reqwest::Client::builder()
            .timeout(args.request_timeout)
            .gzip(true)
            .build()
            .map_err(|e| transport("client", e))?;
        let auth = Auth::new(
            http.clone(),
            auth_url,
            args.client_id.clone(),
            args.client_secret,
            args.clock.clone(),
        );
        auth.start().await?;
        let auth = Arc::new(auth);
        let followers =
            followers_token.unwrap_or_else(|| Arc::clone(&auth) as Arc<dyn TokenSource>);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                helix_url,
                client_id: args.client_id,
                clock: args.clock,
                max_retries: args.max_retries,
                max_pages: args.max_pages,
                auth,
                followers,
                followers_explained: AtomicBool::new(false),
                limiter: RateLimiter::default(),
                stats: Mutex::new(ClientStats::default()),
            }),
        })
    }

    /// Counters so far.
    pub fn client_stats(&self) -> ClientStats {
        *self.inner.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`HelixClient::get_as`] with the app token.
    pub(super) async fn get(
        &self,
        endpoint: &str,
        pairs: &[(&str, &str)],
        page: u32,
        responses: &mut Vec<RawResponse>,
    ) -> Result<usize> {
        self.get_as(&*self.inner.auth, endpoint, pairs, page, responses)
            .await
    }

    /// The token source of `/channels/followers`.
    pub(super) fn followers_tokens(&self) -> Arc<dyn TokenSource> {
        Arc::clone(&self.inner.followers)
    }

    /// Says once, in the log, why follower totals do not arrive and what
    /// would fix it, when Helix refused `/channels/followers` for good.
    pub(super) fn explain_followers_refusal(&self, error: &Error, kind: TokenKind) {
        let Error::Status {
            status: status @ (401 | 403),
            message,
            ..
        } = error
        else {
            return;
        };
        if self.inner.followers_explained.swap(true, Ordering::Relaxed) {
            return;
        }
        match kind {
            TokenKind::App => tracing::warn!(
                "Twitch refused /channels/followers with the app token (HTTP {status}: {message}):                  follower totals need a user access token. Run `twitch-monitor login` once                  (it stores a refresh token; see TM_USER_TOKEN_FILE) and restart; streams,                  profiles and categories keep using the app token"
            ),
            TokenKind::User => tracing::warn!(
                "Twitch refused /channels/followers with the user token (HTTP {status}: {message})                  even after refreshing it; run `twitch-monitor login` again"
            ),
        }
    }

    /// One logical GET (retries included) with a token from `tokens`. Every
    /// response, and every attempt that got none, is appended to
    /// `responses`; on success returns the index of the 2xx response there
    /// (its payload is the body to parse).
    pub(super) async fn get_as(
        &self,
        tokens: &dyn TokenSource,
        endpoint: &str,
        pairs: &[(&str, &str)],
        page: u32,
        responses: &mut Vec<RawResponse>,
    ) -> Result<usize> {
        let me = &*self.inner;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let url = if query.is_empty() {
            format!("{}/{endpoint}", me.helix_url)
        } else {
            format!("{}/{endpoint}?{query}", me.helix_url)
        };
        let record = |status: u16, fetched_at: DateTime<Utc>, payload: String| RawResponse {
            endpoint: endpoint.to_owned(),
            request_query: query.clone(),
            page,
            http_status: status,
            fetched_at,
            payload,
        };
        let (mut failures, mut limited, mut reauthed) = (0u32, 0u32, false);
        loop {
            let (token, generation) = tokens.current().await?;
            let permit = me.limiter.acquire(&*me.clock).await;
            self.update_stats(|s| s.requests += 1);
            let sent = async {
                let resp = me
                    .http
                    .get(&url)
                    .bearer_auth(token.expose())
                    .header("Client-Id", &me.client_id)
                    .send()
                    .await?;
                let status = resp.status().as_u16();
                let headers = RateHeaders::from_headers(resp.headers());
                Ok::<_, reqwest::Error>((status, headers, resp.bytes().await?))
            }
            .await;
            let (status, headers, body) = match sent {
                Ok(r) => r,
                Err(e) => {
                    drop(permit);
                    responses.push(record(0, me.clock.now(), String::new()));
                    let err = transport(endpoint, e);
                    if failures < me.max_retries {
                        failures += 1;
                        tracing::debug!(endpoint, attempt = failures, error = %err, "retrying");
                        me.clock.sleep(backoff(failures)).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            let now = me.clock.now();
            if status == 429 {
                permit.rate_limited(&headers, now);
            } else {
                permit.complete(&headers);
            }
            if headers.remaining.is_some() || headers.limit.is_some() {
                self.update_stats(|s| {
                    s.rate_limit_remaining = headers.remaining;
                    s.rate_limit_limit = headers.limit;
                });
            }
            responses.push(record(status, now, body_text(body)));
            match status {
                200..=299 => return Ok(responses.len() - 1),
                // "Missing User OAUTH Token": a new token of the same kind
                // cannot help, so do not fetch one for every such answer.
                401 if !reauthed && !needs_user_token(&responses[responses.len() - 1].payload) => {
                    reauthed = true;
                    let kind = match tokens.kind() {
                        TokenKind::App => "app",
                        TokenKind::User => "user",
                    };
                    tracing::info!(endpoint, "Helix said 401: renewing the {kind} token");
                    tokens.renew(generation).await?;
                }
                // The permit recorded the 429: the next acquire waits for the reset.
                429 if limited < MAX_429_RETRIES => limited += 1,
                500..=599 if failures < me.max_retries => {
                    failures += 1;
                    tracing::debug!(endpoint, status, attempt = failures, "retrying");
                    me.clock.sleep(backoff(failures)).await;
                }
                _ => {
                    let message = error_message(responses[responses.len() - 1].payload.as_bytes());
                    return Err(Error::Status {
                        endpoint: endpoint.to_owned(),
                        status,
                        message,
                    });
                }
            }
        }
    }

    fn update_stats(&self, f: impl FnOnce(&mut ClientStats)) {
        f(&mut self.inner.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Whether a 401 body says the endpoint wants a user token, not a fresh one.
fn needs_user_token(payload: &str) -> bool {
    error_message(payload.as_bytes())
        .to_ascii_lowercase()
        .contains("missing user oauth token")
}

/// A base URL without its trailing slash, checked once at start.
fn base_url(raw: &str) -> Result<String> {
    let parsed = url::Url::parse(raw).map_err(|e| Error::Url {
        url: raw.to_owned(),
        message: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Url {
            url: raw.to_owned(),
            message: "scheme must be http or https".into(),
        });
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Exponential backoff with jitter: attempt 1 waits 0.25–0.5 s, doubling, capped.
fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let full = exp.min(BACKOFF_CAP);
    full.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// The body as text, kept once for bronze; lossy only if it is not UTF-8.
fn body_text(body: bytes::Bytes) -> String {
    match String::from_utf8(Vec::from(body)) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_bounded() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            let full = BACKOFF_BASE
                .saturating_mul(1u32 << (attempt - 1).min(16))
                .min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(
            base_url("http://127.0.0.1:1/helix/").unwrap(),
            "http://127.0.0.1:1/helix"
        );
        assert!(matches!(base_url("not a url"), Err(Error::Url { .. })));
        assert!(matches!(base_url("ftp://x/y"), Err(Error::Url { .. })));
    }
}
