//! A short soak: `serve` on the built-in simulator, as a user runs it, for
//! `TM_SOAK_CYCLES` one-minute cycles (60 by default: a simulated hour, a
//! real minute), today's small files merged every ten simulated minutes.
//! Every cycle must commit (an error in the log fails the test), no table
//! may hold a live file per cycle (the merge bounds them), and the lake
//! must pass the independent check. It prints the server's RSS every ten
//! cycles; the day-long run with its figures is `cargo bench --bench soak`.
use std::collections::HashMap;
use std::process::Command;

use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;

#[path = "../../benches/common/rss.rs"]
mod rss;
use rss::rss_mib;

#[test]
fn an_hour_of_cycles_commits_each_bounds_files_and_passes_the_lake_check() {
    let cycles: usize = std::env::var("TM_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().to_str().unwrap().to_owned();
    let (mut child, mut watch) = crate::crash::serve_with(&lake, |c| {
        c.env("TM_SIM_CHANNELS", "2000")
            .env("TM_POLL_INTERVAL", "60s")
            // A cycle due every simulated minute, one real second: sped
            // up, but not so far that a cycle outlasts the session gap of
            // simulated time (then every stream would seem to end and
            // start again between two cycles).
            .env("TM_SIM_SPEED", "60")
            .env("TM_SIM_START", "2026-03-02T06:00:00Z")
            .env("TM_MAINTAIN_INTERVAL", "0s")
            .env("TM_COMPACT_INTERVAL", "10m");
    });
    let pid = child.id();
    let mut rss = Vec::new();
    for n in 1..=cycles {
        watch.until(0, |w| w.cycles >= n);
        rss.push(rss_mib(pid));
    }
    let term = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(
        child.wait().unwrap().success(),
        "serve did not stop cleanly"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let opened = runtime.block_on(Lake::open(&lake, HashMap::new())).unwrap();
    let files: Vec<(Table, usize)> = Table::ALL
        .into_iter()
        .map(|t| {
            let delta = opened.delta_table(t);
            (t, delta.get_file_uris().unwrap().count())
        })
        .collect();
    let (most, table) = files.iter().map(|(t, n)| (*n, *t)).max().unwrap();
    // Without the merge an appended table holds one file per cycle.
    assert!(
        most <= cycles / 3,
        "{table} holds {most} live files after {cycles} cycles: {files:?}"
    );
    let report = crate::check_lake(&lake, |c| {
        c.env("TM_POLL_INTERVAL", "60s");
    });
    let tables = report["tables"].as_object().map_or(0, |t| t.len());
    let every_ten: Vec<String> = rss
        .iter()
        .skip(9)
        .step_by(10)
        .map(|m| format!("{m:.0}"))
        .collect();
    println!(
        "soak: {cycles} cycles of 2,000 channels; server RSS every 10 cycles (MiB): {}; \
         at most {most} live files in a table ({table}); {tables} tables checked by DuckDB, \
         equal to a rebuild from bronze",
        every_ten.join(" ")
    );
}
