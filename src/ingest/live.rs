//! Silver → live: what a finished cycle tells the in-memory live views (a
//! committed one its live set, a failed one its `live.ingest_status` row with
//! the error), and the views rebuilt from recent silver at start-up.
use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use datafusion::prelude::SessionContext;

use super::Result;
use super::observe::{CycleObserver, FinishedCycle, ObserverError};
use super::pipeline::{CommitReport, run};
use super::state::{Cols, each_batch, each_follower_row, time};
use super::summary::CycleSummary;
use crate::lake::Lake;
use crate::live::{
    ChatSample, CycleStatus, CycleUpdate, FollowerSample, LiveStream, LiveViews, Replay, SampleRow,
    replay_from,
};
use crate::schema::Table;

/// The live views follow every cycle: a committed one replaces the live set,
/// a failed one is a row of `live.ingest_status` with its error.
#[async_trait]
impl CycleObserver for LiveViews {
    fn name(&self) -> &str {
        "live views"
    }

    async fn on_cycle(&self, cycle: &FinishedCycle) -> Result<(), ObserverError> {
        match &cycle.outcome {
            Ok(report) => self.apply_cycle(update(&cycle.summary, report))?,
            Err(e) => self.record_status(status(&cycle.summary, Some(e.to_string())))?,
        }
        Ok(())
    }
}

/// The `live.ingest_status` row of a cycle.
pub fn status(s: &CycleSummary, last_error: Option<String>) -> CycleStatus {
    CycleStatus {
        cycle_id: s.cycle_id,
        started_at: s.started_at,
        finished_at: s.finished_at,
        streams_seen: s.streams_seen as i64,
        requests: s.requests as i64,
        rate_limit_remaining: s.rate_limit_remaining.map(i64::from),
        errors: s.errors as i64,
        bronze_rows: s.written.bronze as i64,
        silver_rows: s.written.silver as i64,
        gold_rows: s.written.gold as i64,
        last_error,
    }
}

/// What one committed cycle tells the live views.
pub fn update(summary: &CycleSummary, report: &CommitReport) -> CycleUpdate {
    let rows = &report.silver;
    CycleUpdate {
        observed_at: rows
            .snapshots
            .iter()
            .map(|r| r.observed_at)
            .max()
            .unwrap_or(summary.finished_at),
        streams: rows
            .snapshots
            .iter()
            .map(|r| LiveStream {
                user_id: r.stream.user_id.clone(),
                login: r.stream.user_login.clone(),
                stream_id: r.stream.id.clone(),
                game_id: r.stream.game_id.clone(),
                game_name: r.stream.game_name.clone(),
                title: r.stream.title.clone(),
                language: r.stream.language.clone(),
                viewer_count: r.stream.viewer_count as i64,
                started_at: r.started_at,
                observed_at: r.observed_at,
            })
            .collect(),
        followers: rows
            .followers
            .iter()
            .map(|f| FollowerSample {
                user_id: f.user_id.clone(),
                followers_total: f.followers_total,
                observed_at: f.observed_at,
            })
            .collect(),
        status: status(summary, None),
        chat: rows
            .chat_minutes
            .iter()
            .map(|m| ChatSample {
                channel: m.channel.clone(),
                minute: m.minute,
                messages: m.messages as i64,
                sentiment_mean: m.sentiment_mean,
            })
            .collect(),
    }
}

/// How much of the day one replay query reads: the rows of an hour are
/// sorted and handed over batch by batch, so start-up holds an hour of
/// samples at a time (6 million rows at 100,000 live streams), not a day.
const REPLAY_CHUNK: TimeDelta = TimeDelta::hours(1);

/// The live views rebuilt from the silver rows the windows still hold at
/// `now` (from [`replay_from`], 24 to 25 hours back).
pub async fn rebuild(lake: &Lake, now: Option<DateTime<Utc>>) -> Result<LiveViews> {
    let Some(now) = now else {
        return Ok(LiveViews::new());
    };
    let since = replay_from(now);
    let ctx = lake.session().await?;
    let mut replay = Replay::new();
    for range in chunks(since, now) {
        let sql = format!(
            "SELECT user_id, followers_total, observed_at FROM silver.follower_snapshots
             WHERE {range} ORDER BY observed_at"
        );
        each_batch(lake, Table::FollowerSnapshots, &sql, |b| {
            Ok(each_follower_row(b, |user, total, at| {
                replay.follower(user, total, at)
            })?)
        })
        .await?;
    }
    // Rows per cycle, for `streams_seen`; the newest cycle's streams become
    // the live set.
    let mut seen = std::collections::HashMap::<i64, i64>::new();
    for range in chunks(since, now) {
        let sql = format!(
            "SELECT cycle_id, user_id, user_login, stream_id, viewer_count, started_at,
                    observed_at
             FROM silver.stream_snapshots WHERE {range} ORDER BY cycle_id, observed_at"
        );
        each_batch(lake, Table::StreamSnapshots, &sql, |b| {
            let c = Cols(b);
            let cycle = c.i64("cycle_id")?;
            let (user, login, id) = (c.str("user_id")?, c.str("user_login")?, c.str("stream_id")?);
            let (viewers, started, observed) = (
                c.i64("viewer_count")?,
                c.ts("started_at")?,
                c.ts("observed_at")?,
            );
            for i in 0..b.num_rows() {
                *seen.entry(cycle.value(i)).or_default() += 1;
                replay.sample(SampleRow {
                    user_id: text(user, i),
                    login: text(login, i),
                    stream_id: text(id, i),
                    viewer_count: viewers.value(i),
                    started_at: time(started, i).unwrap_or_default(),
                    observed_at: time(observed, i).unwrap_or_default(),
                });
            }
            Ok(())
        })
        .await?;
    }
    let live = match seen.keys().max() {
        Some(&last) => Some((last, live_set(&ctx, since, last).await?)),
        None => None,
    };
    // Cycle bookkeeping is not persisted as such: bronze says enough.
    let cycles = run(
        &ctx,
        &format!(
            "SELECT cycle_id, min(fetched_at) AS started_at, max(fetched_at) AS finished_at,
                    count(*) AS requests,
                    sum(CASE WHEN http_status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS errors
             FROM bronze.helix_responses WHERE fetched_at >= TIMESTAMP '{since}'
             GROUP BY cycle_id ORDER BY cycle_id DESC LIMIT 100",
            since = stamp(since),
        ),
    )
    .await?;
    let mut statuses = Vec::new();
    for b in &cycles {
        let c = Cols(b);
        let (id, start, end) = (
            c.i64("cycle_id")?,
            c.ts("started_at")?,
            c.ts("finished_at")?,
        );
        let (req, err) = (c.i64("requests")?, b.column(4).as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            let cycle_id = id.value(i);
            statuses.push(CycleStatus {
                cycle_id,
                started_at: time(start, i).unwrap_or_default(),
                finished_at: time(end, i).unwrap_or_default(),
                streams_seen: seen.get(&cycle_id).copied().unwrap_or_default(),
                requests: req.value(i),
                rate_limit_remaining: None,
                errors: if err.is_null(i) { 0 } else { err.value(i) },
                bronze_rows: req.value(i),
                silver_rows: 0,
                gold_rows: 0,
                last_error: None,
            });
        }
    }
    let views = replay.finish(live, statuses)?;
    let hour = stamp(now - TimeDelta::hours(1));
    let chat = run(
        &ctx,
        &format!(
            "SELECT channel, minute, messages, sentiment_mean FROM silver.chat_minutes
             WHERE minute >= TIMESTAMP '{hour}'"
        ),
    )
    .await?;
    let mut samples = Vec::new();
    for b in &chat {
        let c = Cols(b);
        let (channel, minute) = (c.str("channel")?, c.ts("minute")?);
        let (messages, mean) = (c.i64("messages")?, c.f64("sentiment_mean")?);
        for i in 0..b.num_rows() {
            samples.push(ChatSample {
                channel: channel.value(i).to_owned(),
                minute: time(minute, i).unwrap_or_default(),
                messages: messages.value(i),
                sentiment_mean: if mean.is_null(i) { 0.0 } else { mean.value(i) },
            });
        }
    }
    Ok(views.with_chat(samples)?)
}

/// A timestamp as SQL text.
/// A string cell, "" for null.
fn text(a: &arrow::array::StringArray, i: usize) -> &str {
    if a.is_null(i) { "" } else { a.value(i) }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `observed_at` conditions that split `[since, now]` into hours; the last
/// one is open-ended, so rows stamped after `now` (a clock step) come too.
fn chunks(since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = since;
    while from + REPLAY_CHUNK <= now {
        let to = from + REPLAY_CHUNK;
        out.push(format!(
            "observed_at >= TIMESTAMP '{}' AND observed_at < TIMESTAMP '{}'",
            stamp(from),
            stamp(to)
        ));
        from = to;
    }
    out.push(format!("observed_at >= TIMESTAMP '{}'", stamp(from)));
    out
}

/// The streams of cycle `cycle_id` (observed after `since`), every column.
async fn live_set(
    ctx: &SessionContext,
    since: DateTime<Utc>,
    cycle_id: i64,
) -> Result<Vec<LiveStream>> {
    let batches = run(
        ctx,
        &format!(
            "SELECT user_id, user_login, stream_id, game_id, game_name, title, language,
                    viewer_count, started_at, observed_at
             FROM silver.stream_snapshots
             WHERE observed_at >= TIMESTAMP '{}' AND cycle_id = {cycle_id}",
            stamp(since)
        ),
    )
    .await?;
    let mut streams = Vec::new();
    for b in &batches {
        let c = Cols(b);
        let s = |n| c.str(n);
        let (user, login, id, gid, game, title, lang) = (
            s("user_id")?,
            s("user_login")?,
            s("stream_id")?,
            s("game_id")?,
            s("game_name")?,
            s("title")?,
            s("language")?,
        );
        let (viewers, started, observed) = (
            c.i64("viewer_count")?,
            c.ts("started_at")?,
            c.ts("observed_at")?,
        );
        let owned = |a, i| text(a, i).to_owned();
        for i in 0..b.num_rows() {
            streams.push(LiveStream {
                user_id: owned(user, i),
                login: owned(login, i),
                stream_id: owned(id, i),
                game_id: owned(gid, i),
                game_name: owned(game, i),
                title: owned(title, i),
                language: owned(lang, i),
                viewer_count: viewers.value(i),
                started_at: time(started, i).unwrap_or_default(),
                observed_at: time(observed, i).unwrap_or_default(),
            });
        }
    }
    Ok(streams)
}
