//! The Twitch source: Helix models, the [`Helix`] seam the ingest cycle polls
//! through, and [`HelixClient`], the real HTTP client (OAuth, pagination, rate
//! limits, retries). Knows HTTP and serde, never Arrow or Delta. The bearer
//! token a request carries comes from a [`TokenSource`]: the app token for
//! everything, or a user token for `/channels/followers` when the user ran
//! `twitch-monitor login` (device code flow in [`oauth`], persisted by
//! [`token_file`], refreshed by [`UserToken`]).
use std::fmt::Debug;
use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

mod auth;
mod client;
mod endpoints;
pub mod models;
pub mod oauth;
pub mod paging;
mod ratelimit;
pub mod token_file;
mod user_token;

pub use auth::AccessToken;
// How an error body becomes a message (for the fuzz entry points).
pub(crate) use auth::error_message;
pub use client::{ClientArgs, ClientSetup, HelixClient};
pub use models::{Channel, Game, Stream, User};
pub use user_token::{UserToken, UserTokenArgs};

/// What can go wrong talking to Helix. Never carries the client secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The auth host refused the credentials (bad client id or secret).
    #[error(
        "Twitch refused the app credentials ({status}): {message}; check TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET"
    )]
    BadCredentials {
        /// HTTP status from the auth host.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The request could not be sent or the connection failed.
    #[error("request to {endpoint} failed: {source}")]
    Transport {
        /// Helix endpoint or auth path.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// No response within the request timeout (after retries).
    #[error("request to {endpoint} timed out")]
    Timeout {
        /// Helix endpoint.
        endpoint: String,
    },
    /// Helix answered with an error status (after retries where they apply).
    #[error("{endpoint} answered HTTP {status}: {message}")]
    Status {
        /// Helix endpoint.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The error message from the body, or the body itself.
        message: String,
    },
    /// The body did not parse as the endpoint's JSON shape.
    #[error("{endpoint} returned a body that does not parse: {source}")]
    Parse {
        /// Helix endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The device code expired before the user approved it.
    #[error("the code expired before it was approved on Twitch; run `twitch-monitor login` again")]
    DeviceCodeExpired,
    /// The user (or Twitch) declined the device authorization.
    #[error("Twitch did not authorize the app: {message}; run `twitch-monitor login` again")]
    AuthorizationDenied {
        /// What the auth host said.
        message: String,
    },
    /// The auth host refused the user refresh token (revoked, expired, or
    /// already used): only a new login helps.
    #[error("Twitch refused the user refresh token ({message}); run `twitch-monitor login` again")]
    RefreshRejected {
        /// What the auth host said.
        message: String,
    },
    /// The user token file could not be read or written.
    #[error("user token file {path}: {message}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A URL setting is not usable.
    #[error("invalid URL {url:?}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One HTTP response page exactly as received, handed upward for bronze:
/// failures and unparseable bodies included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Helix endpoint path without the base, e.g. `streams`, `channels/followers`.
    pub endpoint: String,
    /// The query string sent (no secrets: auth travels in headers).
    pub request_query: String,
    /// 0-based page number within one paginated request.
    pub page: u32,
    /// HTTP status (0 when no response arrived, e.g. a timeout).
    pub http_status: u16,
    /// When the response arrived.
    pub fetched_at: DateTime<Utc>,
    /// The body as received (lossy UTF-8 only if the body was not UTF-8).
    pub payload: String,
}

/// A call's outcome: whatever parsed, every response received on the way, and
/// the errors met (a sweep keeps the pages before a failure).
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The parsed value (partial when `errors` is not empty).
    pub value: T,
    /// Every response, in order.
    pub responses: Vec<RawResponse>,
    /// Errors met; empty on full success.
    pub errors: Vec<std::sync::Arc<Error>>,
}

impl<T: Default> Default for Fetched<T> {
    fn default() -> Self {
        Self {
            value: T::default(),
            responses: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// Which live streams to list: filters are combined as Helix combines them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamQuery {
    /// Broadcaster ids (batched by 100).
    pub user_ids: Vec<String>,
    /// Broadcaster logins (batched by 100).
    pub user_logins: Vec<String>,
    /// Category ids.
    pub game_ids: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// Stop after this many streams (top N); `None` = all pages up to the cap.
    pub limit: Option<usize>,
}

/// Client counters for cycle summaries and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent to Helix (retries included).
    pub requests: u64,
    /// `Ratelimit-Remaining` of the latest response.
    pub rate_limit_remaining: Option<u32>,
    /// `Ratelimit-Limit` of the latest response.
    pub rate_limit_limit: Option<u32>,
}

/// Which kind of bearer token a [`TokenSource`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// App access token (client credentials).
    App,
    /// User access token (device code login, refreshed).
    User,
}

/// Where the client gets the bearer token of a request. Renewal is shared:
/// concurrent requests that all met a 401 with the token of one generation
/// cause one renewal, not one each.
#[async_trait]
pub trait TokenSource: Send + Sync + Debug {
    /// The token to send now and its generation (bumped on every new token).
    async fn current(&self) -> Result<(AccessToken, u64)>;
    /// Helix said 401 to the token of `generation`: replace it unless a
    /// concurrent request already did.
    async fn renew(&self, generation: u64) -> Result<()>;
    /// App or user token (for messages).
    fn kind(&self) -> TokenKind;
}

/// The seam between ingest and Twitch: the real client implements it, and
/// tests may stand in front of it.
#[async_trait]
pub trait Helix: Send + Sync + Debug {
    /// Live streams matching `query`, deduplicated by stream id, paginated
    /// until an empty or repeated cursor, the limit, or the page cap.
    async fn streams(&self, query: &StreamQuery) -> Fetched<Vec<Stream>>;
    /// Users by id and login (batched by 100 combined).
    async fn users(&self, ids: &[String], logins: &[String]) -> Fetched<Vec<User>>;
    /// Channel information by broadcaster id (batched by 100).
    async fn channels(&self, broadcaster_ids: &[String]) -> Fetched<Vec<Channel>>;
    /// A broadcaster's follower total; `None` when Helix did not say.
    async fn follower_total(&self, broadcaster_id: &str) -> Fetched<Option<u64>>;
    /// Categories by id and name (batched by 100 combined).
    async fn games(&self, ids: &[String], names: &[String]) -> Fetched<Vec<Game>>;
    /// The top `n` categories by viewers.
    async fn top_games(&self, n: usize) -> Fetched<Vec<Game>>;
    /// Counters so far.
    fn stats(&self) -> ClientStats;
}
