//! The chat alert rule over the real chat path: scripted lines in alice's
//! chat on the simulator's IRC server, read by the chat client, committed
//! with the cycles and shown in `live.chat`; the `chat_sentiment` rule fires
//! once for the sour swing and not for the cheerful minutes before it.
use super::{Service, open_flight};

/// `(rule, cycle_id)` of alice's alerts in `gold.alerts`, through Flight SQL.
fn fired(s: &Service, rule: &str) -> Vec<i64> {
    s.flight_sql(&format!(
        "SELECT DISTINCT alert_id, cycle_id FROM twitch.gold.alerts \
         WHERE rule = '{rule}' AND login = 'alice' ORDER BY cycle_id"
    ))
    .iter()
    .map(|r| r["cycle_id"].as_i64().unwrap())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sour_chat_swing_fires_the_chat_sentiment_rule_once() {
    let mut s = Service::start(open_flight()).await;
    // Cheerful chat for two minutes: noise for a sour-chat rule.
    for _ in 0..2 {
        s.say(&[("amy", "PogChamp PogChamp"), ("bob", "good stream")])
            .await;
        s.cycle().await;
    }
    // Quiet until the cheer has left the 5-minute window.
    for _ in 0..5 {
        s.cycle().await;
    }
    assert_eq!(fired(&s, "sour"), Vec::<i64>::new());
    // The swing: a sour minute, then more of it (the same episode).
    s.say(&[
        ("cat", "bad bad bad"),
        ("dan", "bad"),
        ("eve", "not good"),
        ("fay", "bad"),
        ("gus", "bad bad"),
        ("hal", "bad"),
    ])
    .await;
    let swing = s.cycle().await;
    let chat = s.flight_sql(
        "SELECT sentiment_5m, messages_per_minute_5m FROM twitch.live.chat \
         WHERE channel = 'alice'",
    );
    assert_eq!(chat.len(), 1, "{chat:?}");
    assert!(
        chat[0]["sentiment_5m"].as_f64().unwrap() <= -0.3,
        "{chat:?}"
    );
    s.say(&[("cat", "bad"), ("dan", "not good")]).await;
    s.cycle().await;
    s.cycle().await;
    assert_eq!(fired(&s, "sour"), vec![swing]);
}
