//! The Parquet footers the lake's reads and the query engine keep between
//! reads: one shared cache, and no footers of files that left their table.
use std::sync::Arc;

use chrono::Utc;
use futures::TryStreamExt;
use twitch_monitor::lake::Lake;
use twitch_monitor::lake::maintain::DEFAULT_LOG_RETENTION;
use twitch_monitor::live::LiveViews;
use twitch_monitor::query::{EngineOptions, LakeAndLive, QueryEngine};
use twitch_monitor::schema::Table;

use super::data::rows;
use super::temp_lake;

/// The cached footers of files under `table`'s directory.
fn cached_in(lake: &Lake, table: Table) -> usize {
    let dir = format!("{}/{}", table.layer().as_str(), table.name());
    lake.footer_cache()
        .list_entries()
        .keys()
        .filter(|p| p.as_ref().contains(&dir))
        .count()
}

#[tokio::test]
async fn reads_and_queries_share_one_cache_that_forgets_the_footers_of_merged_files() {
    let (dir, lake) = temp_lake().await;
    let t = Table::StreamSnapshots;
    let today = Utc::now().date_naive();
    for cycle in 1..=3 {
        lake.append(t, vec![rows(t, 4, cycle, today)], cycle)
            .await
            .unwrap();
    }
    assert_eq!(cached_in(&lake, t), 0);

    // A query through an engine given the lake's cache fills it.
    let engine = QueryEngine::new(
        Arc::new(LakeAndLive {
            lake: lake.clone(),
            live: LiveViews::new(),
        }),
        EngineOptions {
            footer_cache: Some(lake.footer_cache()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let count = async |sql: &str| -> usize {
        let batches: Vec<_> = engine
            .execute(sql, &[])
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        batches.iter().map(|b| b.num_rows()).sum()
    };
    let sql = "SELECT stream_id FROM silver.stream_snapshots";
    assert_eq!(count(sql).await, 12);
    assert_eq!(cached_in(&lake, t), 3, "one footer per file");
    // Nothing left its table yet.
    assert_eq!(lake.forget_removed_footers(), 0);
    assert_eq!(cached_in(&lake, t), 3);

    // Merged into one file: the three footers are of no more use.
    let (merged, failed) = lake.compact_today(Utc::now(), DEFAULT_LOG_RETENTION).await;
    assert_eq!((merged, failed), (3, 0));
    assert_eq!(lake.forget_removed_footers(), 3);
    assert_eq!(cached_in(&lake, t), 0);

    // The lake's own reads go through the same cache.
    let read: usize = lake
        .read_all(t)
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(read, 12);
    assert_eq!(cached_in(&lake, t), 1);
    assert_eq!(lake.forget_removed_footers(), 0);
    drop(dir);
}
