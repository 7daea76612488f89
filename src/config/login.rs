//! Settings of the Twitch user token that `twitch-monitor login` obtains and
//! `serve` uses for follower totals: where the token file lives, or a
//! refresh token given directly.
use std::path::PathBuf;

use clap::Args;

use super::Secret;
use super::resolved::declared_defaults;

/// File name of the user token in the configuration directory.
const DEFAULT_FILE: &str = "twitch-monitor/user-token.json";

/// Where the Twitch user token comes from.
#[derive(Debug, Clone, Args)]
pub struct UserTokenSettings {
    /// File holding the Twitch user refresh token that `twitch-monitor login` writes (owner-only; default: user-token.json in the twitch-monitor config directory).
    #[arg(id = "user_token_file", long = "user-token-file")]
    #[arg(env = "TM_USER_TOKEN_FILE")]
    pub file: Option<PathBuf>,
    /// A Twitch user refresh token to use instead of the file's (never logged).
    #[arg(id = "twitch_refresh_token", long = "twitch-refresh-token")]
    #[arg(env = "TM_TWITCH_REFRESH_TOKEN", hide_env_values = true)]
    pub refresh_token: Option<Secret>,
}

impl Default for UserTokenSettings {
    fn default() -> Self {
        declared_defaults()
    }
}

impl UserTokenSettings {
    /// The token file: the setting, else `user-token.json` under the
    /// platform's configuration directory (`$XDG_CONFIG_HOME/twitch-monitor`
    /// or `~/.config/twitch-monitor` on Linux), else the working directory.
    pub fn file_path(&self) -> PathBuf {
        match &self.file {
            Some(p) => p.clone(),
            None => dirs::config_dir()
                .map(|d| d.join(DEFAULT_FILE))
                .unwrap_or_else(|| PathBuf::from("twitch-user-token.json")),
        }
    }
}
