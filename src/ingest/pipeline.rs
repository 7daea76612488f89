//! The live executor of the commit plan: holds the running state between
//! cycles and commits each planned write to Delta, in order, exactly once
//! (txn marker per write). Opening it repairs a cycle a crash interrupted:
//! the last bronze cycle is planned and committed again; writes the lake
//! already holds skip.
use std::collections::BTreeMap;
use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;

use super::gold::{DayTables, OpenDays};
use super::inputs::CycleInputs;
use super::plan::{self, Op, Rows, Write};
use super::silver::{SilverRows, SilverState};
use super::{Error, Result, state};
use crate::lake::{CommitOutcome, Lake};
use crate::schema::{Layer, Table};

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

impl Written {
    fn add(&mut self, layer: Layer, rows: usize) {
        match layer {
            Layer::Bronze => self.bronze += rows,
            Layer::Silver => self.silver += rows,
            Layer::Gold | Layer::Live => self.gold += rows,
        }
    }
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
    /// Days this cycle closed: cycles have moved past them and their gold is
    /// final (day-close consumers hook here). Only days open in this process.
    pub closed_days: Vec<NaiveDate>,
    /// Wall time of each stage: bronze, silver, gold.
    pub stages: Vec<(&'static str, Duration)>,
}

/// The medallion writer: the lake and the running state between cycles.
#[derive(Debug)]
pub struct Pipeline {
    lake: Lake,
    state: SilverState,
    /// The running gold of the days recent cycles touched.
    gold: OpenDays,
    poll_interval: Duration,
    session_gap: Duration,
    next_cycle_id: i64,
    /// Called as each commit stage ends (benchmarks measure memory with it).
    stage_hook: Option<fn(&'static str)>,
}

impl Pipeline {
    /// Opens the pipeline over `lake`: rebuilds the running state from silver
    /// and repairs the last cycle if a crash interrupted it (the report of
    /// that repair, when it wrote anything).
    pub async fn open(
        lake: Lake,
        poll_interval: Duration,
        session_gap: Duration,
    ) -> Result<(Self, Option<CommitReport>)> {
        let state = load_state(&lake, session_gap).await?;
        let next_cycle_id = lake.max_committed_cycle().await?.map_or(1, |c| c + 1);
        let mut p = Self {
            lake,
            state,
            gold: OpenDays::default(),
            poll_interval,
            session_gap,
            next_cycle_id,
            stage_hook: None,
        };
        let repaired = match p.lake.last_cycle(Table::HelixResponses, None).await? {
            Some(last) => {
                let inputs = CycleInputs::from_bronze(&p.lake, last).await?;
                let report = p.commit(last, &inputs).await?;
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

    /// When each channel seen live since `since` was last seen live (from
    /// `silver.stream_sessions`), for the poller after a restart.
    pub async fn last_seen_live(
        &self,
        since: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let since = since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let sql = format!(
            "SELECT user_id, last_observed_at FROM silver.stream_sessions \
             WHERE last_observed_at >= TIMESTAMP '{since}'"
        );
        let batches = run(&self.lake.session().await?, &sql).await?;
        Ok(state::last_seen(&batches)?)
    }

    /// The running silver state (open sessions, latest follower totals…).
    pub fn state(&self) -> &SilverState {
        &self.state
    }

    /// The id the next cycle must use: one past the last committed.
    pub fn next_cycle_id(&self) -> i64 {
        self.next_cycle_id
    }

    /// Commits cycle `cycle_id` as [`plan::plan`] lays it out: bronze, then
    /// silver, then the gold of the days it touched. Idempotent: committing
    /// a cycle again changes nothing.
    pub async fn commit(&mut self, cycle_id: i64, inputs: &CycleInputs) -> Result<CommitReport> {
        let mut stages = Stages::new(self.stage_hook);
        // Chat days not folded in this process yet come from bronze first.
        self.state
            .chat
            .load(&self.lake, cycle_id, &inputs.chat)
            .await?;
        let plan = plan::plan(cycle_id, inputs, &mut self.state)?;
        let (silver, days) = (plan.silver, plan.days);
        let mut report = CommitReport::default();
        // Each write's batches are dropped once committed.
        let mut writes = plan.writes.into_iter().peekable();
        while let Some(write) = writes.next_if(|w| w.table.layer() != Layer::Gold) {
            stages.enter(write.table.layer(), &mut report);
            self.write(&write, None, cycle_id, &mut report).await?;
        }
        stages.enter(Layer::Gold, &mut report);
        // The only read of a cycle: days not open yet (after a start-up) load
        // from silver, which holds this cycle's rows by now.
        for &day in &days {
            self.gold.update(&self.lake, day, cycle_id, &silver).await?;
        }
        // The closed days the figures spanning days read, once per process.
        for &day in &days {
            self.gold.load_closed(&self.lake, day).await?;
        }
        let poll_secs = self.poll_interval.as_secs_f64();
        let mut day_tables = self.gold.tables(&self.state.streamers, poll_secs);
        for write in writes {
            self.write(&write, Some(&mut day_tables), cycle_id, &mut report)
                .await?;
        }
        stages.finish(&mut report);
        if let Some(&first) = days.first() {
            report.closed_days = self.gold.close_before(first);
        }
        self.next_cycle_id = self.next_cycle_id.max(cycle_id + 1);
        report.days = days;
        report.silver = silver;
        Ok(report)
    }

    /// Resolves one write's rows and commits them.
    async fn write(
        &self,
        write: &Write,
        days: Option<&mut DayTables<'_>>,
        cycle_id: i64,
        report: &mut CommitReport,
    ) -> Result<()> {
        let (lake, table, suffix) = (&self.lake, write.table, write.suffix.as_deref());
        let started = std::time::Instant::now();
        let batches = match (&write.rows, days) {
            (Rows::Batch(b), _) => vec![b.clone()],
            (Rows::Day(day), Some(days)) => vec![days.batch(table, *day)?],
            (Rows::Day(day), None) => {
                let what = format!("{table}: rows of {day} before the gold stage");
                return Err(arrow::error::ArrowError::InvalidArgumentError(what).into());
            }
        };
        let resolved = started.elapsed();
        let outcome = match &write.op {
            Op::Append => lake.append_as(table, batches, cycle_id, suffix).await?,
            Op::Replace(scope) => {
                let predicate = scope.predicate();
                lake.replace(table, &predicate, batches, cycle_id, suffix)
                    .await?
            }
            Op::Upsert => lake.upsert_scd2(table, batches, cycle_id).await?,
        };
        // Where a cycle's time goes, write by write (`RUST_LOG=…pipeline=debug`).
        tracing::debug!(
            "cycle {cycle_id} {table} {}: rows in {:.1} ms, commit {:.1} ms",
            suffix.unwrap_or(""),
            resolved.as_secs_f64() * 1e3,
            (started.elapsed() - resolved).as_secs_f64() * 1e3,
        );
        match outcome {
            CommitOutcome::Committed { rows, .. } => {
                report.written.add(table.layer(), rows);
                *report.per_table.entry(table).or_default() += rows;
            }
            CommitOutcome::Skipped { .. } if !report.skipped.contains(&table) => {
                report.skipped.push(table)
            }
            _ => {}
        }
        Ok(())
    }
}

/// Stage timing of one commit: bronze, silver, gold, each ended when the
/// writes move past it (a stage without writes takes no time).
struct Stages {
    hook: Option<fn(&'static str)>,
    clock: std::time::Instant,
    /// Index in [`Layer::LAKE`] of the stage running now.
    current: usize,
}

impl Stages {
    fn new(hook: Option<fn(&'static str)>) -> Self {
        Self {
            hook,
            clock: std::time::Instant::now(),
            current: 0,
        }
    }

    /// Ends the stages before `layer`'s.
    fn enter(&mut self, layer: Layer, report: &mut CommitReport) {
        while self.current + 1 < Layer::LAKE.len() && Layer::LAKE[self.current] != layer {
            self.end(report);
        }
    }

    /// Ends every stage left.
    fn finish(&mut self, report: &mut CommitReport) {
        while self.current < Layer::LAKE.len() {
            self.end(report);
        }
    }

    fn end(&mut self, report: &mut CommitReport) {
        let name = Layer::LAKE[self.current].as_str();
        report.stages.push((name, self.clock.elapsed()));
        if let Some(hook) = self.hook {
            hook(name);
        }
        self.clock = std::time::Instant::now();
        self.current += 1;
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
    for (user_id, version) in state::streamers(&lake.read_all(Table::Streamers).await?)? {
        st.streamers.entry(user_id).or_default().push(version);
    }
    for history in st.streamers.values_mut() {
        history.sort_by_key(|r| r.valid_from);
        // Most users have one version for good: no room for more.
        history.shrink_to_fit();
    }
    for g in state::games(&lake.read_all(Table::Games).await?)? {
        st.games.insert(g.id.clone(), g);
    }
    let ctx = lake.session().await?;
    // Only totals read within MAX_DELTA_SPAN of the newest can still give a
    // delta (`derive` forgets the others as cycles go by): the newest read's
    // day and the day before hold them, so start-up reads those partitions,
    // not the table's whole history.
    let newest = run(
        &ctx,
        "SELECT CAST(MAX(observed_date) - INTERVAL '1 day' AS VARCHAR) \
         FROM silver.follower_snapshots",
    )
    .await?;
    let since = newest
        .iter()
        .filter_map(|b| b.column(0).as_string_opt::<i32>())
        .find_map(|a| a.iter().flatten().next())
        .map_or_else(String::new, |d| {
            format!("WHERE observed_date >= DATE '{d}'")
        });
    let latest = run(
        &ctx,
        &format!(
            "SELECT user_id, last_value(followers_total ORDER BY observed_at) AS followers_total, \
             MAX(observed_at) AS observed_at FROM silver.follower_snapshots {since} GROUP BY user_id"
        ),
    )
    .await?;
    st.followers = state::latest_followers(&latest)?;
    Ok(st)
}
