//! Configuration: every setting is a flag, an environment variable and a key
//! in an optional TOML file; flag > env > file > default. Parsed once into a
//! validated [`Config`] that the rest of the program reads.
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// Errors turning flags, environment and file into a [`Config`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML file is not valid.
    #[error("invalid config file {path}: {source}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A setting has a value that cannot work.
    #[error("invalid setting {name}: {message}")]
    Invalid {
        /// The setting's flag name.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A secret string (client secret, passwords): never printed by `Debug` or `Display`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret value; call only where it is sent, never where it is logged.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A duration written for humans: `60s`, `15m`, `1h 30m`, `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = humantime::DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(Self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A comma-separated list (`a,b , c`), also accepted as a TOML array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

impl FromStr for List {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::One(s) => s.parse().unwrap_or_default(),
            Repr::Many(v) => Self(v),
        })
    }
}

/// Where Twitch data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The real Helix API (or any Helix-compatible server at `TWITCH_HELIX_URL`).
    Twitch,
    /// The built-in simulator, started in-process on a loopback port.
    Sim,
}

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "twitch-monitor", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: `serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Ingest continuously and serve the catalog (the default).
    Serve,
    /// Run ingest cycles and exit.
    Ingest {
        /// Run exactly one cycle (the only mode for now).
        #[arg(long)]
        once: bool,
    },
    /// Run only the simulated Twitch (local Helix server) and print its URLs.
    Sim,
    /// Recompute silver and gold from bronze.
    Rebuild,
    /// Compact closed days, checkpoint and vacuum every table.
    Maintain,
}

/// Every setting, as optional values from flags/env (clap) or the TOML file
/// (serde). [`Settings::resolve`] merges and validates them into [`Config`].
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// TOML file with any of these settings (keys are the flag names with `_`).
    #[arg(long, env = "TM_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Twitch application client id.
    #[arg(long, env = "TWITCH_CLIENT_ID", global = true)]
    pub client_id: Option<String>,
    /// Twitch application client secret (never logged).
    #[arg(
        long,
        env = "TWITCH_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub client_secret: Option<Secret>,
    /// Helix base URL.
    #[arg(long, env = "TWITCH_HELIX_URL", global = true)]
    pub helix_url: Option<String>,
    /// OAuth base URL.
    #[arg(long, env = "TWITCH_AUTH_URL", global = true)]
    pub auth_url: Option<String>,
    /// Data source: `twitch` (default when credentials are set) or `sim`.
    #[arg(long, env = "TM_SOURCE", global = true)]
    pub source: Option<Source>,

    /// Lake location: a path, or an s3://, az://, gs:// URL.
    #[arg(long, env = "TM_LAKE", global = true)]
    pub lake: Option<String>,
    /// Flight SQL listen address.
    #[arg(long, env = "TM_FLIGHT_ADDR", global = true)]
    pub flight_addr: Option<SocketAddr>,
    /// HTTP (health, metrics) listen address.
    #[arg(long, env = "TM_HTTP_ADDR", global = true)]
    pub http_addr: Option<SocketAddr>,

    /// Time between ingest cycle starts.
    #[arg(long, env = "TM_POLL_INTERVAL", global = true)]
    pub poll_interval: Option<HumanDuration>,
    /// Watched channels (logins, comma-separated).
    #[arg(long, env = "TM_CHANNELS", global = true)]
    pub channels: Option<List>,
    /// Watched categories (game ids or names, comma-separated).
    #[arg(long, env = "TM_CATEGORIES", global = true)]
    pub categories: Option<List>,
    /// Watched stream languages (ISO 639-1 codes, comma-separated).
    #[arg(long, env = "TM_LANGUAGES", global = true)]
    pub languages: Option<List>,
    /// Also poll the top N live streams each cycle (0 = off).
    #[arg(long, env = "TM_TOP_N", global = true)]
    pub top_n: Option<usize>,
    /// Sweep every live stream each cycle (default: on for the simulator).
    #[arg(long, env = "TM_FULL_SWEEP", global = true)]
    pub full_sweep: Option<bool>,
    /// Most pages one paginated sweep may read.
    #[arg(long, env = "TM_MAX_PAGES", global = true)]
    pub max_pages: Option<usize>,
    /// Timeout of one Helix HTTP request.
    #[arg(long, env = "TM_REQUEST_TIMEOUT", global = true)]
    pub request_timeout: Option<HumanDuration>,
    /// Retries of a request after a 5xx or a timeout.
    #[arg(long, env = "TM_MAX_RETRIES", global = true)]
    pub max_retries: Option<u32>,
    /// Follower totals are refreshed this often per channel (round-robin).
    #[arg(long, env = "TM_FOLLOWER_INTERVAL", global = true)]
    pub follower_interval: Option<HumanDuration>,
    /// A restart within this gap continues the same stream session.
    #[arg(long, env = "TM_SESSION_GAP", global = true)]
    pub session_gap: Option<HumanDuration>,
    /// How often `serve` compacts, checkpoints and vacuums (0s = never).
    #[arg(long, env = "TM_MAINTAIN_INTERVAL", global = true)]
    pub maintain_interval: Option<HumanDuration>,
    /// Files removed by compaction are kept this long before vacuum deletes them.
    #[arg(long, env = "TM_VACUUM_RETENTION", global = true)]
    pub vacuum_retention: Option<HumanDuration>,

    /// Simulator: seed of the simulated world.
    #[arg(long, env = "TM_SIM_SEED", global = true)]
    pub sim_seed: Option<u64>,
    /// Simulator: number of channels in the world.
    #[arg(long, env = "TM_SIM_CHANNELS", global = true)]
    pub sim_channels: Option<usize>,
    /// Simulator: simulated seconds per real second (60 = a minute per second).
    #[arg(long, env = "TM_SIM_SPEED", global = true)]
    pub sim_speed: Option<f64>,
    /// Simulator: listen address of `twitch-monitor sim`.
    #[arg(long, env = "TM_SIM_ADDR", global = true)]
    pub sim_addr: Option<SocketAddr>,
    /// Simulator: fraction of Helix requests answered with a 5xx (0..1).
    #[arg(long, env = "TM_SIM_ERROR_RATE", global = true)]
    pub sim_error_rate: Option<f64>,
    /// Simulator: Helix rate-limit bucket size per minute (0 = no limit).
    #[arg(long, env = "TM_SIM_RATE_LIMIT", global = true)]
    pub sim_rate_limit: Option<u32>,
    /// Simulator: every channel live from the start (load tests and benchmarks).
    #[arg(long, env = "TM_SIM_ALL_LIVE", global = true)]
    pub sim_all_live: Option<bool>,
}

impl Settings {
    /// Fills every setting not given by flag or env from the TOML file named
    /// by `--config`, if any.
    pub fn with_file(mut self) -> Result<Self> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        })?;
        let file: Settings =
            toml::from_str(&text).map_err(|source| Error::ParseFile { path, source })?;
        // Destructured so that a new setting cannot be forgotten here.
        let Settings {
            config: _,
            client_id,
            client_secret,
            helix_url,
            auth_url,
            source,
            lake,
            flight_addr,
            http_addr,
            poll_interval,
            channels,
            categories,
            languages,
            top_n,
            full_sweep,
            max_pages,
            request_timeout,
            max_retries,
            follower_interval,
            session_gap,
            maintain_interval,
            vacuum_retention,
            sim_seed,
            sim_channels,
            sim_speed,
            sim_addr,
            sim_error_rate,
            sim_rate_limit,
            sim_all_live,
        } = file;
        self.client_id = self.client_id.or(client_id);
        self.client_secret = self.client_secret.or(client_secret);
        self.helix_url = self.helix_url.or(helix_url);
        self.auth_url = self.auth_url.or(auth_url);
        self.source = self.source.or(source);
        self.lake = self.lake.or(lake);
        self.flight_addr = self.flight_addr.or(flight_addr);
        self.http_addr = self.http_addr.or(http_addr);
        self.poll_interval = self.poll_interval.or(poll_interval);
        self.channels = self.channels.or(channels);
        self.categories = self.categories.or(categories);
        self.languages = self.languages.or(languages);
        self.top_n = self.top_n.or(top_n);
        self.full_sweep = self.full_sweep.or(full_sweep);
        self.max_pages = self.max_pages.or(max_pages);
        self.request_timeout = self.request_timeout.or(request_timeout);
        self.max_retries = self.max_retries.or(max_retries);
        self.follower_interval = self.follower_interval.or(follower_interval);
        self.session_gap = self.session_gap.or(session_gap);
        self.maintain_interval = self.maintain_interval.or(maintain_interval);
        self.vacuum_retention = self.vacuum_retention.or(vacuum_retention);
        self.sim_seed = self.sim_seed.or(sim_seed);
        self.sim_channels = self.sim_channels.or(sim_channels);
        self.sim_speed = self.sim_speed.or(sim_speed);
        self.sim_addr = self.sim_addr.or(sim_addr);
        self.sim_error_rate = self.sim_error_rate.or(sim_error_rate);
        self.sim_rate_limit = self.sim_rate_limit.or(sim_rate_limit);
        self.sim_all_live = self.sim_all_live.or(sim_all_live);

        Ok(self)
    }

    /// Reads the file, applies defaults and validates.
    pub fn resolve(self) -> Result<Config> {
        let s = self.with_file()?;
        let d = Config::default();
        let credentials = match (s.client_id, s.client_secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.expose().is_empty() => {
                Some(Credentials {
                    client_id: id,
                    client_secret: secret,
                })
            }
            (Some(_), None) => {
                return Err(invalid(
                    "client-secret",
                    "TWITCH_CLIENT_ID is set but TWITCH_CLIENT_SECRET is not",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "client-id",
                    "TWITCH_CLIENT_SECRET is set but TWITCH_CLIENT_ID is not",
                ));
            }
            _ => None,
        };
        let source = s.source.unwrap_or(if credentials.is_some() {
            Source::Twitch
        } else {
            Source::Sim
        });
        if source == Source::Twitch && credentials.is_none() {
            return Err(invalid(
                "source",
                "TM_SOURCE=twitch needs TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET",
            ));
        }
        let cfg = Config {
            source,
            credentials,
            helix_url: s.helix_url.unwrap_or(d.helix_url),
            auth_url: s.auth_url.unwrap_or(d.auth_url),
            lake: s.lake.unwrap_or(d.lake),
            flight_addr: s.flight_addr.unwrap_or(d.flight_addr),
            http_addr: s.http_addr.unwrap_or(d.http_addr),
            poll_interval: s.poll_interval.map_or(d.poll_interval, |h| h.0),
            channels: s.channels.map_or(d.channels, |l| l.0),
            categories: s.categories.map_or(d.categories, |l| l.0),
            languages: s.languages.map_or(d.languages, |l| l.0),
            top_n: s.top_n.unwrap_or(d.top_n),
            full_sweep: s.full_sweep.unwrap_or(source == Source::Sim),
            max_pages: s.max_pages.unwrap_or(d.max_pages),
            request_timeout: s.request_timeout.map_or(d.request_timeout, |h| h.0),
            max_retries: s.max_retries.unwrap_or(d.max_retries),
            follower_interval: s.follower_interval.map_or(d.follower_interval, |h| h.0),
            session_gap: s.session_gap.map_or(d.session_gap, |h| h.0),
            maintain_interval: s.maintain_interval.map_or(d.maintain_interval, |h| h.0),
            vacuum_retention: s.vacuum_retention.map_or(d.vacuum_retention, |h| h.0),
            sim: SimSettings {
                seed: s.sim_seed.unwrap_or(d.sim.seed),
                channels: s.sim_channels.unwrap_or(d.sim.channels),
                speed: s.sim_speed.unwrap_or(d.sim.speed),
                addr: s.sim_addr.unwrap_or(d.sim.addr),
                error_rate: s.sim_error_rate.unwrap_or(d.sim.error_rate),
                rate_limit: s.sim_rate_limit.unwrap_or(d.sim.rate_limit),
                all_live: s.sim_all_live.unwrap_or(d.sim.all_live),
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

fn invalid(name: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        name,
        message: message.into(),
    }
}

/// Twitch application credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Client id (public).
    pub client_id: String,
    /// Client secret (never printed).
    pub client_secret: Secret,
}

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// World seed: the same seed gives the same world.
    pub seed: u64,
    /// Channels in the world.
    pub channels: usize,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Listen address of `twitch-monitor sim`.
    pub addr: SocketAddr,
    /// Fraction of Helix requests answered with a 5xx.
    pub error_rate: f64,
    /// Rate-limit bucket per minute (0 = unlimited).
    pub rate_limit: u32,
    /// Every channel live from the start.
    pub all_live: bool,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data source.
    pub source: Source,
    /// Twitch credentials (None with the simulator).
    pub credentials: Option<Credentials>,
    /// Helix base URL.
    pub helix_url: String,
    /// OAuth base URL.
    pub auth_url: String,
    /// Lake location.
    pub lake: String,
    /// Flight SQL listen address.
    pub flight_addr: SocketAddr,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// Time between cycle starts.
    pub poll_interval: Duration,
    /// Watched channel logins.
    pub channels: Vec<String>,
    /// Watched categories.
    pub categories: Vec<String>,
    /// Watched languages.
    pub languages: Vec<String>,
    /// Top N live streams polled each cycle.
    pub top_n: usize,
    /// Sweep every live stream each cycle.
    pub full_sweep: bool,
    /// Page cap of one sweep.
    pub max_pages: usize,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries after a 5xx or timeout.
    pub max_retries: u32,
    /// Follower total refresh interval per channel.
    pub follower_interval: Duration,
    /// Restart merge gap of stream sessions.
    pub session_gap: Duration,
    /// Maintenance interval of `serve` (zero = never).
    pub maintain_interval: Duration,
    /// Vacuum retention.
    pub vacuum_retention: Duration,
    /// Simulator settings.
    pub sim: SimSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            source: Source::Sim,
            credentials: None,
            helix_url: "https://api.twitch.tv/helix".into(),
            auth_url: "https://id.twitch.tv/oauth2".into(),
            lake: "./data".into(),
            flight_addr: ([127, 0, 0, 1], 50051).into(),
            http_addr: ([127, 0, 0, 1], 8080).into(),
            poll_interval: Duration::from_secs(60),
            channels: Vec::new(),
            categories: Vec::new(),
            languages: Vec::new(),
            top_n: 100,
            full_sweep: true,
            max_pages: 1_500,
            request_timeout: Duration::from_secs(10),
            max_retries: 4,
            follower_interval: Duration::from_secs(15 * 60),
            session_gap: Duration::from_secs(10 * 60),
            maintain_interval: Duration::from_secs(24 * 3600),
            vacuum_retention: Duration::from_secs(7 * 24 * 3600),
            sim: SimSettings {
                seed: 42,
                channels: 300,
                speed: 1.0,
                addr: ([127, 0, 0, 1], 8090).into(),
                error_rate: 0.0,
                rate_limit: 800,
                all_live: false,
            },
        }
    }
}

impl Config {
    fn validate(&self) -> Result<()> {
        if self.poll_interval.is_zero() {
            return Err(invalid("poll-interval", "must be greater than zero"));
        }
        if self.follower_interval.is_zero() {
            return Err(invalid("follower-interval", "must be greater than zero"));
        }
        if self.max_pages == 0 {
            return Err(invalid("max-pages", "must be at least 1"));
        }
        if !(self.sim.speed.is_finite() && self.sim.speed > 0.0) {
            return Err(invalid("sim-speed", "must be a positive number"));
        }
        if !(0.0..=1.0).contains(&self.sim.error_rate) {
            return Err(invalid("sim-error-rate", "must be between 0 and 1"));
        }
        for (name, url) in [("helix-url", &self.helix_url), ("auth-url", &self.auth_url)] {
            url::Url::parse(url)
                .map_err(|e| invalid(name, format!("{url:?} is not a URL: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("twitch-monitor").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_without_credentials_choose_the_simulator() {
        let cfg = Settings::default().resolve().unwrap();
        assert_eq!(cfg.source, Source::Sim);
        assert!(cfg.full_sweep);
        assert_eq!(cfg.poll_interval, Duration::from_secs(60));
        assert_eq!(cfg.lake, "./data");
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tm.toml");
        std::fs::write(
            &file,
            "lake = \"/from/file\"\npoll_interval = \"15s\"\nchannels = [\"a\", \"b\"]\n",
        )
        .unwrap();
        let cli = parse(&[
            "--config",
            file.to_str().unwrap(),
            "--lake",
            "/from/flag",
            "ingest",
            "--once",
        ]);
        let cfg = cli.settings.resolve().unwrap();
        assert_eq!(cfg.lake, "/from/flag");
        assert_eq!(cfg.poll_interval, Duration::from_secs(15));
        assert_eq!(cfg.channels, vec!["a", "b"]);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let cli = parse(&["--client-id", "id", "--client-secret", "hunter2"]);
        let cfg = cli.settings.resolve().unwrap();
        assert_eq!(cfg.source, Source::Twitch);
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn half_credentials_and_bad_values_are_refused_with_the_setting_named() {
        let err = parse(&["--client-id", "id"])
            .settings
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("TWITCH_CLIENT_SECRET"), "{err}");
        let err = parse(&["--poll-interval", "0s"])
            .settings
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("poll-interval"), "{err}");
        assert!(Cli::try_parse_from(["twitch-monitor", "--poll-interval", "soon"]).is_err());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tm.toml");
        std::fs::write(&file, "lakes = \"typo\"\n").unwrap();
        let err = parse(&["--config", file.to_str().unwrap()])
            .settings
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("lakes"), "{err}");
    }
}
