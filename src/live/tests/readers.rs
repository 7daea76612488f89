//! Readers of the live views: whole cycles only, SQL over the registered
//! providers, and a readiness probe that never waits on the writer.
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::*;

#[test]
fn concurrent_readers_only_ever_see_whole_cycles() {
    let live = LiveViews::new();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (live, done) = (live.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut seen = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let snap = live.snapshot();
                    let Some(c) = snap.cycle_id() else { continue };
                    // Cycle c lists c % 5 + 1 streams, in every view at once.
                    let n = (c % 5 + 1) as usize;
                    assert_eq!(snap.batch(View::Streams).num_rows(), n);
                    assert_eq!(snap.batch(View::Leaderboard).num_rows(), n);
                    assert_eq!(
                        snap.batch(View::IngestStatus).num_rows(),
                        (c as usize).min(STATUS_HISTORY)
                    );
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    let users = ["a", "b", "c", "d", "e"];
    for c in 1..=300 {
        let streams: Vec<(&str, &str, i64)> = users[..(c % 5 + 1) as usize]
            .iter()
            .map(|u| (*u, "Chess", c))
            .collect();
        live.apply_cycle(cycle(c, c, &streams, &[])).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(live.snapshot().cycle_id(), Some(300));
}

#[tokio::test]
async fn sql_over_the_registered_views_sees_each_new_cycle() {
    let live = LiveViews::new();
    let ctx = SessionContext::new();
    let schema = Arc::new(MemorySchemaProvider::new());
    for (name, table) in live.views() {
        schema.register_table(name.to_owned(), table).unwrap();
    }
    ctx.catalog("datafusion")
        .unwrap()
        .register_schema("live", schema)
        .unwrap();
    assert!(
        query(&ctx, "SELECT * FROM live.streams")
            .await
            .iter()
            .all(|b| b.num_rows() == 0)
    );

    live.apply_cycle(cycle(
        1,
        0,
        &[("u1", "Chess", 100), ("u2", "Art", 300)],
        &[("u1", 42)],
    ))
    .unwrap();
    let profiles = MemTable::try_new(
        Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("user_id", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("country", arrow::datatypes::DataType::Utf8, false),
        ])),
        vec![vec![
            RecordBatch::try_from_iter(vec![
                (
                    "user_id",
                    Arc::new(arrow::array::StringArray::from(vec!["u1", "u2"])) as _,
                ),
                (
                    "country",
                    Arc::new(arrow::array::StringArray::from(vec!["NO", "BR"])) as _,
                ),
            ])
            .unwrap(),
        ]],
    )
    .unwrap();
    ctx.register_table("profiles", Arc::new(profiles)).unwrap();
    let rows = query(
        &ctx,
        "SELECT l.rank, l.login, p.country, s.followers_total, s.uptime_minutes \
         FROM live.leaderboard l JOIN profiles p ON p.user_id = l.user_id \
         JOIN live.streams s ON s.user_id = l.user_id ORDER BY l.rank",
    )
    .await;
    assert_eq!(
        pretty_all(&rows),
        lines(&[
            "+------+----------+---------+-----------------+----------------+",
            "| rank | login    | country | followers_total | uptime_minutes |",
            "+------+----------+---------+-----------------+----------------+",
            "| 1    | u2_login | BR      |                 | 30             |",
            "| 2    | u1_login | NO      | 42              | 30             |",
            "+------+----------+---------+-----------------+----------------+",
        ])
    );

    // The provider registered once shows the next cycle; projection works.
    live.apply_cycle(cycle(2, 1, &[("u3", "Chess", 7)], &[]))
        .unwrap();
    let rows = query(&ctx, "SELECT login FROM live.leaderboard ORDER BY rank").await;
    assert_eq!(rows[0].schema().fields().len(), 1);
    assert_eq!(
        pretty_all(&rows),
        lines(&[
            "+----------+",
            "| login    |",
            "+----------+",
            "| u3_login |",
            "+----------+"
        ])
    );
}

#[test]
fn the_readiness_probe_never_waits_on_the_writer() {
    let live = LiveViews::new();
    live.apply_cycle(cycle(1, 0, &[("u1", "Chess", 100)], &[]))
        .unwrap();
    // A writer in the middle of an update holds the state lock.
    let writer = live.lock();
    let (probe, answer) = std::sync::mpsc::channel();
    let reader = live.clone();
    std::thread::spawn(move || {
        let _ = probe.send(reader.last_cycle_finished_at());
    });
    let finished = answer
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the readiness probe waited on the writer's lock");
    drop(writer);
    assert_eq!(finished, Some(at(0)));
}
