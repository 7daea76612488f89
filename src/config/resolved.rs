//! The configuration the rest of the program reads. Each field that is a
//! setting carries its whole declaration — flag, environment variable,
//! default, and its doc comment as the help text — and the TOML key is its
//! id (the flag name with `_`). Fields marked `skip` are derived from the
//! settings in [`super::Inputs`] when the configuration is resolved.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{ArgAction, Args, FromArgMatches};

use super::values::{byte_size, list, secret_list};
use super::{ExportSettings, FlightAuth, FlightUser, RawTable, Result, Secret, Source, invalid};
use humantime::parse_duration as duration;

/// Twitch application credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Client id (public).
    pub client_id: String,
    /// Client secret (never printed).
    pub client_secret: Secret,
}

/// TLS certificate and key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

// Lists are typed `std::vec::Vec` on purpose: spelt out, clap's derive takes
// the list as one value split by `list` (empty items dropped), rather than as
// a flag repeated once per item.

/// The validated configuration.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Data source (from `--source` and the credentials).
    #[arg(skip = Source::Sim)]
    pub source: Source,
    /// Twitch credentials (None with the simulator).
    #[arg(skip)]
    pub credentials: Option<Credentials>,
    /// Helix base URL.
    #[arg(long, env = "TWITCH_HELIX_URL")]
    #[arg(default_value = "https://api.twitch.tv/helix")]
    pub helix_url: String,
    /// OAuth base URL.
    #[arg(long, env = "TWITCH_AUTH_URL")]
    #[arg(default_value = "https://id.twitch.tv/oauth2")]
    pub auth_url: String,
    /// Lake location: a path, or an s3://, az://, abfss://, gs:// URL.
    #[arg(long, env = "TM_LAKE", default_value = "./data")]
    pub lake: String,
    /// Flight SQL listen address.
    #[arg(long, env = "TM_FLIGHT_ADDR")]
    #[arg(default_value = "127.0.0.1:50051")]
    pub flight_addr: SocketAddr,
    /// HTTP (health, metrics) listen address.
    #[arg(long, env = "TM_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Time between ingest cycle starts.
    #[arg(long, env = "TM_POLL_INTERVAL", default_value = "60s")]
    #[arg(value_parser = duration)]
    pub poll_interval: Duration,
    /// Watched channels (logins, comma-separated).
    #[arg(long, env = "TM_CHANNELS", default_value = "")]
    #[arg(value_parser = list)]
    pub channels: std::vec::Vec<String>,
    /// Watched categories (game ids or exact names, comma-separated).
    #[arg(long, env = "TM_CATEGORIES", default_value = "")]
    #[arg(value_parser = list)]
    pub categories: std::vec::Vec<String>,
    /// Watched stream languages (ISO 639-1 codes, comma-separated).
    #[arg(long, env = "TM_LANGUAGES", default_value = "")]
    #[arg(value_parser = list)]
    pub languages: std::vec::Vec<String>,
    /// Also poll the top N live streams each cycle (0 = off).
    #[arg(long, env = "TM_TOP_N", default_value = "100")]
    pub top_n: usize,
    /// Sweep every live stream each cycle (from `--full-sweep`; default: on for the simulator).
    #[arg(skip = true)]
    pub full_sweep: bool,
    /// Most pages one paginated sweep may read.
    #[arg(long, env = "TM_MAX_PAGES", default_value = "1500")]
    pub max_pages: usize,
    /// Timeout of one Helix HTTP request.
    #[arg(long, env = "TM_REQUEST_TIMEOUT", default_value = "10s")]
    #[arg(value_parser = duration)]
    pub request_timeout: Duration,
    /// Retries of a request after a 5xx or a timeout.
    #[arg(long, env = "TM_MAX_RETRIES", default_value = "4")]
    pub max_retries: u32,
    /// Follower totals are refreshed this often per channel (round-robin).
    #[arg(long, env = "TM_FOLLOWER_INTERVAL", default_value = "15m")]
    #[arg(value_parser = duration)]
    pub follower_interval: Duration,
    /// A restart within this gap continues the same stream session.
    #[arg(long, env = "TM_SESSION_GAP", default_value = "10m")]
    #[arg(value_parser = duration)]
    pub session_gap: Duration,
    /// Helix responses kept in memory while the lake refuses commits (committed in order once it takes them; beyond this the oldest are dropped).
    #[arg(long, env = "TM_BACKLOG_LIMIT", default_value = "512MiB")]
    #[arg(value_parser = byte_size)]
    pub backlog_limit: u64,
    /// How often `serve` compacts, checkpoints and vacuums (0s = never).
    #[arg(long, env = "TM_MAINTAIN_INTERVAL", default_value = "24h")]
    #[arg(value_parser = duration)]
    pub maintain_interval: Duration,
    /// How often `serve` merges today's small files and those of the tables not partitioned by day (one per table per cycle; 0s = never).
    #[arg(long, env = "TM_COMPACT_INTERVAL", default_value = "1h")]
    #[arg(value_parser = duration)]
    pub compact_interval: Duration,
    /// Files removed from a bronze or silver table (except `silver.stream_sessions` and `silver.chat_minutes`), or from `gold.alerts` and `gold.exports` (by compaction, by upserts), are kept this long before vacuum deletes them; the tables' `delta.deletedFileRetentionDuration` is set to it, so their checkpoints carry the record of removed files that long.
    #[arg(long, env = "TM_VACUUM_RETENTION", default_value = "1d")]
    #[arg(value_parser = duration)]
    pub vacuum_retention: Duration,
    /// The same for the tables that cycles rewrite: the gold tables (a day's partition every cycle; all but `gold.alerts` and `gold.exports`), `silver.stream_sessions` (every open session, every cycle) and `silver.chat_minutes` (today's, every cycle). Their removed files are vacuumed at every compaction of today's files once older than this, which is also as far back as they can be read (time travel). They are derived, so their history is not kept a day as well.
    #[arg(long, env = "TM_GOLD_RETENTION", default_value = "1h")]
    #[arg(value_parser = duration)]
    pub gold_retention: Duration,
    /// Delta log entries (`_delta_log`) older than this are removed by maintenance and by each compaction of today's files; versions older than this can no longer be read (time travel). Every commit lists the log, so one commit a minute per table for Delta's default of 30 days would make every commit slower.
    #[arg(long, env = "TM_LOG_RETENTION", default_value = "1d")]
    #[arg(value_parser = duration)]
    pub log_retention: Duration,
    /// Alert rules and delivery targets, as written.
    #[command(flatten, next_help_heading = "Alerts")]
    pub alerts: AlertSources,
    /// Daily export settings.
    #[command(flatten, next_help_heading = "Exports")]
    pub export: ExportSettings,
    /// Chat settings.
    #[command(flatten, next_help_heading = "Chat")]
    pub chat: ChatSettings,
    /// Simulator settings.
    #[command(flatten, next_help_heading = "Simulator")]
    pub sim: SimSettings,
    /// Flight SQL server settings.
    #[command(flatten, next_help_heading = "Flight SQL")]
    pub flight: FlightConfig,
    /// SQL query limits.
    #[command(flatten, next_help_heading = "Queries")]
    pub query: QueryConfig,
    /// The Twitch user token for follower totals (`twitch-monitor login`).
    #[command(flatten, next_help_heading = "Twitch user token")]
    pub user_token: super::UserTokenSettings,
}

/// Where alert rules and targets are written: an alerts file, the config
/// file's `[alerts]` section, or both (the alerts module parses and checks them).
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct AlertSources {
    /// TOML file of alert rules and delivery targets (`[[rules]]`, `[[targets]]`).
    #[arg(id = "alerts_file", long = "alerts-file", env = "TM_ALERTS_FILE")]
    pub file: Option<PathBuf>,
    /// The config file's `[alerts]` section (same keys as the alerts file);
    /// only the TOML file can hold it.
    #[arg(skip)]
    pub inline: Option<RawTable>,
}

/// Chat settings.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ChatSettings {
    /// Chat server, `ircs://host:port` or `irc://host:port` (default: Twitch's, or the simulator's).
    #[arg(id = "chat_addr", long = "chat-addr", env = "TM_CHAT_ADDR")]
    pub addr: Option<String>,
    /// Chat joined beyond the watched channels (from `--chat-top-n` and the source).
    #[arg(skip)]
    pub top_n: usize,
    /// Chat kept in memory between cycles (e.g. `64MiB`); more is dropped and counted.
    #[arg(id = "chat_buffer", long = "chat-buffer", env = "TM_CHAT_BUFFER")]
    #[arg(default_value = "64MiB", value_parser = byte_size)]
    pub buffer_bytes: u64,
}

/// Simulator settings.
#[derive(Debug, Clone, Args)]
pub struct SimSettings {
    /// Simulator: seed of the simulated world (same seed, same world).
    #[arg(id = "sim_seed", long = "sim-seed", env = "TM_SIM_SEED")]
    #[arg(default_value = "42")]
    pub seed: u64,
    /// Simulator: number of channels in the world.
    #[arg(id = "sim_channels", long = "sim-channels")]
    #[arg(env = "TM_SIM_CHANNELS", default_value = "300")]
    pub channels: usize,
    /// Simulator: simulated seconds per real second (60 = a minute per second).
    #[arg(id = "sim_speed", long = "sim-speed", env = "TM_SIM_SPEED")]
    #[arg(default_value = "1")]
    pub speed: f64,
    /// Simulator: the simulated time it starts at, RFC 3339 (e.g.
    /// `2026-03-01T23:50:00Z`; default: now). A lake that already holds
    /// later data resumes after it instead: time never runs backwards.
    #[arg(id = "sim_start", long = "sim-start", env = "TM_SIM_START")]
    #[arg(value_parser = sim_start)]
    pub start: Option<DateTime<Utc>>,
    /// Simulator: listen address of `twitch-monitor sim`.
    #[arg(id = "sim_addr", long = "sim-addr", env = "TM_SIM_ADDR")]
    #[arg(default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    /// Simulator: fraction of Helix requests answered with a 5xx (0..1).
    #[arg(id = "sim_error_rate", long = "sim-error-rate")]
    #[arg(env = "TM_SIM_ERROR_RATE", default_value = "0")]
    pub error_rate: f64,
    /// Simulator: Helix rate-limit bucket size per minute (0 = no limit).
    #[arg(id = "sim_rate_limit", long = "sim-rate-limit")]
    #[arg(env = "TM_SIM_RATE_LIMIT", default_value = "800")]
    pub rate_limit: u32,
    /// Simulator: every channel live from the start (load tests and benchmarks).
    #[arg(id = "sim_all_live", long = "sim-all-live")]
    #[arg(env = "TM_SIM_ALL_LIVE", default_value = "false")]
    #[arg(action = ArgAction::Set)]
    pub all_live: bool,
    /// Simulator: a channel whose stream ends starts its next one the minute
    /// after (with --sim-all-live, that many live streams all day: soaks).
    #[arg(id = "sim_keep_live", long = "sim-keep-live")]
    #[arg(env = "TM_SIM_KEEP_LIVE", default_value = "false")]
    #[arg(action = ArgAction::Set)]
    pub keep_live: bool,
}

/// Flight SQL server settings.
#[derive(Debug, Clone, Args)]
pub struct FlightConfig {
    /// Flight SQL authentication: `none`, `basic` (users + tokens) or `bearer` (tokens).
    #[arg(id = "flight_auth", long = "flight-auth")]
    #[arg(env = "TM_FLIGHT_AUTH", default_value = "none")]
    pub auth: FlightAuth,
    /// Users who may log in with a password (from `--flight-users`).
    #[arg(skip)]
    pub users: Vec<FlightUser>,
    /// Static Flight SQL bearer tokens, comma-separated (never logged).
    #[arg(id = "flight_tokens", long = "flight-tokens")]
    #[arg(env = "TM_FLIGHT_TOKENS", default_value = "")]
    #[arg(value_parser = secret_list, hide_env_values = true)]
    pub tokens: std::vec::Vec<Secret>,
    /// Lifetime of the bearer tokens issued at login.
    #[arg(id = "flight_token_ttl", long = "flight-token-ttl")]
    #[arg(env = "TM_FLIGHT_TOKEN_TTL", default_value = "12h")]
    #[arg(value_parser = duration)]
    pub token_ttl: Duration,
    /// TLS, if enabled (from `--flight-tls-cert` and `--flight-tls-key`).
    #[arg(skip)]
    pub tls: Option<TlsFiles>,
    /// Serve Flight SQL without authentication on a non-loopback address.
    #[arg(id = "flight_allow_unauthenticated")]
    #[arg(long = "flight-allow-unauthenticated")]
    #[arg(env = "TM_FLIGHT_ALLOW_UNAUTHENTICATED")]
    #[arg(default_value = "false", action = ArgAction::Set)]
    pub allow_unauthenticated: bool,
}

/// Limits of SQL queries.
#[derive(Debug, Clone, Args)]
pub struct QueryConfig {
    /// Longest one SQL query may run.
    #[arg(id = "query_timeout", long = "query-timeout")]
    #[arg(env = "TM_QUERY_TIMEOUT", default_value = "5m")]
    #[arg(value_parser = duration)]
    pub timeout: Duration,
    /// Memory shared by all running queries (e.g. `4GiB`); more fails the query.
    #[arg(id = "query_memory_limit", long = "query-memory-limit")]
    #[arg(env = "TM_QUERY_MEMORY_LIMIT", default_value = "4GiB")]
    #[arg(value_parser = byte_size)]
    pub memory_limit: u64,
    /// Queries that may run at once; more wait for a slot.
    #[arg(id = "max_concurrent_queries")]
    #[arg(long = "max-concurrent-queries")]
    #[arg(env = "TM_MAX_CONCURRENT_QUERIES", default_value = "16")]
    pub max_concurrent: usize,
    /// Longest a query waits for a slot before it is refused as busy.
    #[arg(id = "query_queue_timeout", long = "query-queue-timeout")]
    #[arg(env = "TM_QUERY_QUEUE_TIMEOUT", default_value = "30s")]
    #[arg(value_parser = duration)]
    pub queue_timeout: Duration,
    /// How much lower the CPU priority of the query threads and of lake
    /// maintenance is than ingest's (Linux nice, 0–19): when both want the
    /// cores, cycles get them first. 0 runs them at ingest's priority.
    #[arg(id = "query_nice", long = "query-nice")]
    #[arg(env = "TM_QUERY_NICE", default_value = "10")]
    #[arg(value_parser = clap::value_parser!(i32).range(0..=19))]
    pub nice: i32,
}

/// What the declarations give with no flags, no environment and no file.
pub(super) fn declared_defaults<T: Args + FromArgMatches>() -> T {
    let cmd = T::augment_args(clap::Command::new("defaults").no_binary_name(true))
        .mut_args(|a| a.env(None::<&'static str>));
    cmd.try_get_matches_from(std::iter::empty::<&str>())
        .and_then(|m| T::from_arg_matches(&m))
        .unwrap_or_else(|e| panic!("a declared default does not parse: {e}"))
}

impl Default for Config {
    fn default() -> Self {
        declared_defaults()
    }
}

impl Default for ChatSettings {
    fn default() -> Self {
        declared_defaults()
    }
}

impl Default for SimSettings {
    fn default() -> Self {
        declared_defaults()
    }
}

impl Default for FlightConfig {
    fn default() -> Self {
        declared_defaults()
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        declared_defaults()
    }
}

impl Config {
    /// Checks the values that cannot work, alone or together.
    pub fn validate(&self) -> Result<()> {
        if self.poll_interval.is_zero() {
            return Err(invalid("poll-interval", "must be greater than zero"));
        }
        self.export.validate()?;
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
        self.validate_flight()?;
        if let Some(addr) = &self.chat.addr {
            let ok = url::Url::parse(addr)
                .is_ok_and(|u| matches!(u.scheme(), "irc" | "ircs") && u.host_str().is_some());
            if !ok {
                return Err(invalid(
                    "chat-addr",
                    "expected ircs://host:port (TLS) or irc://host:port",
                ));
            }
        }
        if self.chat.buffer_bytes < 1 << 20 {
            return Err(invalid("chat-buffer", "must be at least 1MiB"));
        }
        for (name, url) in [("helix-url", &self.helix_url), ("auth-url", &self.auth_url)] {
            url::Url::parse(url)
                .map_err(|e| invalid(name, format!("{url:?} is not a URL: {e}")))?;
        }
        Ok(())
    }

    fn validate_flight(&self) -> Result<()> {
        let f = &self.flight;
        match f.auth {
            FlightAuth::Basic if f.users.is_empty() => {
                return Err(invalid(
                    "flight-users",
                    "--flight-auth basic needs at least one user",
                ));
            }
            FlightAuth::Bearer if f.tokens.is_empty() => {
                return Err(invalid(
                    "flight-tokens",
                    "--flight-auth bearer needs at least one token",
                ));
            }
            FlightAuth::None
                if !self.flight_addr.ip().is_loopback() && !f.allow_unauthenticated =>
            {
                return Err(invalid(
                    "flight-auth",
                    format!(
                        "refusing to serve Flight SQL without authentication on {}; set --flight-auth \
                         or --flight-allow-unauthenticated true",
                        self.flight_addr
                    ),
                ));
            }
            _ => {}
        }
        if f.tokens.iter().any(|t| t.expose().len() < 16) {
            return Err(invalid(
                "flight-tokens",
                "every token needs at least 16 characters",
            ));
        }
        if f.token_ttl.is_zero() {
            return Err(invalid("flight-token-ttl", "must be greater than zero"));
        }
        let q = &self.query;
        if q.timeout.is_zero() || q.queue_timeout.is_zero() {
            return Err(invalid(
                "query-timeout",
                "query timeouts must be greater than zero",
            ));
        }
        if q.max_concurrent == 0 {
            return Err(invalid("max-concurrent-queries", "must be at least 1"));
        }
        if q.memory_limit < 1 << 20 {
            return Err(invalid("query-memory-limit", "must be at least 1MiB"));
        }
        Ok(())
    }
}

/// Parses `--sim-start`: an RFC 3339 instant, any offset, kept in UTC.
fn sim_start(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-03-01T23:50:00Z ({e})"))
}
