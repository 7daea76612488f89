//! Outgoing notifications: a target-neutral [`Message`] rendered for Slack
//! incoming webhooks (Block Kit), Discord webhooks (embeds) or a generic JSON
//! webhook signed with HMAC-SHA256, and delivered by a background
//! [`Dispatcher`] with retries, so whoever produces messages (alert
//! evaluation, daily summaries) never waits on a receiver.
//!
//! Webhook URLs and signing secrets are secrets: they are never logged, never
//! part of an error and shown as `***` by `Debug`.
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

mod dispatch;
mod render;
mod send;
#[cfg(test)]
mod tests;

pub use dispatch::Dispatcher;
pub use render::{discord_body, render, slack_body, webhook_body};
pub use send::{
    DeliveryOptions, EVENT_HEADER, IDEMPOTENCY_HEADER, Outcome, OutcomeStatus, SIGNATURE_HEADER,
    Sender, retry_after, sign,
};

/// What can go wrong configuring or feeding delivery (a failed delivery is
/// an [`Outcome`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A target's settings cannot work.
    #[error("notification target {name:?}: {message}")]
    InvalidTarget {
        /// The target's name.
        name: String,
        /// What is wrong (never the URL or the secret).
        message: String,
    },
    /// A message was addressed to a target that is not configured.
    #[error("unknown notification target {0:?}")]
    UnknownTarget(String),
    /// The dispatcher has stopped.
    #[error("the notification dispatcher has stopped")]
    Closed,
    /// The HTTP client could not be built.
    #[error("building the HTTP client for notifications")]
    Client(#[source] reqwest::Error),
}

/// Result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of receiver, which decides the body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A Slack incoming webhook: a Block Kit message.
    Slack,
    /// A Discord webhook: an embed.
    Discord,
    /// Any HTTPS endpoint: our documented JSON body, signed.
    Webhook,
}

impl TargetKind {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Slack => "slack",
            TargetKind::Discord => "discord",
            TargetKind::Webhook => "webhook",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One configured receiver. Built only through [`Target::new`], which
/// checks the URL and the secret.
#[derive(Clone)]
pub struct Target {
    name: String,
    kind: TargetKind,
    url: reqwest::Url,
    secret: Option<Secret>,
}

/// The shortest signing secret accepted: shorter ones are guessable.
pub const MIN_SECRET_LEN: usize = 16;

impl Target {
    /// A target `name` of `kind` posting to `url`. Generic webhooks need a
    /// signing `secret` (16 characters or more); Slack and Discord take none
    /// (their URL is the credential).
    pub fn new(
        name: impl Into<String>,
        kind: TargetKind,
        url: &Secret,
        secret: Option<Secret>,
    ) -> Result<Self> {
        let name = name.into();
        let invalid = |message: &str| Error::InvalidTarget {
            name: name.clone(),
            message: message.to_owned(),
        };
        if name.trim().is_empty() {
            return Err(invalid("the name is empty"));
        }
        // The parser's message can quote the URL: say only what kind of mistake it is.
        let url = reqwest::Url::parse(url.expose().trim())
            .map_err(|e| invalid(&format!("the URL is not valid ({e:?})")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid(
                "the URL must be an http:// or https:// URL with a host",
            ));
        }
        match (kind, &secret) {
            (TargetKind::Webhook, None) => {
                return Err(invalid(
                    "a webhook target needs a signing secret (`secret` or `secret_env`)",
                ));
            }
            (TargetKind::Webhook, Some(s)) if s.expose().len() < MIN_SECRET_LEN => {
                return Err(invalid(&format!(
                    "the signing secret needs at least {MIN_SECRET_LEN} characters"
                )));
            }
            (TargetKind::Slack | TargetKind::Discord, Some(_)) => {
                return Err(invalid(&format!(
                    "{kind} targets are not signed: remove the secret"
                )));
            }
            _ => {}
        }
        Ok(Self {
            name,
            kind,
            url,
            secret,
        })
    }

    /// The target's name (what rules refer to).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of receiver.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }

    pub(crate) fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref()
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &"***")
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// One figure shown beside the message text ("Viewers: 4,812").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Label.
    pub name: String,
    /// Value, already formatted.
    pub value: String,
}

impl Field {
    /// A field `name: value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A notification, independent of where it goes. Renderers cut texts to
/// each receiver's limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Idempotency key: the same on every retry and every target, so a
    /// receiver can drop duplicates (an alert's id, a summary's day).
    pub key: String,
    /// What happened, for the generic webhook's `type` (`alert`, `daily_summary`).
    pub event: String,
    /// One-line headline (plain text).
    pub title: String,
    /// Where the headline links to (the channel page), if anywhere.
    pub url: Option<String>,
    /// A paragraph of plain text.
    pub text: String,
    /// Figures, shown as a compact grid.
    pub fields: Vec<Field>,
    /// A small print line (rule name, time).
    pub footer: String,
    /// When the event happened.
    pub timestamp: DateTime<Utc>,
    /// Accent colour, `0xRRGGBB` (Discord's embed bar).
    pub color: u32,
    /// Machine-readable payload: the generic webhook's `data` member.
    pub data: serde_json::Value,
}
