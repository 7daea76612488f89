//! The lake on S3 (moto): exactly-once and concurrent writers over object
//! storage, and the binary running ingest cycles into it.
use arrow::array::AsArray;
use futures::StreamExt;
use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;

use super::data::{day, rows};
use super::moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_lake_with_concurrent_writers() {
    let moto = moto::Moto::start();
    moto.create_bucket("lake-test").await;
    let location = "s3://lake-test/lake";
    let a = Lake::open(location, moto.options()).await.unwrap();
    let b = Lake::open(location, moto.options()).await.unwrap();
    assert_eq!(a.version(Table::StreamSnapshots), Some(0));
    assert_eq!(b.version(Table::StreamSnapshots), Some(0));

    let t = Table::StreamSnapshots;
    let d = day("2026-01-05");
    const N: i64 = 4;
    let writer = |lake: Lake, name: &'static str| async move {
        for cycle in 1..=N {
            let out = lake
                .append_as(t, vec![rows(t, 2, cycle, d)], cycle, Some(name))
                .await
                .unwrap();
            assert!(out.is_committed(), "{name} cycle {cycle}: {out:?}");
        }
    };
    tokio::join!(writer(a.clone(), "a"), writer(b.clone(), "b"));
    a.refresh(t).await.unwrap();
    assert_eq!(a.count(t, None).await.unwrap(), (2 * 2 * N) as u64);
    assert_eq!(a.last_cycle(t, Some("a")).await.unwrap(), Some(N));
    assert_eq!(a.last_cycle(t, Some("b")).await.unwrap(), Some(N));
    // Every commit got its own version: 0 (create) then 2N appends, each
    // with a commit file in the log (history reads them all).
    let delta = a.delta_table(t);
    assert_eq!(delta.version(), Some(2 * N as u64));
    let history: Vec<_> = delta.history(None).collect().await;
    assert_eq!(history.len(), 2 * N as usize + 1);
    assert!(history.iter().all(Result::is_ok));

    // Both handles race on the same cycle and app id: exactly one commits.
    let g = Table::Games;
    let (ra, rb) = tokio::join!(
        a.append(g, vec![rows(g, 3, 7, d)], 7),
        b.append(g, vec![rows(g, 3, 7, d)], 7)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        [&ra, &rb].iter().filter(|o| o.is_committed()).count(),
        1,
        "{ra:?} {rb:?}"
    );
    b.refresh(g).await.unwrap();
    assert_eq!(b.count(g, None).await.unwrap(), 3);
    assert_eq!(b.max_committed_cycle().await.unwrap(), Some(7));
}

/// The binary itself, configured the way a user would (`TM_LAKE=s3://…` and
/// the usual `AWS_*` variables), runs whole ingest cycles into moto; a second
/// run continues the first; everything reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_cycles_land_in_an_s3_lake_and_read_back() {
    let moto = moto::Moto::start();
    moto.create_bucket("cycles").await;
    let location = "s3://cycles/lake";
    for run in 1..=2 {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_twitch-monitor"));
        cmd.args(["ingest", "--once"])
            .env_remove("TWITCH_CLIENT_ID")
            .env_remove("TWITCH_CLIENT_SECRET")
            .env_remove("RUST_LOG")
            .env("TM_LAKE", location)
            .env("TM_SIM_CHANNELS", "150")
            .env("TM_SIM_ALL_LIVE", "true");
        for (k, v) in moto.options() {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let lake = Lake::open(location, moto.options()).await.unwrap();
    let ctx = lake.session().await.unwrap();
    let one = |sql: &'static str| {
        let ctx = ctx.clone();
        async move {
            let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            b[0].column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0)
        }
    };
    assert_eq!(
        one("SELECT count(DISTINCT cycle_id) FROM bronze.helix_responses").await,
        2
    );
    assert_eq!(
        one("SELECT count(DISTINCT cycle_id) FROM silver.stream_snapshots").await,
        2
    );
    assert_eq!(
        one("SELECT count(*) FROM (SELECT stream_id, cycle_id FROM silver.stream_snapshots GROUP BY 1, 2 HAVING count(*) > 1)").await,
        0
    );
    // Every channel is live in both runs' worlds.
    assert_eq!(
        one("SELECT count(*) FROM silver.stream_snapshots").await,
        2 * 150
    );
    assert_eq!(
        one("SELECT count(DISTINCT user_id) FROM silver.streamers").await,
        150
    );
    assert!(one("SELECT count(*) FROM gold.streamer_daily").await >= 150);
    assert!(one("SELECT count(*) FROM gold.leaderboard_daily").await > 0);
    for table in Table::ALL {
        lake.count(table, None).await.unwrap();
    }
}
