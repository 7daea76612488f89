//! How cycles' files are written and how long replaced ones are kept:
//! compression per layer, the gold retention.
use chrono::Utc;
use std::time::Duration;

use deltalake::parquet::file::reader::{FileReader, SerializedFileReader};
use twitch_monitor::lake::maintain::DEFAULT_LOG_RETENTION;
use twitch_monitor::lake::{Retention, in_list};
use twitch_monitor::schema::Table;

use super::data::rows;
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

/// Parquet files under `dir` (one partition directory).
fn parquet_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "parquet")
            })
            .count()
    })
}

#[tokio::test]
async fn compaction_vacuums_what_cycles_replaced_in_gold_by_the_gold_retention() {
    let (dir, lake) = temp_lake().await;
    let (gold, silver) = (Table::StreamerDaily, Table::StreamSnapshots);
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
    }
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

    // A fresh process reads both, and the next cycle commits exactly once.
    let fresh = twitch_monitor::lake::Lake::open(dir.path().to_str().unwrap(), Default::default())
        .await
        .unwrap();
    assert_eq!(fresh.count(gold, None).await.unwrap(), 3);
    assert_eq!(fresh.count(silver, None).await.unwrap(), 10);
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
