//! Today's small files merged during the day (`Lake::compact_today`).
use chrono::Utc;
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

    let (merged, failed) = lake.compact_today(now).await;
    assert_eq!((merged, failed), (5, 0));
    assert_eq!((files(today), files(yesterday)), (1, 2));
    assert_eq!(
        strings(&lake.read_all(t).await.unwrap(), "stream_id"),
        before
    );
    // A second run finds nothing to merge.
    assert_eq!(lake.compact_today(now).await, (0, 0));
    // The next cycle still commits exactly once.
    lake.append(t, vec![rows(t, 3, 8, today)], 8).await.unwrap();
    let again = lake.append(t, vec![rows(t, 3, 8, today)], 8).await.unwrap();
    assert!(!again.is_committed(), "{again:?}");
    drop(dir);
}
