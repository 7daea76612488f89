//! Alerts end to end, as `serve` wires them: scripted events in the
//! in-process simulator, cycles committed to a real lake, alerts evaluated
//! after each cycle and delivered to a local receiver on 127.0.0.1 (Slack and
//! Discord bodies checked by slack_sdk and discord-api-types, the webhook's
//! signature by Python's hmac), recorded in `gold.alerts`, shown by
//! `live.alerts` over Flight SQL, and re-sent after a restart only when they
//! were not delivered.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde_json::Value;
use twitch_monitor::app::App;
use twitch_monitor::config::{AlertSources, Config, SimSettings};
use twitch_monitor::live::View;
use twitch_monitor::notify::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use twitch_monitor::sim::world::ScriptedChannel;

use crate::http::{scrape, value};
use crate::notify::{Received, Receiver, check, discord_check, slack_check};
use crate::{adbc_query, python};

const SECRET: &str = "a-secret-shared-with-the-receiver";
const LIMIT: Duration = Duration::from_secs(180);

/// The service over a ten-channel simulated world (ten simulated minutes a
/// second, a cycle every ten simulated seconds) with `alerts` as its alerts
/// file.
async fn start(dir: &Path, alerts: &str) -> anyhow::Result<App> {
    let file = dir.join("alerts.toml");
    std::fs::write(&file, alerts).unwrap();
    let config = Config {
        lake: dir.join("lake").to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        poll_interval: Duration::from_secs(10),
        alerts: AlertSources {
            file: Some(file),
            inline: None,
        },
        sim: SimSettings {
            channels: 10,
            speed: 600.0,
            ..Default::default()
        },
        ..Default::default()
    };
    config.validate().unwrap();
    App::start(config).await
}

fn targets(rx: &Receiver) -> String {
    let url = |p: &str| format!("http://{}{p}", rx.addr);
    format!(
        "[[targets]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        url("/slack"),
        url("/discord"),
        url("/hook")
    )
}

/// Polls `$done` (an expression, `.await` allowed) until it holds; fails
/// the test after [`LIMIT`]. No fixed sleep: the short pause between checks
/// only spares the CPU.
macro_rules! until {
    ($what:expr, $done:expr) => {{
        let deadline = Instant::now() + LIMIT;
        while !($done) {
            assert!(Instant::now() < deadline, "{}: not within {LIMIT:?}", $what);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }};
}

fn cycle(app: &App) -> i64 {
    app.live().snapshot().cycle_id().unwrap_or(0)
}

/// Waits until `n` more cycles have reached the live views.
async fn cycles(app: &App, n: i64) {
    let target = cycle(app) + n;
    until!(format!("cycle {target}"), cycle(app) >= target);
}

/// Rows of `sql` through the service's query engine, as JSON objects.
async fn rows(app: &App, sql: &str) -> Vec<Value> {
    let batches: Vec<_> = app
        .engine()
        .execute(sql, &[])
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut w = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    let bytes = w.into_inner();
    if bytes.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice(&bytes).unwrap()
}

/// Adds scripted channels and starts their streams; returns their user ids.
fn go_live(app: &App, channels: &[(&str, u64)]) -> Vec<String> {
    let world = app.sim().unwrap().world();
    let mut w = world.lock().unwrap();
    let game = w.games()[0].id.clone();
    channels
        .iter()
        .map(|(login, viewers)| {
            let id = w
                .add_scripted_channel(ScriptedChannel {
                    login: (*login).into(),
                    followers: 1000,
                    ..Default::default()
                })
                .unwrap();
            w.go_live(&id, &game, "scripted", *viewers).unwrap();
            id
        })
        .collect()
}

fn logins_live(app: &App, logins: &[&str]) -> bool {
    let snapshot = app.live().snapshot();
    let batch = snapshot.batch(View::Streams);
    let col = batch
        .column_by_name("login")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    logins.iter().all(|l| col.iter().any(|v| v == Some(*l)))
}

fn keys(got: &[Received], path: &str) -> Vec<String> {
    got.iter()
        .filter(|r| r.path == path)
        .map(|r| r.header(IDEMPOTENCY_HEADER))
        .collect()
}

fn verify_signature(dir: &Path, r: &Received) -> String {
    let file = dir.join("body.json");
    std::fs::write(&file, &r.body).unwrap();
    let out = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/verify_signature.py"
        ))
        .arg(SECRET)
        .arg(&file)
        .arg(r.header(SIGNATURE_HEADER))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_and_a_raid_reach_slack_discord_and_a_signed_webhook_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // Windows in simulated time: a debug-build cycle on a busy machine can
    // take several simulated minutes.
    let rules = "[[rules]]\nname = \"crash\"\nkind = \"viewers_drop\"\npercent = 50\n\
                 window = \"1d\"\nmin_uptime = \"0s\"\nchannels = [\"victim\"]\n\
                 [[rules]]\nname = \"raided\"\nkind = \"viewers_gain\"\npercent = 100\nby = 500\n\
                 window = \"1d\"\nmin_uptime = \"0s\"\nchannels = [\"target\"]\n\
                 [[rules]]\nname = \"quiet\"\nkind = \"viewers_drop\"\npercent = 50\n\
                 window = \"1d\"\nmin_uptime = \"0s\"\nchannels = [\"steady\"]\n";
    let app = start(dir.path(), &format!("{rules}{}", targets(&rx)))
        .await
        .unwrap();
    cycles(&app, 2).await;
    let ids = go_live(
        &app,
        &[
            ("victim", 2000),
            ("raider", 1500),
            ("target", 300),
            ("steady", 900),
        ],
    );
    until!(
        "the scripted streams in live.streams",
        logins_live(&app, &["victim", "raider", "target", "steady"])
    );
    cycles(&app, 3).await;
    {
        let world = app.sim().unwrap().world();
        let mut w = world.lock().unwrap();
        w.crash(&ids[0], 0.2).unwrap();
        w.raid(&ids[1], &ids[2]).unwrap();
        // Noise: a 10% dip is no crash.
        w.set_viewers(&ids[3], 810).unwrap();
    }
    until!("two alerts at three targets", rx.got().len() >= 6);
    // Episodes, not cycles: a long quiet stretch fires nothing more.
    cycles(&app, 10).await;
    let got = rx.got();
    assert_eq!(got.len(), 6, "{:#?}", keys(&got, "/hook"));
    let mut hook_keys = keys(&got, "/hook");
    hook_keys.sort();
    let mut slack_keys = keys(&got, "/slack");
    slack_keys.sort();
    assert_eq!(hook_keys, slack_keys);
    assert_eq!(hook_keys, {
        let mut k = keys(&got, "/discord");
        k.sort();
        k
    });
    for r in &got {
        match r.path.as_str() {
            "/slack" => {
                let (ok, out) = check(slack_check(), &r.body);
                assert!(ok && out == "ok", "slack body refused: {out}\n{}", r.json());
            }
            "/discord" => {
                let (ok, out) = check(discord_check(), &r.body);
                assert!(
                    ok && out == "ok",
                    "discord body refused: {out}\n{}",
                    r.json()
                );
            }
            _ => {
                assert_eq!(verify_signature(dir.path(), r), "ok");
                assert_eq!(r.json()["id"], r.header(IDEMPOTENCY_HEADER));
            }
        }
    }
    let hooks: Vec<Value> = got
        .iter()
        .filter(|r| r.path == "/hook")
        .map(Received::json)
        .collect();
    let about = |rule: &str| {
        hooks
            .iter()
            .find(|b| b["data"]["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} alert in {hooks:#?}"))
    };
    assert_eq!(about("crash")["data"]["login"], "victim");
    assert_eq!(about("raided")["data"]["login"], "target");

    // Recorded, and delivered, in gold.alerts (outcomes land with the next
    // cycle's commit) and live.alerts.
    let delivered_rows = "SELECT count(DISTINCT concat(alert_id, target)) AS n \
                          FROM twitch.gold.alerts WHERE status = 'delivered'";
    until!(
        "six deliveries recorded as delivered",
        rows(&app, delivered_rows).await[0]["n"] == 6
    );
    let text = adbc_query(
        app.flight_addr().port(),
        "SELECT rule, login, target, status FROM twitch.live.alerts ORDER BY rule, target",
    );
    assert_eq!(text.matches("\"delivered\"").count(), 6, "{text}");
    assert!(!text.contains("\"quiet\""), "{text}");

    let scraped = scrape(&format!("http://{}/metrics", app.http_addr())).await;
    let fired = |rule: &str| {
        value(
            &scraped,
            "twitch_monitor_alerts_fired",
            "twitch_monitor_alerts_fired_total",
            &[("rule", rule)],
        )
    };
    assert_eq!(fired("crash"), Some(1.0), "{scraped}");
    assert_eq!(fired("raided"), Some(1.0));
    assert_eq!(fired("quiet"), None);
    let delivered = value(
        &scraped,
        "twitch_monitor_alert_deliveries",
        "twitch_monitor_alert_deliveries_total",
        &[("target", "hook"), ("status", "delivered")],
    );
    assert_eq!(delivered, Some(2.0));
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_429_gets_everything_later_in_order_and_a_restart_resends_only_the_undelivered()
 {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // Retry for long enough to outlast the outage (simulated time: backoff
    // runs on the service's clock).
    let alerts = format!(
        "max_attempts = 1000\nmax_backoff = \"20s\"\n\
         [[rules]]\nname = \"on\"\nkind = \"went_live\"\nmax_uptime = \"1d\"\nchannels = [\"first\", \"second\", \"third\"]\n\
         [[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\nsecret = \"{SECRET}\"\n",
        rx.addr
    );
    let app = start(dir.path(), &alerts).await.unwrap();
    cycles(&app, 2).await;

    // Down for three cycles and more, then a 429 with Retry-After, then up.
    rx.set_down(true);
    go_live(&app, &[("first", 500), ("second", 400)]);
    until!("the alerts tried", !rx.got().is_empty());
    cycles(&app, 3).await;
    // Nothing delivered yet, both recorded as pending.
    let pending = rows(
        &app,
        "SELECT DISTINCT alert_id FROM twitch.gold.alerts WHERE status = 'pending'",
    )
    .await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    rx.answer(429, &[("retry-after", "5")]);
    rx.set_down(false);
    until!(
        "both delivered",
        rx.got().iter().filter(|r| r.status == 200).count() >= 2
    );
    let got = rx.got();
    let ok: Vec<String> = got
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.header(IDEMPOTENCY_HEADER))
        .collect();
    // In firing order, each once; every retry carried the same key and body.
    let first_key = got[0].header(IDEMPOTENCY_HEADER);
    assert_eq!(ok[0], first_key);
    assert_eq!(ok.len(), 2);
    assert_ne!(ok[0], ok[1]);
    assert!(got.iter().any(|r| r.status == 429));
    for r in &got {
        let same = got
            .iter()
            .find(|o| o.header(IDEMPOTENCY_HEADER) == r.header(IDEMPOTENCY_HEADER))
            .unwrap();
        assert_eq!(r.body, same.body);
        assert_eq!(verify_signature(dir.path(), r), "ok");
    }
    let attempts_before_429 = got.iter().take_while(|r| r.status != 429).count();
    assert!(attempts_before_429 >= 3, "{attempts_before_429}");
    let delivered = "SELECT DISTINCT alert_id FROM twitch.gold.alerts WHERE status = 'delivered'";
    until!(
        "both recorded as delivered",
        rows(&app, delivered).await.len() == 2
    );

    // A third alert the receiver never accepts before the service stops.
    rx.set_down(true);
    go_live(&app, &[("third", 300)]);
    until!("the third alert tried", rx.got().len() > got.len());
    let third = rx.got().last().unwrap().header(IDEMPOTENCY_HEADER);
    assert!(!ok.contains(&third));
    let recorded = format!("SELECT 1 AS x FROM twitch.gold.alerts WHERE alert_id = '{third}'");
    until!(
        "the third alert recorded",
        !rows(&app, &recorded).await.is_empty()
    );
    app.shutdown().await.unwrap();

    // Restarted, with the receiver up: the undelivered alert arrives once,
    // under the same key; the delivered ones are not sent again.
    rx.set_down(false);
    let before = rx.got().len();
    let app = start(dir.path(), &alerts).await.unwrap();
    until!(
        "the third alert delivered after the restart",
        rx.got()[before..].iter().any(|r| r.status == 200)
    );
    let delivered = format!("{recorded} AND status = 'delivered'");
    until!(
        "the third alert recorded as delivered",
        !rows(&app, &delivered).await.is_empty()
    );
    cycles(&app, 5).await;
    let after: Vec<String> = rx.got()[before..]
        .iter()
        .map(|r| r.header(IDEMPOTENCY_HEADER))
        .collect();
    assert_eq!(after, std::slice::from_ref(&third));
    app.shutdown().await.unwrap();

    // And once everything is delivered, a restart sends nothing.
    let before = rx.got().len();
    let app = start(dir.path(), &alerts).await.unwrap();
    cycles(&app, 5).await;
    assert_eq!(rx.got().len(), before);
    let live = rows(
        &app,
        "SELECT DISTINCT alert_id, status FROM twitch.live.alerts",
    )
    .await;
    assert_eq!(live.len(), 3, "{live:?}");
    assert!(live.iter().all(|r| r["status"] == "delivered"), "{live:?}");
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_refuse_start_up_by_name_and_a_failing_sql_rule_never_stops_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |alerts: &'static str| {
        let dir = dir.path().to_owned();
        async move {
            let sub = tempfile::tempdir_in(&dir).unwrap();
            match start(sub.path(), alerts).await {
                Ok(_) => panic!("started with {alerts}"),
                Err(e) => format!("{e:#}"),
            }
        }
    };
    let e = refused("[[rules]]\nname = \"typo\"\nkind = \"viewers_dorp\"\n").await;
    assert!(e.contains("\"typo\""), "{e}");
    let e = refused("[[rules]]\nname = \"nowhere\"\nkind = \"sql\"\nquery = \"SELECT user_id FROM twitch.live.nope\"\n").await;
    assert!(e.contains("\"nowhere\"") && e.contains("plan"), "{e}");
    let e = refused("[[rules]]\nname = \"writer\"\nkind = \"sql\"\nquery = \"DELETE FROM twitch.gold.alerts\"\n").await;
    assert!(e.contains("\"writer\""), "{e}");

    // Plans, but fails on every row it reads: reported, ingest goes on.
    let alerts = "[[rules]]\nname = \"broken\"\nkind = \"sql\"\nquery = \"SELECT 'k' AS key, \
                  CAST(concat('x', cycle_id) AS INT) AS n FROM twitch.live.ingest_status\"\n";
    let app = start(dir.path(), alerts).await.unwrap();
    cycles(&app, 3).await;
    let status = rows(
        &app,
        "SELECT cycle_id, errors, last_error FROM twitch.live.ingest_status \
         WHERE last_error LIKE '%broken%'",
    )
    .await;
    assert!(!status.is_empty(), "no cycle reports the failing rule");
    assert!(status[0]["errors"].as_i64().unwrap() >= 1, "{status:?}");
    let scraped = scrape(&format!("http://{}/metrics", app.http_addr())).await;
    let errors = value(
        &scraped,
        "twitch_monitor_alert_rule_errors",
        "twitch_monitor_alert_rule_errors_total",
        &[("rule", "broken")],
    );
    assert!(errors.unwrap_or(0.0) >= 1.0, "{scraped}");
    let ok_cycles = value(
        &scraped,
        "twitch_monitor_cycles",
        "twitch_monitor_cycles_total",
        &[("outcome", "ok")],
    );
    assert!(ok_cycles.unwrap_or(0.0) >= 3.0, "{scraped}");
    // Every cycle reports the rule, and still counts as committed (what
    // readiness reads).
    assert!(app.live().last_cycle_finished_at().is_some());
    app.shutdown().await.unwrap();
}
