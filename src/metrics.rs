//! The process's Prometheus metrics: a small registry on std alone (atomics
//! and short-held mutexes), recorded by the ingest and query layers and
//! rendered by `/metrics` in the text exposition format 0.0.4.
//!
//! Methods are named for what the caller did (`cycle_finished`,
//! `helix_request`, `query_started`…), so call sites read as events and the
//! metric names live in one place.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const CYCLE_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
const QUERY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Stored in a gauge that has no value yet (rendered as no sample).
const UNSET: i64 = i64::MIN;

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

/// The cheap-clone handle to the registry; clones record into the same metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    version: String,
    cycles: Counter,
    helix_requests: Counter,
    rate_limit_remaining: AtomicI64,
    rows_written: Counter,
    cycle_duration: Histogram,
    queries: Counter,
    query_duration: Histogram,
    active_queries: AtomicI64,
    alerts_fired: Counter,
    alert_deliveries: Counter,
    alert_rule_errors: Counter,
    alerts_pending: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(env!("CARGO_PKG_VERSION"))
    }
}

impl Metrics {
    /// A registry reporting `version` in `twitch_monitor_build_info`.
    pub fn new(version: &str) -> Self {
        let outcomes = [Outcome::Ok, Outcome::Error];
        let inner = Inner {
            version: version.to_owned(),
            cycles: Counter::new(&["outcome"]),
            helix_requests: Counter::new(&["endpoint", "status"]),
            rate_limit_remaining: AtomicI64::new(UNSET),
            rows_written: Counter::new(&["table"]),
            cycle_duration: Histogram::new(CYCLE_BUCKETS),
            queries: Counter::new(&["outcome"]),
            query_duration: Histogram::new(QUERY_BUCKETS),
            active_queries: AtomicI64::new(0),
            alerts_fired: Counter::new(&["rule"]),
            alert_deliveries: Counter::new(&["target", "status"]),
            alert_rule_errors: Counter::new(&["rule"]),
            alerts_pending: AtomicI64::new(0),
        };
        // Known outcomes start at 0 so rate() sees the first increment.
        for o in outcomes {
            inner.cycles.add(&[o.as_str()], 0);
            inner.queries.add(&[o.as_str()], 0);
        }
        Self {
            inner: Arc::new(inner),
        }
    }

    /// An ingest cycle ended after `duration`.
    pub fn cycle_finished(&self, outcome: Outcome, duration: Duration) {
        self.inner.cycles.add(&[outcome.as_str()], 1);
        self.inner.cycle_duration.observe(duration.as_secs_f64());
    }

    /// A Helix request to `endpoint` (e.g. `streams`) answered with HTTP
    /// `status`, or failed before any answer (`None`: label `error`).
    pub fn helix_request(&self, endpoint: &str, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.inner.helix_requests.add(&[endpoint, &status], 1);
    }

    /// The latest `Ratelimit-Remaining` Helix reported.
    pub fn rate_limit_remaining(&self, remaining: i64) {
        self.inner
            .rate_limit_remaining
            .store(remaining, Ordering::Relaxed);
    }

    /// `rows` rows were committed to `table` (e.g. `silver.stream_snapshots`).
    pub fn rows_written(&self, table: &str, rows: u64) {
        self.inner.rows_written.add(&[table], rows);
    }

    /// Rule `rule` fired an alert.
    pub fn alert_fired(&self, rule: &str) {
        self.inner.alerts_fired.add(&[rule], 1);
    }

    /// A delivery to `target` ended: `delivered` or `failed`.
    pub fn alert_delivery(&self, target: &str, status: &str) {
        self.inner.alert_deliveries.add(&[target, status], 1);
    }

    /// Rule `rule` could not be evaluated (a SQL rule's query failed).
    pub fn alert_rule_failed(&self, rule: &str) {
        self.inner.alert_rule_errors.add(&[rule], 1);
    }

    /// Alert deliveries waiting to be delivered now (queued or retrying).
    pub fn alerts_pending(&self, pending: usize) {
        let n = i64::try_from(pending).unwrap_or(i64::MAX);
        self.inner.alerts_pending.store(n, Ordering::Relaxed);
    }

    /// A query starts; the guard counts it as active until it is finished
    /// or dropped (a dropped, unfinished guard records `cancelled`).
    pub fn query_started(&self) -> QueryGuard {
        self.inner.active_queries.fetch_add(1, Ordering::Relaxed);
        QueryGuard {
            metrics: self.clone(),
            started: Instant::now(),
            outcome: None,
        }
    }

    /// Everything, in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let i = &self.inner;
        let mut out = String::new();
        let p = "twitch_monitor";
        header(
            &mut out,
            &format!("{p}_build_info"),
            "gauge",
            "Build information; always 1.",
        );
        sample(
            &mut out,
            &format!("{p}_build_info"),
            &[("version", &i.version)],
            "1",
        );
        i.cycles.render(
            &mut out,
            &format!("{p}_cycles_total"),
            "Ingest cycles finished, by outcome.",
        );
        i.cycle_duration.render(
            &mut out,
            &format!("{p}_cycle_duration_seconds"),
            "Wall time of one ingest cycle.",
        );
        i.helix_requests.render(
            &mut out,
            &format!("{p}_helix_requests_total"),
            "Helix API requests, by endpoint and HTTP status.",
        );
        let name = format!("{p}_rate_limit_remaining");
        header(
            &mut out,
            &name,
            "gauge",
            "Helix rate-limit points left in the current window.",
        );
        let remaining = i.rate_limit_remaining.load(Ordering::Relaxed);
        if remaining != UNSET {
            sample(&mut out, &name, &[], &remaining.to_string());
        }
        i.rows_written.render(
            &mut out,
            &format!("{p}_rows_written_total"),
            "Rows committed, by table.",
        );
        i.queries.render(
            &mut out,
            &format!("{p}_queries_total"),
            "SQL queries finished, by outcome.",
        );
        i.query_duration.render(
            &mut out,
            &format!("{p}_query_duration_seconds"),
            "Time from a query's start to its end.",
        );
        let name = format!("{p}_active_queries");
        header(&mut out, &name, "gauge", "SQL queries running now.");
        sample(
            &mut out,
            &name,
            &[],
            &i.active_queries.load(Ordering::Relaxed).to_string(),
        );
        i.alerts_fired.render(
            &mut out,
            &format!("{p}_alerts_fired_total"),
            "Alerts fired, by rule.",
        );
        i.alert_deliveries.render(
            &mut out,
            &format!("{p}_alert_deliveries_total"),
            "Alert deliveries that ended, by target and status (delivered, failed).",
        );
        i.alert_rule_errors.render(
            &mut out,
            &format!("{p}_alert_rule_errors_total"),
            "Alert rule evaluations that failed (a SQL rule's query), by rule.",
        );
        let name = format!("{p}_alerts_pending");
        header(
            &mut out,
            &name,
            "gauge",
            "Alert deliveries not delivered yet (queued or retrying).",
        );
        sample(
            &mut out,
            &name,
            &[],
            &i.alerts_pending.load(Ordering::Relaxed).to_string(),
        );
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
        i.active_queries.fetch_sub(1, Ordering::Relaxed);
        let outcome = self.outcome.unwrap_or(Outcome::Cancelled);
        i.queries.add(&[outcome.as_str()], 1);
        i.query_duration
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// Takes a lock even if a panicking holder poisoned it: every update under
/// these locks is a single arithmetic step, so the data is never torn.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A counter family keyed by label values (few, fixed-cardinality labels).
#[derive(Debug)]
struct Counter {
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl Counter {
    fn new(labels: &'static [&'static str]) -> Self {
        Self {
            labels,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn add(&self, values: &[&str], n: u64) {
        let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        *lock(&self.values).entry(key).or_insert(0) += n;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "counter", help);
        for (values, n) in lock(&self.values).iter() {
            let labels: Vec<(&str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            sample(out, name, &labels, &n.to_string());
        }
    }
}

/// A histogram with fixed upper bounds (in seconds).
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    state: Mutex<HistogramState>,
}

#[derive(Debug)]
struct HistogramState {
    /// Per bound, non-cumulative; the last slot is +Inf.
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        let state = HistogramState {
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        };
        Self {
            bounds,
            state: Mutex::new(state),
        }
    }

    fn observe(&self, v: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        let mut s = lock(&self.state);
        s.counts[slot] += 1;
        s.sum += v;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "histogram", help);
        let s = lock(&self.state);
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, n) in s.counts.iter().enumerate() {
            cumulative += n;
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| float(*b));
            sample(out, &bucket, &[("le", &le)], &cumulative.to_string());
        }
        sample(out, &format!("{name}_sum"), &[], &float(s.sum));
        sample(out, &format!("{name}_count"), &[], &cumulative.to_string());
    }
}

/// A float as Prometheus writes it (`1.0`, `0.25`, `+Inf`, `NaN`).
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v:?}")
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let help = help.replace('\\', r"\\").replace('\n', r"\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: &str) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let v = v
                .replace('\\', r"\\")
                .replace('"', "\\\"")
                .replace('\n', r"\n");
            let _ = write!(out, "{k}=\"{v}\"");
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_histograms() {
        let m = Metrics::new("1.2.3");
        m.cycle_finished(Outcome::Ok, Duration::from_millis(300));
        m.cycle_finished(Outcome::Ok, Duration::from_secs(7));
        m.helix_request("streams", Some(200));
        m.helix_request("streams", None);
        m.rows_written("bronze.helix_responses", 5);
        m.rows_written("bronze.helix_responses", 2);
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
        m.rows_written("we\"ird\\table\nname", 1);
        assert!(m.render().contains(r#"{table="we\"ird\\table\nname"} 1"#));
    }
}
