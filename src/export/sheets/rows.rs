//! What a Sheets export appends: `gold.streamer_daily` rows as sheet
//! values, and one summary row per day.
use arrow::array::RecordBatch;
use serde_json::Value;

use crate::export::summary::{DailySummary, Entry, Scope};
use crate::schema::Table;

/// The summary tab's columns.
pub const SUMMARY_HEADER: [&str; 13] = [
    "day",
    "channels",
    "hours_watched",
    "previous_hours_watched",
    "top_hours_watched",
    "top_avg_viewers",
    "top_follower_gains",
    "new_rising_stars",
    "top_categories",
    "alerts",
    "cycles",
    "gaps",
    "errors",
];

/// The header and the rows (in `scope`) of `gold.streamer_daily` batches,
/// as sheet values: numbers stay numbers, lists become `a, b` text, nulls
/// empty cells.
pub fn sheet_rows(
    batches: &[RecordBatch],
    scope: &Scope,
) -> std::result::Result<(Vec<String>, Vec<Vec<Value>>), String> {
    let header: Vec<String> = Table::StreamerDaily
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for b in batches {
        writer.write(b).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    let json = writer.into_inner();
    let objects: Vec<serde_json::Map<String, Value>> = if json.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&json).map_err(|e| e.to_string())?
    };
    let text = |o: &serde_json::Map<String, Value>, k: &str| {
        o.get(k).and_then(Value::as_str).map(str::to_owned)
    };
    let rows = objects
        .into_iter()
        .filter(|o| scope.covers(text(o, "login"), text(o, "main_game"), text(o, "language")))
        .map(|o| header.iter().map(|h| cell(o.get(h))).collect())
        .collect();
    Ok((header, rows))
}

fn cell(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => Value::from(""),
        Some(Value::Array(items)) => Value::from(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Some(Value::Object(_)) => Value::from(v.map(Value::to_string).unwrap_or_default()),
        Some(v) => v.clone(),
    }
}

/// The summary as one row under [`SUMMARY_HEADER`].
pub fn summary_row(s: &DailySummary) -> Vec<Value> {
    let names = |entries: &[Entry]| {
        Value::from(
            entries
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    let alerts: usize = s.alerts.iter().map(|(_, n)| n).sum();
    vec![
        Value::from(s.day.to_string()),
        Value::from(s.totals.channels),
        Value::from(s.totals.hours_watched),
        Value::from(s.totals.previous_hours_watched),
        names(&s.top_hours_watched),
        names(&s.top_avg_viewers),
        names(&s.top_follower_gains),
        names(&s.new_rising_stars),
        names(&s.top_categories),
        Value::from(alerts),
        Value::from(s.health.cycles),
        Value::from(s.health.gaps),
        Value::from(s.health.errors),
    ]
}
