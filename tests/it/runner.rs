//! The cycle runner against the local Helix server: a cycle that cannot
//! reach Twitch is still a finished cycle its consumers hear of.
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray};
use chrono::{DateTime, Utc};
use twitch_monitor::config::Secret;
use twitch_monitor::ingest::poll::PollSettings;
use twitch_monitor::ingest::{CycleRunner, Error, RunnerArgs};
use twitch_monitor::live::{LiveViews, View};
use twitch_monitor::sim::World;
use twitch_monitor::twitch::ClientArgs;

use crate::rig::{GAP, POLL, Rig};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_that_cannot_connect_reaches_its_consumers() {
    let rig = Rig::start(World::with_live_streams(1, 5, at("2026-01-05T10:00:00Z"))).await;
    let client = ClientArgs {
        helix_url: rig.server.helix_url(),
        auth_url: rig.server.auth_url(),
        client_id: rig.server.client_id().to_owned(),
        client_secret: Secret::from("not the secret"),
        request_timeout: Duration::from_secs(10),
        max_retries: 0,
        max_pages: 10,
        clock: Arc::new(rig.clock.clone()),
    };
    let live = LiveViews::new();
    let (runner, _) = CycleRunner::open(RunnerArgs {
        lake: rig.lake.clone(),
        clock: Arc::new(rig.clock.clone()),
        connect: Arc::new(client),
        poll: PollSettings {
            poll_interval: POLL,
            ..Default::default()
        },
        session_gap: GAP,
    })
    .await
    .unwrap();
    let mut runner = runner.observe(live.clone());

    let cycle = runner.run_cycle().await;
    assert!(
        matches!(cycle.error(), Some(Error::Connect(_))),
        "{:?}",
        cycle.outcome
    );
    assert_eq!(cycle.summary.cycle_id, 1);
    let status = live.snapshot().batch(View::IngestStatus).clone();
    assert_eq!(status.num_rows(), 1);
    let error = status
        .column_by_name("last_error")
        .unwrap()
        .as_string::<i32>();
    assert!(
        error.is_valid(0) && error.value(0).contains("refused the app credentials"),
        "{:?}",
        error
    );
    // Nothing was written, and no cycle id was used up.
    assert_eq!(rig.lake.max_committed_cycle().await.unwrap(), None);
}

/// Follower snapshots of cycle `cycle`, and the channels it saw live.
async fn follower_rows(rig: &Rig, cycle: i64) -> (i64, i64) {
    let count = |sql: String| async move {
        rig.sql(&sql).await[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0)
    };
    let followers = count(format!(
        "SELECT count(*) FROM silver.follower_snapshots WHERE cycle_id = {cycle}"
    ))
    .await;
    let live = count(format!(
        "SELECT count(DISTINCT user_id) FROM silver.stream_snapshots WHERE cycle_id = {cycle}"
    ))
    .await;
    (followers, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_under_follower_requests_is_renewed_once_and_pauses_nothing() {
    // 40 live channels: more than one batch of follower requests (4 at a
    // time, 16 per batch), so a pause would show within the cycle too.
    let mut rig = Rig::start(World::with_live_streams(7, 40, at("2026-01-05T10:00:00Z"))).await;
    rig.cycle().await;
    let (followers, live) = follower_rows(&rig, 1).await;
    assert!(live > 16, "{live} live channels");
    assert_eq!(followers, live);
    let issued = rig.server.stats().tokens_issued;

    // The token dies while follower requests are in flight: all of them
    // get 401 and wait for one shared renewal.
    rig.server
        .update_faults(|f| f.revoke_before_followers_next = 1);
    let s = rig.cycle().await;
    assert_eq!(s.cycle_id, 2);
    assert_eq!(rig.server.stats().tokens_issued, issued + 1);
    let (followers, live) = follower_rows(&rig, 2).await;
    assert_eq!(followers, live, "totals of the renewal cycle");
    // The retried requests succeeded: follower totals are not paused.
    rig.cycle().await;
    let (followers, live) = follower_rows(&rig, 3).await;
    assert_eq!(followers, live, "totals of the next cycle");
}
