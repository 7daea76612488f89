//! Alerts: rules over the live state of each committed cycle (went live or
//! offline, viewer and follower swings, entering the top N, rising stars,
//! chat swings, and SQL rules), evaluated by a pure function that fires
//! once per episode, and turned into notifications for `notify`.
//!
//! [`AlertService`] is the consumer of cycles: after each committed cycle
//! it builds an [`Observation`] (the live set and follower totals, plus
//! rising stars, [`run_sql`] rows and `live.chat`; a source without data
//! leaves its rules idle), calls [`evaluate`] with the previous
//! [`AlertState`], records the fired [`Alert`]s in `gold.alerts` (the
//! outbox) and hands each alert's [`Alert::message`] to a
//! [`crate::notify::Dispatcher`] per target. [`RecentAlerts`] is
//! `live.alerts`.
//!
//! Rules and targets are read once at start-up ([`load`]); a bad rule stops
//! start-up with a message naming it. Start-up also records and sends the
//! alerts of a last cycle whose alerts commit a crash prevented (`recover`).
use std::path::{Path, PathBuf};

mod channels;
mod eval;
mod figures;
mod frame;
mod input;
mod intake;
mod levels;
mod outbox;
mod par;
mod parse;
mod prefetch;
mod record;
mod recover;
mod rules;
mod service;
mod sql;
mod state;
mod target;
#[cfg(test)]
mod tests;

pub use eval::{Evaluation, alert_id, evaluate};
pub use input::{ChatActivity, Observation, RisingStar, SqlRow};
pub use outbox::{RECENT_ALERTS, RecentAlerts};
pub use parse::{AlertsConfig, default_cooldown};
pub use record::{Alert, Delivery, DeliveryStatus, from_batches, schema, to_batch};
pub use rules::{Change, Condition, Direction, Rule, RuleKind, RuleSet, Scope};
pub use service::{AlertService, AlertServiceArgs};
pub use sql::{MAX_SQL_ROWS, SqlRun, run_sql, validate_sql};
pub use state::{AlertState, ENDED_WHEN_UNLISTED_FOR};

use crate::config::AlertSources;

/// What can be wrong with alert rules and targets (all found at start-up,
/// except a SQL rule's run-time failure, which [`run_sql`] reports).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The alerts file could not be read.
    #[error("cannot read alerts file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The alerts file is not TOML.
    #[error("invalid alerts file {path}: {source}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A rule is invalid.
    #[error("alert rule {rule:?}: {message}")]
    Rule {
        /// The rule's name (or `#N (no name)`).
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// A delivery target is invalid.
    #[error("alert target {target:?}: {message}")]
    Target {
        /// The target's name (or `#N (no name)`).
        target: String,
        /// What is wrong (never its URL or secret).
        message: String,
    },
    /// Rows read back from `gold.alerts` do not fit its schema.
    #[error("reading gold.alerts: {0}")]
    Record(String),
    /// A setting of the alerts section is invalid.
    #[error("alerts: {0}")]
    Invalid(String),
    /// Delivery could not be set up.
    #[error("alert delivery: {0}")]
    Delivery(#[source] crate::notify::Error),
}

/// Result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads the rules and targets from the alerts file and the config file's
/// `[alerts]` section (both may be given), resolving `*_env` secrets from
/// the process environment. No rules and no targets is valid: alerts off.
pub fn load(sources: &AlertSources) -> Result<AlertsConfig> {
    let env = |name: &str| std::env::var(name).ok();
    let mut parts = Vec::new();
    if let Some(inline) = &sources.inline {
        parts.push(AlertsConfig::from_table(inline.0.clone(), &env).map_err(in_section)?);
    }
    if let Some(path) = &sources.file {
        parts.push(from_file(path, &env)?);
    }
    AlertsConfig::merge(parts)
}

fn in_section(e: Error) -> Error {
    match e {
        Error::Invalid(m) => Error::Invalid(format!("[alerts] section: {m}")),
        other => other,
    }
}

/// Parses an alerts file (`[[rules]]`, `[[targets]]` and delivery settings
/// at its top level).
pub fn from_file(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<AlertsConfig> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|source| Error::ParseFile {
        path: path.to_owned(),
        source,
    })?;
    AlertsConfig::from_table(table, env).map_err(|e| match e {
        Error::Invalid(m) => Error::Invalid(format!("{}: {m}", path.display())),
        other => other,
    })
}
