//! The live views as the query layer will serve them: registered once under
//! catalog `twitch`, schema `live`, queried through a DataFusion SessionContext
//! while cycles keep arriving.
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider};
use datafusion::physical_plan::collect;
use datafusion::prelude::{SessionConfig, SessionContext};
use twitch_monitor::live::{CycleStatus, CycleUpdate, FollowerSample, LiveStream, LiveViews};

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T20:00:00Z")
        .unwrap()
        .to_utc()
        + TimeDelta::minutes(minute)
}

fn cycle(cycle_id: i64, minute: i64, streams: &[(&str, &str, i64)]) -> CycleUpdate {
    let now = at(minute);
    CycleUpdate {
        observed_at: now,
        streams: streams
            .iter()
            .map(|&(login, game, viewers)| LiveStream {
                user_id: format!("id_{login}"),
                login: login.into(),
                stream_id: format!("st_{login}"),
                game_id: format!("g_{game}"),
                game_name: game.into(),
                title: format!("{login} live"),
                language: "en".into(),
                viewer_count: viewers,
                started_at: at(-90),
                observed_at: now,
            })
            .collect(),
        followers: streams
            .iter()
            .map(|&(login, _, viewers)| FollowerSample {
                user_id: format!("id_{login}"),
                followers_total: 10_000 + viewers,
                observed_at: now,
            })
            .collect(),
        status: CycleStatus {
            cycle_id,
            started_at: now - TimeDelta::seconds(3),
            finished_at: now,
            streams_seen: streams.len() as i64,
            requests: 3,
            rate_limit_remaining: Some(797),
            errors: 0,
            bronze_rows: 3,
            silver_rows: streams.len() as i64 * 2,
            gold_rows: 0,
            last_error: None,
        },
        chat: Vec::new(),
    }
}

/// A context with the views under `twitch.live`, as the query layer registers them.
fn context(live: &LiveViews) -> SessionContext {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("twitch", "live");
    let ctx = SessionContext::new_with_config(config);
    let catalog = Arc::new(MemoryCatalogProvider::new());
    catalog
        .register_schema("live", live.schema_provider())
        .unwrap();
    ctx.register_catalog("twitch", catalog);
    ctx
}

async fn sql(ctx: &SessionContext, query: &str) -> String {
    let batches: Vec<RecordBatch> = ctx.sql(query).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn views_have_the_contract_types() {
    let live = LiveViews::new();
    let ctx = context(&live);
    let got = sql(
        &ctx,
        "SELECT table_name, column_name, data_type FROM information_schema.columns \
         WHERE table_schema = 'live' AND (data_type LIKE 'Timestamp%' OR data_type LIKE '%View%') \
         ORDER BY table_name, column_name",
    )
    .await;
    assert_eq!(
        got,
        [
            "+---------------+-------------+----------------------+",
            "| table_name    | column_name | data_type            |",
            "+---------------+-------------+----------------------+",
            "| ingest_status | finished_at | Timestamp(µs, \"UTC\") |",
            "| ingest_status | started_at  | Timestamp(µs, \"UTC\") |",
            "| streams       | observed_at | Timestamp(µs, \"UTC\") |",
            "| streams       | started_at  | Timestamp(µs, \"UTC\") |",
            "+---------------+-------------+----------------------+",
        ]
        .join("\n")
    );
}

#[tokio::test]
async fn queries_follow_cycles_and_in_flight_plans_keep_their_snapshot() {
    let live = LiveViews::new();
    let ctx = context(&live);
    live.apply_cycle(cycle(
        1,
        0,
        &[
            ("alpha", "Chess", 500),
            ("bravo", "Art", 1200),
            ("carol", "Chess", 80),
        ],
    ))
    .unwrap();

    let board =
        "SELECT rank, login, viewer_count, game_name FROM twitch.live.leaderboard ORDER BY rank";
    assert_eq!(
        sql(&ctx, board).await,
        [
            "+------+-------+--------------+-----------+",
            "| rank | login | viewer_count | game_name |",
            "+------+-------+--------------+-----------+",
            "| 1    | bravo | 1200         | Art       |",
            "| 2    | alpha | 500          | Chess     |",
            "| 3    | carol | 80           | Chess     |",
            "+------+-------+--------------+-----------+",
        ]
        .join("\n")
    );

    // Planned against cycle 1, executed after cycle 2 lands: still cycle 1.
    let in_flight = ctx
        .sql("SELECT login FROM leaderboard ORDER BY rank")
        .await
        .unwrap();
    let plan = in_flight.create_physical_plan().await.unwrap();
    live.apply_cycle(cycle(2, 6, &[("alpha", "Chess", 650), ("dave", "Art", 90)]))
        .unwrap();
    let old = collect(plan, ctx.task_ctx()).await.unwrap();
    assert_eq!(old.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);

    // New queries see cycle 2, windows and 5-minute change included.
    assert_eq!(
        sql(
            &ctx,
            "SELECT s.login, s.viewer_count, s.viewer_change_5m, s.uptime_minutes, s.followers_total, \
             c.channels AS game_channels \
             FROM streams s JOIN categories c ON c.game_name = s.game_name ORDER BY s.login"
        )
        .await,
        [
            "+-------+--------------+------------------+----------------+-----------------+---------------+",
            "| login | viewer_count | viewer_change_5m | uptime_minutes | followers_total | game_channels |",
            "+-------+--------------+------------------+----------------+-----------------+---------------+",
            "| alpha | 650          | 150              | 96             | 10650           | 1             |",
            "| dave  | 90           |                  | 96             | 10090           | 1             |",
            "+-------+--------------+------------------+----------------+-----------------+---------------+",
        ]
        .join("\n")
    );
    assert_eq!(
        sql(
            &ctx,
            "SELECT login, \"window\", avg_viewers, peak_viewers, followers_gained FROM streamer_trends \
             WHERE login IN ('alpha', 'bravo') ORDER BY login, \"window\""
        )
        .await,
        [
            "+-------+--------+-------------+--------------+------------------+",
            "| login | window | avg_viewers | peak_viewers | followers_gained |",
            "+-------+--------+-------------+--------------+------------------+",
            "| alpha | 1h     | 556.25      | 650          | 150              |",
            "| alpha | 24h    | 556.25      | 650          | 150              |",
            "| bravo | 1h     | 1200.0      | 1200         | 0                |",
            "| bravo | 24h    | 1200.0      | 1200         | 0                |",
            "+-------+--------+-------------+--------------+------------------+",
        ]
        .join("\n")
    );
    assert_eq!(
        sql(&ctx, "SELECT cycle_id, streams_seen, rate_limit_remaining FROM ingest_status ORDER BY cycle_id").await,
        [
            "+----------+--------------+----------------------+",
            "| cycle_id | streams_seen | rate_limit_remaining |",
            "+----------+--------------+----------------------+",
            "| 1        | 3            | 797                  |",
            "| 2        | 2            | 797                  |",
            "+----------+--------------+----------------------+",
        ]
        .join("\n")
    );
}

#[tokio::test]
async fn schema_live_is_read_only() {
    let live = LiveViews::new();
    let ctx = context(&live);
    assert_eq!(
        sql(&ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'live' ORDER BY 1").await,
        [
            "+-----------------+",
            "| table_name      |",
            "+-----------------+",
            "| categories      |",
            "| chat            |",
            "| ingest_status   |",
            "| leaderboard     |",
            "| streamer_trends |",
            "| streams         |",
            "+-----------------+",
        ]
        .join("\n")
    );
    let created = async {
        ctx.sql("CREATE TABLE twitch.live.extra AS SELECT 1 AS x")
            .await?
            .collect()
            .await
    };
    let err = created.await.unwrap_err();
    assert!(
        err.to_string()
            .contains("does not support registering tables"),
        "{err}"
    );
}
