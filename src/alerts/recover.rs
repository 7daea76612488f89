//! Start-up recovery of the alerts a crash kept out of `gold.alerts`: a
//! process killed after a cycle's gold commit but before that cycle's
//! alerts append never recorded them. The last committed cycle is the only
//! one this can hit (a later cycle's append carries the earlier cycle's
//! marker, and a cycle that fired nothing writes nothing), so when the
//! alerts table's txn marker is behind the lake's last cycle, the built-in
//! rules are evaluated again over the cycles silver holds for the rules'
//! longest window, ending with that cycle. Evaluation is pure and alert ids
//! are derived from rule, key and episode start, so what that cycle fires
//! and `gold.alerts` lacks is exactly what was lost.
//!
//! SQL, rising-star and chat rules read sources that hold only the present,
//! so they stay idle in the replay (as when their source has no data).
use std::collections::{BTreeMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::record::Alert;
use super::rules::RuleSet;
use super::state::lookback;
use super::{AlertState, Error, Observation, Result, evaluate};
use crate::ingest::state::{Cols, time};
use crate::lake::Lake;
use crate::live::{FollowerSample, LiveStream};
use crate::schema::Table;

/// Cycles before the window's start that the replay also reads, so the
/// first cycle the window needs is not the one that only primes the state.
const PRIMING: TimeDelta = TimeDelta::minutes(10);

/// The alerts the last committed cycle fires over `rules` that are not in
/// `recorded` (what `gold.alerts` holds), with that cycle's id; `None` when
/// `gold.alerts` already has that cycle's marker (or there is no cycle).
/// The replay starts from `fresh`, a new state with the service's settings.
pub(crate) async fn lost_alerts(
    lake: &Lake,
    rules: &RuleSet,
    recorded: &[Alert],
    fresh: AlertState,
) -> Result<Option<(i64, Vec<Alert>)>> {
    let lake_err = |e: crate::lake::Error| Error::Record(e.to_string());
    let Some(last) = lake.max_committed_cycle().await.map_err(lake_err)? else {
        return Ok(None);
    };
    let marker = lake
        .last_cycle(Table::Alerts, None)
        .await
        .map_err(lake_err)?;
    if rules.is_empty() || marker.is_some_and(|m| m >= last) {
        return Ok(None);
    }
    let window = TimeDelta::microseconds(lookback(rules)) + PRIMING;
    let observations = history(lake, last, window).await?;
    let known: HashSet<&str> = recorded.iter().map(|a| a.alert_id.as_str()).collect();
    let mut state = fresh;
    state.restore(rules, recorded);
    let mut lost = Vec::new();
    for obs in &observations {
        let evaluation = evaluate(rules, state, obs);
        state = evaluation.state;
        if obs.cycle_id == last {
            lost = evaluation
                .alerts
                .into_iter()
                .filter(|a| !known.contains(a.alert_id.as_str()))
                .collect();
        }
    }
    Ok(Some((last, lost)))
}

/// The observations of the cycles up to `last` that began within `window`
/// of it, oldest first, as silver holds them.
async fn history(lake: &Lake, last: i64, window: TimeDelta) -> Result<Vec<Observation>> {
    let ctx = lake
        .session()
        .await
        .map_err(|e| Error::Record(e.to_string()))?;
    let run = |sql: String| {
        let ctx = ctx.clone();
        async move {
            let df = ctx.sql(&sql).await?;
            df.collect().await
        }
    };
    let sql_err = |e: datafusion::error::DataFusionError| Error::Record(e.to_string());
    let end = run(format!(
        "SELECT max(fetched_at) FROM bronze.helix_responses WHERE cycle_id = {last}"
    ))
    .await
    .map_err(sql_err)?;
    let Some(end) = first_time(&end) else {
        return Ok(Vec::new());
    };
    let since = text(end - window);
    let cycles = run(format!(
        "SELECT cycle_id, max(fetched_at) AS at,
                sum(CASE WHEN endpoint <> 'streams' OR http_status BETWEEN 200 AND 299
                         THEN 0 ELSE 1 END) AS errors
         FROM bronze.helix_responses
         WHERE fetched_at >= TIMESTAMP '{since}' AND cycle_id <= {last}
         GROUP BY cycle_id"
    ))
    .await
    .map_err(sql_err)?;
    let mut by_cycle = BTreeMap::<i64, Observation>::new();
    for b in &cycles {
        let c = Cols(b);
        let (id, at) = (
            c.i64("cycle_id").map_err(arrow_err)?,
            c.ts("at").map_err(arrow_err)?,
        );
        let errors = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            by_cycle.insert(
                id.value(i),
                Observation {
                    cycle_id: id.value(i),
                    observed_at: time(at, i).unwrap_or_default(),
                    complete: errors.is_null(i) || errors.value(i) == 0,
                    ..Observation::default()
                },
            );
        }
    }
    let Some(first) = by_cycle.keys().next().copied() else {
        return Ok(Vec::new());
    };
    let range = format!("cycle_id BETWEEN {first} AND {last}");
    let snaps = run(format!(
        "SELECT cycle_id, user_id, user_login, stream_id, game_id, game_name, title, language,
                viewer_count, started_at, observed_at
         FROM silver.stream_snapshots WHERE {range}"
    ))
    .await
    .map_err(sql_err)?;
    for b in &snaps {
        streams(b, &mut by_cycle).map_err(arrow_err)?;
    }
    let follows = run(format!(
        "SELECT cycle_id, user_id, followers_total, observed_at
         FROM silver.follower_snapshots WHERE {range}"
    ))
    .await
    .map_err(sql_err)?;
    for b in &follows {
        followers(b, &mut by_cycle).map_err(arrow_err)?;
    }
    Ok(by_cycle.into_values().collect())
}

fn streams(
    b: &RecordBatch,
    by_cycle: &mut BTreeMap<i64, Observation>,
) -> std::result::Result<(), arrow::error::ArrowError> {
    let c = Cols(b);
    let cycle = c.i64("cycle_id")?;
    let (user, login, id) = (c.str("user_id")?, c.str("user_login")?, c.str("stream_id")?);
    let (gid, game, title, lang) = (
        c.str("game_id")?,
        c.str("game_name")?,
        c.str("title")?,
        c.str("language")?,
    );
    let (viewers, started, observed) = (
        c.i64("viewer_count")?,
        c.ts("started_at")?,
        c.ts("observed_at")?,
    );
    for i in 0..b.num_rows() {
        let Some(obs) = by_cycle.get_mut(&cycle.value(i)) else {
            continue;
        };
        let observed_at = time(observed, i).unwrap_or_default();
        if obs.streams.is_empty() {
            // The cycle's observation time, as the live views take it.
            obs.observed_at = observed_at;
        }
        obs.observed_at = obs.observed_at.max(observed_at);
        obs.streams.push(LiveStream {
            user_id: value(user, i),
            login: value(login, i),
            stream_id: value(id, i),
            game_id: value(gid, i),
            game_name: value(game, i),
            title: value(title, i),
            language: value(lang, i),
            viewer_count: viewers.value(i),
            started_at: time(started, i).unwrap_or_default(),
            observed_at,
        });
    }
    Ok(())
}

fn followers(
    b: &RecordBatch,
    by_cycle: &mut BTreeMap<i64, Observation>,
) -> std::result::Result<(), arrow::error::ArrowError> {
    let c = Cols(b);
    let (cycle, user) = (c.i64("cycle_id")?, c.str("user_id")?);
    let (total, observed) = (c.i64("followers_total")?, c.ts("observed_at")?);
    for i in 0..b.num_rows() {
        if let Some(obs) = by_cycle.get_mut(&cycle.value(i)) {
            obs.followers.push(FollowerSample {
                user_id: value(user, i),
                followers_total: total.value(i),
                observed_at: time(observed, i).unwrap_or_default(),
            });
        }
    }
    Ok(())
}

fn value(a: &StringArray, i: usize) -> String {
    if a.is_null(i) {
        String::new()
    } else {
        a.value(i).to_owned()
    }
}

fn first_time(batches: &[RecordBatch]) -> Option<DateTime<Utc>> {
    let b = batches.first()?;
    let a = b
        .column(0)
        .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()?;
    (!a.is_empty()).then(|| time(a, 0))?
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Record(e.to_string())
}
