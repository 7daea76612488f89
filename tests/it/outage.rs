//! Twitch down at start-up: `serve` opens on the lake it has, answers from
//! it, and resumes ingest by itself when the auth host answers again.
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use twitch_monitor::app::App;
use twitch_monitor::clock::SystemClock;
use twitch_monitor::config::{Config, Credentials, Secret, Source};
use twitch_monitor::sim::{SimServer, SimServerArgs, World};

use crate::{adbc_query, until};

/// A TCP gate in front of `target`: while shut, it accepts connections and
/// never answers (a host that hangs); once open it forwards them.
async fn gate(target: SocketAddr) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, rx) = watch::channel(true);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut rx = rx.clone();
            tokio::spawn(async move {
                if rx.wait_for(|open| *open).await.is_ok()
                    && let Ok(mut outbound) = TcpStream::connect(target).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, open)
}

fn config(lake: &Path, sim: &SimServer, auth: SocketAddr) -> Config {
    let config = Config {
        lake: lake.to_str().unwrap().to_owned(),
        flight_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        source: Source::Twitch,
        credentials: Some(Credentials {
            client_id: sim.client_id().to_owned(),
            client_secret: Secret::from(sim.client_secret()),
        }),
        helix_url: sim.helix_url(),
        auth_url: format!("http://{auth}/oauth2"),
        request_timeout: Duration::from_secs(1),
        poll_interval: Duration::from_secs(5),
        ..Default::default()
    };
    config.validate().unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_from_the_lake_while_twitch_hangs_and_resumes_when_it_answers() {
    let world = World::with_live_streams(11, 20, chrono::Utc::now());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = SimServer::start(listener, SimServerArgs::new(world, Arc::new(SystemClock))).unwrap();
    let sim_addr: SocketAddr = sim.helix_url()["http://".len()..]
        .trim_end_matches("/helix")
        .parse()
        .unwrap();
    let (auth, open) = gate(sim_addr).await;
    let dir = tempfile::tempdir().unwrap();

    // A first run fills the lake.
    let app = App::start(config(dir.path(), &sim, auth)).await.unwrap();
    until("a first cycle", Duration::from_secs(60), || {
        app.live().snapshot().cycle_id().is_some()
    })
    .await;
    app.shutdown().await.unwrap();

    // The auth host now accepts connections and never answers.
    open.send_replace(false);
    let started = Instant::now();
    let app = App::start(config(dir.path(), &sim, auth)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let port = app.flight_addr().port();
    let count = "SELECT count(*) AS n FROM twitch.silver.stream_snapshots";
    let before = adbc_query(port, count);
    assert!(!before.contains("\"n\": 0"), "{before}");
    let live = adbc_query(port, "SELECT count(*) AS n FROM twitch.live.streams");
    assert!(
        !live.contains("\"n\": 0"),
        "live views rebuilt from silver: {live}"
    );
    let committed = app.live().snapshot().cycle_id().unwrap();
    // The failed attempt is in live.ingest_status, with why.
    let status = || {
        adbc_query(
            port,
            "SELECT last_error FROM twitch.live.ingest_status WHERE last_error IS NOT NULL",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut failed = status();
    while !failed.contains("oauth2/token") {
        assert!(
            Instant::now() < deadline,
            "no failed attempt recorded: {failed}"
        );
        failed = status();
    }
    assert_eq!(
        adbc_query(port, count),
        before,
        "nothing was written meanwhile"
    );

    // Twitch answers again: cycles resume without a restart.
    open.send_replace(true);
    until("a cycle after recovery", Duration::from_secs(90), || {
        app.live()
            .snapshot()
            .cycle_id()
            .is_some_and(|c| c > committed)
    })
    .await;
    app.shutdown().await.unwrap();
    drop(sim);
}
