//! Integration tests: one binary, one module per area.
use std::path::PathBuf;

mod alert_crash;
mod alert_recovery;
mod alerting;
mod alerts;
mod app;
mod chat;
mod config;
mod crash;
mod dashboard;
mod exports;
mod flight;
mod helix;
mod http;
mod lake;
mod live;
mod notify;
mod outage;
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

/// Runs `sql` through the ADBC Flight SQL driver against the server on
/// 127.0.0.1:`port`: the result as JSON lines, one object per row.
pub(crate) fn adbc_query(port: u16, sql: &str) -> String {
    let out = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/adbc_query.py"
        ))
        .args([port.to_string().as_str(), sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `cond` every 10 ms for up to 20 s (real time): a bounded wait for
/// something another task or process does, never a fixed sleep.
pub(crate) async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
