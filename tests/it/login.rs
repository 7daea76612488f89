//! The Twitch user token against the simulator's OAuth endpoints: the device
//! code flow (`authorization_pending`, `slow_down`, an expired code, a
//! denial) through the real client and the real `login` command, the user
//! token refreshed on expiry and after revocation with the rotated refresh
//! token written back, and follower totals asked with the user token while
//! every other endpoint keeps the app token (tokens counted at the simulator);
//! chat read as the logged-in user, whose refused token is renewed.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;
use twitch_monitor::app::App;

use crate::{eventually, until};
use twitch_monitor::chat::{ChatArgs, ChatAuth, ChatClient, ChatSource};
use twitch_monitor::clock::{Clock, ManualClock, SharedClock, SystemClock};
use twitch_monitor::config::{
    ChatSettings, Config, Credentials, Secret, Source, UserTokenSettings,
};
use twitch_monitor::sim::server::BearerCounts;
use twitch_monitor::sim::{SimServer, SimServerArgs, World};
use twitch_monitor::twitch::oauth::{OAuthClient, SCOPES, UserGrant, Waiting};
use twitch_monitor::twitch::token_file::{StoredLogin, TokenFile};
use twitch_monitor::twitch::{
    ClientArgs, Error, Helix, HelixClient, StreamQuery, UserToken, UserTokenArgs,
};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

async fn sim(clock: SharedClock, start: DateTime<Utc>) -> SimServer {
    let world = World::with_live_streams(5, 12, start);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    SimServer::start(listener, SimServerArgs::new(world, clock)).unwrap()
}

fn oauth(sim: &SimServer) -> OAuthClient {
    OAuthClient::new(
        &sim.auth_url(),
        sim.client_id().to_owned(),
        Some(Secret::from(sim.client_secret())),
        Duration::from_secs(10),
    )
    .unwrap()
}

fn client_args(sim: &SimServer, clock: SharedClock) -> ClientArgs {
    ClientArgs {
        helix_url: sim.helix_url(),
        auth_url: sim.auth_url(),
        client_id: sim.client_id().to_owned(),
        client_secret: Secret::from(sim.client_secret()),
        request_timeout: Duration::from_secs(10),
        max_retries: 2,
        max_pages: 20,
        clock,
    }
}

/// A device-code login the simulated user approves at once.
async fn login(sim: &SimServer, clock: &SharedClock) -> UserGrant {
    sim.update_user_knobs(|k| k.approve_after_polls = Some(0));
    let oauth = oauth(sim);
    let code = oauth.start_device(SCOPES).await.unwrap();
    oauth.wait_for_approval(&code, clock, |_| {}).await.unwrap()
}

#[tokio::test]
async fn the_device_flow_waits_out_pending_and_slow_down_and_stops_on_expiry_or_denial() {
    let manual = ManualClock::new(t0());
    let clock: SharedClock = Arc::new(manual.clone());
    let sim = sim(clock.clone(), t0()).await;
    let oauth = oauth(&sim);

    sim.update_user_knobs(|k| {
        k.approve_after_polls = Some(2);
        k.slow_down_next = 1;
    });
    let code = oauth.start_device(SCOPES).await.unwrap();
    assert_eq!(code.interval, Duration::from_secs(5));
    assert!(code.verification_uri.ends_with(&code.user_code), "{code:?}");
    let start = manual.now();
    let mut seen = Vec::new();
    let grant = oauth
        .wait_for_approval(&code, &clock, |w| seen.push(w))
        .await
        .unwrap();
    let ten = Duration::from_secs(10);
    assert_eq!(
        seen,
        [Waiting::SlowDown(ten), Waiting::Pending, Waiting::Pending]
    );
    // One poll after 5 s, then every 10 s once Twitch said slow_down.
    assert_eq!(manual.now() - start, TimeDelta::seconds(5 + 10 + 10 + 10));
    assert_eq!(sim.oauth_stats().device_polls, 4);
    let me = oauth.validate(&grant.access_token).await.unwrap().unwrap();
    assert_eq!(
        (me.login.as_str(), me.user_id.as_str()),
        ("simviewer", "900000001")
    );
    assert_eq!(me.scopes, SCOPES);
    assert_eq!(grant.scopes, SCOPES);

    // Nobody approves: the code expires and the wait ends, polls bounded.
    sim.update_user_knobs(|k| {
        k.approve_after_polls = None;
        k.device_code_ttl = Duration::from_secs(60);
    });
    let code = oauth.start_device(SCOPES).await.unwrap();
    let polls = sim.oauth_stats().device_polls;
    let e = oauth
        .wait_for_approval(&code, &clock, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DeviceCodeExpired), "{e}");
    assert!(e.to_string().contains("twitch-monitor login"), "{e}");
    assert!(sim.oauth_stats().device_polls - polls <= 12);

    // The user declines.
    sim.update_user_knobs(|k| {
        k.approve_after_polls = Some(0);
        k.deny = true;
    });
    let code = oauth.start_device(SCOPES).await.unwrap();
    let e = oauth
        .wait_for_approval(&code, &clock, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AuthorizationDenied { .. }), "{e}");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_use_the_user_token_the_rest_the_app_token_and_the_user_token_refreshes() {
    let manual = ManualClock::new(t0());
    let clock: SharedClock = Arc::new(manual.clone());
    let sim = sim(clock.clone(), t0()).await;
    // Followers refuse app tokens: every total below came with the user token.
    sim.update_user_knobs(|k| k.refuse_app_tokens_on_followers = true);
    let dir = tempfile::tempdir().unwrap();
    let file = TokenFile::new(dir.path().join("token.json"));
    let grant = login(&sim, &clock).await;
    let first = grant.refresh_token.clone();
    file.save(&StoredLogin {
        refresh_token: first.clone(),
        user_id: "900000001".into(),
        login: "simviewer".into(),
        scopes: grant.scopes.clone(),
    })
    .unwrap();
    let user = Arc::new(UserToken::new(UserTokenArgs {
        oauth: oauth(&sim),
        refresh_token: file.load().unwrap().unwrap().refresh_token,
        file: Some(file.clone()),
        clock: clock.clone(),
    }));
    let client = HelixClient::connect_with(client_args(&sim, clock.clone()), Some(user))
        .await
        .unwrap();
    let streams = client
        .streams(&StreamQuery {
            limit: Some(6),
            ..Default::default()
        })
        .await;
    assert!(streams.errors.is_empty(), "{:?}", streams.errors);
    let ids: Vec<String> = streams.value.iter().map(|s| s.user_id.clone()).collect();
    assert_eq!(ids.len(), 6);
    let totals = |n: usize| {
        let (client, ids) = (client.clone(), ids[..n].to_vec());
        async move {
            let calls = ids.iter().map(|id| client.follower_total(id));
            futures::future::join_all(calls).await
        }
    };
    for t in totals(6).await {
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert!(t.value.is_some());
    }
    let bearer = sim.oauth_stats().bearer;
    assert_eq!(bearer["streams"].user, 0);
    assert!(bearer["streams"].app >= 1);
    assert_eq!(
        bearer["channels/followers"],
        BearerCounts { app: 0, user: 6 }
    );
    // The first use refreshed once for all six, and the refresh token Twitch
    // rotated is in the file; the spent one no longer works.
    assert_eq!(sim.oauth_stats().refresh_grants, 1);
    let rotated = file.load().unwrap().unwrap();
    assert_ne!(rotated.refresh_token, first);
    assert_eq!(rotated.login, "simviewer");
    let spent = oauth(&sim).refresh(&first).await.unwrap_err();
    assert!(matches!(spent, Error::RefreshRejected { .. }), "{spent}");

    // Expiry: refreshed before it runs out, not after a 401.
    manual.advance(Duration::from_secs(4 * 3600));
    for t in totals(2).await {
        assert!(t.errors.is_empty() && t.value.is_some(), "{:?}", t.errors);
    }
    assert_eq!(sim.oauth_stats().refresh_grants, 2);
    assert_eq!(sim.stats().count_status("channels/followers", 401), 0);

    // Revoked with requests in flight: one refresh, every total arrives.
    sim.revoke_user_tokens();
    for t in totals(6).await {
        assert!(t.errors.is_empty() && t.value.is_some(), "{:?}", t.errors);
    }
    assert_eq!(sim.oauth_stats().refresh_grants, 3);
    assert!(sim.stats().count_status("channels/followers", 401) >= 1);
    let app_tokens = sim.stats().tokens_issued;

    // The user disconnects the app: a clear error, and no request storm.
    sim.revoke_user_authorization();
    let t = client.follower_total(&ids[0]).await;
    assert!(
        matches!(*t.errors[0], Error::RefreshRejected { .. }),
        "{:?}",
        t.errors
    );
    let token_requests = sim.stats().count("oauth2/token");
    let t = client.follower_total(&ids[0]).await;
    assert!(matches!(*t.errors[0], Error::RefreshRejected { .. }));
    assert_eq!(sim.stats().count("oauth2/token"), token_requests);

    // A new login lands in the file: picked up without a restart.
    let again = login(&sim, &clock).await;
    file.save_refresh_token(&again.refresh_token).unwrap();
    manual.advance(Duration::from_secs(61));
    let t = client.follower_total(&ids[0]).await;
    assert!(t.errors.is_empty() && t.value.is_some(), "{:?}", t.errors);
    // The app token was never renewed for any of this.
    assert_eq!(sim.stats().tokens_issued, app_tokens);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_command_prints_the_code_waits_for_approval_and_stores_the_token_owner_only() {
    let sim = sim(Arc::new(SystemClock), Utc::now()).await;
    sim.update_user_knobs(|k| k.device_interval = Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config/user-token.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .arg("login")
        .env("TWITCH_CLIENT_ID", sim.client_id())
        .env("TWITCH_CLIENT_SECRET", sim.client_secret())
        .env("TWITCH_AUTH_URL", sim.auth_url())
        .env("TM_USER_TOKEN_FILE", &path)
        .env_remove("TM_TWITCH_REFRESH_TOKEN")
        .env_remove("TM_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("login printed no URL");
        printed.push(line.clone());
        if line.contains("/activate?device-code=") {
            break line.trim().to_owned();
        }
    };
    let user_code = url.rsplit('=').next().unwrap().to_owned();
    // The code the user has to type is printed next to the URL.
    let code_line = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("login printed no code");
        printed.push(line.clone());
        if line.contains("enter the code") {
            break line;
        }
    };
    assert!(code_line.contains(&user_code), "{code_line}");
    // The command polls (and hears `authorization_pending`) until the user approves.
    until("a pending poll", Duration::from_secs(20), || {
        sim.oauth_stats().device_polls >= 1
    })
    .await;
    let approved = reqwest::get(&url).await.unwrap();
    assert_eq!(approved.status(), 200);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("login did not finish after approval")
        .unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push(line);
    }
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(status.success(), "{printed:?} {stderr}");
    let out = printed.join("\n");
    assert!(out.contains("Logged in as simviewer"), "{out}");

    let stored = TokenFile::new(&path).load().unwrap().unwrap();
    assert_eq!(stored.login, "simviewer");
    assert_eq!(stored.scopes, SCOPES);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let secret = stored.refresh_token.expose().to_owned();
    assert!(!out.contains(&secret) && !stderr.contains(&secret));
    // The stored token is one the auth host honours.
    oauth(&sim).refresh(&stored.refresh_token).await.unwrap();
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_asks_follower_totals_with_the_stored_user_token_and_streams_with_the_app_token() {
    let clock: SharedClock = Arc::new(SystemClock);
    let sim = sim(clock.clone(), Utc::now()).await;
    sim.update_user_knobs(|k| {
        k.device_interval = Duration::from_secs(1);
        k.refuse_app_tokens_on_followers = true;
    });
    let grant = login(&sim, &clock).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user-token.json");
    TokenFile::new(&path)
        .save(&StoredLogin {
            refresh_token: grant.refresh_token,
            user_id: "900000001".into(),
            login: "simviewer".into(),
            scopes: grant.scopes,
        })
        .unwrap();
    let config = Config {
        lake: dir.path().join("lake").to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        source: Source::Twitch,
        credentials: Some(Credentials {
            client_id: sim.client_id().to_owned(),
            client_secret: Secret::from(sim.client_secret()),
        }),
        helix_url: sim.helix_url(),
        auth_url: sim.auth_url(),
        poll_interval: Duration::from_secs(5),
        user_token: UserTokenSettings {
            file: Some(path),
            refresh_token: None,
        },
        // Chat of the top three, read as the logged-in user.
        chat: ChatSettings {
            addr: Some(sim.chat_url()),
            top_n: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    config.validate().unwrap();
    let app = App::start(config).await.unwrap();
    let irc = sim.irc().unwrap();
    until("chat joins as the user", Duration::from_secs(60), || {
        !irc.joins().is_empty()
    })
    .await;
    assert!(
        irc.joins().iter().all(|j| j.nick == "simviewer"),
        "{:?}",
        irc.joins()
    );
    assert_eq!(irc.stats().logins_refused, 0);
    until(
        "follower totals with the user token",
        Duration::from_secs(60),
        || {
            sim.oauth_stats()
                .bearer
                .get("channels/followers")
                .is_some_and(|c| c.user >= 1)
        },
    )
    .await;
    let bearer = sim.oauth_stats().bearer;
    assert_eq!(bearer["channels/followers"].app, 0);
    assert!(bearer["streams"].app >= 1 && bearer["streams"].user == 0);
    assert_eq!(sim.stats().count_status("channels/followers", 401), 0);
    app.shutdown().await.unwrap();
    sim.shutdown().await.unwrap();
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread: the subscriber set below is the thread's default, and the
// simulator's tasks run on the same thread.
#[tokio::test(flavor = "current_thread")]
async fn without_a_user_token_a_refusal_of_the_app_token_is_explained_once() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let manual = ManualClock::new(t0());
    let clock: SharedClock = Arc::new(manual.clone());
    let sim = sim(clock.clone(), t0()).await;
    sim.update_user_knobs(|k| k.refuse_app_tokens_on_followers = true);
    let client = HelixClient::connect(client_args(&sim, clock))
        .await
        .unwrap();
    let app_tokens = sim.stats().tokens_issued;
    let streams = client
        .streams(&StreamQuery {
            limit: Some(3),
            ..Default::default()
        })
        .await;
    for s in &streams.value {
        let t = client.follower_total(&s.user_id).await;
        assert!(
            matches!(*t.errors[0], Error::Status { status: 401, .. }),
            "{:?}",
            t.errors
        );
        assert_eq!(t.value, None);
    }
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let explained = "follower totals need a user access token";
    assert_eq!(text.matches(explained).count(), 1, "{text}");
    assert!(text.contains("Run `twitch-monitor login`"), "{text}");
    assert_eq!(sim.oauth_stats().bearer["channels/followers"].user, 0);
    // "Missing User OAUTH Token" is not answered with a new app token.
    assert_eq!(sim.stats().tokens_issued, app_tokens);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_auth_host_times_requests_out_until_it_answers_again() {
    let sim = sim(Arc::new(SystemClock), Utc::now()).await;
    sim.update_user_knobs(|k| k.auth_latency = Duration::from_secs(3));
    let mut args = client_args(&sim, Arc::new(SystemClock));
    args.request_timeout = Duration::from_millis(300);
    let e = HelixClient::connect(args.clone()).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    let quick = OAuthClient::new(
        &sim.auth_url(),
        sim.client_id().to_owned(),
        None,
        Duration::from_millis(300),
    )
    .unwrap();
    let e = quick.start_device(SCOPES).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    // Nothing was answered while it hung.
    assert_eq!(sim.stats().count("oauth2/token"), 0);
    sim.update_user_knobs(|k| k.auth_latency = Duration::ZERO);
    HelixClient::connect(args).await.unwrap();
    quick.start_device(SCOPES).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_logs_in_as_the_user_and_a_refused_token_is_renewed_before_the_next_login() {
    let manual = ManualClock::new(t0());
    let clock: SharedClock = Arc::new(manual.clone());
    let world = World::with_live_streams(3, 20, t0());
    let top: Vec<String> = world
        .live_streams()
        .iter()
        .take(3)
        .map(|s| s.user_login.clone())
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = SimServer::start(listener, SimServerArgs::new(world, clock.clone())).unwrap();
    let grant = login(&sim, &clock).await;
    let user = Arc::new(UserToken::new(UserTokenArgs {
        oauth: oauth(&sim),
        refresh_token: grant.refresh_token,
        file: None,
        clock: clock.clone(),
    }));
    let mut args = ChatArgs::new(sim.chat_url().parse().unwrap(), clock.clone());
    args.auth = ChatAuth::User {
        login: "SimViewer".into(),
        tokens: user,
    };
    let client = ChatClient::start(args).unwrap();
    client.set_channels(&top);
    eventually("the joins", || client.stats().joined == 3).await;
    manual.set(t0() + TimeDelta::minutes(3));
    eventually("generated chat", || client.stats().messages > 50).await;
    let irc = sim.irc().unwrap();
    assert_eq!((irc.stats().logins, irc.stats().logins_refused), (1, 0));
    assert!(irc.joins().iter().all(|j| j.nick == "simviewer"));
    assert_eq!(client.stats().unparsable, 0);

    // The access token dies: the next login is refused, the client renews
    // the token and, after its backoff, logs in with the new one.
    let refreshed = sim.oauth_stats().user_tokens_issued;
    sim.revoke_user_tokens();
    irc.reconnect_all();
    eventually("the refused login", || irc.stats().logins_refused == 1).await;
    eventually("the renewed token", || {
        sim.oauth_stats().user_tokens_issued > refreshed
    })
    .await;
    manual.advance(Duration::from_secs(120));
    eventually("the login with the renewed token", || {
        irc.stats().logins == 2
    })
    .await;
    eventually("the joins again", || client.stats().joined == 3).await;
    assert_eq!(irc.stats().logins_refused, 1);
    assert!(irc.joins().iter().all(|j| j.nick == "simviewer"));
    client.shutdown().await;
    sim.shutdown().await.unwrap();
}
