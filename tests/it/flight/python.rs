//! Real Python clients: ADBC, flightsql-dbapi, pyarrow.flight.
use clap::Parser;
use sha2::Digest;
use twitch_monitor::config::{Cli, FlightAuth, FlightConfig};

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

/// Runs `tests/py/password_login.py`.
async fn password_tool(args: &[&str]) -> String {
    run_python("password_login.py", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argon2_hashes_from_argon2_cffi_log_in_and_the_deprecated_form_still_does() {
    // A PHC string from an independent implementation (argon2-cffi's own
    // parameters: 64 MiB, 3 passes, 4 lanes).
    let phc = password_tool(&["hash", "correct horse"]).await;
    let phc = phc.trim();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    let legacy: String = sha2::Sha256::digest("pepperold battery")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // One comma-separated setting, as TM_FLIGHT_USERS holds it.
    let users = format!("alice:{phc},olga:pepper:{legacy}");
    let cfg = Cli::try_parse_from(["twitch-monitor", "--flight-users", &users])
        .unwrap()
        .settings
        .resolve()
        .unwrap();
    let config = FlightConfig {
        auth: FlightAuth::Basic,
        ..cfg.flight
    };
    let server = TestServer::start(config).await;
    let port = server.port().to_string();
    let login = |user: &'static str, password: &'static str| {
        let port = port.clone();
        async move { password_tool(&["login", &port, user, password]).await }
    };
    let ok = login("alice", "correct horse").await;
    assert!(ok.contains("LOGIN OK"), "{ok}");
    let wrong = login("alice", "correct h0rse").await;
    assert!(
        wrong.contains("LOGIN REFUSED") && wrong.to_lowercase().contains("unauthenticated"),
        "{wrong}"
    );
    let unknown = login("mallory", "correct horse").await;
    assert!(unknown.contains("LOGIN REFUSED"), "{unknown}");
    let old = login("olga", "old battery").await;
    assert!(old.contains("LOGIN OK"), "{old}");
    server.stop().await;
}

#[tokio::test]
async fn hash_password_output_is_accepted_by_argon2_cffi() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .args(["hash-password", "alice"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"tr0ub4dor&3\n")
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    let phc = line
        .trim()
        .strip_prefix("alice:")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
    let verified = password_tool(&["verify", phc, "tr0ub4dor&3"]).await;
    assert!(verified.contains("VERIFIED"), "{verified}");
}
