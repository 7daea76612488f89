//! Crash safety, a kill storm: the real binary killed with SIGKILL at random
//! points of its cycles, of its maintenance (compaction, checkpoints,
//! vacuum) and of the merging of today's small files, then restarted.
//! After every kill every table must still read, no
//! row may appear twice and every cycle bronze holds must be in silver —
//! chat lines too: a chat line committed is in silver exactly once,
//! whatever the kill hit. After the storm an independent check
//! (`tests/py/check_lake.py`, DuckDB's delta extension) reads every table,
//! accounts for every bronze page and compares every derived table with a
//! rebuild from bronze.
//!
//! `TM_KILL_TRIALS` trials (20 by default; `scripts/kill-storm` runs 100),
//! from seed `TM_KILL_SEED`.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use rand::{Rng, SeedableRng};
use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn command(lake: &str, sub: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twitch-monitor"));
    c.args(sub)
        .env_remove("TWITCH_CLIENT_ID")
        .env_remove("TWITCH_CLIENT_SECRET")
        .env("TM_LAKE", lake)
        .env("TM_SIM_CHANNELS", "120")
        // 10 simulated minutes per second, a cycle every 10 s simulated:
        // cycles run back to back, so kills land anywhere inside them.
        .env("TM_SIM_SPEED", "600")
        .env("TM_POLL_INTERVAL", "10s")
        // Shortly before midnight, so that the first day closes early in
        // the storm and maintenance (every 15 simulated minutes, 1.5 s
        // here) has a day to compact. Restarts resume after the lake's
        // last observation.
        .env("TM_SIM_START", "2026-03-01T23:40:00Z")
        .env("TM_MAINTAIN_INTERVAL", "15m")
        // Today's small files merged every 10 simulated minutes (1 s here).
        .env("TM_COMPACT_INTERVAL", "10m")
        .env("TM_FLIGHT_ADDR", "127.0.0.1:0")
        .env("TM_HTTP_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "twitch_monitor=info");
    c
}

/// What one `serve` process has logged so far.
pub(crate) struct Watch {
    lines: Receiver<String>,
    pub(crate) cycles: usize,
    maintenance_started: usize,
    maintenance_finished: usize,
    compacted: bool,
    /// Runs of today's compaction started and finished.
    today: (usize, usize),
}

impl Watch {
    /// Takes one line into account.
    fn take(&mut self, line: &str, trial: usize) {
        if line.contains(" cycle ") && line.contains(" streams, ") {
            self.cycles += 1;
        } else if line.contains("maintenance started") {
            self.maintenance_started += 1;
        } else if line.contains("maintenance finished") {
            self.maintenance_finished += 1;
        } else if line.contains("compaction of today's files started") {
            self.today.0 += 1;
        } else if line.contains("compaction of today's files finished") {
            self.today.1 += 1;
        } else if line.contains("maintained") && !line.contains("compacted=0") {
            self.compacted = true;
        }
        if line.contains("ERROR") && line.contains("twitch_monitor") {
            panic!("trial {trial}: {line}");
        }
    }

    /// Waits until `done` holds.
    pub(crate) fn until(&mut self, trial: usize, done: impl Fn(&Watch) -> bool) {
        while !done(self) {
            match self.lines.recv() {
                Ok(line) => self.take(&line, trial),
                Err(_) => panic!("trial {trial}: serve exited early"),
            }
        }
    }

    /// Reads what is left after the process died.
    fn drain(&mut self, trial: usize) {
        while let Ok(line) = self.lines.recv() {
            self.take(&line, trial);
        }
    }

    fn in_maintenance(&self) -> bool {
        self.maintenance_started > self.maintenance_finished
    }
}

/// Starts `serve` and a thread that drains its stderr (so a full pipe never
/// blocks it) and passes each line on.
fn serve(lake: &str) -> (std::process::Child, Watch) {
    serve_with(lake, |_| {})
}

/// [`serve`] with the environment changed by `set` first.
pub(crate) fn serve_with(
    lake: &str,
    set: impl FnOnce(&mut Command),
) -> (std::process::Child, Watch) {
    let mut command = command(lake, &["serve"]);
    set(&mut command);
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let watch = Watch {
        lines: rx,
        cycles: 0,
        maintenance_started: 0,
        maintenance_finished: 0,
        compacted: false,
        today: (0, 0),
    };
    (child, watch)
}

/// Busy-waits up to `ms` milliseconds (a random point of whatever runs).
fn spin(rng: &mut impl Rng, ms: u64) {
    let until = Instant::now() + Duration::from_millis(rng.random_range(0..ms));
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

#[test]
fn sigkill_at_random_points_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake").to_str().unwrap().to_owned();
    let trials = var("TM_KILL_TRIALS", 20) as usize;
    let seed = var("TM_KILL_SEED", 20_261_126);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let (mut in_maintenance, mut in_compaction, mut in_today) = (0, 0, 0);
    let mut chat_cycles = 0;
    for trial in 0..trials {
        let (mut child, mut watch) = serve(&lake);
        if trial % 3 == 2 {
            // Into maintenance: a random point after it starts.
            watch.until(trial, |w| w.maintenance_started > 0);
            spin(&mut rng, 1_500);
        } else {
            // Let 0–2 cycles finish, then a random part of the next one run.
            let n = rng.random_range(0..3);
            watch.until(trial, |w| w.cycles >= n);
            spin(&mut rng, 400);
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        watch.drain(trial);
        if watch.in_maintenance() {
            in_maintenance += 1;
            in_compaction += usize::from(watch.compacted);
        } else if watch.today.0 > watch.today.1 {
            in_today += 1;
        }

        // A restart repairs the interrupted cycle, then runs one more.
        let out = command(&lake, &["ingest", "--once"]).output().unwrap();
        assert!(
            out.status.success(),
            "trial {trial} (seed {seed}): ingest --once failed\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        runtime.block_on(check_invariants(&lake, trial));
        chat_cycles = runtime.block_on(async {
            let lake = Lake::open(&lake, HashMap::new()).await.unwrap();
            let ctx = lake.session().await.unwrap();
            count(
                &ctx,
                "SELECT count(DISTINCT cycle_id) FROM bronze.chat_messages",
            )
            .await
        });
    }
    // Chat rode along (the simulator's top channels chat by default).
    assert!(chat_cycles > 0, "no cycle committed chat");
    let storm = started.elapsed();
    let checked = independent_check(&lake);
    println!(
        "kill storm: {trials} kills (seed {seed}) in {:.0} s, {in_maintenance} during maintenance \
         ({in_compaction} of them in a run that compacted files), {in_today} while today's \
         files were merged, the rest during cycles; \
         the lake after it, checked by DuckDB against a rebuild from bronze: {checked}",
        storm.as_secs_f64()
    );
}

/// The independent check after the storm (see [`crate::check_lake`]): its
/// row counts per layer.
fn independent_check(lake: &str) -> String {
    crate::summary(&crate::check_lake(lake, |c| {
        c.env("TM_POLL_INTERVAL", "10s");
    }))
}

async fn count(ctx: &datafusion::prelude::SessionContext, sql: &str) -> i64 {
    let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    b[0].column(0).as_primitive::<Int64Type>().value(0)
}

async fn check_invariants(lake: &str, trial: usize) {
    let lake = Lake::open(lake, HashMap::new()).await.unwrap();
    let ctx = lake.session().await.unwrap();
    for table in Table::ALL {
        count(
            &ctx,
            &format!("SELECT count(*) FROM {}", table.qualified_name()),
        )
        .await;
    }
    for (what, sql) in [
        (
            "a (stream_id, cycle_id) twice in silver.stream_snapshots",
            "SELECT count(*) FROM (SELECT stream_id, cycle_id FROM silver.stream_snapshots GROUP BY 1, 2 HAVING count(*) > 1)",
        ),
        (
            "a bronze response twice",
            "SELECT count(*) FROM (SELECT cycle_id, endpoint, request_query, page, fetched_at FROM bronze.helix_responses GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1)",
        ),
        (
            "a bronze cycle with live streams missing from silver",
            "SELECT count(*) FROM (SELECT DISTINCT cycle_id FROM bronze.helix_responses
               WHERE endpoint = 'streams' AND http_status = 200 AND payload LIKE '{\"data\":[{%'
             EXCEPT SELECT DISTINCT cycle_id FROM silver.stream_snapshots)",
        ),
        (
            "a follower snapshot twice",
            "SELECT count(*) FROM (SELECT user_id, cycle_id FROM silver.follower_snapshots GROUP BY 1, 2 HAVING count(*) > 1)",
        ),
        (
            "a session twice",
            "SELECT count(*) FROM (SELECT session_id FROM silver.stream_sessions GROUP BY 1 HAVING count(*) > 1)",
        ),
        (
            "a streamer_daily row twice",
            "SELECT count(*) FROM (SELECT day, user_id FROM gold.streamer_daily GROUP BY 1, 2 HAVING count(*) > 1)",
        ),
        (
            // The same line committed twice (not the simulator sending a
            // message again after a restart: that one has a new receive time).
            "a chat line twice in bronze",
            "SELECT count(*) FROM (SELECT message_id, received_at FROM bronze.chat_messages
               WHERE kind = 'message' GROUP BY 1, 2 HAVING count(*) > 1)",
        ),
        (
            "a chat minute twice",
            "SELECT count(*) FROM (SELECT channel, minute FROM silver.chat_minutes GROUP BY 1, 2 HAVING count(*) > 1)",
        ),
        (
            "a chat_daily row twice",
            "SELECT count(*) FROM (SELECT day, channel FROM gold.chat_daily GROUP BY 1, 2 HAVING count(*) > 1)",
        ),
        (
            "chat messages of bronze missing from silver.chat_minutes, or counted twice",
            "SELECT abs(coalesce((SELECT sum(messages) FROM silver.chat_minutes), 0)
               - (SELECT count(DISTINCT message_id) FROM bronze.chat_messages WHERE kind = 'message'))",
        ),
        (
            "gold.chat_daily disagreeing with silver.chat_minutes",
            "SELECT abs(coalesce((SELECT sum(messages) FROM gold.chat_daily), 0)
               - coalesce((SELECT sum(messages) FROM silver.chat_minutes), 0))",
        ),
        (
            "a profile with two current versions",
            "SELECT count(*) FROM (SELECT user_id FROM silver.streamers WHERE is_current GROUP BY 1 HAVING count(*) > 1)",
        ),
    ] {
        assert_eq!(count(&ctx, sql).await, 0, "trial {trial}: {what}");
    }
    assert!(
        count(&ctx, "SELECT count(*) FROM silver.stream_snapshots").await > 0,
        "trial {trial}: no data"
    );
}

#[test]
fn sigterm_mid_cycle_stops_cleanly_with_whole_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().to_str().unwrap().to_owned();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for trial in 0..3 {
        let (mut child, mut watch) = serve(&lake);
        watch.until(trial, |w| w.cycles >= 2);
        spin(&mut rng, 300);
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let status = child.wait().unwrap();
        let log: Vec<String> = watch.lines.try_iter().collect();
        assert!(
            status.success(),
            "trial {trial}: serve exited with {status} on SIGTERM:\n{}",
            log.join("\n")
        );
        // No repair has run: the stop itself left only whole cycles.
        runtime.block_on(check_invariants(&lake, trial));
    }
}
