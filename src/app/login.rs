//! `twitch-monitor login` and the user token `serve` hands the client: the
//! Device Code Grant flow on the terminal (code and URL printed, the wait
//! reported), the refresh token stored owner-only, and at start-up the
//! refreshing [`UserToken`] built from the environment or that file.
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, Source};
use crate::twitch::oauth::{OAuthClient, SCOPES, Waiting};
use crate::twitch::token_file::{StoredLogin, TokenFile};
use crate::twitch::{TokenSource, UserToken, UserTokenArgs};

/// The scope follower lists need; totals come without it.
const FOLLOWERS_SCOPE: &str = "moderator:read:followers";

fn oauth(config: &Config) -> anyhow::Result<OAuthClient> {
    let c = config.credentials.as_ref().context(
        "login needs the Twitch app's TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET \
         (register an app at https://dev.twitch.tv/console/apps)",
    )?;
    Ok(OAuthClient::new(
        &config.auth_url,
        c.client_id.clone(),
        Some(c.client_secret.clone()),
        config.request_timeout,
    )?)
}

/// Runs the device code flow and stores the refresh token.
pub async fn login(config: &Config) -> anyhow::Result<ExitCode> {
    let oauth = oauth(config)?;
    let file = TokenFile::new(config.user_token.file_path());
    let code = oauth
        .start_device(SCOPES)
        .await
        .context("cannot start the Twitch login")?;
    let minutes = code.expires_in.as_secs().div_ceil(60);
    let prompt = format!(
        "To let twitch-monitor read follower totals as you, open\n\n    {}\n\n\
         and enter the code {} (valid for {minutes} minutes). Waiting for Twitch…\n",
        code.verification_uri, code.user_code
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(prompt.as_bytes()).and_then(|()| out.flush());
    drop(out);
    let clock: SharedClock = Arc::new(SystemClock);
    let grant = oauth
        .wait_for_approval(&code, &clock, |w| match w {
            Waiting::Pending => {}
            Waiting::SlowDown(every) => {
                eprintln!(
                    "Twitch asked to be asked less often: every {} s now",
                    every.as_secs()
                );
            }
            Waiting::Unreachable => eprintln!("Twitch is not answering; still waiting"),
        })
        .await?;
    let id = oauth
        .validate(&grant.access_token)
        .await?
        .context("Twitch did not accept the token it had just issued; run login again")?;
    let scopes = if id.scopes.is_empty() {
        grant.scopes.clone()
    } else {
        id.scopes.clone()
    };
    file.save(&StoredLogin {
        refresh_token: grant.refresh_token.clone(),
        user_id: id.user_id.clone(),
        login: id.login.clone(),
        scopes: scopes.clone(),
    })?;
    if !scopes.iter().any(|s| s == FOLLOWERS_SCOPE) {
        eprintln!("note: Twitch did not grant {FOLLOWERS_SCOPE}; follower totals still work");
    }
    println!(
        "Logged in as {} (user id {}), scopes: {}.\nThe refresh token is in {} (owner-only). \
         Restart `twitch-monitor` to fetch follower totals with it.",
        id.login,
        id.user_id,
        scopes.join(" "),
        file.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The logged-in Twitch user, for follower totals and chat.
#[derive(Debug, Clone)]
pub struct UserSession {
    /// The refreshing user token (one for every user of it: refresh
    /// tokens rotate).
    pub tokens: Arc<dyn TokenSource>,
    /// The user's login, when the token file names it.
    pub login: Option<String>,
    /// The scopes the user granted, when the token file lists them.
    pub scopes: Vec<String>,
}

impl UserSession {
    /// The chat login this token allows: the user's login, when known and
    /// the token has `chat:read`.
    pub fn chat_login(&self) -> Option<&str> {
        self.login
            .as_deref()
            .filter(|_| self.scopes.iter().any(|s| s == CHAT_SCOPE))
    }
}

/// The scope chat reads need.
const CHAT_SCOPE: &str = "chat:read";

/// The user token for `/channels/followers` and chat, when reading real
/// Twitch and the user logged in (`TM_TWITCH_REFRESH_TOKEN` first, then the
/// token file). Never fails start-up: a broken file is logged and skipped.
pub fn user_session(config: &Config, clock: &SharedClock) -> Option<UserSession> {
    if config.source != Source::Twitch {
        return None;
    }
    let oauth = oauth(config).ok()?;
    let file = TokenFile::new(config.user_token.file_path());
    let given = config
        .user_token
        .refresh_token
        .clone()
        .filter(|t| !t.expose().is_empty());
    let stored = match file.load() {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!("{e}; the file's token is not used");
            None
        }
    };
    let (login, scopes) = stored
        .as_ref()
        .map(|s| (Some(s.login.clone()), s.scopes.clone()))
        .unwrap_or_default();
    let refresh_token = match (given, stored) {
        (Some(t), _) => {
            // Rotated tokens still go to the file: the variable's value is
            // spent after the first refresh for public clients.
            tracing::info!("follower totals use the user token from TM_TWITCH_REFRESH_TOKEN");
            t
        }
        (None, Some(stored)) => {
            tracing::info!(
                login = %stored.login,
                file = %file.path().display(),
                "follower totals use the Twitch user token"
            );
            stored.refresh_token
        }
        (None, None) => {
            tracing::info!(
                "no Twitch user token (run `twitch-monitor login` to add one): follower \
                 totals are asked with the app token"
            );
            return None;
        }
    };
    let tokens: Arc<dyn TokenSource> = Arc::new(UserToken::new(UserTokenArgs {
        oauth,
        refresh_token,
        file: Some(file),
        clock: clock.clone(),
    }));
    Some(UserSession {
        tokens,
        login,
        scopes,
    })
}
