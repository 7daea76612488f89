//! How the query catalog's tables are read.
use chrono::Utc;
use datafusion::prelude::SessionContext;
use twitch_monitor::schema::Table;

use super::data::rows;
use super::temp_lake;

#[tokio::test]
async fn query_scans_filter_rows_while_decoding() {
    let (dir, lake) = temp_lake().await;
    let t = Table::StreamSnapshots;
    lake.append(t, vec![rows(t, 10_000, 1, Utc::now().date_naive())], 1)
        .await
        .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("snapshots", lake.query_provider(t).await.unwrap())
        .unwrap();
    let plan = ctx
        .sql("EXPLAIN ANALYZE SELECT viewer_count FROM snapshots WHERE user_login = 'user_login-1-42'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&plan)
        .unwrap()
        .to_string();
    // The filter is evaluated on `user_login` as the file is decoded
    // (DataFusion's `pushdown_filters`, off by default, which delta-rs
    // takes from the session): the other columns of the 9,999 rows that do
    // not match are never built.
    let scan = text.lines().find(|l| l.contains("DataSourceExec")).unwrap();
    assert!(
        scan.contains("pushdown_rows_matched=1,") && scan.contains("pushdown_rows_pruned=10.00 K"),
        "{scan}"
    );
    let found = ctx
        .sql("SELECT viewer_count FROM snapshots WHERE user_login = 'user_login-1-42'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(found.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    drop(dir);
}
