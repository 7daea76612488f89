//! The data API over real HTTP: named endpoints in JSON and in Arrow IPC
//! (read by pyarrow, as a notebook would), typed parameters refused when
//! malformed, answers pinned to a cycle, and Flight SQL's authentication:
//! Basic login to a session cookie, bearer tokens, SQL only for
//! authenticated callers and read-only.
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest;
use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::{FlightAuth, Secret};
use twitch_monitor::http::Access;

use super::{Service, open_flight};

async fn json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_endpoints_answer_json_and_arrow_of_one_cycle() {
    let mut s = Service::start(open_flight()).await;
    for _ in 0..3 {
        s.cycle().await;
    }
    let http = reqwest::Client::new();
    let base = format!("{}/api", s.base());

    let (code, body) = json(
        http.get(format!("{base}/live/leaderboard?limit=5"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["cycle_id"], 3);
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["rank"], 1);
    assert!(rows[0]["uptime_minutes"].is_i64(), "{}", rows[0]);

    // The same endpoint as Arrow IPC, read by pyarrow.
    let script = "import sys, urllib.request, pyarrow.ipc as ipc\n\
        r = urllib.request.urlopen(sys.argv[1])\n\
        t = ipc.open_stream(r.read()).read_all()\n\
        print(r.headers['x-cycle-id'], t.num_rows, ','.join(t.column_names))";
    let url = format!("{base}/streamer/alice/viewers?format=arrow");
    let out = crate::run_python("pyarrow reads Arrow IPC", ["-c", script, &url]);
    assert_eq!(
        out.trim(),
        "3 3 observed_at,viewer_count,game_name,session_id,stream_id,title"
    );

    // Pinned to the current cycle: answered; to an old one: 409 with the current.
    let r = http
        .get(format!("{base}/live/categories?cycle=3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.cycle().await;
    let (code, body) = json(
        http.get(format!("{base}/live/categories?cycle=3"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (code, &body["kind"], &body["cycle_id"]),
        (
            StatusCode::CONFLICT,
            &Value::from("stale_cycle"),
            &Value::from(4)
        )
    );

    // Typed parameters: malformed, unknown or out of range is a 400.
    for bad in [
        "leaderboard?metric=nope",
        "leaderboard?day=yesterday",
        "live/leaderboard?limit=0",
        "live/leaderboard?limt=5",
        "streamer/alice/viewers?from=noon",
        "search?q=a'b",
    ] {
        let (code, body) = json(http.get(format!("{base}/{bad}")).send().await.unwrap()).await;
        assert_eq!(code, 400, "{bad}: {body}");
        assert_eq!(body["kind"], "invalid_argument", "{bad}");
    }
    let (code, body) = json(
        http.get(format!("{base}/streamer/nobody"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (code, &body["kind"]),
        (StatusCode::NOT_FOUND, &Value::from("not_found"))
    );
    // A channel seen streaming, ended, whose profile is not read yet (the
    // poller defers new profiles at scale): found by its session.
    let t = twitch_monitor::schema::Table::StreamSessions;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let text = |v: &str| Arc::new(arrow::array::StringArray::from(vec![v.to_owned()]));
    let session = crate::lake::data::rows(t, 1, 1000, day);
    let session = crate::lake::data::with_column(&session, "status", text("ended"));
    let ended = crate::lake::data::with_column(&session, "user_login", text("ghost"));
    s.rig.lake.append(t, vec![ended], 1000).await.unwrap();
    s.cycle().await;
    let (code, body) = json(
        http.get(format!("{base}/streamer/ghost/viewers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{body}");

    // By language: computed from gold.streamer_daily, alice is the German channel.
    let (code, body) = json(
        http.get(format!("{base}/leaderboard?language=de&metric=avg_viewers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["login"] == "alice"),
        "{body}"
    );

    // Without authentication configured, SQL over HTTP is refused.
    let r = http
        .post(format!("{base}/sql"))
        .body("SELECT 1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Answers are compressed for clients that accept it.
    let r = http
        .get(format!("{}/assets/js/app.js", s.base()))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "br");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_flight_sql_users_and_tokens() {
    let hash: String = sha2::Sha256::digest(b"saltsecret!")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let config = twitch_monitor::config::FlightConfig {
        auth: FlightAuth::Basic,
        users: vec![format!("alice:salt:{hash}").parse().unwrap()],
        tokens: vec![Secret::from("static-token-0123456789")],
        ..open_flight()
    };
    let mut s = Service::start(config.clone()).await;
    s.cycle().await;
    let base = format!("{}/api", s.base());
    let http = reqwest::Client::new();

    // No credentials: 401 with a Basic challenge (the browser's prompt).
    let r = http.get(format!("{base}/status")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let r = http
        .get(format!("{base}/status"))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The pages themselves hold no data and load without credentials.
    assert_eq!(http.get(s.base()).send().await.unwrap().status(), 200);

    // Basic once: a session cookie, which alone is enough afterwards.
    let r = http
        .get(format!("{base}/status"))
        .basic_auth("alice", Some("secret!"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let r = http
        .get(format!("{base}/live/leaderboard"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Login for scripts: a bearer token.
    let (code, body) = json(
        http.post(format!("{base}/login"))
            .basic_auth("alice", Some("secret!"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200);
    let token = body["token"].as_str().unwrap().to_owned();

    // SQL for authenticated callers: parameterised, read-only.
    let r = http
        .post(format!("{base}/sql"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"sql": "SELECT login FROM twitch.live.streams WHERE viewer_count >= ? AND login = ?", "params": [100, "alice"]}))
        .send()
        .await
        .unwrap();
    let (code, body) = json(r).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["rows"], serde_json::json!([{"login": "alice"}]));
    let r = http
        .post(format!("{base}/sql"))
        .bearer_auth("static-token-0123456789")
        .body("DROP TABLE twitch.gold.streamer_daily")
        .send()
        .await
        .unwrap();
    let (code, body) = json(r).await;
    assert_eq!(
        (code, &body["kind"]),
        (StatusCode::FORBIDDEN, &Value::from("permission_denied"))
    );

    // Off loopback without authentication, no data is served.
    let refused = twitch_monitor::app::web::access(
        &open_flight(),
        "0.0.0.0:8080".parse().unwrap(),
        Arc::new(SystemClock),
    );
    assert!(matches!(refused, Access::Refused(ref why) if why.contains("TM_FLIGHT_AUTH")));
}
