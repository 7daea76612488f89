//! twitch-monitor: Twitch → Delta Lake medallion tables → Arrow Flight SQL.
//!
//! # Layout (data flows top to bottom; `docs/architecture.md` has the map)
//! - [`config`]: command line, environment and TOML file, validated into [`config::Config`].
//! - [`clock`]: the [`clock::Clock`] seam: system time, scaled simulator time, manual test time.
//! - [`shutdown`]: the one shutdown mechanism (a cancellation token) servers stop on.
//! - [`heap`]: hands memory freed after bursts of work back to the OS.
//! - [`schema`]: the data contract — every table and view, by layer.
//! - [`metrics`]: the Prometheus metrics (`prometheus-client`), labelled by table name.
//! - [`twitch`]: the Helix client (OAuth, endpoints, pagination, rate limits) and its models.
//! - [`chat`]: the Twitch chat client (IRC), chat sentiment, per-minute chat rows.
//! - [`sim`]: a deterministic Twitch world with chat, and local Helix and IRC servers over it.
//! - [`lake`]: Delta tables: open/create, idempotent appends, maintenance.
//! - [`live`]: in-memory live views, swapped whole at the end of every cycle.
//! - [`ingest`]: the cycle runner: poll → commit plan → bronze, silver, gold → consumers.
//! - [`query`]: the DataFusion catalog `twitch` over lake and live.
//! - [`flight`]: the Arrow Flight SQL service.
//! - [`http`]: health, readiness and `/metrics`.
//! - [`notify`]: Slack, Discord and signed webhook delivery in the background, with retries.
//! - [`alerts`]: alert rules evaluated over each committed cycle, fired once per episode.
//! - [`export`]: daily summaries and exports of each closed day's gold.
//! - [`app`]: the composition root; the only place concrete types are wired together.
//! - [`fuzzing`]: the fuzz entry points, one per input surface (`fuzz/`, `scripts/fuzz`).
#![warn(
    unreachable_pub,
    missing_debug_implementations,
    clippy::dbg_macro,
    clippy::todo,
    clippy::unimplemented
)]

pub mod alerts;
pub mod app;
mod background;
pub mod chat;
pub mod clock;
pub mod config;
pub mod export;
pub mod flight;
pub mod fuzzing;
pub mod heap;
pub mod http;
pub mod ingest;
pub mod lake;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod query;
pub mod schema;
pub mod shutdown;
pub mod sim;
pub mod twitch;

/// Logs to stderr, filtered by `RUST_LOG` or else [`DEFAULT_LOG_FILTER`]
/// (for the binary and the benchmarks).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The log filter used when `RUST_LOG` is unset: our info lines, others'
/// warnings, and none of the Delta kernel's start-up noise (a table that is
/// about to be created logs an error while it is probed).
pub const DEFAULT_LOG_FILTER: &str =
    "warn,twitch_monitor=info,deltalake_core=error,buoyant_kernel=off";
