//! Helix chaos: a long run of the real client against the simulator with
//! every fault knob on at once — 5xx answers, 429 storms, tokens revoked
//! under it, bodies that are not JSON or cut in half, pages that overlap
//! and pages that skip streams (which the poller asks for again by id),
//! follower answers without a total, slow answers — and a small rate-limit
//! bucket. Every cycle must commit; the bucket never refuses a request (the
//! client keeps to the rate limit through all of it); every response the
//! server sent is in bronze with its status; and the lake passes the
//! independent check (`tests/py/check_lake.py`: every bronze page accounted
//! for in silver, every derived table equal to a rebuild from bronze).
//!
//! `TM_CHAOS_CYCLES` cycles (40 by default; `scripts/chaos` runs a
//! simulated day, 1,440).
use std::time::{Duration, Instant};

use twitch_monitor::sim::server::{Faults, RateLimit};
use twitch_monitor::sim::{World, WorldConfig};

use crate::rig::Rig;

/// Every fault at once, at rates that leave most requests whole.
fn chaos(seed: u64) -> Faults {
    Faults {
        seed,
        error_rate: 0.05,
        malformed_rate: 0.02,
        truncated_rate: 0.02,
        revoke_every: 97,
        duplicate_overlap: 3,
        skip_between_pages: 2,
        missing_total_rate: 0.05,
        latency: Duration::from_millis(5),
        latency_next: None,
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_helix_fault_at_once_keeps_the_rate_limit_and_lands_in_bronze() {
    let cycles: u32 = std::env::var("TM_CHAOS_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let world = World::new(WorldConfig {
        seed: 17,
        channels: 800,
        start: "2026-03-02T00:00:00Z".parse().unwrap(),
        ..Default::default()
    });
    // A bucket smaller than a cycle's requests (a sweep, profiles and
    // follower totals of every live channel): the client must wait for it.
    let mut rig = Rig::start_with(world, |args| {
        args.rate_limit = RateLimit {
            points: 120,
            ..RateLimit::default()
        };
        args.faults = chaos(17);
    })
    .await;
    let started = Instant::now();
    let (mut errors, mut storms, mut found_again) = (0, 0, 0);
    for cycle in 0..cycles {
        if cycle % 10 == 5 {
            // A 429 storm whatever the bucket says, and a token revoked
            // just as follower requests go out.
            rig.server.update_faults(|f| {
                f.storm_next = 8;
                f.revoke_before_followers_next = 1;
            });
            storms += 1;
        }
        let (summary, _) = rig.cycle_report().await; // panics if the commit failed
        errors += summary.errors;
        found_again += summary.found_again;
        if (cycle + 1) % 100 == 0 {
            // Progress for the long runs (scripts/chaos): a day takes a while.
            eprintln!(
                "helix chaos: {} of {cycles} cycles in {:.0} s, {errors} errors so far",
                cycle + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let took = started.elapsed();
    let stats = rig.server.stats();
    assert_eq!(
        stats.over_bucket, 0,
        "the bucket refused requests: {stats:?}"
    );

    // Every response the server sent, by endpoint and status, is in bronze.
    let (bronze, sent) = (rig.bronze_responses().await, rig.served_responses());
    assert_eq!(bronze, sent, "bronze against what the server sent");
    let failed: u64 = sent
        .iter()
        .filter(|((_, s), _)| *s != 200)
        .map(|(_, n)| n)
        .sum();
    assert!(failed > 0 && storms > 0, "no fault happened: {sent:?}");
    assert!(found_again > 0, "no skipped stream was asked for again");

    let lake = rig._dir.path().to_str().unwrap().to_owned();
    let report = crate::check_lake(&lake, |c| {
        c.env(
            "TM_POLL_INTERVAL",
            format!("{}s", crate::rig::POLL.as_secs()),
        )
        .env("TM_SESSION_GAP", format!("{}s", crate::rig::GAP.as_secs()));
    });
    let tables = report["tables"].as_object().map_or(0, |t| t.len());
    let requests: u64 = sent.values().sum();
    println!(
        "helix chaos: {cycles} cycles in {:.0} s, {requests} Helix responses, {failed} of them \
         failures (the cycles counted {errors} errors: those and unreadable bodies), {storms} storms, \
         {found_again} skipped streams found by id, {} tokens issued, \
         0 requests over the bucket, every response in bronze; {tables} tables checked by \
         DuckDB, equal to a rebuild from bronze",
        took.as_secs_f64(),
        stats.tokens_issued,
    );
}
