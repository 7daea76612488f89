//! The health/metrics HTTP server over real loopback HTTP, with `/metrics`
//! parsed by the reference Prometheus parser (Python `prometheus_client`).
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use twitch_monitor::http::{HttpServer, HttpState};
use twitch_monitor::metrics::{Metrics, Outcome};
use twitch_monitor::schema::Table;

use crate::python;

/// Scrapes `url` with the Python parser; panics (fails the test) if it does not parse.
pub(crate) async fn scrape(url: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/prom_scrape.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .arg(url)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "parser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` with exactly `labels` (None if absent).
pub(crate) fn value(
    scraped: &Value,
    family: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    let samples = scraped["families"][family]["samples"].as_array()?;
    samples.iter().find_map(|s| {
        let l = s[1].as_object()?;
        let matches = s[0] == name
            && l.len() == labels.len()
            && labels
                .iter()
                .all(|(k, v)| l.get(*k) == Some(&Value::from(*v)));
        matches.then(|| s[2].as_f64()).flatten()
    })
}

struct Fixture {
    server: HttpServer,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
    base: String,
}

async fn start() -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = Metrics::new("9.9.9-test");
    let ready = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ready);
    let state = HttpState {
        metrics: metrics.clone(),
        readiness: Arc::new(move || {
            if flag.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("lake not open yet".to_owned())
            }
        }),
        data: None,
    };
    let server = HttpServer::start(listener, state, std::future::pending()).unwrap();
    let base = format!("http://{}", server.local_addr());
    Fixture {
        server,
        metrics,
        ready,
        base,
    }
}

#[tokio::test]
async fn healthz_and_readyz_report_liveness_and_readiness() {
    let f = start().await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");

    let not_ready = client
        .get(format!("{}/readyz", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(not_ready.status(), 503);
    assert_eq!(
        not_ready.text().await.unwrap(),
        "not ready: lake not open yet\n"
    );

    f.ready.store(true, Ordering::SeqCst);
    let ready = client
        .get(format!("{}/readyz", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let missing = client.get(format!("{}/nope", f.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    f.server.shutdown().await.unwrap();
    assert!(
        client
            .get(format!("{}/healthz", f.base))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn metrics_parse_with_the_prometheus_parser_and_move_with_events() {
    let f = start().await;
    let m = &f.metrics;
    let url = format!("{}/metrics", f.base);

    let before = scrape(&url).await;
    assert_eq!(
        before["content_type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let build = value(
        &before,
        "twitch_monitor_build_info",
        "twitch_monitor_build_info",
        &[("version", "9.9.9-test")],
    );
    assert_eq!(build, Some(1.0));
    let cycles = "twitch_monitor_cycles";
    assert_eq!(
        value(
            &before,
            cycles,
            "twitch_monitor_cycles_total",
            &[("outcome", "ok")]
        ),
        Some(0.0)
    );
    assert_eq!(before["families"][cycles]["type"], "counter");
    assert_eq!(
        before["families"]["twitch_monitor_cycle_duration_seconds"]["type"],
        "histogram"
    );
    assert_eq!(
        before["families"]["twitch_monitor_active_queries"]["type"],
        "gauge"
    );

    m.cycle_finished(Outcome::Ok, Duration::from_millis(1500));
    m.cycle_finished(Outcome::Error, Duration::from_millis(200));
    m.helix_request("streams", Some(200));
    m.helix_request("streams", Some(200));
    m.helix_request("users", Some(429));
    m.rate_limit_remaining(640);
    m.rows_written(Table::StreamSnapshots, 120);
    let running = m.query_started();
    m.query_started().finish(Outcome::Ok);

    let after = scrape(&url).await;
    let v = |family: &str, name: &str, labels: &[(&str, &str)]| value(&after, family, name, labels);
    assert_eq!(
        v(cycles, "twitch_monitor_cycles_total", &[("outcome", "ok")]),
        Some(1.0)
    );
    assert_eq!(
        v(
            cycles,
            "twitch_monitor_cycles_total",
            &[("outcome", "error")]
        ),
        Some(1.0)
    );
    let dur = "twitch_monitor_cycle_duration_seconds";
    assert_eq!(v(dur, &format!("{dur}_count"), &[]), Some(2.0));
    assert_eq!(v(dur, &format!("{dur}_sum"), &[]), Some(1.7));
    assert_eq!(
        v(dur, &format!("{dur}_bucket"), &[("le", "1.0")]),
        Some(1.0)
    );
    assert_eq!(
        v(dur, &format!("{dur}_bucket"), &[("le", "+Inf")]),
        Some(2.0)
    );
    let helix = "twitch_monitor_helix_requests";
    let name = "twitch_monitor_helix_requests_total";
    assert_eq!(
        v(helix, name, &[("endpoint", "streams"), ("status", "200")]),
        Some(2.0)
    );
    assert_eq!(
        v(helix, name, &[("endpoint", "users"), ("status", "429")]),
        Some(1.0)
    );
    let rl = "twitch_monitor_rate_limit_remaining";
    assert_eq!(v(rl, rl, &[]), Some(640.0));
    let rows = "twitch_monitor_rows_written";
    let table = [("table", "silver.stream_snapshots")];
    assert_eq!(
        v(rows, "twitch_monitor_rows_written_total", &table),
        Some(120.0)
    );
    let active = "twitch_monitor_active_queries";
    assert_eq!(v(active, active, &[]), Some(1.0));
    let queries = "twitch_monitor_queries";
    assert_eq!(
        v(
            queries,
            "twitch_monitor_queries_total",
            &[("outcome", "ok")]
        ),
        Some(1.0)
    );

    drop(running);
    let last = scrape(&url).await;
    assert_eq!(value(&last, active, active, &[]), Some(0.0));
    assert_eq!(
        value(
            &last,
            queries,
            "twitch_monitor_queries_total",
            &[("outcome", "cancelled")]
        ),
        Some(1.0)
    );
    f.server.shutdown().await.unwrap();
}

/// The exposition as dashboards and alert rules see it: per family, its type,
/// label names and sample names.
fn shape(scraped: &Value) -> BTreeMap<String, String> {
    let mut shape = BTreeMap::new();
    for (name, family) in scraped["families"].as_object().unwrap() {
        let (mut labels, mut samples) = (BTreeSet::new(), BTreeSet::new());
        for s in family["samples"].as_array().unwrap() {
            samples.insert(s[0].as_str().unwrap().to_owned());
            labels.extend(s[1].as_object().unwrap().keys().cloned());
        }
        let join = |set: BTreeSet<String>| set.into_iter().collect::<Vec<_>>().join(" ");
        let kind = family["type"].as_str().unwrap();
        let line = format!("{kind} [{}] {}", join(labels), join(samples));
        shape.insert(name.clone(), line);
    }
    shape
}

#[tokio::test]
async fn metric_names_types_and_labels_are_the_ones_dashboards_and_the_readme_use() {
    let f = start().await;
    let m = &f.metrics;
    m.cycle_finished(Outcome::Ok, Duration::from_millis(10));
    m.helix_request("streams", Some(200));
    m.rate_limit_remaining(5);
    m.rows_written(Table::StreamSnapshots, 1);
    m.query_started().finish(Outcome::Ok);
    m.alert_fired("went-live");
    m.alert_delivery("ops-slack", "delivered");
    m.alert_rule_failed("bad-sql");
    m.alerts_pending(2);
    m.export_send("slack", "failed");
    m.exports_pending(1);
    let scraped = scrape(&format!("{}/metrics", f.base)).await;
    let shape = shape(&scraped);
    let histogram = |name: &str| format!("histogram [le] {name}_bucket {name}_count {name}_sum");
    let pinned = [
        (
            "twitch_monitor_build_info",
            "gauge [version] twitch_monitor_build_info".to_owned(),
        ),
        (
            "twitch_monitor_cycles",
            "counter [outcome] twitch_monitor_cycles_total".to_owned(),
        ),
        (
            "twitch_monitor_cycle_duration_seconds",
            histogram("twitch_monitor_cycle_duration_seconds"),
        ),
        (
            "twitch_monitor_helix_requests",
            "counter [endpoint status] twitch_monitor_helix_requests_total".to_owned(),
        ),
        (
            "twitch_monitor_rate_limit_remaining",
            "gauge [] twitch_monitor_rate_limit_remaining".to_owned(),
        ),
        (
            "twitch_monitor_rows_written",
            "counter [table] twitch_monitor_rows_written_total".to_owned(),
        ),
        (
            "twitch_monitor_queries",
            "counter [outcome] twitch_monitor_queries_total".to_owned(),
        ),
        (
            "twitch_monitor_query_duration_seconds",
            histogram("twitch_monitor_query_duration_seconds"),
        ),
        (
            "twitch_monitor_active_queries",
            "gauge [] twitch_monitor_active_queries".to_owned(),
        ),
        (
            "twitch_monitor_alerts_fired",
            "counter [rule] twitch_monitor_alerts_fired_total".to_owned(),
        ),
        (
            "twitch_monitor_alert_deliveries",
            "counter [status target] twitch_monitor_alert_deliveries_total".to_owned(),
        ),
        (
            "twitch_monitor_alert_rule_errors",
            "counter [rule] twitch_monitor_alert_rule_errors_total".to_owned(),
        ),
        (
            "twitch_monitor_alerts_pending",
            "gauge [] twitch_monitor_alerts_pending".to_owned(),
        ),
        (
            "twitch_monitor_export_sends",
            "counter [status target] twitch_monitor_export_sends_total".to_owned(),
        ),
        (
            "twitch_monitor_exports_pending",
            "gauge [] twitch_monitor_exports_pending".to_owned(),
        ),
    ];
    for (family, expected) in &pinned {
        assert_eq!(shape.get(*family), Some(expected), "{family} in {shape:#?}");
    }

    // Every metric the README's table names is exposed, with the type it
    // says; the chat series only while chat is read (none here: the unit
    // tests of `metrics::chat` check their names and types).
    let readme = include_str!("../../README.md");
    let documented: Vec<(&str, &str)> = readme
        .lines()
        .filter(|l| {
            l.starts_with("| `twitch_monitor_") && !l.starts_with("| `twitch_monitor_chat_")
        })
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`'), cells[2])
        })
        .collect();
    assert!(documented.len() >= pinned.len(), "{documented:?}");
    for (name, kind) in documented {
        let family = shape
            .iter()
            .find(|(family, line)| *family == name || line.split(' ').any(|s| s == name));
        let (_, line) = family.unwrap_or_else(|| panic!("README names {name}, not in {shape:#?}"));
        assert!(
            line.starts_with(kind),
            "README says {name} is a {kind}: {line}"
        );
    }
    f.server.shutdown().await.unwrap();
}
