//! Storage faults: the lake's disk full or read-only (a real tmpfs mount),
//! and the object store answering 500s, refusing writes, hanging, or
//! losing the answer to a commit that landed (moto behind its fault switch,
//! tests/py/moto_server.py). Each: the cycle fails with an error that says
//! what happened, its poll waits in the backlog (the metrics count the
//! waiting polls and failed cycles), what the lake holds stays queryable
//! where the fault allows reads, and once the fault clears every waiting
//! poll lands, once: every Helix answer the server sent is in bronze, no
//! `(stream_id, cycle_id)` twice, and a local lake passes the independent
//! check (DuckDB against a rebuild from bronze).
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use twitch_monitor::ingest::observe::FinishedCycle;
use twitch_monitor::metrics::Metrics;
use twitch_monitor::sim::{World, WorldConfig};

use crate::lake::moto::Moto;
use crate::rig::{POLL, Rig};

fn world() -> World {
    World::new(WorldConfig {
        seed: 5,
        channels: 120,
        start: "2026-03-03T10:00:00Z".parse().unwrap(),
        ..Default::default()
    })
}

/// A tmpfs mounted on a directory of its own, unmounted on drop (tests
/// run as root here; mounting is how a disk fills up or turns read-only
/// for real, whoever the writer runs as).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        mount(
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            dir,
        );
        Tmpfs(dir.to_owned())
    }

    fn remount(&self, how: &str) {
        mount(&["-o", &format!("remount,{how}")], &self.0);
    }

    /// Writes a file until the disk refuses more; deleting it frees the space.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 1 << 16];
        loop {
            if let Err(e) = f.write_all(&chunk).and_then(|()| f.sync_all()) {
                assert_eq!(e.raw_os_error(), Some(28), "filling the disk: {e}");
                return path;
            }
        }
    }
}

fn mount(args: &[&str], dir: &Path) {
    let out = Command::new("mount").args(args).arg(dir).output().unwrap();
    assert!(
        out.status.success(),
        "mount {args:?} {} failed (the storage-fault tests need root): {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The error and every cause under it, as one line.
fn chain(cycle: FinishedCycle) -> String {
    match cycle.outcome {
        Ok(_) => panic!(
            "cycle {} committed through the fault",
            cycle.summary.cycle_id
        ),
        Err(e) => format!("{:#}", anyhow::Error::new(e)),
    }
}

/// Runs `n` cycles against a fault: each fails with an error containing
/// `says`, and leaves one more poll waiting.
async fn failing(rig: &mut Rig, n: usize, says: &str) {
    for _ in 0..n {
        rig.clock.advance(POLL);
        let cycle = rig.runner.as_mut().unwrap().run_cycle().await;
        let waiting = cycle.summary.waiting;
        let error = chain(cycle);
        assert!(error.contains(says), "expected {says:?} in: {error}");
        assert!(waiting > 0, "no poll waits after: {error}");
    }
}

/// One cycle after the fault cleared: every waiting poll lands first.
async fn recovered(rig: &mut Rig) {
    rig.clock.advance(POLL);
    let cycle = rig.runner.as_mut().unwrap().run_cycle().await;
    if cycle.error().is_some() {
        panic!("the fault cleared, yet: {}", chain(cycle));
    }
    assert_eq!(cycle.summary.waiting, 0);
    let line = cycle.summary.to_string();
    assert!(!line.contains("waiting"), "{line}");
}

fn metric(metrics: &Metrics, line_start: &str) -> String {
    let text = metrics.render();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in:\n{text}"))
        .to_owned()
}

async fn count(rig: &Rig, sql: &str) -> i64 {
    rig.sql(sql).await[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0)
}

const SNAPSHOTS: &str = "SELECT count(*) FROM silver.stream_snapshots";
const CYCLES: &str = "SELECT count(DISTINCT cycle_id) FROM bronze.helix_responses";
const DOUBLED: &str = "SELECT count(*) FROM (SELECT stream_id, cycle_id \
                       FROM silver.stream_snapshots GROUP BY 1, 2 HAVING count(*) > 1)";

/// Every Helix answer is in bronze, once per cycle that committed, and
/// no stream twice in a cycle.
async fn nothing_lost_or_doubled(rig: &Rig, cycles: i64) {
    assert_eq!(rig.bronze_responses().await, rig.served_responses());
    assert_eq!(count(rig, CYCLES).await, cycles);
    assert_eq!(count(rig, DOUBLED).await, 0);
}

fn with_metrics(rig: &mut Rig) -> Metrics {
    let metrics = Metrics::default();
    let runner = rig.runner.take().unwrap();
    rig.runner = Some(runner.observe(metrics.clone()));
    metrics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_or_read_only_disk_keeps_polls_waiting_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(dir.path(), "48m");
    let lake = dir.path().join("lake");
    let location = lake.to_str().unwrap().to_owned();
    let mut rig = Rig::start_on(
        world(),
        |_| {},
        tempfile::tempdir().unwrap(),
        &location,
        HashMap::new(),
    )
    .await;
    let metrics = with_metrics(&mut rig);
    for _ in 0..3 {
        rig.cycle().await;
    }
    let before = count(&rig, SNAPSHOTS).await;

    // The disk fills up: three cycles fail, saying so; their polls wait.
    let filler = disk.fill();
    failing(&mut rig, 3, "No space left on device").await;
    assert_eq!(
        metric(&metrics, "twitch_monitor_polls_waiting "),
        "twitch_monitor_polls_waiting 3"
    );
    assert_eq!(
        metric(&metrics, "twitch_monitor_cycles_total{outcome=\"error\"}"),
        "twitch_monitor_cycles_total{outcome=\"error\"} 3"
    );
    // What the lake holds is still there to read.
    assert_eq!(count(&rig, SNAPSHOTS).await, before);
    std::fs::remove_file(filler).unwrap();
    recovered(&mut rig).await;
    assert_eq!(
        metric(&metrics, "twitch_monitor_polls_waiting "),
        "twitch_monitor_polls_waiting 0"
    );
    nothing_lost_or_doubled(&rig, 3 + 3 + 1).await;

    // The disk turns read-only (root writes no more than anyone).
    disk.remount("ro");
    failing(&mut rig, 2, "Read-only file system").await;
    assert!(count(&rig, SNAPSHOTS).await > before);
    disk.remount("rw");
    recovered(&mut rig).await;
    nothing_lost_or_doubled(&rig, 7 + 2 + 1).await;
    assert_eq!(
        metric(&metrics, "twitch_monitor_polls_dropped_total"),
        "twitch_monitor_polls_dropped_total 0"
    );

    let report = crate::check_lake(&location, |c| {
        c.env("TM_POLL_INTERVAL", format!("{}s", POLL.as_secs()))
            .env("TM_SESSION_GAP", format!("{}s", crate::rig::GAP.as_secs()));
    });
    assert!(report["tables"].as_object().is_some_and(|t| !t.is_empty()));
    let answers: u64 = rig.served_responses().values().sum();
    println!(
        "storage faults, local lake: 3 cycles failed on a full disk (\"No space left on device\"), \
         2 on a read-only one (\"Read-only file system\"); their 5 polls waited and landed; \
         10 cycles, {answers} Helix answers, each in bronze once; DuckDB check against a rebuild passed"
    );
    drop(rig);
    drop(disk);
}

/// Sets the fault switch of the moto server behind the lake.
async fn fault(moto: &Moto, mode: &str) {
    let resp = reqwest::Client::new()
        .put(format!("{}/__faults/{mode}", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "fault switch {mode}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_store_that_loses_answers_fails_refuses_or_hangs_loses_no_poll() {
    let moto = Moto::start();
    moto.create_bucket("faults").await;
    let mut options = moto.options();
    // Give up on a dead store in seconds, not object_store's 3 minutes.
    for (k, v) in [
        ("timeout", "2s"),
        ("max_retries", "1"),
        ("retry_timeout", "3s"),
    ] {
        options.insert(k.into(), v.into());
    }
    let mut rig = Rig::start_on(
        world(),
        |_| {},
        tempfile::tempdir().unwrap(),
        "s3://faults/lake",
        options,
    )
    .await;
    let metrics = with_metrics(&mut rig);
    rig.cycle().await;

    // The store persists every commit but its answer is lost (as if it
    // died right after writing): each write checks the table again, finds
    // its cycle there, and the cycle goes on. Nothing twice.
    fault(&moto, "lose-commit").await;
    rig.cycle().await;
    fault(&moto, "none").await;
    nothing_lost_or_doubled(&rig, 2).await;

    // 500s, then writes refused (reads still answered), then no answer at
    // all: one outage of three cycles, whose polls wait.
    fault(&moto, "error").await;
    failing(&mut rig, 1, "500 Internal Server Error").await;
    fault(&moto, "readonly").await;
    failing(&mut rig, 1, "AccessDenied").await;
    assert!(count(&rig, SNAPSHOTS).await > 0);
    fault(&moto, "hang").await;
    failing(&mut rig, 1, "error sending request").await;
    assert_eq!(
        metric(&metrics, "twitch_monitor_polls_waiting "),
        "twitch_monitor_polls_waiting 3"
    );
    fault(&moto, "none").await;
    recovered(&mut rig).await;
    nothing_lost_or_doubled(&rig, 2 + 3 + 1).await;
    let answers: u64 = rig.served_responses().values().sum();
    println!(
        "storage faults, S3 lake: every commit answer lost for a cycle (each commit found in \
         its table, none twice); 500s, 403s and a hang failed 3 cycles, whose polls waited \
         and landed; 6 cycles, {answers} Helix answers, each in bronze once"
    );
    assert_eq!(
        metric(&metrics, "twitch_monitor_polls_waiting "),
        "twitch_monitor_polls_waiting 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_checkpoint_is_set_aside_and_the_table_loads_from_its_commits() {
    let mut rig = Rig::start(world()).await;
    // Ten commits make a checkpoint (the tables' checkpoint interval).
    for _ in 0..11 {
        rig.cycle().await;
    }
    let before = rig
        .table("SELECT * FROM silver.stream_snapshots ORDER BY cycle_id, stream_id")
        .await;
    let table = rig._dir.path().join("silver/stream_snapshots");
    let checkpoint = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".checkpoint.parquet"))
        .expect("a checkpoint after ten commits");
    let name = checkpoint.file_name().unwrap().to_owned();
    std::fs::write(&checkpoint, b"PAR1 this is not a checkpoint PAR1").unwrap();

    // A restart: the lake opens, the checkpoint kept aside, nothing lost,
    // and cycles go on.
    rig.runner = None;
    let location = rig._dir.path().to_str().unwrap().to_owned();
    rig.lake = twitch_monitor::lake::Lake::open(&location, HashMap::new())
        .await
        .unwrap();
    assert!(table.join("_corrupt_checkpoints").join(&name).is_file());
    assert!(!checkpoint.exists());
    assert_eq!(
        rig.table("SELECT * FROM silver.stream_snapshots ORDER BY cycle_id, stream_id")
            .await,
        before
    );
    rig.reopen().await;
    rig.cycle().await;
    assert_eq!(count(&rig, CYCLES).await, 12);
    assert_eq!(count(&rig, DOUBLED).await, 0);
    println!(
        "storage faults, corrupt checkpoint: set aside to _corrupt_checkpoints/, the table \
         loaded from its commits with every row, and the next cycle committed"
    );
}
