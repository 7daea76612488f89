//! One message to one target, until it is delivered or the retry budget is
//! spent: backoff on 5xx, timeouts and connection errors; a 429's
//! `Retry-After` honoured; any other 4xx is final (retrying cannot fix it).
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use sha2::Sha256;

use super::render::render;
use super::{Error, Message, Result, Target, TargetKind};
use crate::clock::SharedClock;

/// The generic webhook's signature header: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-twitch-monitor-signature";
/// The idempotency key header (every target; the same on every retry).
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The generic webhook's event type header (the body's `type`).
pub const EVENT_HEADER: &str = "x-twitch-monitor-event";

/// Retry and timeout settings of delivery.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Attempts per message and target before it is reported failed.
    pub max_attempts: u32,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// The first retry's backoff; it doubles per attempt.
    pub initial_backoff: Duration,
    /// The longest backoff between two attempts.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured (a longer one is cut to this).
    pub max_retry_after: Duration,
    /// Messages waiting per target behind the one being sent. A target that
    /// stays down holds no more: the oldest waiting one is reported failed
    /// to make room, so memory stays bounded and what is sent when the
    /// target is back is the newest.
    pub max_queued: usize,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            request_timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(900),
            max_queued: 10_000,
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeStatus {
    /// The receiver answered 2xx.
    Delivered,
    /// Refused for good, or still failing after the last attempt.
    Failed,
}

/// The result of delivering one message to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The message's idempotency key.
    pub key: String,
    /// The target's name.
    pub target: String,
    /// Delivered or failed.
    pub status: OutcomeStatus,
    /// HTTP attempts made.
    pub attempts: u32,
    /// When the delivery ended (the clock's time).
    pub finished_at: DateTime<Utc>,
    /// Why the last attempt failed (never the URL), if it did.
    pub error: Option<String>,
}

/// Sends messages over one shared HTTP client.
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
    clock: SharedClock,
    options: DeliveryOptions,
}

/// HEX(HMAC-SHA256(secret, body)): what the signature header carries after `sha256=`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// What one attempt says about the next.
enum Attempt {
    Done,
    /// Retry after this long, for this reason.
    Retry(Duration, String),
    /// Give up now.
    Fatal(String),
}

impl Sender {
    /// A sender with its own HTTP client; `clock` times backoff waits and outcomes.
    pub fn new(options: DeliveryOptions, clock: SharedClock) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .user_agent(concat!("twitch-monitor/", env!("CARGO_PKG_VERSION")))
            // A redirect would re-send the body to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::Client)?;
        Ok(Self {
            http,
            clock,
            options,
        })
    }

    /// The options in force.
    pub fn options(&self) -> &DeliveryOptions {
        &self.options
    }

    /// The outcome of `message`, never sent to `target`, for `why`.
    pub(crate) fn unsent(&self, target: &str, message: &Message, why: String) -> Outcome {
        Outcome {
            key: message.key.clone(),
            target: target.to_owned(),
            status: OutcomeStatus::Failed,
            attempts: 0,
            finished_at: self.clock.now(),
            error: Some(why),
        }
    }

    /// Delivers `message` to `target`, retrying as configured. Never fails:
    /// the outcome says what happened.
    pub async fn deliver(&self, target: &Target, message: &Message) -> Outcome {
        let body = render(target.kind(), message);
        let max = self.options.max_attempts.max(1);
        let mut attempts = 0;
        let (status, error) = loop {
            attempts += 1;
            match self.attempt(target, message, &body, attempts).await {
                Attempt::Done => break (OutcomeStatus::Delivered, None),
                Attempt::Fatal(why) => break (OutcomeStatus::Failed, Some(why)),
                Attempt::Retry(_, why) if attempts >= max => {
                    break (
                        OutcomeStatus::Failed,
                        Some(format!("gave up after {attempts} attempts: {why}")),
                    );
                }
                Attempt::Retry(wait, why) => {
                    tracing::debug!(
                        target_name = %target.name(),
                        key = %message.key,
                        attempts,
                        "notification not delivered ({why}); retrying in {wait:?}"
                    );
                    self.clock.sleep(wait).await;
                }
            }
        };
        if let Some(why) = &error {
            tracing::warn!(
                target_name = %target.name(),
                key = %message.key,
                "notification failed: {why}"
            );
        }
        Outcome {
            key: message.key.clone(),
            target: target.name().to_owned(),
            status,
            attempts,
            finished_at: self.clock.now(),
            error,
        }
    }

    async fn attempt(&self, target: &Target, m: &Message, body: &[u8], n: u32) -> Attempt {
        let mut request = self
            .http
            .post(target.url().clone())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, &m.key)
            .body(body.to_vec());
        if target.kind() == TargetKind::Webhook {
            request = request.header(EVENT_HEADER, &m.event);
            if let Some(secret) = target.secret() {
                let signature = sign(secret.expose().as_bytes(), body);
                request = request.header(SIGNATURE_HEADER, format!("sha256={signature}"));
            }
        }
        let response = match request.send().await {
            Ok(r) => r,
            // `without_url`: the URL is the credential of Slack and Discord webhooks.
            Err(e) => {
                let retryable = e.is_timeout() || e.is_connect() || e.is_request();
                let why = describe(&e.without_url());
                return if retryable {
                    Attempt::Retry(self.backoff(n), why)
                } else {
                    Attempt::Fatal(why)
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Done;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(response.headers(), self.clock.now())
                .unwrap_or_else(|| self.backoff(n))
                .min(self.options.max_retry_after);
            return Attempt::Retry(wait, format!("HTTP {status}"));
        }
        let detail = response_text(response).await;
        let why = format!("HTTP {status}{detail}");
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            Attempt::Retry(self.backoff(n), why)
        } else {
            Attempt::Fatal(why)
        }
    }

    /// Exponential backoff after attempt `n` (1-based), capped, with jitter
    /// in [50%, 100%] so many senders do not retry in step.
    fn backoff(&self, n: u32) -> Duration {
        let base = self
            .options
            .initial_backoff
            .saturating_mul(1u32 << (n - 1).min(20))
            .min(self.options.max_backoff);
        base.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// An error and its causes in one line.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The start of an error body (Slack says `invalid_blocks`, `no_service`…),
/// for the operator.
async fn response_text(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let text: String = text.trim().chars().take(200).collect();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// `Retry-After` as seconds (Discord sends fractions) or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or_default())
}
