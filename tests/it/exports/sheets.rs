//! The Google Sheets and files targets as `serve` wires them: a closed day
//! appended to a local double of Google's token endpoint and Sheets API
//! (which verifies the service account's JWT with PyJWT), and written as
//! files in every format, once, across a restart and a resend; and
//! `export --out` into an object store (moto).
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use datafusion::object_store::ObjectStoreExt;
use serde_json::Value;
use twitch_monitor::app::App;
use twitch_monitor::config::ExportSettings;

use super::{DAY, check_files, start_with, until, until_sent_to};
use crate::adbc_query;

const SHEET: &str = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

/// The double (tests/py/sheets_double.py), stopped on drop.
struct SheetsDouble {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    key: tempfile::NamedTempFile,
}

impl SheetsDouble {
    fn start() -> Self {
        let key = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(crate::python())
            .arg(crate::py_script("sheets_double.py"))
            .arg(key.path())
            .args([SHEET, "streamer_daily", "summary"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the double said {line:?}"));
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            port,
            key,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn state(&self) -> Value {
        reqwest::get(self.url("/_state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn fail_next(&self, count: u32) {
        let r = reqwest::Client::new()
            .post(self.url(&format!("/_fail?count={count}")))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    fn settings(&self) -> ExportSettings {
        ExportSettings {
            sheets_id: Some(SHEET.into()),
            sheets_key: Some(self.key.path().to_owned()),
            sheets_api_url: self.url("/"),
            top: 3,
            ..Default::default()
        }
    }
}

impl Drop for SheetsDouble {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows of `tab` in the double's state.
fn tab(state: &Value, tab: &str) -> Vec<Vec<Value>> {
    serde_json::from_value(state["tabs"][tab].clone()).unwrap()
}

/// `(user_id, hours_watched)` of the day's `gold.streamer_daily`, through Flight SQL.
fn gold_hours(app: &App) -> Vec<(String, f64)> {
    let rows = adbc_query(
        app.flight_addr().port(),
        &format!(
            "SELECT user_id, hours_watched FROM twitch.gold.streamer_daily \
             WHERE day = DATE '{DAY}' ORDER BY user_id"
        ),
    );
    rows.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["user_id"].as_str().unwrap().to_owned(),
                v["hours_watched"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_day_lands_in_the_sheet_and_the_files_once_as_the_service_account() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let files = dir.path().join("files");
    let double = SheetsDouble::start();
    // The first two API calls fail: retried, not given up.
    double.fail_next(2).await;
    let export = ExportSettings {
        dir: Some(files.to_str().unwrap().to_owned()),
        ..double.settings()
    };
    let app = start_with(&lake, export.clone(), "2026-03-01T23:50:00Z", 600.0).await;
    until_sent_to(&app, DAY, "sheets").await;
    until_sent_to(&app, DAY, "files").await;

    let state = double.state().await;
    assert_eq!(state["refused"], Value::Array(vec![]), "{state}");
    assert!(state["tokens"].as_u64().unwrap() >= 1, "{state}");
    let daily = tab(&state, "streamer_daily");
    let header: Vec<&str> = daily[0].iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(header[..2], ["day", "user_id"], "{header:?}");
    let (day_at, user_at, hours_at) = (
        0,
        1,
        header.iter().position(|h| *h == "hours_watched").unwrap(),
    );
    let mut sheet: Vec<(String, f64)> = daily[1..]
        .iter()
        .map(|r| {
            assert_eq!(r[day_at], DAY);
            (
                r[user_at].as_str().unwrap().to_owned(),
                r[hours_at].as_f64().unwrap(),
            )
        })
        .collect();
    sheet.sort_by(|a, b| a.0.cmp(&b.0));
    let gold = gold_hours(&app);
    assert!(!gold.is_empty());
    assert_eq!(sheet.len(), gold.len());
    for (s, g) in sheet.iter().zip(&gold) {
        assert_eq!(s.0, g.0);
        assert!((s.1 - g.1).abs() < 1e-9, "{s:?} {g:?}");
    }
    let summary = tab(&state, "summary");
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert_eq!(summary[0][0], "day");
    assert_eq!(summary[1][0], DAY);
    for format in ["csv", "parquet", "json"] {
        let said = check_files(&lake, &files.join(DAY), format);
        assert!(said.contains("\"streamer_daily\""), "{said}");
    }
    app.shutdown().await.unwrap();

    // A restart sends nothing again.
    let app = start_with(&lake, export, "2026-03-01T23:50:00Z", 600.0).await;
    let first = loop {
        if let Some(c) = app.live().snapshot().cycle_id() {
            break c;
        }
        tokio::task::yield_now().await;
    };
    until(
        "three cycles after the restart",
        Duration::from_secs(120),
        || app.live().snapshot().cycle_id().unwrap_or(0) >= first + 3,
    )
    .await;
    app.shutdown().await.unwrap();
    let again = double.state().await;
    assert_eq!(tab(&again, "streamer_daily").len(), daily.len());
    assert_eq!(tab(&again, "summary").len(), 2);

    // Sent again by hand (as after a crash between the append and its
    // record): the day is already in the sheet, so nothing is appended.
    let run = Command::new(env!("CARGO_BIN_EXE_twitch-monitor"))
        .args(["export", "--day", DAY, "--target", "sheets"])
        .args(["--lake", lake.to_str().unwrap()])
        .env("TM_EXPORT_SHEETS_ID", SHEET)
        .env("TM_EXPORT_SHEETS_KEY", double.key.path())
        .env("TM_EXPORT_SHEETS_API_URL", double.url("/"))
        .env_remove("TM_EXPORT_SLACK_URL")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let after = double.state().await;
    assert_eq!(tab(&after, "streamer_daily").len(), daily.len());
    assert_eq!(tab(&after, "summary").len(), 2);
    assert_eq!(after["refused"], Value::Array(vec![]), "{after}");

    export_to_an_object_store(&lake).await;
}

/// `export --out s3://…` writes the day's files to the object store (moto),
/// where they read back equal to the lake.
async fn export_to_an_object_store(lake: &Path) {
    let moto = crate::lake::moto::Moto::start();
    moto.create_bucket("exports").await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twitch-monitor"));
    cmd.args(["export", "--day", DAY, "--format", "parquet"])
        .args(["--lake", lake.to_str().unwrap()])
        .args(["--out", "s3://exports/daily"])
        .env_remove("TM_EXPORT_SLACK_URL");
    for (k, v) in moto.options() {
        cmd.env(k, v);
    }
    let run = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains(&format!("s3://exports/daily/{DAY}/streamer_daily.parquet")),
        "{stdout}"
    );
    // Read back through the object store, into a folder the checker reads.
    let (store, _) =
        twitch_monitor::lake::object_store_at("s3://exports/daily", &moto.options()).unwrap();
    let local = tempfile::tempdir().unwrap();
    let listed: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(store.list(Some(&deltalake::Path::from(DAY))))
            .await
            .unwrap();
    assert!(!listed.is_empty());
    std::fs::create_dir_all(local.path().join(DAY)).unwrap();
    for meta in listed {
        let bytes = store
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let name = meta.location.filename().unwrap().to_owned();
        std::fs::File::create(local.path().join(DAY).join(name))
            .unwrap()
            .write_all(&bytes)
            .unwrap();
    }
    let said = check_files(lake, &local.path().join(DAY), "parquet");
    assert!(said.contains("\"category_daily\""), "{said}");
}
