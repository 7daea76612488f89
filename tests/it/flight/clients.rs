//! Many clients, disconnecting clients, query limits over the wire, and TLS.
use std::time::Duration;

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::{FlightDescriptor, Ticket};
use futures::{StreamExt, TryStreamExt};
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use twitch_monitor::config::{FlightAuth, TlsFiles};
use twitch_monitor::query::EngineOptions;

use super::rpc::{channel, fetch};
use super::{TOKEN, TestServer, flight_config};

/// Polls (for at most 5 s) until no query holds a slot; the server drops a
/// finished stream just after the client has seen its end.
async fn idle(server: &TestServer) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if server.engine.running_queries() == 0 {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_query_in_parallel_without_errors() {
    let server = TestServer::start(flight_config(FlightAuth::Bearer)).await;
    let port = server.port();
    let mut tasks = Vec::new();
    for i in 0..32 {
        tasks.push(tokio::spawn(async move {
            let mut client = FlightSqlServiceClient::new(channel(port).await);
            client.set_token(TOKEN.into());
            let mut rows = 0;
            for j in 0..10 {
                let sql = format!(
                    "SELECT login, value + {i} * {j} AS v FROM gold.leaderboard_daily ORDER BY rank"
                );
                let info = client.execute(sql, None).await.unwrap();
                rows += fetch(&mut client, info)
                    .await
                    .iter()
                    .map(|b| b.num_rows())
                    .sum::<usize>();
            }
            rows
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 32 * 10 * 3);
    assert!(idle(&server).await, "a finished query kept its slot");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_stops_its_query() {
    let server = TestServer::start(flight_config(FlightAuth::None)).await;
    let mut raw = FlightServiceClient::new(channel(server.port()).await);
    let ticket = Ticket::new("SELECT value FROM generate_series(1, 100000000000) AS t(value)");
    let mut stream = raw.do_get(ticket).await.unwrap().into_inner();
    // Results stream: the first messages arrive long before the query could end.
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.data_header.is_empty());
    assert_eq!(server.engine.running_queries(), 1);
    drop(stream);
    drop(raw);
    assert!(
        idle(&server).await,
        "the query kept running after the client left"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_its_timeout_ends_with_deadline_exceeded() {
    let options = EngineOptions {
        query_timeout: Duration::from_millis(300),
        ..EngineOptions::default()
    };
    let server = TestServer::start_with(flight_config(FlightAuth::None), options).await;
    let mut raw = FlightServiceClient::new(channel(server.port()).await);
    let slow = Ticket::new("SELECT count(*) FROM generate_series(1, 100000000000)");
    let err = match raw.do_get(slow).await {
        Err(status) => status,
        Ok(resp) => resp.into_inner().try_collect::<Vec<_>>().await.unwrap_err(),
    };
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_refuses_with_resource_exhausted() {
    let options = EngineOptions {
        max_concurrent_queries: 1,
        queue_timeout: Duration::from_millis(50),
        ..EngineOptions::default()
    };
    let server = TestServer::start_with(flight_config(FlightAuth::None), options).await;
    let mut raw = FlightServiceClient::new(channel(server.port()).await);
    let mut held = raw
        .do_get(Ticket::new(
            "SELECT value FROM generate_series(1, 100000000000) AS t(value)",
        ))
        .await
        .unwrap()
        .into_inner();
    held.next().await.unwrap().unwrap();
    let err = match raw.do_get(Ticket::new("SELECT 1")).await {
        Err(status) => status,
        Ok(resp) => resp.into_inner().try_collect::<Vec<_>>().await.unwrap_err(),
    };
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    drop(held);
    server.stop().await;
}

/// Writes a CA and a localhost server certificate signed by it (openssl CLI).
fn make_certs(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=twitch-monitor test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_queries_to_clients_that_trust_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let mut config = flight_config(FlightAuth::Bearer);
    config.tls = Some(TlsFiles {
        cert: dir.path().join("server.pem"),
        key: dir.path().join("server.key"),
    });
    let server = TestServer::start(config).await;
    assert!(server.url().starts_with("grpc+tls://"));
    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://localhost:{}", server.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = FlightSqlServiceClient::new(channel);
    client.set_token(TOKEN.into());
    let info = client
        .execute("SELECT login FROM gold.leaderboard_daily".into(), None)
        .await
        .unwrap();
    assert_eq!(fetch(&mut client, info).await[0].num_rows(), 3);

    // A plaintext client cannot talk to the TLS listener.
    let plain = Endpoint::from_shared(format!("http://127.0.0.1:{}", server.port())).unwrap();
    if let Ok(ch) = plain.connect().await {
        let mut raw = FlightServiceClient::new(ch);
        assert!(
            raw.get_flight_info(FlightDescriptor::new_cmd("SELECT 1"))
                .await
                .is_err()
        );
    }
    server.stop().await;
}
