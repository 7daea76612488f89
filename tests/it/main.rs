//! Integration tests: one binary, one module per area.
use std::path::PathBuf;

mod alert_crash;
mod alerting;
mod alerts;
mod app;
mod crash;
mod flight;
mod helix;
mod http;
mod lake;
mod live;
mod notify;
mod pipeline;
mod rig;
mod runner;
mod serving;

/// The Python interpreter of the test venv (`scripts/venv`).
pub(crate) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TM_TEST_PYTHON") {
        return p.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/twitch-monitor/venv/bin/python")
}
