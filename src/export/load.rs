//! Reads what a day's summary is computed from out of the lake: the day's
//! and the day before's gold rows, the alerts fired that day and the
//! cycles that ran (from bronze, which records every response, failed or
//! not). Rows become the summary's typed rows through Arrow's JSON writer.
use chrono::{DateTime, NaiveDate, TimeDelta};
use datafusion::prelude::SessionContext;
use serde::de::DeserializeOwned;

use super::summary::{CycleRun, DayGold};
use super::{Error, Result};
use crate::lake::Lake;
use crate::lake::read::session_config;
use crate::schema::Table;

/// The tables [`load`] reads.
const READ: [Table; 5] = [
    Table::StreamerDaily,
    Table::CategoryDaily,
    Table::RisingStars,
    Table::Alerts,
    Table::HelixResponses,
];

/// The gold of `day` and the day before, its alerts and its cycles, at the
/// lake's newest loaded versions.
pub async fn load(lake: &Lake, day: NaiveDate) -> Result<DayGold> {
    let ctx = SessionContext::new_with_config(session_config());
    lake.register(&ctx, &READ).await?;
    let before = day - TimeDelta::days(1);
    let of_day = |table: &str, cols: &str, d: NaiveDate| {
        format!("SELECT {cols} FROM gold.{table} WHERE day = DATE '{d}'")
    };
    const STREAMER: &str =
        "user_id, login, hours_watched, avg_viewers, followers_gained, main_game, language";
    const CATEGORY: &str = "game_id, game_name, channels, hours_watched";
    const RISING: &str = "user_id, login, rank, score";
    let next = day + TimeDelta::days(1);
    #[derive(serde::Deserialize)]
    struct Cycle {
        cycle_id: i64,
        started: i64,
        errors: i64,
    }
    let cycles: Vec<Cycle> = rows(
        &ctx,
        &format!(
            "SELECT cycle_id, to_unixtime(min(fetched_at)) AS started, \
             sum(CASE WHEN http_status IS NULL OR http_status = 0 OR http_status >= 400 \
             THEN 1 ELSE 0 END) AS errors \
             FROM bronze.helix_responses \
             WHERE ingest_date BETWEEN DATE '{before}' AND DATE '{next}' \
             AND CAST(fetched_at AS DATE) = DATE '{day}' GROUP BY cycle_id",
        ),
    )
    .await?;
    Ok(DayGold {
        day,
        streamers: rows(&ctx, &of_day("streamer_daily", STREAMER, day)).await?,
        previous_streamers: rows(&ctx, &of_day("streamer_daily", STREAMER, before)).await?,
        categories: rows(&ctx, &of_day("category_daily", CATEGORY, day)).await?,
        previous_categories: rows(&ctx, &of_day("category_daily", CATEGORY, before)).await?,
        rising: rows(&ctx, &of_day("rising_stars", RISING, day)).await?,
        previous_rising: rows(&ctx, &of_day("rising_stars", RISING, before)).await?,
        alerts: rows(
            &ctx,
            &format!(
                "SELECT DISTINCT alert_id, rule, kind, login FROM gold.alerts \
                 WHERE CAST(fired_at AS DATE) = DATE '{day}'"
            ),
        )
        .await?,
        cycles: cycles
            .into_iter()
            .map(|c| CycleRun {
                cycle_id: c.cycle_id,
                started_at: DateTime::from_timestamp(c.started, 0).unwrap_or_default(),
                errors: u64::try_from(c.errors).unwrap_or(0),
            })
            .collect(),
    })
}

/// Runs `sql` and reads its rows as `T` (by column name).
async fn rows<T: DeserializeOwned>(ctx: &SessionContext, sql: &str) -> Result<Vec<T>> {
    let query = |e: datafusion::error::DataFusionError| Error::Read(e.to_string());
    let batches = ctx
        .sql(sql)
        .await
        .map_err(query)?
        .collect()
        .await
        .map_err(query)?;
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for batch in &batches {
        writer
            .write(batch)
            .map_err(|e| Error::Read(e.to_string()))?;
    }
    writer.finish().map_err(|e| Error::Read(e.to_string()))?;
    let json = writer.into_inner();
    if json.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&json).map_err(|e| Error::Read(e.to_string()))
}
