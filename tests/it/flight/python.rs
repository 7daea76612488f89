//! Real Python clients: ADBC, flightsql-dbapi, pyarrow.flight.
use twitch_monitor::config::FlightAuth;

use super::{PASSWORD, TOKEN, TestServer, flight_config, run_python};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adbc_queries_metadata_and_refusals() {
    let server = TestServer::start(flight_config(FlightAuth::None)).await;
    let scratch = tempfile::tempdir().unwrap();
    let port = server.port().to_string();
    let out = run_python("adbc_client.py", &[&port, scratch.path().to_str().unwrap()]).await;
    assert!(out.contains("ADBC OK"), "{out}");
    // COPY ... TO left nothing behind.
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adbc_logs_in_with_a_password() {
    let server = TestServer::start(flight_config(FlightAuth::Basic)).await;
    let scratch = tempfile::tempdir().unwrap();
    let port = server.port().to_string();
    let args = [
        port.as_str(),
        scratch.path().to_str().unwrap(),
        "alice",
        PASSWORD,
    ];
    let out = run_python("adbc_client.py", &args).await;
    assert!(out.contains("ADBC OK"), "{out}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flightsql_dbapi_queries_and_reads_metadata() {
    let server = TestServer::start(flight_config(FlightAuth::Basic)).await;
    let out = run_python(
        "dbapi_client.py",
        &[&server.port().to_string(), "alice", PASSWORD],
    )
    .await;
    assert!(out.contains("DBAPI OK"), "{out}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyarrow_flight_runs_plain_sql_and_packed_commands() {
    let server = TestServer::start(flight_config(FlightAuth::Bearer)).await;
    let out = run_python("pyarrow_client.py", &[&server.port().to_string(), TOKEN]).await;
    assert!(out.contains("PYARROW OK"), "{out}");
    server.stop().await;
}
