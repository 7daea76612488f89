//! Integration tests: one binary, one module per area.
use std::path::PathBuf;

mod alert_crash;
mod alert_recovery;
mod alerting;
mod alerts;
mod app;
mod chaos;
mod chat;
mod checker;
mod config;
mod crash;
mod dashboard;
mod exports;
mod flight;
mod helix;
mod http;
mod lake;
mod live;
mod login;
mod notify;
mod outage;
mod pipeline;
mod rig;
mod runner;
mod serving;
mod soak;
mod storage;
mod sweep;

/// The Python interpreter of the test venv (`scripts/venv`).
pub(crate) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TM_TEST_PYTHON") {
        return p.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/twitch-monitor/venv/bin/python")
}

/// Runs the test venv's Python with `args`; its stdout, or the test fails
/// with its stderr (and `what` it was asked to do).
pub(crate) fn run_python<S: AsRef<std::ffi::OsStr>>(
    what: &str,
    args: impl IntoIterator<Item = S>,
) -> String {
    let out = std::process::Command::new(python())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[path = "../../benches/common/lake_check.rs"]
mod lake_check;
pub(crate) use lake_check::summary;

/// The independent check of a lake after a storm ([`lake_check`]): copies
/// what `rebuild` reads of `lake`, rebuilds the copy from its bronze with
/// the binary (`rebuild` sets the command's settings), then runs
/// `tests/py/check_lake.py` (DuckDB's delta extension) over both. Fails on
/// any failure it reports; returns its report.
pub(crate) fn check_lake(
    lake: &str,
    rebuild: impl FnOnce(&mut std::process::Command),
) -> serde_json::Value {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("rebuilt");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_twitch-monitor"));
    match lake_check::check_lake(&binary, &python(), lake.as_ref(), &copy, rebuild) {
        Ok(report) => report,
        Err(e) => {
            // To look into a failure: TM_KEEP_LAKE=DIR keeps the lake and
            // its rebuild as DIR/lake and DIR/rebuilt.
            if let Some(keep) = std::env::var_os("TM_KEEP_LAKE") {
                let keep = PathBuf::from(keep);
                std::fs::create_dir_all(&keep).unwrap();
                for (from, to) in [(PathBuf::from(lake), "lake"), (copy.clone(), "rebuilt")] {
                    let cp = std::process::Command::new("cp")
                        .arg("-a")
                        .arg(&from)
                        .arg(keep.join(to))
                        .status();
                    assert!(cp.unwrap().success(), "keep {}", from.display());
                }
                eprintln!("kept the lake and its rebuild under {}", keep.display());
            }
            panic!("the lake check failed: {e}");
        }
    }
}

/// The path of a helper script under `tests/py/`.
pub(crate) fn py_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// Runs `sql` through the ADBC Flight SQL driver against the server on
/// 127.0.0.1:`port`: the result as JSON lines, one object per row.
pub(crate) fn adbc_query(port: u16, sql: &str) -> String {
    let script = py_script("adbc_query.py");
    run_python(
        sql,
        [script.as_os_str(), port.to_string().as_ref(), sql.as_ref()],
    )
}

/// Polls `cond` every 10 ms for up to 20 s (real time): a bounded wait for
/// something another task or process does, never a fixed sleep.
pub(crate) async fn eventually(what: &str, cond: impl FnMut() -> bool) {
    until(what, std::time::Duration::from_secs(20), cond).await;
}

/// Polls `done` every 10 ms until it holds; fails the test after `limit`.
pub(crate) async fn until(what: &str, limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
