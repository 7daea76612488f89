//! Delivery against a local webhook receiver on 127.0.0.1: Slack and Discord
//! bodies checked by independent descriptions of their shapes (slack_sdk's
//! Block Kit models, discord-api-types through the TypeScript compiler), the
//! generic webhook's signature verified by Python's hmac, retries, ordering
//! and 429 handling on a manual clock (no real waiting).
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use twitch_monitor::clock::{Clock, ManualClock};
use twitch_monitor::config::Secret;
use twitch_monitor::notify::{
    DeliveryOptions, Dispatcher, Field, IDEMPOTENCY_HEADER, Message, OutcomeStatus,
    SIGNATURE_HEADER, Sender, Target, TargetKind,
};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The shared manual clock's time when it arrived.
    pub at: DateTime<Utc>,
    /// The HTTP status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A scripted answer: status and headers.
type Answer = (StatusCode, Vec<(&'static str, String)>);

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Received>>,
    /// Scripted answers, in order; 200 once they run out.
    answers: Mutex<VecDeque<Answer>>,
    clock: Mutex<Option<ManualClock>>,
    /// While set, every request is answered 503 (after the scripted answers).
    down: std::sync::atomic::AtomicBool,
}

/// A webhook receiver on 127.0.0.1:0 that records every request and answers
/// as scripted. Stops when dropped.
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

async fn handle(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = s
        .clock
        .lock()
        .unwrap()
        .as_ref()
        .map_or_else(Utc::now, |c| c.now());
    let answer = s.answers.lock().unwrap().pop_front().or_else(|| {
        s.down
            .load(std::sync::atomic::Ordering::SeqCst)
            .then(|| (StatusCode::SERVICE_UNAVAILABLE, Vec::new()))
    });
    s.got.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
        at,
        status: answer.as_ref().map_or(200, |a| a.0.as_u16()),
    });
    match answer {
        Some((status, headers)) => {
            let mut r = (status, "scripted answer").into_response();
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
        None => (StatusCode::OK, "ok").into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            shared,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> Secret {
        Secret::from(format!("http://{}{path}", self.addr).as_str())
    }

    /// The next answers: `status` with `headers`, once each.
    pub fn answer(&self, status: u16, headers: &[(&'static str, &str)]) {
        self.shared.answers.lock().unwrap().push_back((
            StatusCode::from_u16(status).unwrap(),
            headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ));
    }

    /// Answers 503 to everything (after the scripted answers) while `down`.
    pub fn set_down(&self, down: bool) {
        self.shared
            .down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stamps requests with this clock's time.
    pub fn use_clock(&self, clock: &ManualClock) {
        *self.shared.clock.lock().unwrap() = Some(clock.clone());
    }

    pub fn got(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()
}

pub fn sender(clock: &ManualClock, max_attempts: u32) -> Sender {
    let options = DeliveryOptions {
        max_attempts,
        ..DeliveryOptions::default()
    };
    Sender::new(options, Arc::new(clock.clone())).unwrap()
}

pub fn message(key: &str, title: &str) -> Message {
    Message {
        key: key.into(),
        event: "alert".into(),
        title: title.into(),
        url: Some("https://www.twitch.tv/alice".into()),
        text: "Ranked grind <3 & chill @everyone".into(),
        fields: vec![
            Field::new("viewers", "4812"),
            Field::new("change pct", "-52.3"),
            Field::new("game name", "Just Chatting"),
        ],
        footer: "rule big-drop (viewers_drop) · 2026-01-05 12:00 UTC".into(),
        timestamp: t0(),
        color: 0xE53935,
        data: json!({"alert_id": key, "details": {"viewers": 4812}}),
    }
}

/// Runs a checker with `input` on stdin; returns its stdout (trimmed) and success.
pub fn check(mut cmd: Command, input: &[u8]) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_owned())
}

pub fn slack_check() -> Command {
    let mut c = Command::new(crate::python());
    c.arg(repo().join("tests/py/check_slack.py"));
    c
}

pub fn discord_check() -> Command {
    let dir = repo().join("tests/node");
    assert!(
        dir.join("node_modules/discord-api-types").is_dir(),
        "tests/node/node_modules is missing: scripts/test installs it (npm ci in tests/node)"
    );
    let mut c = Command::new("node");
    c.arg(dir.join("check-discord.mjs"));
    c
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn slack_and_discord_bodies_match_their_documented_shapes() {
    let rx = Receiver::start().await;
    let clock = ManualClock::new(t0());
    let s = sender(&clock, 1);
    let slack = Target::new("s", TargetKind::Slack, &rx.url("/slack"), None).unwrap();
    let discord = Target::new("d", TargetKind::Discord, &rx.url("/discord"), None).unwrap();
    let long = "very long title ".repeat(40);
    let mut many = message("k2", &long);
    many.fields = (0..30)
        .map(|i| Field::new(format!("figure {i}"), "x".repeat(3000)))
        .collect();
    many.text = "y".repeat(9000);
    for m in [message("k1", "alice lost 52% of viewers <fast>"), many] {
        for t in [&slack, &discord] {
            let o = s.deliver(t, &m).await;
            assert_eq!(o.status, OutcomeStatus::Delivered, "{o:?}");
        }
    }
    let got = rx.got();
    assert_eq!(got.len(), 4);
    for r in &got {
        assert_eq!(r.header("content-type"), "application/json");
        let (ok, out) = if r.path == "/slack" {
            check(slack_check(), &r.body)
        } else {
            check(discord_check(), &r.body)
        };
        assert!(
            ok && out == "ok",
            "{} body refused: {out}\n{}",
            r.path,
            r.json()
        );
    }
    // The checkers can fail: a misspelt key and a wrong type are refused.
    let mut bad = got[0].json();
    bad["blocks"][0]["txt"] = json!("x");
    assert!(!check(slack_check(), bad.to_string().as_bytes()).0);
    let mut bad = got[1].json();
    bad["embeds"][0]["colour"] = json!(1);
    assert!(!check(discord_check(), bad.to_string().as_bytes()).0);
    // What a reader sees: the link and figures.
    let slack = got[0].json();
    assert!(
        slack["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("<https://www.twitch.tv/alice|")
    );
    let discord = got[1].json();
    assert_eq!(discord["embeds"][0]["url"], "https://www.twitch.tv/alice");
    assert_eq!(discord["embeds"][0]["fields"][0]["value"], "4812");
}

#[tokio::test]
async fn the_generic_webhook_is_signed_and_python_hmac_verifies_it() {
    let rx = Receiver::start().await;
    let clock = ManualClock::new(t0());
    let secret = "s3cret-shared-with-the-receiver";
    let hook = Target::new(
        "h",
        TargetKind::Webhook,
        &rx.url("/hook"),
        Some(secret.into()),
    )
    .unwrap();
    let o = sender(&clock, 1)
        .deliver(&hook, &message("alert-1", "alice went live"))
        .await;
    assert_eq!(o.status, OutcomeStatus::Delivered);
    let r = &rx.got()[0];
    assert_eq!(r.header(IDEMPOTENCY_HEADER), "alert-1");
    assert_eq!(r.header("x-twitch-monitor-event"), "alert");
    let body = r.json();
    assert_eq!(body["id"], "alert-1");
    assert_eq!(body["type"], "alert");
    assert_eq!(body["data"]["details"]["viewers"], 4812);

    let dir = tempfile::tempdir().unwrap();
    let verify = |body: &[u8], signature: &str| {
        let file = dir.path().join("body.json");
        std::fs::write(&file, body).unwrap();
        let out = Command::new(crate::python())
            .arg(repo().join("tests/py/verify_signature.py"))
            .arg(secret)
            .arg(&file)
            .arg(signature)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let signature = r.header(SIGNATURE_HEADER);
    assert!(signature.starts_with("sha256="), "{signature}");
    assert_eq!(verify(&r.body, &signature), "ok");
    let mut tampered = r.body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(verify(&tampered, &signature), "mismatch");
}

#[tokio::test]
async fn a_receiver_down_three_times_then_up_gets_everything_in_order_with_stable_keys() {
    let rx = Receiver::start().await;
    for _ in 0..3 {
        rx.answer(503, &[]);
    }
    let clock = ManualClock::new(t0());
    rx.use_clock(&clock);
    let secret = Some(Secret::from("0123456789abcdef"));
    let hook = Target::new("h", TargetKind::Webhook, &rx.url("/hook"), secret).unwrap();
    let (dispatcher, mut outcomes) = Dispatcher::start(vec![hook], sender(&clock, 8)).unwrap();
    // Two channels' alerts, interleaved.
    for key in ["x-1", "y-1", "x-2", "y-2"] {
        dispatcher.submit("h", Arc::new(message(key, key))).unwrap();
    }
    dispatcher.drain().await;
    let got = rx.got();
    let keys: Vec<String> = got.iter().map(|r| r.header(IDEMPOTENCY_HEADER)).collect();
    assert_eq!(keys, ["x-1", "x-1", "x-1", "x-1", "y-1", "x-2", "y-2"]);
    // The same body (and so the same signature) on every retry.
    assert!(got[..4].iter().all(|r| r.body == got[0].body));
    // Backoff waited on the clock, doubling: at least 0.5 + 1 + 2 s.
    assert!(got[3].at - got[0].at >= chrono::TimeDelta::milliseconds(3500));
    let mut seen = Vec::new();
    while let Ok(o) = outcomes.try_recv() {
        seen.push((o.key, o.status, o.attempts));
    }
    assert_eq!(
        seen,
        [
            ("x-1".to_string(), OutcomeStatus::Delivered, 4),
            ("y-1".to_string(), OutcomeStatus::Delivered, 1),
            ("x-2".to_string(), OutcomeStatus::Delivered, 1),
            ("y-2".to_string(), OutcomeStatus::Delivered, 1),
        ]
    );
}

#[tokio::test]
async fn a_429_retry_after_is_honoured() {
    let rx = Receiver::start().await;
    rx.answer(429, &[("retry-after", "7")]);
    rx.answer(429, &[("retry-after", "Mon, 05 Jan 2026 12:01:00 GMT")]);
    let clock = ManualClock::new(t0());
    rx.use_clock(&clock);
    let slack = Target::new("s", TargetKind::Slack, &rx.url("/slack"), None).unwrap();
    let o = sender(&clock, 5).deliver(&slack, &message("k", "t")).await;
    assert_eq!((o.status, o.attempts), (OutcomeStatus::Delivered, 3));
    let at: Vec<DateTime<Utc>> = rx.got().iter().map(|r| r.at).collect();
    assert_eq!(at[1] - at[0], chrono::TimeDelta::seconds(7));
    // An HTTP date: waited until then.
    assert_eq!(at[2], Utc.with_ymd_and_hms(2026, 1, 5, 12, 1, 0).unwrap());
}

#[tokio::test]
async fn delivery_gives_up_after_the_bound_and_never_reveals_the_url() {
    let rx = Receiver::start().await;
    for _ in 0..3 {
        rx.answer(500, &[]);
    }
    let clock = ManualClock::new(t0());
    let url = rx.url("/services/T0/B0/SECRETTOKEN");
    let slack = Target::new("s", TargetKind::Slack, &url, None).unwrap();
    let s = sender(&clock, 3);
    let o = s.deliver(&slack, &message("k", "t")).await;
    assert_eq!((o.status, o.attempts), (OutcomeStatus::Failed, 3));
    let why = o.error.unwrap();
    assert!(
        why.contains("gave up after 3 attempts") && why.contains("500"),
        "{why}"
    );
    // A 404 is final at once (a deleted webhook does not come back).
    rx.answer(404, &[]);
    let o = s.deliver(&slack, &message("k", "t")).await;
    assert_eq!((o.status, o.attempts), (OutcomeStatus::Failed, 1));
    // Nobody listening: a connection error, retried, and the URL is not in it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gone = Secret::from(format!("http://{closed}/services/SECRETTOKEN").as_str());
    let t = Target::new("s", TargetKind::Slack, &gone, None).unwrap();
    let o = s.deliver(&t, &message("k", "t")).await;
    assert_eq!((o.status, o.attempts), (OutcomeStatus::Failed, 3));
    let why = o.error.unwrap();
    assert!(
        !why.contains("SECRETTOKEN") && !why.contains(&closed.to_string()),
        "{why}"
    );
    assert!(clock.now() > t0(), "backoff waited on the manual clock");
}
