//! A sweep whose paging skips streams (Helix lists `/streams` by viewer
//! count, and counts move between two page requests): the channels it
//! listed the cycle before and not now are asked for again by id, and those
//! still live get their row.
use std::collections::BTreeSet;

use arrow::array::AsArray;
use chrono::{DateTime, Utc};
use twitch_monitor::sim::World;

use crate::rig::Rig;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn ids(rig: &Rig, sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for b in rig.sql(sql).await {
        out.extend(
            b.column(0)
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_a_sweep_skipped_are_found_by_id() {
    // 350 live channels: four pages of 100 per sweep.
    let mut rig = Rig::start(World::with_live_streams(
        11,
        350,
        at("2026-01-05T10:00:00Z"),
    ))
    .await;
    let first = rig.cycle().await;
    assert_eq!(first.found_again, 0, "{first}");
    let listed = ids(&rig, "SELECT user_id FROM silver.stream_snapshots").await;
    assert_eq!(listed.len(), first.streams_seen);

    // Pages 2–4 now each start 10 streams late: 30 streams are on no page.
    rig.server.update_faults(|f| f.skip_between_pages = 10);
    let ended = listed.first().unwrap().clone();
    rig.world(|w| w.go_offline(&ended)).unwrap();
    let second = rig.cycle().await;
    let live: BTreeSet<String> =
        rig.world(|w| w.live_streams().iter().map(|s| s.user_id.clone()).collect());
    let kept = ids(
        &rig,
        "SELECT user_id FROM silver.stream_snapshots \
         WHERE cycle_id = (SELECT max(cycle_id) FROM silver.stream_snapshots)",
    )
    .await;
    let still_live: BTreeSet<_> = listed.intersection(&live).cloned().collect();
    let lost: Vec<_> = still_live.difference(&kept).collect();
    assert!(
        lost.is_empty(),
        "still live, but no row this cycle: {lost:?}"
    );
    assert!(
        (25..=30).contains(&second.found_again),
        "the skipped streams were not found again: {second}"
    );
    assert!(
        second
            .to_string()
            .contains("streams skipped by the sweep found by id")
    );
    assert!(!kept.contains(&ended));

    // The second ask is in bronze like every response, so a rebuild sees it.
    let asked = rig
        .sql(
            "SELECT count(*) FROM bronze.helix_responses \
             WHERE endpoint = 'streams' AND request_query LIKE '%user_id=%'",
        )
        .await;
    let asked = asked[0]
        .column(0)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .value(0);
    assert_eq!(asked, 1, "one request for up to 100 channels");
}
