//! Today's small files merged during the day (`Lake::compact_today`).
use chrono::Utc;
use std::time::Duration;

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
