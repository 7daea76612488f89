//! The independent lake check (`tests/py/check_lake.py`, which every kill
//! storm, chaos run and soak relies on) tells a derived table that differs
//! from its rebuild: here a copy whose rebuilt snapshots hold one row twice
//! and lack another (same row count, so only the rows' contents differ).
use std::collections::HashMap;
use std::path::PathBuf;

use arrow::array::UInt32Array;
use arrow::compute::{concat_batches, take_record_batch};
use twitch_monitor::ingest::rebuild::rebuild;
use twitch_monitor::lake::Lake;
use twitch_monitor::schema::Table;
use twitch_monitor::sim::World;

use crate::lake_check;
use crate::rig::{GAP, POLL, Rig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lake_check_tells_a_table_that_differs_from_its_rebuild() {
    let start = "2026-01-05T10:00:00Z".parse().unwrap();
    let mut rig = Rig::start(World::with_live_streams(5, 40, start)).await;
    for _ in 0..3 {
        rig.cycle().await;
    }
    let lake = rig._dir.path().to_owned();
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("rebuilt");
    lake_check::copy_sources(&lake, &copy).unwrap();
    let rebuilt = Lake::open(copy.to_str().unwrap(), HashMap::new())
        .await
        .unwrap();
    rebuild(&rebuilt, POLL, GAP, |_| {}).await.unwrap();
    let python: PathBuf = crate::python();
    // Untouched, the copy passes.
    lake_check::compare(&python, &lake, &copy).unwrap();

    // The last snapshot row replaced by a second copy of the first.
    let ctx = rebuilt.session().await.unwrap();
    let rows = ctx
        .sql("SELECT * FROM silver.stream_snapshots")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let all = concat_batches(&rows[0].schema(), &rows).unwrap();
    let n = all.num_rows() as u32;
    assert!(n > 2, "{n} snapshot rows");
    let indices: UInt32Array = (0..n - 1).chain([0]).collect();
    let tampered = take_record_batch(&all, &indices).unwrap();
    rebuilt
        .rewrite(Table::StreamSnapshots, vec![tampered], 3)
        .await
        .unwrap();

    let err = lake_check::compare(&python, &lake, &copy).unwrap_err();
    assert!(
        err.contains("silver.stream_snapshots: 1 rows only in the lake, 1 only in the rebuild"),
        "{err}"
    );
    // Nothing else is reported.
    assert_eq!(err.matches("only in the lake").count(), 1, "{err}");
}
