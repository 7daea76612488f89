//! SQL rules: a read-only query over catalog `twitch` (live views and Delta
//! tables, as Flight SQL sees them) whose rows become alerts. Checked at
//! start-up by planning; run after each cycle; a failing query is reported
//! and skipped, never fatal to ingest.
use std::collections::HashMap;

use futures::TryStreamExt;
use serde_json::{Map, Value};

use super::input::{RisingStar, SqlRow};
use super::rules::{Condition, RuleSet};
use super::{Error, Result};
use crate::query::QueryEngine;

/// Rows taken from one SQL rule per cycle; more is almost surely a rule
/// that matches everything, and alerting on all of it helps nobody.
pub const MAX_SQL_ROWS: usize = 1000;

/// What running the SQL rules produced.
#[derive(Debug, Default)]
pub struct SqlRun {
    /// Rows by rule name (rules that failed are absent, so they hold).
    pub rows: HashMap<String, Vec<SqlRow>>,
    /// (rule, error message) of the rules that failed this time.
    pub failures: Vec<(String, String)>,
}

fn sql_rules(rules: &RuleSet) -> impl Iterator<Item = (&str, &str)> {
    rules.rules().iter().filter_map(|r| match &r.condition {
        Condition::Sql { query } => Some((r.name.as_str(), query.as_str())),
        _ => None,
    })
}

/// Plans every SQL rule with the engine's read-only policy: a syntax
/// error, a write, an unknown table, a parameter, or a result without a
/// `key` or `user_id` column is refused, naming the rule.
pub async fn validate_sql(rules: &RuleSet, engine: &QueryEngine) -> Result<()> {
    for (name, query) in sql_rules(rules) {
        let err = |message: String| Error::Rule {
            rule: name.to_owned(),
            message,
        };
        let prepared = engine
            .prepare(query)
            .await
            .map_err(|e| err(format!("the query does not plan: {e}")))?;
        if !prepared.parameters.fields().is_empty() {
            return Err(err(
                "the query takes parameters; SQL rules cannot bind any".into()
            ));
        }
        let has = |c: &str| prepared.schema.column_with_name(c).is_some();
        if !has("key") && !has("user_id") {
            return Err(err(
                "the query must return a `user_id` or a `key` column (what an alert is about)"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Runs every SQL rule once. Never fails: a rule whose query fails is in
/// `failures` (for metrics and `live.ingest_status`) and stays idle.
pub async fn run_sql(rules: &RuleSet, engine: &QueryEngine) -> SqlRun {
    let mut out = SqlRun::default();
    for (name, query) in sql_rules(rules) {
        match run_one(engine, query).await {
            Ok(rows) => {
                out.rows.insert(name.to_owned(), rows);
            }
            Err(message) => {
                tracing::warn!(rule = name, "SQL alert rule failed: {message}");
                out.failures.push((name.to_owned(), message));
            }
        }
    }
    out
}

/// The rows of `query` as JSON objects (at most [`MAX_SQL_ROWS`]).
pub(super) async fn json_rows(
    engine: &QueryEngine,
    query: &str,
) -> std::result::Result<Vec<Map<String, Value>>, String> {
    let mut stream = engine
        .execute(query, &[])
        .await
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    let mut n = 0;
    while n < MAX_SQL_ROWS {
        match stream.try_next().await.map_err(|e| e.to_string())? {
            Some(b) => {
                let take = b.num_rows().min(MAX_SQL_ROWS - n);
                n += take;
                batches.push(b.slice(0, take));
            }
            None => break,
        }
    }
    drop(stream);
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        writer.write(b).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

async fn run_one(engine: &QueryEngine, query: &str) -> std::result::Result<Vec<SqlRow>, String> {
    let objects = json_rows(engine, query).await?;
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    Ok(objects
        .into_iter()
        .filter_map(|details| {
            let user_id = text(details.get("user_id"));
            let key = text(details.get("key")).or_else(|| user_id.clone())?;
            Some(SqlRow {
                key,
                user_id,
                login: text(details.get("login")),
                details,
            })
        })
        .collect())
}

/// The latest day of `gold.rising_stars`, for rising-star rules.
pub(super) async fn rising_stars(
    engine: &QueryEngine,
) -> std::result::Result<Vec<RisingStar>, String> {
    let rows = json_rows(
        engine,
        "SELECT user_id, login, rank, score, followers_gained_7d, avg_viewers_7d \
         FROM twitch.gold.rising_stars \
         WHERE day = (SELECT max(day) FROM twitch.gold.rising_stars) ORDER BY rank",
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(RisingStar {
                user_id: r.get("user_id")?.as_str()?.to_owned(),
                login: r
                    .get("login")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                rank: r.get("rank")?.as_i64()?,
                score: r.get("score")?.as_f64()?,
                followers_gained_7d: r.get("followers_gained_7d").and_then(Value::as_i64),
                avg_viewers_7d: r.get("avg_viewers_7d").and_then(Value::as_f64),
            })
        })
        .collect())
}
