use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::json;

use super::send::retry_after;
use super::*;
use crate::config::Secret;

fn message(title: &str, text: &str, fields: usize) -> Message {
    Message {
        key: "k1".into(),
        event: "alert".into(),
        title: title.into(),
        url: Some("https://www.twitch.tv/alice".into()),
        text: text.into(),
        fields: (0..fields)
            .map(|i| Field::new(format!("f{i}"), format!("v{i}")))
            .collect(),
        footer: "rule drop".into(),
        timestamp: Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap(),
        color: 0xE91E63,
        data: json!({"x": 1}),
    }
}

#[test]
fn hmac_matches_rfc_4231_test_case_2() {
    assert_eq!(
        sign(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn targets_check_url_and_secret_and_never_show_them() {
    let url = Secret::from("https://hooks.example.com/services/T000/B000/XXXXSECRET");
    let t = Target::new("ops", TargetKind::Slack, &url, None).unwrap();
    let shown = format!("{t:?}");
    assert!(!shown.contains("XXXXSECRET"), "{shown}");

    let bad = Target::new(
        "ops",
        TargetKind::Slack,
        &Secret::from("ftp://x/SECRETPATH"),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("\"ops\"") && !bad.contains("SECRETPATH"),
        "{bad}"
    );
    let bad = Target::new(
        "ops",
        TargetKind::Slack,
        &Secret::from("not a url SECRET"),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(!bad.contains("SECRET"), "{bad}");

    let hook = Secret::from("https://example.com/hook");
    let no_secret = Target::new("h", TargetKind::Webhook, &hook, None).unwrap_err();
    assert!(no_secret.to_string().contains("signing secret"));
    let short = Target::new("h", TargetKind::Webhook, &hook, Some("short".into())).unwrap_err();
    assert!(short.to_string().contains("16"));
    let signed = Target::new(
        "h",
        TargetKind::Webhook,
        &hook,
        Some("0123456789abcdef".into()),
    );
    assert!(!format!("{:?}", signed.unwrap()).contains("0123456789abcdef"));
    assert!(
        Target::new(
            "d",
            TargetKind::Discord,
            &hook,
            Some("0123456789abcdef".into())
        )
        .is_err()
    );
}

#[test]
fn retry_after_reads_seconds_fractions_and_dates() {
    let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
    let header = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        h
    };
    assert_eq!(retry_after(&header("7"), now), Some(Duration::from_secs(7)));
    assert_eq!(
        retry_after(&header("0.25"), now),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        retry_after(&header("Wed, 21 Oct 2015 07:28:30 GMT"), now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(retry_after(&header("soon"), now), None);
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn slack_body_escapes_and_splits_fields_into_sections_of_ten() {
    let m = message("alice <lost> 50%", "a & b", 12);
    let body = slack_body(&m);
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let text = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(text.starts_with("a &amp; b\n<https://www.twitch.tv/alice|alice &lt;lost&gt; 50%>"));
    assert_eq!(blocks[2]["fields"].as_array().unwrap().len(), 10);
    assert_eq!(blocks[3]["fields"].as_array().unwrap().len(), 2);
    assert_eq!(blocks[4]["type"], "context");
}

#[test]
fn discord_body_stays_within_embed_limits() {
    let long = "x".repeat(10_000);
    let mut m = message(&long, &long, 40);
    m.fields[0].value = long.clone();
    let body = discord_body(&m);
    let embed = &body["embeds"][0];
    let len = |v: &serde_json::Value| v.as_str().unwrap().chars().count();
    assert_eq!(len(&embed["title"]), 256);
    let fields = embed["fields"].as_array().unwrap();
    assert!(fields.len() <= 25);
    assert_eq!(len(&fields[0]["value"]), 1024);
    let total = len(&embed["title"])
        + len(&embed["description"])
        + len(&embed["footer"]["text"])
        + fields
            .iter()
            .map(|f| len(&f["name"]) + len(&f["value"]))
            .sum::<usize>();
    assert!(total <= 6000, "{total}");
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
}

#[test]
fn webhook_body_carries_key_type_and_data() {
    let body = webhook_body(&message("t", "x", 1));
    assert_eq!(body["id"], "k1");
    assert_eq!(body["type"], "alert");
    assert_eq!(body["data"], json!({"x": 1}));
    assert_eq!(body["timestamp"], "2026-01-05T10:00:00.000000Z");
}

#[tokio::test]
async fn a_target_that_does_not_answer_holds_at_most_max_queued_messages() {
    // A receiver that takes the connection and never answers: the first
    // message stays in flight for the whole test.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Secret::from(format!("http://{}/hook", silent.local_addr().unwrap()).as_str());
    let target = Target::new("down", TargetKind::Slack, &url, None).unwrap();
    let options = DeliveryOptions {
        request_timeout: Duration::from_secs(600),
        max_queued: 2,
        ..DeliveryOptions::default()
    };
    let sender = Sender::new(options, Arc::new(crate::clock::SystemClock)).unwrap();
    let (dispatcher, mut outcomes) = Dispatcher::start(vec![target], sender).unwrap();
    let keyed = |i: u32| {
        let mut m = message("t", "x", 0);
        m.key = format!("k{i}");
        Arc::new(m)
    };
    dispatcher.submit("down", keyed(1)).unwrap();
    let (_in_flight, _) = silent.accept().await.unwrap();
    for i in 2..=5 {
        dispatcher.submit("down", keyed(i)).unwrap();
    }
    // k4 and k5 wait behind k1; k2 and k3 made room, oldest first.
    for key in ["k2", "k3"] {
        // Bounded, so a regression fails instead of hanging.
        let next = tokio::time::timeout(Duration::from_secs(30), outcomes.recv());
        let o = next
            .await
            .expect("a full queue reports its oldest")
            .unwrap();
        assert_eq!(
            (o.key.as_str(), o.status, o.attempts, o.target.as_str()),
            (key, OutcomeStatus::Failed, 0, "down")
        );
        let why = o.error.unwrap();
        assert!(why.contains("2 newer messages"), "{why}");
    }
    assert!(outcomes.try_recv().is_err(), "only two made room");
    assert!(dispatcher.submit("nobody", keyed(6)).is_err());
}
