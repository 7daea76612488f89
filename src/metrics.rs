//! The process's Prometheus metrics, recorded by the ingest and query layers
//! and rendered by `/metrics` in the OpenMetrics text format, through the
//! `prometheus-client` crate with typed label sets.
//!
//! Methods are named for what the caller did (`cycle_finished`,
//! `helix_request`, `query_started`…), so call sites read as events and the
//! metric names live in one place. The names, types and labels are a public
//! interface (dashboards and alerts use them); the README lists them.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::schema::Table;

mod chat;

pub use chat::ChatCounts;
use chat::ChatProbe;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const CYCLE_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
const QUERY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How an ingest cycle or a query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Completed.
    Ok,
    /// Failed with an error.
    Error,
    /// Abandoned before completing (a query whose client went away).
    Cancelled,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Table {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.qualified_name())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HelixLabels {
    endpoint: String,
    /// The HTTP status, or `error` when no answer came.
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: Table,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    /// The alert rule's name from the rules file.
    rule: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    /// The delivery target's name (never its URL).
    target: String,
    /// `delivered` or `failed`.
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// A gauge without a sample until it is first set: before Helix answers,
/// the rate limit is unknown, not 0 (which would page someone).
#[derive(Debug, Clone)]
struct LatestValue(Arc<AtomicI64>);

const UNSET: i64 = i64::MIN;

impl EncodeMetric for LatestValue {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        match self.0.load(Ordering::Relaxed) {
            UNSET => Ok(()),
            v => encoder.encode_gauge(&v),
        }
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }

    fn is_empty(&self) -> bool {
        self.0.load(Ordering::Relaxed) == UNSET
    }
}

/// The cheap-clone handle to the registry; clones record into the same metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    cycles: Family<OutcomeLabels, Counter>,
    cycle_duration: Histogram,
    helix_requests: Family<HelixLabels, Counter>,
    rate_limit_remaining: LatestValue,
    rows_written: Family<TableLabels, Counter>,
    queries: Family<OutcomeLabels, Counter>,
    query_duration: Histogram,
    active_queries: Gauge,
    alerts_fired: Family<RuleLabels, Counter>,
    alert_deliveries: Family<DeliveryLabels, Counter>,
    alert_rule_errors: Family<RuleLabels, Counter>,
    alerts_pending: Gauge,
    export_sends: Family<DeliveryLabels, Counter>,
    exports_pending: Gauge,
    polls_waiting: Gauge,
    polls_dropped: Counter,
    chat: ChatProbe,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(env!("CARGO_PKG_VERSION"))
    }
}

impl Metrics {
    /// A registry reporting `version` in `twitch_monitor_build_info`.
    pub fn new(version: &str) -> Self {
        let build = Family::<BuildLabels, Gauge>::default();
        let version = version.to_owned();
        build.get_or_create(&BuildLabels { version }).set(1);
        let (cycles, queries) = (Family::default(), Family::default());
        // Known outcomes start at 0 so rate() sees the first increment.
        for outcome in [Outcome::Ok, Outcome::Error] {
            let _ = cycles.get_or_create(&OutcomeLabels { outcome });
            let _ = queries.get_or_create(&OutcomeLabels { outcome });
        }
        let mut i = Inner {
            registry: Registry::with_prefix("twitch_monitor"),
            cycles,
            cycle_duration: Histogram::new(CYCLE_BUCKETS.iter().copied()),
            helix_requests: Family::default(),
            rate_limit_remaining: LatestValue(Arc::new(AtomicI64::new(UNSET))),
            rows_written: Family::default(),
            queries,
            query_duration: Histogram::new(QUERY_BUCKETS.iter().copied()),
            active_queries: Gauge::default(),
            alerts_fired: Family::default(),
            alert_deliveries: Family::default(),
            alert_rule_errors: Family::default(),
            alerts_pending: Gauge::default(),
            export_sends: Family::default(),
            exports_pending: Gauge::default(),
            polls_waiting: Gauge::default(),
            polls_dropped: Counter::default(),
            chat: ChatProbe::default(),
        };
        // In the order of the old hand-written exposition; the registry adds
        // each help text's final ".".
        let r = &mut i.registry;
        r.register("build_info", "Build information; always 1", build);
        r.register(
            "cycles",
            "Ingest cycles finished, by outcome",
            i.cycles.clone(),
        );
        let help = "Wall time of one ingest cycle";
        r.register_with_unit(
            "cycle_duration",
            help,
            Unit::Seconds,
            i.cycle_duration.clone(),
        );
        let help = "Helix API requests, by endpoint and HTTP status";
        r.register("helix_requests", help, i.helix_requests.clone());
        let help = "Helix rate-limit points left in the current window";
        r.register("rate_limit_remaining", help, i.rate_limit_remaining.clone());
        r.register(
            "rows_written",
            "Rows committed, by table",
            i.rows_written.clone(),
        );
        r.register(
            "queries",
            "SQL queries finished, by outcome",
            i.queries.clone(),
        );
        let help = "Time from a query's start to its end";
        r.register_with_unit(
            "query_duration",
            help,
            Unit::Seconds,
            i.query_duration.clone(),
        );
        r.register(
            "active_queries",
            "SQL queries running now",
            i.active_queries.clone(),
        );
        r.register(
            "alerts_fired",
            "Alerts fired, by rule",
            i.alerts_fired.clone(),
        );
        let help = "Alert deliveries that ended, by target and status (delivered, failed)";
        r.register("alert_deliveries", help, i.alert_deliveries.clone());
        let help = "Alert rule evaluations that failed (a SQL rule's query), by rule";
        r.register("alert_rule_errors", help, i.alert_rule_errors.clone());
        let help = "Alert deliveries not delivered yet (queued or retrying)";
        r.register("alerts_pending", help, i.alerts_pending.clone());
        let help = "Daily export sends that ended, by target and status (sent, failed)";
        r.register("export_sends", help, i.export_sends.clone());
        let help = "Daily exports (day and target) not sent yet (queued or retrying)";
        r.register("exports_pending", help, i.exports_pending.clone());
        let help = "Helix polls waiting for the lake to take their commit";
        r.register("polls_waiting", help, i.polls_waiting.clone());
        let help = "Helix polls dropped while waiting for the lake (over --backlog-limit)";
        r.register("polls_dropped", help, i.polls_dropped.clone());
        i.chat.clone().register(&mut i.registry);
        Self { inner: Arc::new(i) }
    }

    /// An ingest cycle ended after `duration`.
    pub fn cycle_finished(&self, outcome: Outcome, duration: Duration) {
        self.inner
            .cycles
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.inner.cycle_duration.observe(duration.as_secs_f64());
    }

    /// After a cycle: `waiting` polls wait for the lake, and `dropped` were
    /// dropped while waiting since start.
    pub fn backlog(&self, waiting: usize, dropped: u64) {
        self.inner.polls_waiting.set(waiting as i64);
        let counted = self.inner.polls_dropped.get();
        self.inner
            .polls_dropped
            .inc_by(dropped.saturating_sub(counted));
    }

    /// A Helix request to `endpoint` (e.g. `streams`) answered with HTTP
    /// `status`, or failed before any answer (`None`: label `error`).
    pub fn helix_request(&self, endpoint: &str, status: Option<u16>) {
        let labels = HelixLabels {
            endpoint: endpoint.to_owned(),
            status: status.map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        self.inner.helix_requests.get_or_create(&labels).inc();
    }

    /// The latest `Ratelimit-Remaining` Helix reported.
    pub fn rate_limit_remaining(&self, remaining: i64) {
        self.inner
            .rate_limit_remaining
            .0
            .store(remaining.max(UNSET + 1), Ordering::Relaxed);
    }

    /// `rows` rows were committed to `table`.
    pub fn rows_written(&self, table: Table, rows: u64) {
        self.inner
            .rows_written
            .get_or_create(&TableLabels { table })
            .inc_by(rows);
    }

    /// Rule `rule` fired an alert.
    pub fn alert_fired(&self, rule: &str) {
        let labels = RuleLabels {
            rule: rule.to_owned(),
        };
        self.inner.alerts_fired.get_or_create(&labels).inc();
    }

    /// A delivery to `target` ended: `delivered` or `failed`.
    pub fn alert_delivery(&self, target: &str, status: &str) {
        let labels = DeliveryLabels {
            target: target.to_owned(),
            status: status.to_owned(),
        };
        self.inner.alert_deliveries.get_or_create(&labels).inc();
    }

    /// Rule `rule` could not be evaluated (a SQL rule's query failed).
    pub fn alert_rule_failed(&self, rule: &str) {
        let labels = RuleLabels {
            rule: rule.to_owned(),
        };
        self.inner.alert_rule_errors.get_or_create(&labels).inc();
    }

    /// Alert deliveries waiting to be delivered now (queued or retrying).
    pub fn alerts_pending(&self, pending: usize) {
        let n = i64::try_from(pending).unwrap_or(i64::MAX);
        self.inner.alerts_pending.set(n);
    }

    /// A daily export send to `target` ended with `status` (`sent`, `failed`).
    pub fn export_send(&self, target: &str, status: &str) {
        let labels = DeliveryLabels {
            target: target.to_owned(),
            status: status.to_owned(),
        };
        self.inner.export_sends.get_or_create(&labels).inc();
    }

    /// Daily exports (day and target) not sent yet.
    pub fn exports_pending(&self, pending: usize) {
        self.inner
            .exports_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Reports the chat client's counters, read by `probe` at every scrape.
    pub fn chat_probe(&self, probe: impl Fn() -> ChatCounts + Send + Sync + 'static) {
        self.inner.chat.install(Arc::new(probe));
    }

    /// A query starts; the guard counts it as active until it is finished
    /// or dropped (a dropped, unfinished guard records `cancelled`).
    pub fn query_started(&self) -> QueryGuard {
        self.inner.active_queries.inc();
        QueryGuard {
            metrics: self.clone(),
            started: Instant::now(),
            outcome: None,
        }
    }

    /// Everything, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        out
    }
}

/// A running query (see [`Metrics::query_started`]).
#[derive(Debug)]
pub struct QueryGuard {
    metrics: Metrics,
    started: Instant,
    outcome: Option<Outcome>,
}

impl QueryGuard {
    /// Ends the query with `outcome` (recorded when the guard drops now).
    pub fn finish(mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }

    /// Ends the query as ok or error by a result.
    pub fn finish_with<T, E>(self, result: &Result<T, E>) {
        self.finish(if result.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        });
    }
}

impl Drop for QueryGuard {
    fn drop(&mut self) {
        let i = &self.metrics.inner;
        i.active_queries.dec();
        let outcome = self.outcome.unwrap_or(Outcome::Cancelled);
        i.queries.get_or_create(&OutcomeLabels { outcome }).inc();
        i.query_duration
            .observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_histograms() {
        let m = Metrics::new("1.2.3");
        assert!(!m.render().contains("rate_limit_remaining"));
        m.cycle_finished(Outcome::Ok, Duration::from_millis(300));
        m.cycle_finished(Outcome::Ok, Duration::from_secs(7));
        m.helix_request("streams", Some(200));
        m.helix_request("streams", None);
        m.rows_written(Table::HelixResponses, 5);
        m.rows_written(Table::HelixResponses, 2);
        m.rate_limit_remaining(799);
        let text = m.render();
        for line in [
            "twitch_monitor_build_info{version=\"1.2.3\"} 1",
            "twitch_monitor_cycles_total{outcome=\"ok\"} 2",
            "twitch_monitor_cycles_total{outcome=\"error\"} 0",
            "twitch_monitor_cycle_duration_seconds_bucket{le=\"0.25\"} 0",
            "twitch_monitor_cycle_duration_seconds_bucket{le=\"0.5\"} 1",
            "twitch_monitor_cycle_duration_seconds_bucket{le=\"10.0\"} 2",
            "twitch_monitor_cycle_duration_seconds_bucket{le=\"+Inf\"} 2",
            "twitch_monitor_cycle_duration_seconds_sum 7.3",
            "twitch_monitor_cycle_duration_seconds_count 2",
            "twitch_monitor_helix_requests_total{endpoint=\"streams\",status=\"200\"} 1",
            "twitch_monitor_helix_requests_total{endpoint=\"streams\",status=\"error\"} 1",
            "twitch_monitor_rate_limit_remaining 799",
            "twitch_monitor_rows_written_total{table=\"bronze.helix_responses\"} 7",
            "# TYPE twitch_monitor_query_duration_seconds histogram",
            "# HELP twitch_monitor_cycles Ingest cycles finished, by outcome.",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn query_guard_tracks_active_queries_and_outcomes() {
        let m = Metrics::default();
        let a = m.query_started();
        let b = m.query_started();
        assert!(m.render().contains("\ntwitch_monitor_active_queries 2\n"));
        a.finish(Outcome::Ok);
        drop(b);
        let text = m.render();
        assert!(
            text.contains("\ntwitch_monitor_active_queries 0\n"),
            "{text}"
        );
        assert!(text.contains("twitch_monitor_queries_total{outcome=\"ok\"} 1\n"));
        assert!(text.contains("twitch_monitor_queries_total{outcome=\"cancelled\"} 1\n"));
        assert!(text.contains("twitch_monitor_query_duration_seconds_count 2\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.helix_request("we\"ird\\endpoint\nname", Some(200));
        assert!(
            m.render()
                .contains(r#"{endpoint="we\"ird\\endpoint\nname",status="200"} 1"#)
        );
    }
}
