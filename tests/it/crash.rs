//! Crash safety: the real binary, killed with SIGKILL at random points of its
//! cycles, then restarted. Every table must still read, no row may appear
//! twice and every cycle bronze holds must be in silver — chat lines too: a
//! chat line committed is in silver exactly once, whatever the kill hit.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use rand::{Rng, SeedableRng};
use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;

const TRIALS: usize = 20;

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
        .env("TM_FLIGHT_ADDR", "127.0.0.1:0")
        .env("TM_HTTP_ADDR", "127.0.0.1:0")
        .env_remove("RUST_LOG");
    c
}

/// Starts `serve` and a thread that drains its stderr (so a full pipe never
/// blocks it) and passes each line on.
fn serve(lake: &str) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = command(lake, &["serve"])
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
    (child, rx)
}

/// Waits until `serve` has logged `n` cycle summaries.
fn wait_for_cycles(rx: &std::sync::mpsc::Receiver<String>, n: usize, trial: usize) {
    let mut seen = 0;
    while seen < n {
        match rx.recv() {
            Ok(line) if line.contains(" cycle ") && line.contains(" streams, ") => seen += 1,
            Ok(line) if line.contains("ERROR") && line.contains("twitch_monitor") => {
                panic!("trial {trial}: {line}")
            }
            Ok(_) => {}
            Err(_) => panic!("trial {trial}: serve exited early"),
        }
    }
}

#[test]
fn sigkill_at_random_points_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().to_str().unwrap().to_owned();
    let seed = 20_261_126;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut chat_cycles = 0;
    for trial in 0..TRIALS {
        let (mut child, lines) = serve(&lake);
        // Let 0–2 cycles finish, then a random part of the next one run.
        wait_for_cycles(&lines, rng.random_range(0..3), trial);
        let until = Instant::now() + Duration::from_millis(rng.random_range(0..400));
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

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
        let (mut child, lines) = serve(&lake);
        wait_for_cycles(&lines, 2, trial);
        let until = Instant::now() + Duration::from_millis(rng.random_range(0..300));
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let status = child.wait().unwrap();
        let log: Vec<String> = lines.try_iter().collect();
        assert!(
            status.success(),
            "trial {trial}: serve exited with {status} on SIGTERM:\n{}",
            log.join("\n")
        );
        // No repair has run: the stop itself left only whole cycles.
        runtime.block_on(check_invariants(&lake, trial));
    }
}
