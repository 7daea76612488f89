//! How cycles' files are written and how long replaced ones are kept:
//! compression per layer, maintenance (compaction, checkpoints, vacuum),
//! the gold retention.
use chrono::{Duration as TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::StringArray;
use arrow::datatypes::DataType;
use deltalake::parquet::file::reader::{FileReader, SerializedFileReader};
use twitch_monitor::lake::maintain::DEFAULT_LOG_RETENTION;
use twitch_monitor::lake::{MaintainOptions, PauseAt, Retention, in_list};
use twitch_monitor::schema::Table;

use super::data::{day, parquet_files, rows, strings, with_column};
use super::temp_lake;

#[tokio::test]
async fn bronze_is_written_with_zstd_and_silver_and_gold_with_snappy() {
    let (dir, lake) = temp_lake().await;
    let today = Utc::now().date_naive();
    for t in [
        Table::ChatMessages,
        Table::StreamSnapshots,
        Table::StreamerDaily,
    ] {
        lake.append(t, vec![rows(t, 3, 1, today)], 1).await.unwrap();
        let uris: Vec<String> = lake.delta_table(t).get_file_uris().unwrap().collect();
        assert_eq!(uris.len(), 1, "{t}: {uris:?}");
        let file = std::fs::File::open(uris[0].trim_start_matches("file://")).unwrap();
        let meta = SerializedFileReader::new(file).unwrap().metadata().clone();
        let codec = meta.row_group(0).column(0).compression();
        let expected = if t == Table::ChatMessages {
            "ZSTD"
        } else {
            "SNAPPY"
        };
        assert!(format!("{codec:?}").starts_with(expected), "{t}: {codec:?}");
    }
    drop(dir);
}

#[tokio::test]
async fn compaction_vacuums_what_cycles_replaced_in_gold_and_open_sessions_by_the_gold_retention() {
    let (dir, lake) = temp_lake().await;
    let (gold, silver) = (Table::StreamerDaily, Table::StreamSnapshots);
    // Its `live` partition (the open sessions) is replaced every cycle too.
    let sessions = Table::StreamSessions;
    let day_long = Duration::from_secs(24 * 3600);
    let retention = Retention {
        files: day_long,
        logs: day_long,
        gold_files: Duration::ZERO,
    };
    lake.keep_removed_files_for(&retention).await;
    let property = |t: Table| {
        lake.delta_table(t)
            .snapshot()
            .unwrap()
            .metadata()
            .configuration()["delta.deletedFileRetentionDuration"]
            .clone()
    };
    assert_eq!(property(gold), "interval 0 days");
    assert_eq!(
        property(Table::Alerts),
        "interval 1 days",
        "state, not rewritten"
    );
    assert_eq!(property(silver), "interval 1 days");
    assert_eq!(property(sessions), "interval 0 days");

    let now = Utc::now();
    let today = now.date_naive();
    // Every cycle replaces today's partition of gold, and appends to silver.
    for cycle in 1..=5 {
        let out = lake
            .replace(
                gold,
                &in_list("day", [today]),
                vec![rows(gold, 3, cycle, today)],
                cycle,
                None,
            )
            .await
            .unwrap();
        assert!(out.is_committed(), "{out:?}");
        lake.append(silver, vec![rows(silver, 2, cycle, today)], cycle)
            .await
            .unwrap();
        let open = vec![rows(sessions, 2, cycle, today)];
        let out = lake
            .replace(sessions, "status = 'live'", open, cycle, Some("live"))
            .await
            .unwrap();
        assert!(out.is_committed(), "{out:?}");
    }
    let live_dir = dir.path().join("silver/stream_sessions/status=live");
    assert_eq!(parquet_files(&live_dir), 5);
    let gold_dir = dir.path().join(format!("gold/streamer_daily/day={today}"));
    let silver_dir = dir
        .path()
        .join(format!("silver/stream_snapshots/observed_date={today}"));
    assert_eq!(
        (parquet_files(&gold_dir), parquet_files(&silver_dir)),
        (5, 5)
    );

    let (merged, failed) = lake.compact_today(now, DEFAULT_LOG_RETENTION).await;
    assert_eq!((merged, failed), (5, 0), "silver's five files merged");
    // Gold keeps only the partition it reads; silver keeps the files its
    // compaction replaced for a day.
    assert_eq!(
        (parquet_files(&gold_dir), parquet_files(&silver_dir)),
        (1, 6)
    );
    assert_eq!(parquet_files(&live_dir), 1, "the open sessions' last file");

    // A fresh process reads both, and the next cycle commits exactly once.
    let fresh = twitch_monitor::lake::Lake::open(dir.path().to_str().unwrap(), Default::default())
        .await
        .unwrap();
    assert_eq!(fresh.count(gold, None).await.unwrap(), 3);
    assert_eq!(fresh.count(silver, None).await.unwrap(), 10);
    assert_eq!(fresh.count(sessions, None).await.unwrap(), 2);
    let replay = fresh
        .replace(
            gold,
            &in_list("day", [today]),
            vec![rows(gold, 1, 5, today)],
            5,
            None,
        )
        .await
        .unwrap();
    assert!(!replay.is_committed(), "{replay:?}");
    let next = fresh
        .replace(
            gold,
            &in_list("day", [today]),
            vec![rows(gold, 4, 6, today)],
            6,
            None,
        )
        .await
        .unwrap();
    assert!(next.is_committed(), "{next:?}");
    assert_eq!(fresh.count(gold, None).await.unwrap(), 4);
    drop(dir);
}

#[tokio::test]
async fn maintain_compacts_closed_days_and_vacuums() {
    let (dir, lake) = temp_lake().await;
    let t = Table::StreamSnapshots;
    // The tombstones of removed files are kept as long as vacuum keeps the
    // files (a day): one metadata commit per table, none when already so.
    let day_long = std::time::Duration::from_secs(24 * 3600);
    let retention = twitch_monitor::lake::Retention {
        files: day_long,
        logs: day_long,
        gold_files: day_long,
    };
    assert_eq!(
        lake.keep_removed_files_for(&retention).await,
        (Table::ALL.len(), 0)
    );
    let version = lake.version(t);
    assert_eq!(lake.keep_removed_files_for(&retention).await, (0, 0));
    assert_eq!(lake.version(t), version);
    let config = lake
        .delta_table(t)
        .snapshot()
        .unwrap()
        .metadata()
        .configuration()
        .clone();
    assert_eq!(
        config["delta.deletedFileRetentionDuration"],
        "interval 1 days"
    );
    let now = Utc::now() + TimeDelta::days(8);
    let closed = day("2026-01-05");
    let open = now.date_naive();
    // Each cycle's channels sort before the previous cycle's: the closed
    // day is clustered by user_id when maintained.
    for cycle in 1..=6 {
        let ids = StringArray::from_iter_values((0..3).map(|i| format!("u{}{}", 9 - cycle, 9 - i)));
        let batch = with_column(&rows(t, 3, cycle, closed), "user_id", Arc::new(ids));
        lake.append(t, vec![batch], cycle).await.unwrap();
    }
    for cycle in 7..=8 {
        lake.append(t, vec![rows(t, 3, cycle, open)], cycle)
            .await
            .unwrap();
    }
    let bronze = Table::ChatMessages;
    for cycle in 1..=3 {
        lake.append(bronze, vec![rows(bronze, 2, cycle, closed)], cycle)
            .await
            .unwrap();
    }
    let before = strings(&lake.read_all(t).await.unwrap(), "stream_id");
    let closed_dir = dir
        .path()
        .join("silver/stream_snapshots/observed_date=2026-01-05");
    let open_dir = dir
        .path()
        .join(format!("silver/stream_snapshots/observed_date={open}"));
    assert_eq!(parquet_files(&closed_dir), 6);
    // A file no version references (a tombstone a checkpoint already
    // dropped, or a write killed before its commit) is vacuumed too; what
    // is under a `_` directory is not the table's.
    let first = std::fs::read_dir(&closed_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&first, closed_dir.join("part-00000-orphan.snappy.parquet")).unwrap();
    let aside = dir
        .path()
        .join("silver/stream_snapshots/_corrupt_checkpoints");
    std::fs::create_dir_all(&aside).unwrap();
    std::fs::copy(&first, aside.join("kept.parquet")).unwrap();

    // A retention below the table's day is refused (per table, reported);
    // compaction and the checkpoint before the vacuum step still happen.
    let short = MaintainOptions {
        retention: std::time::Duration::from_secs(3600),
        gold_retention: std::time::Duration::from_secs(3600),
        now,
        ..Default::default()
    };
    let report = lake.maintain(&short).await.unwrap();
    assert_eq!(report.errors().len(), Table::ALL.len(), "{report:?}");
    let snaps = report.table(t).unwrap();
    assert_eq!(
        (snaps.files_compacted, snaps.files_written),
        (6, 1),
        "{snaps:?}"
    );
    assert!(
        snaps.error.as_deref().unwrap().contains("vacuum"),
        "{snaps:?}"
    );

    let report = lake
        .maintain(&MaintainOptions {
            now,
            wall: now,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(report.errors().is_empty(), "{report:?}");
    let snaps = report.table(t).unwrap();
    assert_eq!(snaps.files_compacted, 0, "already compact: {snaps:?}");
    // The files compaction removed are vacuumed, and the orphan: `now` is 8
    // days after.
    assert_eq!(snaps.files_vacuumed, 7, "{snaps:?}");
    assert!(aside.join("kept.parquet").is_file());
    let checkpoint = snaps.checkpoint_version.unwrap();
    let log = dir.path().join("silver/stream_snapshots/_delta_log");
    assert!(
        log.join(format!("{checkpoint:020}.checkpoint.parquet"))
            .is_file(),
        "{snaps:?}"
    );
    assert_eq!(parquet_files(&closed_dir), 1);
    assert_eq!(parquet_files(&open_dir), 2, "the open day is left alone");
    assert_eq!(
        strings(&lake.read_all(t).await.unwrap(), "stream_id"),
        before
    );
    let day = lake
        .scan(t, Some("observed_date = '2026-01-05'"))
        .await
        .unwrap();
    // In file order (`strings` sorts).
    let users: Vec<String> = day
        .iter()
        .flat_map(|b| {
            let a = arrow::compute::cast(b.column_by_name("user_id").unwrap(), &DataType::Utf8);
            let a = a.unwrap();
            let a = a.as_any().downcast_ref::<StringArray>().unwrap().clone();
            a.iter().flatten().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    assert!(users.is_sorted(), "clustered by user_id: {users:?}");
    assert_eq!(users.len(), 18);
    assert_eq!(report.table(bronze).unwrap().files_vacuumed, 3);
    assert_eq!(lake.count(bronze, None).await.unwrap(), 6);
}

#[tokio::test]
async fn cycles_commit_while_closed_days_are_compacted() {
    cycles_commit_during_maintenance(PauseAt::Compaction).await;
}

#[tokio::test]
async fn cycles_commit_while_the_big_tables_are_vacuumed() {
    // Paused after the compaction, checkpoint, log cleanup and vacuum, all
    // done without the writer lock.
    cycles_commit_during_maintenance(PauseAt::CatchUp).await;
}

/// Commits a cycle to two tables maintained beside cycles while the
/// maintenance of the first is paused at `at`, then checks nothing waited,
/// nothing was lost or doubled, and the closed day was merged and vacuumed.
async fn cycles_commit_during_maintenance(at: PauseAt) {
    let (dir, lake) = temp_lake().await;
    // The first table maintained beside cycles, where the pause is, and one
    // maintained after it; with their day partitions.
    let tables = [
        (
            Table::HelixResponses,
            "bronze/helix_responses",
            "ingest_date",
        ),
        (
            Table::StreamSnapshots,
            "silver/stream_snapshots",
            "observed_date",
        ),
    ];
    // As `serve` keeps them: removed files for a day.
    let day_long = keep_removed_files_a_day(&lake).await;
    let now = Utc::now() + TimeDelta::days(8);
    let (closed, open) = (day("2026-01-05"), now.date_naive());
    for (t, _, _) in tables {
        for cycle in 1..=3 {
            lake.append(t, vec![rows(t, 3, cycle, closed)], cycle)
                .await
                .unwrap();
        }
    }
    let pause = lake.pause_maintenance(at);
    let maintaining = tokio::spawn({
        let lake = lake.clone();
        async move {
            let opts = MaintainOptions {
                retention: day_long,
                gold_retention: day_long,
                now,
                wall: now,
                ..Default::default()
            };
            lake.maintain(&opts).await
        }
    });
    // Bounded, so a regression fails instead of hanging.
    let bound = Duration::from_secs(60);
    tokio::time::timeout(bound, pause.arrived())
        .await
        .expect("the bronze maintenance reaches the pause");
    for (t, _, _) in tables {
        let cycle = tokio::time::timeout(bound, lake.append(t, vec![rows(t, 2, 4, open)], 4));
        let outcome = cycle.await.expect("a cycle does not wait for maintenance");
        assert!(outcome.unwrap().is_committed());
    }
    pause.resume();
    let report = maintaining.await.unwrap().unwrap();
    assert!(report.errors().is_empty(), "{report:?}");
    for (t, path, day_column) in tables {
        let done = report.table(t).unwrap();
        assert_eq!(
            (done.files_compacted, done.files_written),
            (3, 1),
            "{done:?}"
        );
        assert_eq!(lake.count(t, None).await.unwrap(), 11, "{t}");
        let closed_rows = format!("{day_column} = '2026-01-05'");
        assert_eq!(lake.count(t, Some(&closed_rows)).await.unwrap(), 9, "{t}");
        // Exactly once still: cycle 4 is known to the table.
        let again = lake.append(t, vec![rows(t, 2, 4, open)], 4);
        assert!(!again.await.unwrap().is_committed(), "{t}");
        // The handle's own state has the maintenance's commits and the
        // cycle's: the merged closed day and the open day's file.
        let files = lake.delta_table(t).get_file_uris().unwrap().count();
        assert_eq!(files, 2, "{t}");
        let closed_dir = dir.path().join(format!("{path}/{day_column}=2026-01-05"));
        assert_eq!(
            parquet_files(&closed_dir),
            1,
            "{t}: the replaced files vacuumed"
        );
    }
}

#[tokio::test]
async fn maintain_vacuums_tables_whose_old_log_entries_it_removed() {
    // Tables nobody wrote to for longer than the log retention (the state
    // tables, `silver.games`): the run's checkpoint lets it remove their
    // old log entries, and vacuum must then read from that checkpoint.
    let (_dir, lake) = temp_lake().await;
    // A second version (a metadata commit) to make the first one old.
    let day_long = keep_removed_files_a_day(&lake).await;
    let now = Utc::now() + TimeDelta::days(8);
    let opts = MaintainOptions {
        retention: day_long,
        gold_retention: day_long,
        log_retention: Duration::ZERO,
        now,
        wall: now,
        ..Default::default()
    };
    let report = lake.maintain(&opts).await.unwrap();
    assert!(report.errors().is_empty(), "{report:?}");
    assert!(
        report.table(Table::Alerts).unwrap().logs_removed > 0,
        "{report:?}"
    );
    // And the tables still take commits and read back.
    let t = Table::StreamSnapshots;
    lake.append(t, vec![rows(t, 2, 1, now.date_naive())], 1)
        .await
        .unwrap();
    assert_eq!(lake.count(t, None).await.unwrap(), 2);
}

/// Sets every table's removed-file retention to a day (a metadata commit
/// each), as `serve` does; returns the day.
async fn keep_removed_files_a_day(lake: &twitch_monitor::lake::Lake) -> Duration {
    let day = Duration::from_secs(24 * 3600);
    let retention = Retention {
        files: day,
        logs: day,
        gold_files: day,
    };
    lake.keep_removed_files_for(&retention).await;
    day
}
