//! Committing a cycle: bronze → silver → gold, each table one Delta commit
//! carrying the cycle's txn marker, in a fixed order that makes a crash at
//! any point repairable: at start-up the last bronze cycle is simply
//! committed again — tables that already hold it skip (txn marker), the rest
//! are derived from bronze's raw payloads, with no new API calls.
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;

use super::gold::{self, OpenDays};
use super::silver::{SilverRows, SilverState, derive};
use super::{Error, Result, state, tables};
use crate::lake::read::session_config;
use crate::lake::{CommitOutcome, Lake, in_list};
use crate::schema::Table;
use crate::twitch::RawResponse;

/// Rows committed per layer by one cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Bronze rows.
    pub bronze: usize,
    /// Silver rows.
    pub silver: usize,
    /// Gold rows.
    pub gold: usize,
}

/// What committing one cycle did.
#[derive(Debug, Clone, Default)]
pub struct CommitReport {
    /// Rows written per layer (skipped commits count zero).
    pub written: Written,
    /// Rows written per table (tables that committed rows only).
    pub per_table: BTreeMap<Table, usize>,
    /// Tables that already held this cycle (a replay after a crash).
    pub skipped: Vec<Table>,
    /// Silver rows of the cycle (for the live views).
    pub silver: SilverRows,
    /// Days whose gold was recomputed.
    pub days: Vec<NaiveDate>,
    /// Wall time of each stage: bronze, silver, gold.
    pub stages: Vec<(&'static str, Duration)>,
}

/// The medallion writer: holds the running silver state between cycles.
#[derive(Debug)]
pub struct Pipeline {
    lake: Lake,
    state: SilverState,
    poll_interval: Duration,
    session_gap: Duration,
    poll_secs: f64,
    /// The running gold of the days recent cycles touched.
    gold: OpenDays,
    /// Called as each commit stage ends (benchmarks measure memory with it).
    stage_hook: Option<fn(&'static str)>,
}

impl Pipeline {
    /// Opens the pipeline over `lake`: rebuilds the running state from silver
    /// and repairs the last cycle if a crash interrupted it.
    pub async fn open(
        lake: Lake,
        poll_interval: Duration,
        session_gap: Duration,
    ) -> Result<(Self, Option<CommitReport>)> {
        let state = load_state(&lake, session_gap).await?;
        let mut p = Self {
            lake,
            state,
            poll_interval,
            session_gap,
            poll_secs: poll_interval.as_secs_f64(),
            gold: OpenDays::default(),
            stage_hook: None,
        };
        let repaired = match p.lake.last_cycle(Table::HelixResponses, None).await? {
            Some(last) => {
                let responses = p.bronze_cycle(last).await?;
                let report = p.commit(last, &responses).await?;
                (report.written.silver + report.written.gold > 0).then_some(report)
            }
            None => None,
        };
        Ok((p, repaired))
    }

    /// The latest `fetched_at` in bronze: when the lake last heard from Twitch.
    pub async fn last_seen(lake: &Lake) -> Result<Option<DateTime<Utc>>> {
        let ctx = lake.session().await?;
        let b = run(&ctx, "SELECT max(fetched_at) FROM bronze.helix_responses").await?;
        Ok(b.first().and_then(|b| {
            let a = b
                .column(0)
                .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()?;
            (!a.is_empty() && !a.is_null(0)).then(|| DateTime::from_timestamp_micros(a.value(0)))?
        }))
    }

    /// The same pipeline opened anew from the lake: the running state
    /// reloaded, an interrupted cycle repaired (after a failed commit).
    pub async fn reopen(&self) -> Result<Self> {
        let mut p = Self::open(self.lake.clone(), self.poll_interval, self.session_gap)
            .await?
            .0;
        p.stage_hook = self.stage_hook;
        Ok(p)
    }

    /// Calls `hook` with each stage's name (`bronze`, `silver`, `gold`) as
    /// it ends, e.g. to sample memory per stage.
    pub fn on_stage(&mut self, hook: fn(&'static str)) {
        self.stage_hook = Some(hook);
    }

    /// The lake this pipeline writes.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The running silver state (open sessions, latest follower totals…).
    pub fn state(&self) -> &SilverState {
        &self.state
    }

    /// The id the next cycle must use: one past the last in bronze.
    pub async fn next_cycle_id(&self) -> Result<i64> {
        Ok(self.lake.max_committed_cycle().await?.map_or(1, |c| c + 1))
    }

    /// Commits cycle `cycle_id`: bronze, then silver, then gold of the days
    /// it touched. Idempotent: committing a cycle again changes nothing.
    pub async fn commit(
        &mut self,
        cycle_id: i64,
        responses: &[RawResponse],
    ) -> Result<CommitReport> {
        let mut report = CommitReport::default();
        let mut clock = std::time::Instant::now();
        let hook = self.stage_hook;
        let mut stage = |name, report: &mut CommitReport| {
            report.stages.push((name, clock.elapsed()));
            if let Some(hook) = hook {
                hook(name);
            }
            clock = std::time::Instant::now();
        };
        let bronze = tables::bronze(&Table::HelixResponses.schema(), cycle_id, responses)?;
        let outcome = self
            .lake
            .append(Table::HelixResponses, vec![bronze], cycle_id)
            .await?;
        report.written.bronze = count(Table::HelixResponses, &outcome, &mut report);
        stage("bronze", &mut report);

        // The cycle's "now" comes from bronze so that repair and rebuild agree.
        let now = responses.iter().map(|r| r.fetched_at).max();
        let rows = derive(
            cycle_id,
            responses,
            now.unwrap_or(DateTime::UNIX_EPOCH),
            &mut self.state,
        );
        self.write_silver(cycle_id, &rows, &mut report).await?;
        stage("silver", &mut report);

        let mut days: BTreeSet<NaiveDate> = rows
            .snapshots
            .iter()
            .map(|r| r.observed_at.date_naive())
            .collect();
        days.extend(rows.followers.iter().map(|r| r.observed_at.date_naive()));
        for &day in &days {
            self.gold.update(&self.lake, day, cycle_id, &rows).await?;
            report.written.gold += self.write_gold(cycle_id, day, &mut report).await?;
        }
        if let Some(&first) = days.first() {
            self.gold.close_before(first);
        }
        stage("gold", &mut report);
        report.days = days.into_iter().collect();
        report.silver = rows;
        Ok(report)
    }

    async fn write_silver(
        &mut self,
        cycle_id: i64,
        rows: &SilverRows,
        report: &mut CommitReport,
    ) -> Result<()> {
        let lake = &self.lake;
        // Order matters for repair: snapshots before sessions (see module docs).
        let batch = tables::snapshots(&Table::StreamSnapshots.schema(), &rows.snapshots)?;
        let o = lake
            .append(Table::StreamSnapshots, vec![batch], cycle_id)
            .await?;
        report.written.silver += count(Table::StreamSnapshots, &o, report);

        let batch = tables::followers(&Table::FollowerSnapshots.schema(), &rows.followers)?;
        let o = lake
            .append(Table::FollowerSnapshots, vec![batch], cycle_id)
            .await?;
        report.written.silver += count(Table::FollowerSnapshots, &o, report);

        if !rows.new_streamers.is_empty() {
            let batch = tables::streamers(&Table::Streamers.schema(), rows.new_streamers.iter())?;
            let o = lake
                .upsert_scd2(Table::Streamers, vec![batch], cycle_id)
                .await?;
            report.written.silver += count(Table::Streamers, &o, report);
        }

        let schema = Table::StreamSessions.schema();
        let ended = tables::sessions(&schema, &rows.ended_sessions, cycle_id)?;
        let o = lake
            .append_as(Table::StreamSessions, vec![ended], cycle_id, Some("ended"))
            .await?;
        report.written.silver += count(Table::StreamSessions, &o, report);
        let open: Vec<_> = self.state.sessions.open().cloned().collect();
        let live = tables::sessions(&schema, &open, cycle_id)?;
        let o = lake
            .replace(
                Table::StreamSessions,
                &in_list("status", ["live"]),
                vec![live],
                cycle_id,
                Some("live"),
            )
            .await?;
        report.written.silver += count(Table::StreamSessions, &o, report);
        if rows.games_changed {
            let batch = tables::games(&Table::Games.schema(), self.state.games.values(), cycle_id)?;
            let o = lake
                .replace(Table::Games, "true", vec![batch], cycle_id, None)
                .await?;
            report.written.silver += count(Table::Games, &o, report);
        }
        Ok(())
    }

    /// Writes the gold of `day` (open, and folded up to this cycle): the
    /// daily tables from memory, then the weekly and 7-day figures by SQL
    /// over the streamer rows just written.
    async fn write_gold(
        &self,
        cycle_id: i64,
        day: NaiveDate,
        report: &mut CommitReport,
    ) -> Result<usize> {
        let Some(open) = self.gold.get(day) else {
            return Ok(0);
        };
        let next = gold::day_start(day + chrono::Days::new(1));
        let daily = open.streamer_rows(|id| gold::login_before(&self.state.streamers, id, next));
        let on_day = format!("day = '{day}'");
        let in_memory = [
            (
                Table::StreamerDaily,
                on_day.clone(),
                tables::streamer_daily(&Table::StreamerDaily.schema(), day, &daily)?,
            ),
            (
                Table::CategoryDaily,
                on_day.clone(),
                tables::category_daily(
                    &Table::CategoryDaily.schema(),
                    day,
                    &open.category_rows(self.poll_secs),
                )?,
            ),
            (
                Table::HourlyViewership,
                on_day.clone(),
                tables::hourly_viewership(
                    &Table::HourlyViewership.schema(),
                    day,
                    &open.hourly_rows(),
                )?,
            ),
            (
                Table::LeaderboardDaily,
                format!("period_start = '{day}'"),
                tables::leaderboard(
                    &Table::LeaderboardDaily.schema(),
                    day,
                    &gold::leaderboard(&daily),
                )?,
            ),
        ];
        drop(daily);
        let suffix = day.to_string();
        let mut written = 0;
        for (table, predicate, batch) in in_memory {
            let o = self
                .lake
                .replace(table, &predicate, vec![batch], cycle_id, Some(&suffix))
                .await?;
            written += count(table, &o, report);
        }
        // Both read the streamer rows committed above.
        let ctx = SessionContext::new_with_config(session_config());
        self.lake
            .register(&ctx, &[Table::StreamerDaily, Table::Streamers])
            .await?;
        let by_sql = [
            (
                Table::LeaderboardWeekly,
                gold::sql::leaderboard_weekly(day),
                format!("period_start = '{}'", gold::week_start(day)),
            ),
            (Table::RisingStars, gold::sql::rising_stars(day), on_day),
        ];
        for (table, sql, predicate) in by_sql {
            let batches = run(&ctx, &sql).await?;
            let o = self
                .lake
                .replace(table, &predicate, batches, cycle_id, Some(&suffix))
                .await?;
            written += count(table, &o, report);
        }
        Ok(written)
    }

    /// The raw responses bronze holds for `cycle_id`, in arrival order.
    pub async fn bronze_cycle(&self, cycle_id: i64) -> Result<Vec<RawResponse>> {
        let batches = self
            .lake
            .scan(
                Table::HelixResponses,
                Some(&format!("cycle_id = {cycle_id}")),
            )
            .await?;
        let mut out = state::responses(&batches)?;
        out.sort_by(|a, b| a.fetched_at.cmp(&b.fetched_at).then(a.page.cmp(&b.page)));
        Ok(out)
    }
}

pub(super) async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    let df = ctx.sql(sql).await.map_err(|source| Error::Sql {
        sql: sql.to_owned(),
        source,
    })?;
    df.collect().await.map_err(|source| Error::Sql {
        sql: sql.to_owned(),
        source,
    })
}

/// Rebuilds the running state from silver.
async fn load_state(lake: &Lake, session_gap: Duration) -> Result<SilverState> {
    let open = state::sessions(
        &lake
            .scan(Table::StreamSessions, Some("status = 'live'"))
            .await?,
    )?;
    let mut st = SilverState {
        sessions: super::sessions::Sessionizer::new(session_gap, open),
        ..Default::default()
    };
    for row in state::streamers(&lake.read_all(Table::Streamers).await?)? {
        st.streamers
            .entry(row.user.id.clone())
            .or_default()
            .push(row);
    }
    for history in st.streamers.values_mut() {
        history.sort_by_key(|r| r.valid_from);
    }
    for g in state::games(&lake.read_all(Table::Games).await?)? {
        st.games.insert(g.id.clone(), g);
    }
    let ctx = lake.session().await?;
    let latest = run(
        &ctx,
        "SELECT user_id, last_value(followers_total ORDER BY observed_at) AS followers_total, \
         MAX(observed_at) AS observed_at FROM silver.follower_snapshots GROUP BY user_id",
    )
    .await?;
    st.followers = state::latest_followers(&latest)?;
    Ok(st)
}

/// The rows a commit wrote, recorded in `report` (per table, and the tables
/// that already held the cycle).
fn count(table: Table, outcome: &CommitOutcome, report: &mut CommitReport) -> usize {
    match outcome {
        CommitOutcome::Committed { rows, .. } => {
            *report.per_table.entry(table).or_default() += rows;
            *rows
        }
        CommitOutcome::Skipped { .. } => {
            if !report.skipped.contains(&table) {
                report.skipped.push(table);
            }
            0
        }
        CommitOutcome::Unchanged => 0,
    }
}
