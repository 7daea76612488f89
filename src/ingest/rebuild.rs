//! `rebuild`: recomputes silver and gold from bronze alone, through the same
//! derivation as live cycles, and rewrites each derived table in one commit.
//! Running it twice gives the same tables; so does comparing it with what the
//! live cycles wrote.
use std::collections::BTreeMap;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use chrono::NaiveDate;

use super::gold;
use super::pipeline::{run, with_cycle};
use super::sessions::{Session, Sessionizer};
use super::silver::{FollowerRow, SilverState, SnapshotRow, derive};
use super::{Result, state, tables};
use crate::lake::Lake;
use crate::schema::Table;

/// A gold table, the SQL of one period, and the periods with the last cycle
/// that touched each.
type GoldStep<'a> = (
    Table,
    &'a dyn Fn(NaiveDate) -> String,
    &'a BTreeMap<NaiveDate, i64>,
);

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
    let mut day_cycle: BTreeMap<NaiveDate, i64> = BTreeMap::new();
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
        for r in rows
            .snapshots
            .iter()
            .map(|r| r.observed_at)
            .chain(rows.followers.iter().map(|r| r.observed_at))
        {
            day_cycle.insert(r.date_naive(), cycle);
        }
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

    // Gold table by table, in dependency order: leaderboards and rising
    // stars read the streamer_daily rows written just before them.
    let weeks: BTreeMap<NaiveDate, i64> =
        day_cycle.iter().fold(BTreeMap::new(), |mut m, (d, c)| {
            let e = m.entry(gold::week_start(*d)).or_insert(*c);
            *e = (*e).max(*c);
            m
        });
    type Sql = fn(NaiveDate) -> String;
    let poll_secs = poll_interval.as_secs_f64();
    let category = move |d: NaiveDate| gold::category_daily(d, poll_secs);
    let steps: [GoldStep<'_>; 6] = [
        (
            Table::StreamerDaily,
            &(gold::streamer_daily as Sql),
            &day_cycle,
        ),
        (Table::CategoryDaily, &category, &day_cycle),
        (
            Table::HourlyViewership,
            &(gold::hourly_viewership as Sql),
            &day_cycle,
        ),
        (
            Table::LeaderboardDaily,
            &(gold::leaderboard_daily as Sql),
            &day_cycle,
        ),
        (
            Table::LeaderboardWeekly,
            &(gold::leaderboard_weekly as Sql),
            &weeks,
        ),
        (Table::RisingStars, &(gold::rising_stars as Sql), &day_cycle),
    ];
    for (table, sql, periods) in steps {
        let ctx = lake.session().await?;
        let mut batches = Vec::new();
        for (&day, &cycle) in periods {
            for b in run(&ctx, &sql(day)).await? {
                batches.push(with_cycle(table, &b, cycle)?);
            }
        }
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        lake.rewrite(table, batches, last).await?;
        wrote(table, rows, &mut report);
    }
    Ok(report)
}
