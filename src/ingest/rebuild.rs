//! `rebuild`: recomputes silver and gold from bronze alone, through the same
//! derivation as live cycles, and rewrites each derived table in one commit.
//! Running it twice gives the same tables; so does comparing it with what the
//! live cycles wrote.
use std::collections::BTreeSet;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use super::gold::{self, OpenDays};
use super::pipeline::run;
use super::sessions::{Session, Sessionizer};
use super::silver::{FollowerRow, SilverState, SnapshotRow, derive};
use super::{Result, state, tables};
use crate::lake::Lake;
use crate::lake::read::session_config;
use crate::schema::Table;

/// The SQL of one gold table for one period.
type PeriodSql = fn(NaiveDate) -> String;

/// Progress of a rebuild, reported as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Derived `done` of `total` bronze cycles.
    Derived {
        /// Cycles derived so far.
        done: usize,
        /// Cycles in bronze.
        total: usize,
    },
    /// Rewrote a table.
    Wrote {
        /// The table.
        table: Table,
        /// Its rows now.
        rows: usize,
    },
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Derived { done, total } => {
                write!(
                    f,
                    "derived {done}/{total} cycles ({}%)",
                    done * 100 / (*total).max(1)
                )
            }
            Progress::Wrote { table, rows } => write!(f, "wrote {table}: {rows} rows"),
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Bronze cycles replayed.
    pub cycles: usize,
    /// Rows written per table.
    pub tables: Vec<(Table, usize)>,
}

/// Rebuilds every silver and gold table from bronze.
pub async fn rebuild(
    lake: &Lake,
    poll_interval: Duration,
    session_gap: Duration,
    mut progress: impl FnMut(Progress),
) -> Result<RebuildReport> {
    let ctx = lake.session().await?;
    let ids = run(
        &ctx,
        "SELECT DISTINCT cycle_id FROM bronze.helix_responses ORDER BY cycle_id",
    )
    .await?;
    let cycles: Vec<i64> = ids
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    let mut report = RebuildReport {
        cycles: cycles.len(),
        ..Default::default()
    };
    let Some(&last) = cycles.last() else {
        return Ok(report);
    };

    let mut st = SilverState {
        sessions: Sessionizer::new(session_gap, []),
        ..Default::default()
    };
    let mut snapshots: Vec<SnapshotRow> = Vec::new();
    let mut followers: Vec<FollowerRow> = Vec::new();
    let mut ended: Vec<(Session, i64)> = Vec::new();
    let mut games_cycle = last;
    let mut gold_days = OpenDays::default();
    for (i, &cycle) in cycles.iter().enumerate() {
        let batches = lake
            .scan(Table::HelixResponses, Some(&format!("cycle_id = {cycle}")))
            .await?;
        let mut responses = state::responses(&batches)?;
        responses.sort_by(|a, b| a.fetched_at.cmp(&b.fetched_at).then(a.page.cmp(&b.page)));
        let now = responses
            .iter()
            .map(|r| r.fetched_at)
            .max()
            .unwrap_or_default();
        let rows = derive(cycle, &responses, now, &mut st);
        gold_days.fold(cycle, &rows);
        if rows.games_changed {
            games_cycle = cycle;
        }
        snapshots.extend(rows.snapshots);
        followers.extend(rows.followers);
        ended.extend(rows.ended_sessions.into_iter().map(|s| (s, cycle)));
        if (i + 1) % 100 == 0 || i + 1 == cycles.len() {
            progress(Progress::Derived {
                done: i + 1,
                total: cycles.len(),
            });
        }
    }

    let mut wrote = |table: Table, rows: usize, report: &mut RebuildReport| {
        progress(Progress::Wrote { table, rows });
        report.tables.push((table, rows));
    };
    let batch = tables::snapshots(&Table::StreamSnapshots.schema(), &snapshots)?;
    lake.rewrite(Table::StreamSnapshots, vec![batch], last)
        .await?;
    wrote(Table::StreamSnapshots, snapshots.len(), &mut report);
    let batch = tables::followers(&Table::FollowerSnapshots.schema(), &followers)?;
    lake.rewrite(Table::FollowerSnapshots, vec![batch], last)
        .await?;
    wrote(Table::FollowerSnapshots, followers.len(), &mut report);
    let history: Vec<_> = st.streamers.values().flatten().cloned().collect();
    let batch = tables::streamers(&Table::Streamers.schema(), history.iter())?;
    lake.rewrite(Table::Streamers, vec![batch], last).await?;
    wrote(Table::Streamers, history.len(), &mut report);
    let schema = Table::StreamSessions.schema();
    let mut batches = Vec::new();
    for (s, cycle) in &ended {
        batches.push(tables::sessions(&schema, std::slice::from_ref(s), *cycle)?);
    }
    let open: Vec<Session> = st.sessions.open().cloned().collect();
    batches.push(tables::sessions(&schema, &open, last)?);
    lake.rewrite(Table::StreamSessions, batches, last).await?;
    wrote(Table::StreamSessions, ended.len() + open.len(), &mut report);
    let batch = tables::games(&Table::Games.schema(), st.games.values(), games_cycle)?;
    lake.rewrite(Table::Games, vec![batch], last).await?;
    wrote(Table::Games, st.games.len(), &mut report);

    // Gold: the daily tables from the days folded above (as live cycles
    // fold them), then the figures spanning days by SQL over the rewritten
    // streamer rows.
    let poll_secs = poll_interval.as_secs_f64();
    let mut daily = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for day in gold_days.iter() {
        let d = day.day();
        let next = gold::day_start(d + chrono::Days::new(1));
        let streamers = day.streamer_rows(|id| gold::login_before(&st.streamers, id, next));
        let boards = gold::leaderboard(&streamers);
        daily.0.push(tables::streamer_daily(
            &Table::StreamerDaily.schema(),
            d,
            &streamers,
        )?);
        daily.1.push(tables::category_daily(
            &Table::CategoryDaily.schema(),
            d,
            &day.category_rows(poll_secs),
        )?);
        daily.2.push(tables::hourly_viewership(
            &Table::HourlyViewership.schema(),
            d,
            &day.hourly_rows(),
        )?);
        daily.3.push(tables::leaderboard(
            &Table::LeaderboardDaily.schema(),
            d,
            &boards,
        )?);
    }
    for (table, batches) in [
        (Table::StreamerDaily, daily.0),
        (Table::CategoryDaily, daily.1),
        (Table::HourlyViewership, daily.2),
        (Table::LeaderboardDaily, daily.3),
    ] {
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        lake.rewrite(table, batches, last).await?;
        wrote(table, rows, &mut report);
    }
    let days: BTreeSet<NaiveDate> = gold_days.iter().map(|d| d.day()).collect();
    let weeks: BTreeSet<NaiveDate> = days.iter().map(|&d| gold::week_start(d)).collect();
    let steps: [(Table, PeriodSql, &BTreeSet<NaiveDate>); 2] = [
        (
            Table::LeaderboardWeekly,
            gold::sql::leaderboard_weekly,
            &weeks,
        ),
        (Table::RisingStars, gold::sql::rising_stars, &days),
    ];
    let ctx = SessionContext::new_with_config(session_config());
    lake.register(&ctx, &[Table::StreamerDaily, Table::Streamers])
        .await?;
    for (table, sql, periods) in steps {
        let mut batches = Vec::new();
        for &period in periods {
            batches.extend(run(&ctx, &sql(period)).await?);
        }
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        lake.rewrite(table, batches, last).await?;
        wrote(table, rows, &mut report);
    }
    Ok(report)
}
