//! The user access token for `/channels/followers`: obtained from the stored
//! refresh token on first use, refreshed before it expires or after a 401
//! (one refresh for all concurrent requests, as for the app token), validated
//! hourly, and every refresh token Twitch rotates written back to the token
//! file at once — a public client's refresh token works only once.
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;

use super::auth::{AccessToken, after};
use super::oauth::OAuthClient;
use super::token_file::TokenFile;
use super::{Error, Result, TokenKind, TokenSource};
use crate::clock::SharedClock;
use crate::config::Secret;

/// Refresh this long before expiry rather than eat a 401.
const EXPIRY_MARGIN: TimeDelta = TimeDelta::minutes(1);
/// Twitch asks apps holding user tokens to validate them hourly.
const VALIDATE_EVERY: TimeDelta = TimeDelta::hours(1);
/// After a refused refresh token, look for a new login in the file this often.
const RELOAD_EVERY: TimeDelta = TimeDelta::minutes(1);

/// Everything a [`UserToken`] needs.
#[derive(Debug, Clone)]
pub struct UserTokenArgs {
    /// The auth host, as the app.
    pub oauth: OAuthClient,
    /// The refresh token to start from.
    pub refresh_token: Secret,
    /// Where rotated refresh tokens are written (and a new login is looked
    /// for after a refusal); `None` keeps them in memory only.
    pub file: Option<TokenFile>,
    /// Time source for expiry.
    pub clock: SharedClock,
}

struct Access {
    token: AccessToken,
    expires_at: DateTime<Utc>,
    validated_at: DateTime<Utc>,
}

struct State {
    refresh: Secret,
    access: Option<Access>,
    generation: u64,
    /// Why the refresh token was refused, and when the file was last checked.
    refused: Option<(String, DateTime<Utc>)>,
}

/// A refreshing user token; a [`TokenSource`] for the client.
pub struct UserToken {
    oauth: OAuthClient,
    file: Option<TokenFile>,
    clock: SharedClock,
    // A tokio mutex: a refresh holds it across the HTTP call, so concurrent
    // requests wait for the one new token.
    state: Mutex<State>,
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserToken")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl UserToken {
    /// A token source that fetches its first access token when first asked.
    pub fn new(args: UserTokenArgs) -> Self {
        Self {
            oauth: args.oauth,
            file: args.file,
            clock: args.clock,
            state: Mutex::new(State {
                refresh: args.refresh_token,
                access: None,
                generation: 0,
                refused: None,
            }),
        }
    }

    /// Trades the refresh token for a new access token; persists a rotated
    /// refresh token. Called with the state locked.
    async fn refresh(&self, state: &mut State) -> Result<()> {
        let now = self.clock.now();
        if let Some((message, checked)) = &state.refused {
            // A refused token stays refused; a new login in the file revives it.
            let reloaded = if now - *checked >= RELOAD_EVERY {
                self.file
                    .as_ref()
                    .and_then(|f| f.load().ok().flatten())
                    .map(|l| l.refresh_token)
                    .filter(|t| t != &state.refresh)
            } else {
                None
            };
            match reloaded {
                Some(token) => {
                    tracing::info!("found a new Twitch login in the user token file");
                    state.refresh = token;
                    state.refused = None;
                }
                None => {
                    let message = message.clone();
                    if now - *checked >= RELOAD_EVERY {
                        state.refused = Some((message.clone(), now));
                    }
                    return Err(Error::RefreshRejected { message });
                }
            }
        }
        let grant = match self.oauth.refresh(&state.refresh).await {
            Ok(g) => g,
            Err(Error::RefreshRejected { message }) => {
                tracing::error!(
                    "Twitch refused the user refresh token ({message}): follower totals stop \
                     until `twitch-monitor login` is run again"
                );
                state.refused = Some((message.clone(), now));
                state.access = None;
                return Err(Error::RefreshRejected { message });
            }
            Err(e) => return Err(e),
        };
        if grant.refresh_token != state.refresh {
            state.refresh = grant.refresh_token.clone();
            if let Some(file) = &self.file
                && let Err(e) = file.save_refresh_token(&grant.refresh_token)
            {
                // The old token is spent: the next start needs a new login.
                tracing::error!(
                    "cannot save the refresh token Twitch rotated ({e}); it is kept in memory, \
                     but after a restart `twitch-monitor login` has to be run again"
                );
            }
        }
        let now = self.clock.now();
        state.access = Some(Access {
            token: grant.access_token,
            expires_at: after(now, grant.expires_in),
            validated_at: now,
        });
        state.generation += 1;
        Ok(())
    }
}

#[async_trait]
impl TokenSource for UserToken {
    async fn current(&self) -> Result<(AccessToken, u64)> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        let stale = match &mut state.access {
            None => true,
            Some(a) if now + EXPIRY_MARGIN >= a.expires_at => true,
            Some(a) if now - a.validated_at >= VALIDATE_EVERY => {
                match self.oauth.validate(&a.token).await {
                    Ok(Some(id)) => {
                        a.validated_at = now;
                        a.expires_at = after(now, id.expires_in);
                        false
                    }
                    Ok(None) => true,
                    Err(e) => {
                        // Unreachable host: keep the token; Helix says 401 if it is bad.
                        tracing::warn!(error = %e, "user token validation failed; keeping the token");
                        a.validated_at = now;
                        false
                    }
                }
            }
            Some(_) => false,
        };
        if stale {
            self.refresh(&mut state).await?;
        }
        match &state.access {
            Some(a) => Ok((a.token.clone(), state.generation)),
            None => Err(Error::RefreshRejected {
                message: "no user token".into(),
            }),
        }
    }

    async fn renew(&self, generation: u64) -> Result<()> {
        let mut state = self.state.lock().await;
        if state.generation == generation {
            self.refresh(&mut state).await?;
        }
        Ok(())
    }

    fn kind(&self) -> TokenKind {
        TokenKind::User
    }
}
