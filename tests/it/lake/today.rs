//! Today's small files merged during the day (`Lake::compact_today`).
use chrono::Utc;
use std::time::Duration;

use twitch_monitor::lake::PauseAt;
use twitch_monitor::lake::maintain::DEFAULT_LOG_RETENTION;
use twitch_monitor::schema::Table;

use super::data::{day, rows, strings};
use super::temp_lake;

#[tokio::test]
async fn compact_today_merges_todays_files_and_leaves_other_days_and_rows_alone() {
    let (dir, lake) = temp_lake().await;
    let t = Table::StreamSnapshots;
    let now = Utc::now();
    let today = now.date_naive();
    let yesterday = day("2026-01-05");
    for cycle in 1..=5 {
        lake.append(t, vec![rows(t, 3, cycle, today)], cycle)
            .await
            .unwrap();
    }
    for cycle in 6..=7 {
        lake.append(t, vec![rows(t, 3, cycle, yesterday)], cycle)
            .await
            .unwrap();
    }
    let before = strings(&lake.read_all(t).await.unwrap(), "stream_id");
    let files = |d: chrono::NaiveDate| {
        let delta = lake.delta_table(t);
        let uris = delta.get_file_uris().unwrap().collect::<Vec<_>>();
        uris.iter()
            .filter(|u| u.contains(&format!("observed_date={d}")))
            .count()
    };
    assert_eq!((files(today), files(yesterday)), (5, 2));

    let (merged, failed) = lake.compact_today(now, DEFAULT_LOG_RETENTION).await;
    assert_eq!((merged, failed), (5, 0));
    assert_eq!((files(today), files(yesterday)), (1, 2));
    assert_eq!(
        strings(&lake.read_all(t).await.unwrap(), "stream_id"),
        before
    );
    // A second run finds nothing to merge.
    assert_eq!(lake.compact_today(now, DEFAULT_LOG_RETENTION).await, (0, 0));
    // The next cycle still commits exactly once.
    lake.append(t, vec![rows(t, 3, 8, today)], 8).await.unwrap();
    let again = lake.append(t, vec![rows(t, 3, 8, today)], 8).await.unwrap();
    assert!(!again.is_committed(), "{again:?}");
    drop(dir);
}

#[tokio::test]
async fn todays_files_of_append_tables_merge_while_cycles_commit_to_the_same_day() {
    // Bronze and the snapshot tables are merged without their writer lock:
    // a cycle appends to today's partition while the merge of it is under
    // way (paused after the merge copied the table's state), and neither
    // waits for nor undoes the other.
    let (dir, lake) = temp_lake().await;
    let now = Utc::now();
    let today = now.date_naive();
    // The first table merged beside cycles (the pause is in its merge) and
    // one merged after it.
    let tables = [Table::HelixResponses, Table::StreamSnapshots];
    for t in tables {
        for cycle in 1..=4 {
            lake.append(t, vec![rows(t, 3, cycle, today)], cycle)
                .await
                .unwrap();
        }
    }
    let pause = lake.pause_maintenance(PauseAt::Today);
    let merging = tokio::spawn({
        let lake = lake.clone();
        async move { lake.compact_today(now, DEFAULT_LOG_RETENTION).await }
    });
    // Bounded, so a regression fails instead of hanging.
    let bound = Duration::from_secs(60);
    tokio::time::timeout(bound, pause.arrived())
        .await
        .expect("the merge of today's bronze reaches the pause");
    for t in tables {
        let cycle = tokio::time::timeout(bound, lake.append(t, vec![rows(t, 2, 5, today)], 5));
        let outcome = cycle.await.expect("a cycle does not wait for the merge");
        assert!(outcome.unwrap().is_committed(), "{t}");
    }
    pause.resume();
    let (merged, failed) = merging.await.unwrap();
    // Bronze merged the 4 files it copied (the cycle's came after); the
    // snapshots all 5, the cycle's included.
    assert_eq!((merged, failed), (4 + 5, 0));
    for t in tables {
        assert_eq!(lake.count(t, None).await.unwrap(), 4 * 3 + 2, "{t}");
        // Exactly once still: cycle 5 is known to the table.
        let again = lake.append(t, vec![rows(t, 2, 5, today)], 5);
        assert!(!again.await.unwrap().is_committed(), "{t}");
    }
    // The handle's own state has the merge and the cycle's file beside it.
    let files = |t| lake.delta_table(t).get_file_uris().unwrap().count();
    assert_eq!(
        (files(Table::HelixResponses), files(Table::StreamSnapshots)),
        (2, 1)
    );
    // And so does the table on disk, read by a fresh process.
    let path = dir.path().to_str().unwrap();
    let fresh = twitch_monitor::lake::Lake::open(path, Default::default())
        .await
        .unwrap();
    for t in tables {
        assert_eq!(fresh.count(t, None).await.unwrap(), 14, "{t}");
    }
    assert_eq!(
        fresh
            .delta_table(Table::HelixResponses)
            .get_file_uris()
            .unwrap()
            .count(),
        2
    );
    // The next cycle commits through the merged state.
    let next = lake.append(
        Table::HelixResponses,
        vec![rows(Table::HelixResponses, 1, 6, today)],
        6,
    );
    assert!(next.await.unwrap().is_committed());
    assert_eq!(lake.count(Table::HelixResponses, None).await.unwrap(), 15);
    drop(dir);
}

/// The versions of `table`'s `_delta_log` entries under `dir`: (commits,
/// checkpoints), each ascending.
fn log_entries(dir: &std::path::Path, table: Table) -> (Vec<u64>, Vec<u64>) {
    let log = dir
        .join(table.layer().as_str())
        .join(table.name())
        .join("_delta_log");
    let names: Vec<String> = std::fs::read_dir(log)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let versions = |suffix: &str| {
        let mut v: Vec<u64> = names
            .iter()
            .filter_map(|n| n.strip_suffix(suffix)?.parse().ok())
            .collect();
        v.sort_unstable();
        v
    };
    (versions(".json"), versions(".checkpoint.parquet"))
}

#[tokio::test]
async fn compaction_removes_log_entries_older_than_the_log_retention() {
    let (dir, lake) = temp_lake().await;
    let t = Table::StreamSnapshots;
    let now = Utc::now();
    for cycle in 1..=25 {
        lake.append(t, vec![rows(t, 1, cycle, now.date_naive())], cycle)
            .await
            .unwrap();
    }
    // Version 0 creates the table; a checkpoint every 10 commits.
    let (commits, checkpoints) = log_entries(dir.path(), t);
    assert_eq!(commits, (0..=25).collect::<Vec<_>>());
    assert_eq!(
        checkpoints,
        vec![9, 19],
        "delta-rs: after every 10th commit"
    );
    // A day's retention keeps what was just written.
    lake.compact_today(now, DEFAULT_LOG_RETENTION).await;
    let (commits, checkpoints) = log_entries(dir.path(), t);
    assert_eq!((commits[0], checkpoints.len()), (0, 2), "{commits:?}");

    // No retention: every entry before the newest checkpoint goes (that
    // checkpoint and the commits from it on stay).
    let (_, failed) = lake.compact_today(now, Duration::ZERO).await;
    assert_eq!(failed, 0);
    let (commits, checkpoints) = log_entries(dir.path(), t);
    let (newest, kept) = (*commits.last().unwrap(), checkpoints[0]);
    assert!(newest >= 26, "the compaction's commit is kept: {commits:?}");
    assert!(kept >= 19, "{checkpoints:?}");
    assert_eq!(
        (commits, checkpoints),
        ((kept..=newest).collect(), vec![kept])
    );
    // The table still loads (a fresh process reads it from the checkpoint),
    // with every row, and a cycle is still committed exactly once.
    let path = dir.path().to_str().unwrap();
    let fresh = twitch_monitor::lake::Lake::open(path, Default::default())
        .await
        .unwrap();
    assert_eq!(fresh.count(t, None).await.unwrap(), 25);
    let again = fresh
        .append(t, vec![rows(t, 1, 25, now.date_naive())], 25)
        .await
        .unwrap();
    assert!(!again.is_committed(), "{again:?}");
    drop(dir);
}
