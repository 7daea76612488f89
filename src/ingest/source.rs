//! How the runner reaches Twitch: connecting (fetching an app token) is a
//! seam the runner calls before its first cycle, so the runner — not the
//! composition root — owns when a connection is made and how a failed one
//! is retried.
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::twitch::{ClientArgs, ClientSetup, Error, Helix, HelixClient};

/// Connects to a Helix source.
#[async_trait]
pub trait Connect: Send + Sync + Debug {
    /// A client that is ready to poll (authenticated).
    async fn connect(&self) -> Result<Arc<dyn Helix>, Error>;
}

/// The real client, built from its settings.
#[async_trait]
impl Connect for ClientArgs {
    async fn connect(&self) -> Result<Arc<dyn Helix>, Error> {
        Ok(Arc::new(HelixClient::connect(self.clone()).await?))
    }
}

/// The real client with a user token for follower totals.
#[async_trait]
impl Connect for ClientSetup {
    async fn connect(&self) -> Result<Arc<dyn Helix>, Error> {
        let client =
            HelixClient::connect_with(self.args.clone(), self.followers_token.clone()).await?;
        Ok(Arc::new(client))
    }
}

/// A client connected beforehand (tests, benchmarks).
#[derive(Debug, Clone)]
pub struct Connected(pub Arc<dyn Helix>);

#[async_trait]
impl Connect for Connected {
    async fn connect(&self) -> Result<Arc<dyn Helix>, Error> {
        Ok(Arc::clone(&self.0))
    }
}
