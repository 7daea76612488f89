//! Operations endpoints: `/healthz` (the process is up), `/readyz` (it is
//! doing its job, per an injected probe) and `/metrics` (Prometheus text).
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::HttpState;
use crate::metrics;

/// Answers "is this process ready for traffic?": `Ok` or the reason it is not.
/// Implemented for closures, so the composition root can write
/// `Arc::new(move || …)` over whatever it owns (lake, live views, clock).
pub trait Readiness: Send + Sync + 'static {
    /// `Ok(())` when ready, else a human-readable reason.
    fn check(&self) -> Result<(), String>;
}

impl<F> Readiness for F
where
    F: Fn() -> Result<(), String> + Send + Sync + 'static,
{
    fn check(&self) -> Result<(), String> {
        self()
    }
}

/// The usual freshness rule: ready once a cycle finished within `max_age`
/// of `now` (e.g. 3 × the poll interval).
pub fn cycle_freshness(
    last_finished: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<(), String> {
    let Some(last) = last_finished else {
        return Err("no ingest cycle has finished yet".to_owned());
    };
    let age = (now - last).to_std().unwrap_or_default();
    if age > max_age {
        return Err(format!(
            "last ingest cycle finished {} ago (limit {})",
            humantime::format_duration(Duration::from_secs(age.as_secs())),
            humantime::format_duration(max_age)
        ));
    }
    Ok(())
}

pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

pub(super) async fn readyz(State(state): State<HttpState>) -> Response {
    match state.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

pub(super) async fn metrics_text(State(state): State<HttpState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_needs_a_recent_cycle() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .to_utc();
        let limit = Duration::from_secs(180);
        assert!(
            cycle_freshness(None, now, limit)
                .unwrap_err()
                .contains("no ingest cycle")
        );
        assert_eq!(
            cycle_freshness(Some(now - chrono::TimeDelta::seconds(179)), now, limit),
            Ok(())
        );
        let err =
            cycle_freshness(Some(now - chrono::TimeDelta::seconds(600)), now, limit).unwrap_err();
        assert_eq!(err, "last ingest cycle finished 10m ago (limit 3m)");
    }
}
