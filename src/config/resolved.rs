//! The validated configuration the rest of the program reads, with its
//! defaults and the checks that need more than one setting.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{FlightAuth, FlightUser, RawTable, Result, Secret, Source, invalid};

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

/// TLS certificate and key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Flight SQL server settings.
#[derive(Debug, Clone)]
pub struct FlightConfig {
    /// Authentication mode.
    pub auth: FlightAuth,
    /// Users who may log in with a password (mode `basic`).
    pub users: Vec<FlightUser>,
    /// Static bearer tokens (modes `basic` and `bearer`).
    pub tokens: Vec<Secret>,
    /// Lifetime of issued bearer tokens.
    pub token_ttl: Duration,
    /// TLS, if enabled.
    pub tls: Option<TlsFiles>,
    /// Allow mode `none` on a non-loopback address.
    pub allow_unauthenticated: bool,
}

/// Limits of SQL queries.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Longest one query may run.
    pub timeout: Duration,
    /// Memory shared by all running queries, in bytes.
    pub memory_limit: u64,
    /// Queries that may run at once.
    pub max_concurrent: usize,
    /// Longest a query waits for a slot.
    pub queue_timeout: Duration,
}

/// Where alert rules and targets are written: an alerts file, the config
/// file's `[alerts]` section, or both (the alerts module parses and checks them).
#[derive(Debug, Clone, Default)]
pub struct AlertSources {
    /// `--alerts-file`.
    pub file: Option<PathBuf>,
    /// The config file's `[alerts]` section.
    pub inline: Option<RawTable>,
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
    /// Alert rules and delivery targets, as written.
    pub alerts: AlertSources,
    /// Simulator settings.
    pub sim: SimSettings,
    /// Flight SQL server settings.
    pub flight: FlightConfig,
    /// SQL query limits.
    pub query: QueryConfig,
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
            alerts: AlertSources::default(),
            sim: SimSettings {
                seed: 42,
                channels: 300,
                speed: 1.0,
                addr: ([127, 0, 0, 1], 8090).into(),
                error_rate: 0.0,
                rate_limit: 800,
                all_live: false,
            },
            flight: FlightConfig {
                auth: FlightAuth::None,
                users: Vec::new(),
                tokens: Vec::new(),
                token_ttl: Duration::from_secs(12 * 3600),
                tls: None,
                allow_unauthenticated: false,
            },
            query: QueryConfig {
                timeout: Duration::from_secs(300),
                memory_limit: 4 << 30,
                max_concurrent: 16,
                queue_timeout: Duration::from_secs(30),
            },
        }
    }
}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
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
        self.validate_flight()?;
        for (name, url) in [("helix-url", &self.helix_url), ("auth-url", &self.auth_url)] {
            url::Url::parse(url)
                .map_err(|e| invalid(name, format!("{url:?} is not a URL: {e}")))?;
        }
        Ok(())
    }
}

impl Config {
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
