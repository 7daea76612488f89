//! How the query catalog's tables are read.
use std::sync::Arc;

use arrow::array::StringArray;
use chrono::Utc;
use datafusion::prelude::SessionContext;
use twitch_monitor::schema::Table;

use super::data::{rows, with_column};
use super::temp_lake;

/// The `DataSourceExec` line of `EXPLAIN ANALYZE sql` over `snapshots`.
async fn scan_of(ctx: &SessionContext, sql: &str) -> String {
    let plan = ctx
        .sql(&format!("EXPLAIN ANALYZE {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&plan)
        .unwrap()
        .to_string();
    text.lines()
        .find(|l| l.contains("DataSourceExec"))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_cycles_snapshots_are_written_by_user_id_so_a_lookup_skips_pages() {
    let (dir, lake) = temp_lake().await;
    let t = Table::StreamSnapshots;
    // Helix lists streams by viewers: channel ids arrive in no order.
    let n = 60_000;
    let ids = StringArray::from_iter_values((0..n).map(|i| format!("u{:06}", i * 7_919 % n)));
    let batch = with_column(
        &rows(t, n, 1, Utc::now().date_naive()),
        "user_id",
        Arc::new(ids),
    );
    lake.append(t, vec![batch], 1).await.unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("snapshots", lake.query_provider(t).await.unwrap())
        .unwrap();
    let lookup = "SELECT viewer_count FROM snapshots WHERE user_id = 'u012345'";
    let scan = scan_of(&ctx, lookup).await;
    // Sorted, the file's pages each hold a range of ids: the page index
    // rules out all but the one holding u012345.
    // "page_index_pages_pruned=15 total → 1 matched": pages of 4,096 rows.
    let pages: Vec<&str> = scan
        .split("page_index_pages_pruned=")
        .nth(1)
        .and_then(|m| m.split(',').next())
        .unwrap_or_else(|| panic!("no page pruning figures in {scan}"))
        .split_whitespace()
        .collect();
    assert_eq!(pages, ["15", "total", "→", "1", "matched"], "{scan}");
    let found = ctx.sql(lookup).await.unwrap().collect().await.unwrap();
    assert_eq!(found.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    drop(dir);
}

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
    let scan = scan_of(
        &ctx,
        "SELECT viewer_count FROM snapshots WHERE user_login = 'user_login-1-42'",
    )
    .await;
    // The filter is evaluated on `user_login` as the file is decoded
    // (DataFusion's `pushdown_filters`, off by default, which delta-rs
    // takes from the session): the other columns of the rows that do not
    // match are never built (those of the page the page index kept: the
    // test's logins follow its user ids, by which the rows are sorted).
    assert!(
        scan.contains("pushdown_rows_matched=1,") && scan.contains("pushdown_rows_pruned=4.09 K"),
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
