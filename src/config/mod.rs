//! Configuration: every setting is a flag, an environment variable and a key
//! in an optional TOML file; flag > env > file > default. Parsed once into a
//! validated [`Config`] that the rest of the program reads.
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

mod resolved;
mod values;

pub use resolved::{
    AlertSources, Config, Credentials, FlightConfig, QueryConfig, SimSettings, TlsFiles,
};
pub use values::{
    ByteSize, FlightAuth, FlightUser, HumanDuration, List, RawTable, Secret, SecretList,
};

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

    /// Flight SQL authentication: `none`, `basic` (users + tokens) or `bearer` (tokens).
    #[arg(long, env = "TM_FLIGHT_AUTH", global = true)]
    pub flight_auth: Option<FlightAuth>,
    /// Flight SQL users, `name:sha256hex` or `name:salt:sha256hex`, comma-separated.
    #[arg(long, env = "TM_FLIGHT_USERS", global = true, hide_env_values = true)]
    pub flight_users: Option<SecretList>,
    /// Static Flight SQL bearer tokens, comma-separated (never logged).
    #[arg(long, env = "TM_FLIGHT_TOKENS", global = true, hide_env_values = true)]
    pub flight_tokens: Option<SecretList>,
    /// Lifetime of the bearer tokens issued at login.
    #[arg(long, env = "TM_FLIGHT_TOKEN_TTL", global = true)]
    pub flight_token_ttl: Option<HumanDuration>,
    /// TLS certificate chain (PEM) for Flight SQL; needs --flight-tls-key.
    #[arg(long, env = "TM_FLIGHT_TLS_CERT", global = true)]
    pub flight_tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for Flight SQL; needs --flight-tls-cert.
    #[arg(long, env = "TM_FLIGHT_TLS_KEY", global = true)]
    pub flight_tls_key: Option<PathBuf>,
    /// Serve Flight SQL without authentication on a non-loopback address.
    #[arg(long, env = "TM_FLIGHT_ALLOW_UNAUTHENTICATED", global = true)]
    pub flight_allow_unauthenticated: Option<bool>,
    /// Longest one SQL query may run.
    #[arg(long, env = "TM_QUERY_TIMEOUT", global = true)]
    pub query_timeout: Option<HumanDuration>,
    /// Memory shared by all running queries (e.g. `4GiB`); more fails the query.
    #[arg(long, env = "TM_QUERY_MEMORY_LIMIT", global = true)]
    pub query_memory_limit: Option<ByteSize>,
    /// Queries that may run at once; more wait for a slot.
    #[arg(long, env = "TM_MAX_CONCURRENT_QUERIES", global = true)]
    pub max_concurrent_queries: Option<usize>,
    /// Longest a query waits for a slot before it is refused as busy.
    #[arg(long, env = "TM_QUERY_QUEUE_TIMEOUT", global = true)]
    pub query_queue_timeout: Option<HumanDuration>,

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

    /// TOML file of alert rules and delivery targets (`[[rules]]`, `[[targets]]`).
    #[arg(long, env = "TM_ALERTS_FILE", global = true)]
    pub alerts_file: Option<PathBuf>,
    /// The config file's `[alerts]` section (same keys as the alerts file);
    /// only the TOML file can hold it.
    #[arg(skip)]
    pub alerts: Option<RawTable>,

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
            flight_auth,
            flight_users,
            flight_tokens,
            flight_token_ttl,
            flight_tls_cert,
            flight_tls_key,
            flight_allow_unauthenticated,
            query_timeout,
            query_memory_limit,
            max_concurrent_queries,
            query_queue_timeout,
            alerts_file,
            alerts,
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
        self.flight_auth = self.flight_auth.or(flight_auth);
        self.flight_users = self.flight_users.or(flight_users);
        self.flight_tokens = self.flight_tokens.or(flight_tokens);
        self.flight_token_ttl = self.flight_token_ttl.or(flight_token_ttl);
        self.flight_tls_cert = self.flight_tls_cert.or(flight_tls_cert);
        self.flight_tls_key = self.flight_tls_key.or(flight_tls_key);
        self.flight_allow_unauthenticated = self
            .flight_allow_unauthenticated
            .or(flight_allow_unauthenticated);
        self.query_timeout = self.query_timeout.or(query_timeout);
        self.query_memory_limit = self.query_memory_limit.or(query_memory_limit);
        self.max_concurrent_queries = self.max_concurrent_queries.or(max_concurrent_queries);
        self.query_queue_timeout = self.query_queue_timeout.or(query_queue_timeout);
        self.alerts_file = self.alerts_file.or(alerts_file);
        self.alerts = self.alerts.or(alerts);
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
        let users = s
            .flight_users
            .map(|l| l.0)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                entry
                    .expose()
                    .parse()
                    .map_err(|e| invalid("flight-users", format!("entry {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<FlightUser>>>()?;
        let tls = match (s.flight_tls_cert, s.flight_tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "flight-tls-cert",
                    "--flight-tls-cert and --flight-tls-key go together",
                ));
            }
        };
        let flight = FlightConfig {
            auth: s.flight_auth.unwrap_or(d.flight.auth),
            users,
            tokens: s.flight_tokens.map_or(d.flight.tokens, |l| l.0),
            token_ttl: s.flight_token_ttl.map_or(d.flight.token_ttl, |h| h.0),
            tls,
            allow_unauthenticated: s
                .flight_allow_unauthenticated
                .unwrap_or(d.flight.allow_unauthenticated),
        };
        let query = QueryConfig {
            timeout: s.query_timeout.map_or(d.query.timeout, |h| h.0),
            memory_limit: s.query_memory_limit.map_or(d.query.memory_limit, |b| b.0),
            max_concurrent: s.max_concurrent_queries.unwrap_or(d.query.max_concurrent),
            queue_timeout: s.query_queue_timeout.map_or(d.query.queue_timeout, |h| h.0),
        };
        let cfg = Config {
            flight,
            query,
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
            alerts: AlertSources {
                file: s.alerts_file,
                inline: s.alerts,
            },
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

pub(super) fn invalid(name: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        name,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests;
