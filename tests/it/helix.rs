//! The real Helix client against the local Helix server over loopback HTTP:
//! auth, rate limits, pagination faults, broken bodies, retries, batching and
//! determinism. Waits run on a `ManualClock`, so they cost no real time.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::net::TcpListener;
use twitch_monitor::clock::{Clock, ManualClock};
use twitch_monitor::config::Secret;
use twitch_monitor::sim::server::{Faults, RateLimit};
use twitch_monitor::sim::{SimServer, SimServerArgs, World};
use twitch_monitor::twitch::{ClientArgs, Error, Fetched, Helix, HelixClient, StreamQuery};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

/// A server over a world of `channels` live channels on a manual clock.
struct Fixture {
    server: SimServer,
    clock: ManualClock,
}

impl Fixture {
    async fn start(channels: usize, tweak: impl FnOnce(&mut SimServerArgs)) -> Self {
        let clock = ManualClock::new(t0());
        let world = World::with_live_streams(7, channels, t0());
        let mut args = SimServerArgs::new(world, Arc::new(clock.clone()));
        tweak(&mut args);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = SimServer::start(listener, args).unwrap();
        Self { server, clock }
    }

    fn args(&self) -> ClientArgs {
        ClientArgs {
            helix_url: self.server.helix_url(),
            auth_url: self.server.auth_url(),
            client_id: self.server.client_id().to_owned(),
            client_secret: Secret::from(self.server.client_secret()),
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            max_pages: 100,
            clock: Arc::new(self.clock.clone()),
        }
    }

    async fn client(&self) -> HelixClient {
        HelixClient::connect(self.args()).await.unwrap()
    }

    async fn stop(self) {
        self.server.shutdown().await.unwrap();
    }
}

impl Fixture {
    /// Ids of the world's users `range` (in the world's own order).
    fn ids(&self, range: std::ops::Range<usize>) -> Vec<String> {
        let world = self.server.world();
        let world = world.lock().unwrap();
        let all: Vec<String> = world.users().map(|u| u.id.clone()).collect();
        all[range].to_vec()
    }

    /// Logins of the world's users `range`.
    fn logins(&self, range: std::ops::Range<usize>) -> Vec<String> {
        let world = self.server.world();
        let world = world.lock().unwrap();
        let all: Vec<String> = world.users().map(|u| u.login.clone()).collect();
        all[range].to_vec()
    }
}

fn statuses<T>(f: &Fetched<T>) -> Vec<u16> {
    f.responses.iter().map(|r| r.http_status).collect()
}

fn assert_unique(streams: &[twitch_monitor::twitch::Stream]) -> HashSet<String> {
    let set: HashSet<String> = streams.iter().map(|s| s.id.clone()).collect();
    assert_eq!(set.len(), streams.len(), "a stream appears twice");
    set
}

#[tokio::test]
async fn a_revoked_token_is_replaced_and_the_request_retried_once() {
    let fx = Fixture::start(50, |_| {}).await;
    let client = fx.client().await;
    assert_eq!(client.users(&fx.ids(0..2), &[]).await.value.len(), 2);

    fx.server.revoke_tokens();
    let users = client.users(&fx.ids(0..3), &[]).await;
    assert!(users.errors.is_empty(), "{:?}", users.errors);
    assert_eq!(users.value.len(), 3);
    assert_eq!(statuses(&users), [401, 200]);

    // Periodic revocation and plain expiry are survived the same way.
    fx.server.update_faults(|f| f.revoke_every = 2);
    for _ in 0..3 {
        let s = client
            .streams(&StreamQuery {
                limit: Some(5),
                ..Default::default()
            })
            .await;
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.value.len(), 5);
    }
    // connect, the manual revocation, and one per revoked third call.
    assert_eq!(fx.server.stats().tokens_issued, 5);
    fx.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    let fx = Fixture::start(10, |a| a.token_ttl = Duration::from_secs(600)).await;
    let client = fx.client().await;
    fx.clock.advance(Duration::from_secs(601));
    let users = client.users(&fx.ids(0..1), &[]).await;
    assert!(users.errors.is_empty(), "{:?}", users.errors);
    assert_eq!(users.value.len(), 1);
    assert_eq!(fx.server.stats().tokens_issued, 2);
    fx.stop().await;
}

#[tokio::test]
async fn the_token_is_validated_at_start_and_hourly() {
    let fx = Fixture::start(10, |_| {}).await;
    let client = fx.client().await;
    assert_eq!(fx.server.stats().count("oauth2/validate"), 1);
    client.users(&fx.ids(0..1), &[]).await;
    fx.clock.advance(Duration::from_secs(30 * 60));
    client.users(&fx.ids(0..1), &[]).await;
    assert_eq!(fx.server.stats().count("oauth2/validate"), 1);
    fx.clock.advance(Duration::from_secs(31 * 60));
    client.users(&fx.ids(0..1), &[]).await;
    assert_eq!(fx.server.stats().count("oauth2/validate"), 2);
    fx.stop().await;
}

#[tokio::test]
async fn bad_credentials_stop_connect_without_leaking_the_secret() {
    let fx = Fixture::start(1, |_| {}).await;
    let secret = "hunter2-do-not-print-me";
    let mut args = fx.args();
    args.client_secret = Secret::from(secret);
    let e = HelixClient::connect(args.clone()).await.unwrap_err();
    assert!(
        matches!(e, Error::BadCredentials { status: 403, .. }),
        "{e:?}"
    );
    for text in [e.to_string(), format!("{e:?}"), format!("{args:?}")] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
    assert!(e.to_string().contains("invalid client secret"), "{e}");

    let mut args = fx.args();
    args.client_id = "nobody".into();
    let e = HelixClient::connect(args).await.unwrap_err();
    assert!(
        matches!(e, Error::BadCredentials { status: 400, .. }),
        "{e:?}"
    );

    let client = fx.client().await;
    let shown = format!("{client:?}");
    assert!(!shown.contains(fx.server.client_secret()), "{shown}");
    fx.stop().await;
}

#[tokio::test]
async fn a_burst_larger_than_the_bucket_never_overruns_it() {
    let fx = Fixture::start(40, |a| {
        a.rate_limit = RateLimit {
            points: 10,
            window: Duration::from_secs(2),
        }
    })
    .await;
    let client = fx.client().await;
    let calls = fx.ids(0..35).into_iter().map(|id| {
        let client = client.clone();
        async move { client.follower_total(&id).await }
    });
    let results = futures::future::join_all(calls).await;
    for r in &results {
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert!(r.value.is_some());
    }
    let stats = fx.server.stats();
    assert_eq!(stats.count_status("channels/followers", 200), 35);
    assert_eq!(
        (stats.rate_limited, stats.over_bucket, stats.max_over_bucket),
        (0, 0, 0)
    );
    // 35 requests through a bucket of 10 per 2 s: the client waited on the clock.
    assert!(
        fx.clock.now() - t0() >= TimeDelta::seconds(4),
        "{}",
        fx.clock.now()
    );
    let cs = client.stats();
    assert_eq!(cs.requests, 35);
    assert_eq!(cs.rate_limit_limit, Some(10));
    fx.stop().await;
}

#[tokio::test]
async fn a_429_storm_is_waited_out() {
    let fx = Fixture::start(20, |_| {}).await;
    let client = fx.client().await;
    fx.server.update_faults(|f| f.storm_next = 3);
    let before = fx.clock.now();
    let s = client
        .streams(&StreamQuery {
            limit: Some(5),
            ..Default::default()
        })
        .await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.value.len(), 5);
    assert_eq!(statuses(&s), [429, 429, 429, 200]);
    assert!(s.responses[0].payload.contains("Request limit exceeded"));
    assert_eq!(fx.server.stats().rate_limited, 3);
    // Each 429 said "reset in a second" and the client waited for it.
    assert!(fx.clock.now() - before >= TimeDelta::seconds(3));
    fx.stop().await;
}

#[tokio::test]
async fn duplicate_pages_yield_each_stream_exactly_once() {
    let fx = Fixture::start(1000, |a| a.faults.duplicate_overlap = 30).await;
    let client = fx.client().await;
    let sweep = client.streams(&StreamQuery::default()).await;
    assert!(sweep.errors.is_empty(), "{:?}", sweep.errors);
    let got = assert_unique(&sweep.value);
    let world = fx.server.world();
    let all: HashSet<String> = world
        .lock()
        .unwrap()
        .live_streams()
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(got, all);
    // 100 per page moving 70 at a time after the first: 14 pages.
    assert_eq!(sweep.responses.len(), 14);
    assert_eq!(sweep.responses.last().unwrap().page, 13);
    fx.stop().await;
}

#[tokio::test]
async fn looping_pagination_ends_with_each_stream_once() {
    let fx = Fixture::start(1000, |a| a.faults.loop_after_pages = 3).await;
    let client = fx.client().await;
    let sweep = client.streams(&StreamQuery::default()).await;
    assert!(sweep.errors.is_empty(), "{:?}", sweep.errors);
    assert_unique(&sweep.value);
    assert_eq!(sweep.value.len(), 300);
    // Three pages, the loop back to the first, then its cursor repeats: stop.
    assert_eq!(fx.server.stats().count("streams"), 4);

    // Without the repeat, the page cap still bounds a sweep.
    let mut args = fx.args();
    args.max_pages = 5;
    fx.server.update_faults(|f| f.loop_after_pages = 0);
    let capped = HelixClient::connect(args)
        .await
        .unwrap()
        .streams(&StreamQuery::default())
        .await;
    assert_eq!((capped.responses.len(), capped.value.len()), (5, 500));
    fx.stop().await;
}

#[tokio::test]
async fn malformed_and_truncated_bodies_are_handed_up_and_later_calls_work() {
    let fx = Fixture::start(300, |_| {}).await;
    let client = fx.client().await;

    // One garbled body is asked for again; both responses are handed up.
    fx.server.update_faults(|f| f.malformed_next = 1);
    let users = client.users(&fx.ids(0..5), &[]).await;
    assert_eq!(statuses(&users), [200, 200]);
    assert!(users.responses[0].payload.contains("<html>"));
    assert!(users.errors.is_empty(), "{:?}", users.errors);
    assert_eq!(users.value.len(), 5);

    // Garbled twice: the error is reported, with both bodies.
    fx.server.update_faults(|f| f.malformed_next = 2);
    let users = client.users(&fx.ids(0..5), &[]).await;
    assert_eq!(statuses(&users), [200, 200]);
    assert!(users.responses[1].payload.contains("<html>"));
    assert!(
        matches!(users.errors.as_slice(), [e] if matches!(**e, Error::Parse { .. })),
        "{:?}",
        users.errors
    );
    assert!(users.value.is_empty());

    // A sweep keeps the pages before a truncated one, and reports it.
    fx.server.update_faults(|f| f.truncated_next = 2);
    let first = client
        .streams(&StreamQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await;
    assert!(first.value.is_empty());
    let body = &first.responses[0].payload;
    assert!(
        body.starts_with("{\"data\":[") && !body.ends_with('}'),
        "{body}"
    );
    assert!(matches!(*first.errors[0], Error::Parse { .. }));

    let users = client.users(&fx.ids(0..5), &[]).await;
    assert!(users.errors.is_empty());
    assert_eq!(users.value.len(), 5);
    let sweep = client.streams(&StreamQuery::default()).await;
    assert!(sweep.errors.is_empty());
    assert_eq!(sweep.value.len(), 300);
    fx.stop().await;
}

#[tokio::test]
async fn a_missing_follower_total_is_none_never_zero() {
    let fx = Fixture::start(5, |_| {}).await;
    let client = fx.client().await;
    fx.server.update_faults(|f| f.missing_total_next = 1);
    let id = fx.ids(0..1).remove(0);
    let total = fx.server.world().lock().unwrap().followers(&id);
    let missing = client.follower_total(&id).await;
    assert!(missing.errors.is_empty(), "{:?}", missing.errors);
    assert_eq!(missing.value, None);
    assert!(!missing.responses[0].payload.contains("total"));
    assert_eq!(client.follower_total(&id).await.value, total);
    assert!(total.is_some());
    fx.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let fx = Fixture::start(20, |a| a.faults.error_rate = 1.0).await;
    let client = fx.client().await;
    let failed = client.users(&fx.ids(0..2), &[]).await;
    assert_eq!(statuses(&failed), [500; 4]);
    assert!(
        matches!(failed.errors.as_slice(), [e] if matches!(**e, Error::Status { status: 500, .. }))
    );
    assert_eq!(fx.server.stats().count_status("users", 500), 4); // max_retries (3) + 1

    fx.server.set_faults(Faults {
        error_next: 2,
        ..Faults::default()
    });
    let ok = client.users(&fx.ids(0..2), &[]).await;
    assert!(ok.errors.is_empty(), "{:?}", ok.errors);
    assert_eq!(ok.value.len(), 2);
    assert_eq!(statuses(&ok), [500, 500, 200]);
    fx.stop().await;
}

#[tokio::test]
async fn timeouts_are_recorded_without_a_response_and_retried() {
    let fx = Fixture::start(5, |a| {
        a.faults.latency = Duration::from_secs(2);
        a.faults.latency_next = Some(1);
    })
    .await;
    let mut args = fx.args();
    args.request_timeout = Duration::from_millis(200);
    let client = HelixClient::connect(args).await.unwrap();
    let users = client.users(&fx.ids(0..1), &[]).await;
    assert!(users.errors.is_empty(), "{:?}", users.errors);
    assert_eq!(users.value.len(), 1);
    assert_eq!(statuses(&users), [0, 200]);
    assert!(users.responses[0].payload.is_empty());
    fx.stop().await;
}

#[tokio::test]
async fn list_params_are_repeated_keys_at_most_100_per_request() {
    let fx = Fixture::start(300, |_| {}).await;
    let client = fx.client().await;
    let users = client
        .users(
            &fx.ids(0..200),
            &[fx.logins(250..252), vec!["nobody".into()]].concat(),
        )
        .await;
    assert!(users.errors.is_empty());
    assert_eq!(users.value.len(), 202);
    let channels = client.channels(&fx.ids(0..250)).await;
    assert_eq!(channels.value.len(), 250);
    let streams = client
        .streams(&StreamQuery {
            user_ids: fx.ids(0..250),
            ..Default::default()
        })
        .await;
    assert_eq!(streams.value.len(), 250);

    let log = fx.server.requests_log();
    for (endpoint, keys, want) in [
        ("users", &["id", "login"][..], [100, 100, 3]),
        ("channels", &["broadcaster_id"], [100, 100, 50]),
        ("streams", &["user_id"], [100, 100, 50]),
    ] {
        let counts: Vec<usize> = log
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .map(|r| {
                let pairs = url::form_urlencoded::parse(r.query.as_bytes());
                pairs
                    .filter(|(k, v)| keys.contains(&k.as_ref()) && !v.contains(','))
                    .count()
            })
            .collect();
        assert_eq!(counts, want, "{endpoint}");
    }

    // Comma-joined values are one value on Helix: they match nothing.
    let raw = reqwest::Client::new();
    let token_body = raw
        .post(format!("{}/token", fx.server.auth_url()))
        .form(&[
            ("client_id", fx.server.client_id()),
            ("client_secret", fx.server.client_secret()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let token = token_body["access_token"].as_str().unwrap();
    let get = |query: String| {
        raw.get(format!("{}/users?{query}", fx.server.helix_url()))
            .bearer_auth(token)
            .header("Client-Id", fx.server.client_id())
            .send()
    };
    let joined = get(format!("id={}", fx.ids(0..2).join(","))).await.unwrap();
    assert_eq!(joined.status(), 200);
    assert_eq!(joined.text().await.unwrap(), r#"{"data":[]}"#);
    let too_many = get(fx
        .ids(0..101)
        .iter()
        .map(|i| format!("id={i}"))
        .collect::<Vec<_>>()
        .join("&"))
    .await
    .unwrap();
    assert_eq!(too_many.status(), 400);
    let body: serde_json::Value = too_many.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["status"].as_u64()),
        (Some("Bad Request"), Some(400))
    );
    fx.stop().await;
}

#[tokio::test]
async fn same_seed_same_world_same_bodies() {
    async fn run() -> Vec<String> {
        let fx = Fixture::start(450, |a| a.faults.duplicate_overlap = 10).await;
        let client = fx.client().await;
        let mut bodies = Vec::new();
        let sweep = client.streams(&StreamQuery::default()).await;
        let users = client.users(&fx.ids(0..120), &fx.logins(3..4)).await;
        let channels = client.channels(&fx.ids(5..9)).await;
        let games = client.top_games(10).await;
        let followers = client.follower_total(&fx.ids(1..2)[0]).await;
        for r in sweep
            .responses
            .iter()
            .chain(&users.responses)
            .chain(&channels.responses)
        {
            bodies.push(format!("{} {} {}", r.endpoint, r.request_query, r.payload));
        }
        for r in games.responses.iter().chain(&followers.responses) {
            bodies.push(format!("{} {} {}", r.endpoint, r.request_query, r.payload));
        }
        fx.stop().await;
        bodies
    }
    let (a, b) = (run().await, run().await);
    assert!(a.len() > 8, "{}", a.len());
    assert_eq!(a, b);
}
