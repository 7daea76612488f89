//! Headless Chromium (Debian's, driven by playwright-core from
//! `tests/browser`) over every page: no console error or failed request, the
//! Now leaderboard equal to `live.leaderboard` through Flight SQL, the
//! streamer chart one point per `silver.stream_snapshots` row with the chat
//! overlay equal to `silver.chat_minutes`, its daily table equal to
//! `gold.streamer_daily`, the recent alerts on both pages equal to
//! `live.alerts` and `gold.alerts`, and the open pages redrawn for the
//! next cycle without a reload. Screenshots go to the test's output folder.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::{Service, open_flight};

/// Where the screenshots go (inside the build's target directory).
fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots")
}

/// `(rank, login, viewers, game)` rows, from the page's cells or Flight SQL.
fn board(rows: &[Value]) -> Vec<(i64, String, i64, String)> {
    let int = |v: &Value| v.as_i64().or_else(|| v.as_str()?.parse().ok()).unwrap();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    rows.iter()
        .map(|r| {
            (
                int(&r["rank"]),
                text(&r["login"]),
                int(&r["viewer_count"]),
                text(&r["game_name"]),
            )
        })
        .collect()
}

/// `(unix seconds, viewers)` points.
fn points(rows: &[Value]) -> Vec<(f64, i64)> {
    rows.iter()
        .map(|p| {
            let (x, y) = match p {
                Value::Array(a) => (&a[0], &a[1]),
                _ => (&p["x"], &p["viewer_count"]),
            };
            (x.as_f64().unwrap(), y.as_i64().unwrap())
        })
        .collect()
}

/// The daily table's figures, parsed back from the cells' raw values. Both
/// sides print a float as its shortest round-trip decimal (JavaScript's
/// `String`, Python's `repr`), so the cells are parsed with the same parser
/// as the Flight SQL rows (serde_json's, which is not exact to the last bit
/// without its `float_roundtrip` feature): equal figures read equal.
fn daily(rows: &[Value]) -> Vec<Vec<(String, Option<f64>)>> {
    const KEYS: [&str; 6] = [
        "minutes_streamed",
        "hours_watched",
        "avg_viewers",
        "peak_viewers",
        "sessions",
        "followers_gained",
    ];
    rows.iter()
        .map(|r| {
            KEYS.iter()
                .map(|k| {
                    let v = match &r[*k] {
                        Value::String(s) if s.is_empty() => None,
                        Value::String(s) => Some(serde_json::from_str(s).unwrap()),
                        Value::Null => None,
                        n => n.as_f64(),
                    };
                    ((*k).to_owned(), v)
                })
                .collect()
        })
        .collect()
}

/// Alice's `(minute, messages, sentiment)` rows through Flight SQL.
fn chat_minutes(s: &Service) -> Vec<(f64, i64, f64)> {
    let rows = s.flight_sql(
        "SELECT CAST(to_unixtime(minute) AS DOUBLE) AS x, messages, sentiment_mean \
         FROM twitch.silver.chat_minutes WHERE channel = 'alice' ORDER BY minute",
    );
    rows.iter()
        .map(|r| {
            (
                r["x"].as_f64().unwrap(),
                r["messages"].as_i64().unwrap(),
                r["sentiment_mean"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The chart's chat overlay points, `[x, messages, sentiment]`.
fn chat_points(v: &Value) -> Vec<(f64, i64, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_i64().unwrap(),
                p[2].as_f64().unwrap(),
            )
        })
        .collect()
}

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> Value {
    // Bounded: the script's own waits are bounded, this only catches a hang.
    let line = tokio::time::timeout(Duration::from_secs(240), lines.next_line())
        .await
        .expect("the browser script did not answer within 4 minutes")
        .unwrap()
        .expect("the browser script ended early (see its stderr above)");
    serde_json::from_str(&line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_live_cycles_equal_to_flight_sql_in_a_real_browser() {
    let mut s = Service::start(open_flight()).await;
    let game2 = s.rig.world(|w| w.games()[1].id.clone());
    // alice: 100 viewers for three cycles, 250 from the fourth, another game
    // from the fifth; follower totals move.
    for minute in 1..=6 {
        match minute {
            4 => s.rig.world(|w| w.set_viewers(&s.alice, 250)).unwrap(),
            5 => {
                let alice = s.alice.clone();
                s.rig
                    .world(|w| {
                        w.set_game(&alice, &game2).unwrap();
                        w.set_followers(&alice, 1_050)
                    })
                    .unwrap()
            }
            _ => {}
        }
        // Chat in alice's channel: a cheer, then a sour minute.
        match minute {
            2 => {
                s.say(&[("amy", "PogChamp PogChamp"), ("bob", "good stream")])
                    .await
            }
            3 => s.say(&[("cat", "not good"), ("amy", "bad bad bad")]).await,
            5 => s.say(&[("dan", "LUL")]).await,
            _ => {}
        }
        s.cycle().await;
    }
    let out = screenshots();
    let mut child = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/dashboard.mjs"
        ))
        .args(["--base", &s.base(), "--streamer", "alice", "--out"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node (installed by scripts/test)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = next_line(&mut lines).await;
    assert_eq!(seen["problems"], serde_json::json!([]), "{seen:#}");
    let current = s.live.snapshot().cycle_id().unwrap();
    for (name, page) in seen["pages"].as_object().unwrap() {
        assert_eq!(page["cycle"], current, "{name}: {page}");
    }
    for phone in ["now-phone", "streamer-phone"] {
        let overflow = seen["pages"][phone]["overflow"].as_i64().unwrap();
        assert!(overflow <= 0, "{phone} scrolls sideways by {overflow} px");
    }
    assert_eq!(seen["search"]["navigations"], 1, "search reloaded the page");

    let flight_board = |s: &Service| {
        s.flight_sql(
            "SELECT rank, login, viewer_count, game_name FROM twitch.live.leaderboard \
             ORDER BY rank LIMIT 100",
        )
    };
    let want = board(&flight_board(&s));
    assert!(want.iter().any(|r| r.1 == "alice"), "{want:?}");
    assert_eq!(board(seen["leaderboard"].as_array().unwrap()), want);

    let flight_points = |s: &Service| {
        let rows = s.flight_sql(&format!(
            "SELECT CAST(to_unixtime(observed_at) AS DOUBLE) AS x, viewer_count \
             FROM twitch.silver.stream_snapshots WHERE user_id = '{}' ORDER BY observed_at",
            s.alice
        ));
        points(&rows)
    };
    let curve = &seen["curve"];
    assert_eq!(curve["drawn"], true, "{curve}");
    let want_points = flight_points(&s);
    assert_eq!(want_points.len(), 6);
    assert_eq!(points(curve["points"].as_array().unwrap()), want_points);
    let kinds: Vec<&str> = curve["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["start", "game"], "one session, one game change");
    // Chat rate and sentiment overlaid on the same chart, per minute as
    // `silver.chat_minutes` has them.
    let want_chat = chat_minutes(&s);
    assert_eq!(want_chat.len(), 3, "{want_chat:?}");
    assert_eq!(chat_points(&curve["chat"]), want_chat);
    let labels = curve["labels"].as_array().unwrap();
    assert!(labels.contains(&"Sentiment".into()), "{labels:?}");

    let flight_daily = |s: &Service| {
        s.flight_sql(&format!(
            "SELECT minutes_streamed, hours_watched, avg_viewers, peak_viewers, sessions, \
             followers_gained FROM twitch.gold.streamer_daily WHERE user_id = '{}' ORDER BY day DESC",
            s.alice
        ))
    };
    let want_daily = daily(&flight_daily(&s));
    assert_eq!(want_daily.len(), 1);
    assert_eq!(daily(seen["daily"].as_array().unwrap()), want_daily);

    // Recent alerts on the Now page (live.alerts) and alice's page
    // (gold.alerts): her surge from 100 to 250 viewers, once.
    let ids = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["alert_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let live_alerts = ids(
        &s.flight_sql("SELECT DISTINCT alert_id FROM twitch.live.alerts WHERE login = 'alice'")
    );
    let gold_alerts =
        ids(&s.flight_sql("SELECT DISTINCT alert_id FROM twitch.gold.alerts WHERE rule = 'surge'"));
    assert_eq!(live_alerts.len(), 1, "{live_alerts:?}");
    assert_eq!(gold_alerts, live_alerts);
    for (table, rows) in [
        ("now", &seen["now_alerts"]),
        ("streamer", &seen["streamer_alerts"]),
    ] {
        let rows: Vec<Value> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rule"] == "surge")
            .cloned()
            .collect();
        assert_eq!(ids(&rows), live_alerts, "{table}: {rows:?}");
    }

    // The next cycle: alice at 400; the open pages follow without reloading.
    s.rig.world(|w| w.set_viewers(&s.alice, 400)).unwrap();
    let next = s.cycle().await;
    let stdin = child.stdin.as_mut().unwrap();
    stdin
        .write_all(format!("next {next}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    let updated = next_line(&mut lines).await;
    assert_eq!(updated["problems"], serde_json::json!([]), "{updated:#}");
    for page in ["now", "streamer"] {
        let p = &updated[page];
        assert_eq!(p["cycle"], next, "{page}: {p}");
        assert_eq!(
            p["boot"], seen["pages"][page]["boot"],
            "{page} was reloaded"
        );
        assert_eq!(p["navigations"], 1, "{page} was reloaded");
        assert!(p["renders"].as_i64() > seen["pages"][page]["renders"].as_i64());
    }
    assert_eq!(
        board(updated["leaderboard"].as_array().unwrap()),
        board(&flight_board(&s))
    );
    let want_points = flight_points(&s);
    assert_eq!(want_points.len(), 7);
    assert_eq!(want_points.last().unwrap().1, 400);
    assert_eq!(
        points(updated["curve"]["points"].as_array().unwrap()),
        want_points
    );
    assert_eq!(
        daily(updated["daily"].as_array().unwrap()),
        daily(&flight_daily(&s))
    );

    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the browser script did not exit")
        .unwrap();
    assert!(status.success());
    for page in [
        "now",
        "streamer",
        "categories",
        "leaderboards",
        "rising",
        "now-phone",
        "now-next",
    ] {
        assert!(
            out.join(format!("{page}.png")).is_file(),
            "no screenshot of {page}"
        );
    }
    eprintln!("dashboard screenshots in {}", out.display());
    // `scripts/screenshot` refreshes the README's picture from this run.
    if let Some(readme) = std::env::var_os("TM_README_SCREENSHOT") {
        std::fs::copy(out.join("now.png"), &readme).unwrap();
    }
}
