//! The real Helix HTTP client (STUB: being written).
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::models::{Channel, Game, Stream, User};
use super::{ClientStats, Fetched, Helix, StreamQuery};
use crate::clock::SharedClock;
use crate::config::Secret;

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

/// The Helix client.
#[derive(Debug, Clone)]
pub struct HelixClient {
    #[allow(dead_code)]
    args: Arc<ClientArgs>,
}

impl HelixClient {
    /// Fetches and validates an app token; fails on bad credentials.
    pub async fn connect(args: ClientArgs) -> super::Result<Self> {
        Ok(Self {
            args: Arc::new(args),
        })
    }
}

#[async_trait]
impl Helix for HelixClient {
    async fn streams(&self, _query: &StreamQuery) -> Fetched<Vec<Stream>> {
        Fetched::default()
    }
    async fn users(&self, _ids: &[String], _logins: &[String]) -> Fetched<Vec<User>> {
        Fetched::default()
    }
    async fn channels(&self, _ids: &[String]) -> Fetched<Vec<Channel>> {
        Fetched::default()
    }
    async fn follower_total(&self, _id: &str) -> Fetched<Option<u64>> {
        Fetched::default()
    }
    async fn games(&self, _ids: &[String], _names: &[String]) -> Fetched<Vec<Game>> {
        Fetched::default()
    }
    async fn top_games(&self, _n: usize) -> Fetched<Vec<Game>> {
        Fetched::default()
    }
    fn stats(&self) -> ClientStats {
        ClientStats::default()
    }
}
