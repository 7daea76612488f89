//! kill -9 between firing and delivery: the real binary alerts a webhook
//! receiver that is down, so every fired alert is recorded in `gold.alerts`
//! but not delivered; the process is SIGKILLed, the receiver comes up, and
//! the restarted service delivers each of those alerts exactly once (the
//! receiver dedupes on `Idempotency-Key`) and records it as delivered.
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use twitch_monitor::lake::Lake;
use twitch_monitor::notify::IDEMPOTENCY_HEADER;

use crate::notify::Receiver;

const LIMIT: Duration = Duration::from_secs(180);

/// `serve` over a simulated world (ten simulated minutes a second, a cycle
/// every ten simulated seconds), alerting as `alerts` says; its log goes to
/// `log` (shown when the test fails).
fn serve(lake: &str, alerts: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .arg("serve")
        .env_remove("TWITCH_CLIENT_ID")
        .env_remove("TWITCH_CLIENT_SECRET")
        .env_remove("RUST_LOG")
        .env("TM_LAKE", lake)
        .env("TM_ALERTS_FILE", alerts)
        .env("TM_SIM_CHANNELS", "120")
        .env("TM_SIM_SPEED", "600")
        .env("TM_POLL_INTERVAL", "10s")
        .env("TM_FLIGHT_ADDR", "127.0.0.1:0")
        .env("TM_HTTP_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Polls (with a short pause that only spares the CPU) until `done`; on
/// failure shows the end of `log`.
async fn until(what: &str, log: &Path, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        if Instant::now() >= deadline {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let notable: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains(" went live ") && !l.contains(" cycle "))
                .take(40)
                .collect();
            panic!(
                "{what}: not within {LIMIT:?}; serve's log says:\n{}",
                notable.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn delivered_in_lake(lake: &str) -> BTreeSet<String> {
    ids_in_lake(lake, "WHERE status = 'delivered'").await
}

async fn ids_in_lake(lake: &str, filter: &str) -> BTreeSet<String> {
    let lake = Lake::open(lake, HashMap::new()).await.unwrap();
    let ctx = lake.session().await.unwrap();
    let batches = ctx
        .sql(&format!(
            "SELECT DISTINCT alert_id FROM gold.alerts {filter}"
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_firing_and_delivery_delivers_exactly_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake").to_str().unwrap().to_owned();
    let rx = Receiver::start().await;
    rx.set_down(true);
    let alerts = dir.path().join("alerts.toml");
    std::fs::write(
        &alerts,
        format!(
            "max_attempts = 100000\nmax_backoff = \"10m\"\n\
             [[rules]]\nname = \"on\"\nkind = \"went_live\"\nmax_uptime = \"1d\"\n\
             [[targets]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n\
             secret = \"a-secret-shared-with-the-receiver\"\n",
            rx.addr
        ),
    )
    .unwrap();
    let keys = |rx: &Receiver| -> BTreeSet<String> {
        rx.got()
            .iter()
            .map(|r| r.header(IDEMPOTENCY_HEADER))
            .collect()
    };

    let (log1, log2) = (dir.path().join("serve1.log"), dir.path().join("serve2.log"));
    let mut child = serve(&lake, &alerts, &log1);
    // The receiver refuses everything, so the first alert is retried for
    // good (its queue is ordered: the alerts behind it wait, pending). Kill
    // once one key was tried and the outbox holds its row.
    until("an alert fired and tried", &log1, || !keys(&rx).is_empty()).await;
    let tried = keys(&rx);
    let deadline = Instant::now() + LIMIT;
    while !tried.is_subset(&ids_in_lake(&lake, "WHERE status = 'pending'").await) {
        assert!(
            Instant::now() < deadline,
            "{tried:?} not pending in gold.alerts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL: nothing was delivered
    child.wait().unwrap();
    assert!(rx.got().iter().all(|r| r.status == 503));
    // Every alert the killed process recorded, tried or still queued.
    let fired = ids_in_lake(&lake, "").await;
    assert!(
        tried.is_subset(&fired),
        "tried but not in gold.alerts: {tried:?} of {fired:?}"
    );
    assert!(delivered_in_lake(&lake).await.is_empty());

    rx.set_down(false);
    let mut child = serve(&lake, &alerts, &log2);
    let accepted = |rx: &Receiver| -> Vec<String> {
        rx.got()
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.header(IDEMPOTENCY_HEADER))
            .collect()
    };
    let deadline = Instant::now() + LIMIT;
    loop {
        let ok = accepted(&rx);
        let missing: Vec<&String> = fired.iter().filter(|k| !ok.contains(*k)).collect();
        if missing.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let list: Vec<String> = missing.iter().map(|k| format!("'{k}'")).collect();
            let lake = Lake::open(&lake, HashMap::new()).await.unwrap();
            let ctx = lake.session().await.unwrap();
            let rows = ctx
                .sql(&format!(
                    "SELECT alert_id, target, status, attempts, last_error, cycle_id \
                     FROM gold.alerts WHERE alert_id IN ({})",
                    list.join(", ")
                ))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let log = std::fs::read_to_string(&log2).unwrap_or_default();
            let notable: Vec<&str> = log
                .lines()
                .filter(|l| {
                    !l.contains(" went live ") && !l.contains(" cycle ") && !l.contains("maintain")
                })
                .take(20)
                .collect();
            panic!(
                "not delivered after the restart: {} of {}\n{}\n{}",
                missing.len(),
                fired.len(),
                arrow::util::pretty::pretty_format_batches(&rows).unwrap(),
                notable.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + LIMIT;
    loop {
        let recorded = delivered_in_lake(&lake).await;
        if fired.iter().all(|k| recorded.contains(k)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recorded as delivered: {:?}",
            fired.difference(&recorded).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ok = accepted(&rx);
    for k in &fired {
        assert_eq!(
            ok.iter().filter(|o| *o == k).count(),
            1,
            "{k} accepted more than once"
        );
    }
}
