//! The alert record — the row shape of `gold.alerts`, the durable outbox:
//! one row per alert and target, with that target's delivery status — and
//! the notification each alert becomes.
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::rules::RuleKind;
use crate::notify::{self, Message, Outcome, OutcomeStatus};
use crate::schema::Table;

/// Where one alert stands with one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not delivered yet (queued, or retrying).
    Pending,
    /// The target accepted it.
    Delivered,
    /// Refused for good, or still failing after the last attempt.
    Failed,
}

impl DeliveryStatus {
    /// The value of `gold.alerts.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a `gold.alerts.status` value.
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert's delivery to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The target's name.
    pub target: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// HTTP attempts made so far.
    pub attempts: i64,
    /// When the target accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed (never a URL or secret).
    pub last_error: Option<String>,
}

impl Delivery {
    /// Not delivered yet.
    pub fn pending(target: &str) -> Self {
        Self {
            target: target.to_owned(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            delivered_at: None,
            last_error: None,
        }
    }
}

/// A fired alert: a row group of `gold.alerts` (one row per target).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Idempotency key: hash of rule, key and episode start.
    pub alert_id: String,
    /// The cycle whose observation fired it.
    pub cycle_id: i64,
    /// The rule's name.
    pub rule: String,
    /// The rule's kind.
    pub kind: RuleKind,
    /// What the episode is about: the user id, or a SQL rule's key.
    pub key: String,
    /// Broadcaster id ("" when unknown, e.g. a SQL row without `user_id`).
    pub user_id: String,
    /// Broadcaster login ("" when unknown).
    pub login: String,
    /// When it fired: the cycle's observation time (the episode's start).
    pub fired_at: DateTime<Utc>,
    /// The figures, with a `summary` line.
    pub details: Value,
    /// One per target the rule delivers to.
    pub deliveries: Vec<Delivery>,
}

/// Discord embed colours by kind: red for losses, green for gains.
fn color(kind: RuleKind) -> u32 {
    match kind {
        RuleKind::WentLive => 0x9146FF,
        RuleKind::WentOffline => 0x808080,
        RuleKind::ViewersDrop | RuleKind::FollowersLoss | RuleKind::ChatSentiment => 0xE53935,
        RuleKind::ViewersGain | RuleKind::FollowersGain | RuleKind::TopN => 0x43A047,
        RuleKind::RisingStar => 0xFFB300,
        RuleKind::ChatRate | RuleKind::Sql => 0x1E88E5,
    }
}

/// Figures not shown as message fields (they are in the title or the link).
const NOT_A_FIELD: &[&str] = &["summary", "url", "title"];

impl Alert {
    /// The episode key (see [`Alert::key`] field).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The one-line summary (`details.summary`).
    pub fn summary(&self) -> &str {
        self.details
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or(&self.rule)
    }

    /// The notification every target receives for this alert.
    pub fn message(&self) -> Message {
        let get = |k: &str| self.details.get(k).and_then(Value::as_str);
        let fields = self
            .details
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| !NOT_A_FIELD.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                notify::Field::new(k.replace('_', " "), value)
            })
            .collect();
        Message {
            key: self.alert_id.clone(),
            event: "alert".into(),
            title: self.summary().to_owned(),
            url: get("url").map(str::to_owned),
            text: get("title").unwrap_or_default().to_owned(),
            fields,
            footer: format!(
                "rule {} ({}) · {}",
                self.rule,
                self.kind,
                self.fired_at.format("%Y-%m-%d %H:%M UTC")
            ),
            timestamp: self.fired_at,
            color: color(self.kind),
            data: serde_json::json!({
                "alert_id": self.alert_id,
                "cycle_id": self.cycle_id,
                "rule": self.rule,
                "kind": self.kind.as_str(),
                "key": self.key,
                "user_id": self.user_id,
                "login": self.login,
                "fired_at": self.fired_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "details": self.details,
            }),
        }
    }

    /// Records a delivery outcome for its target; false if the outcome is
    /// about another alert or a target this alert does not go to.
    pub fn apply(&mut self, outcome: &Outcome) -> bool {
        if outcome.key != self.alert_id {
            return false;
        }
        let Some(d) = self
            .deliveries
            .iter_mut()
            .find(|d| d.target == outcome.target)
        else {
            return false;
        };
        d.attempts += i64::from(outcome.attempts);
        match outcome.status {
            OutcomeStatus::Delivered => {
                d.status = DeliveryStatus::Delivered;
                d.delivered_at = Some(outcome.finished_at);
                d.last_error = None;
            }
            OutcomeStatus::Failed => {
                d.status = DeliveryStatus::Failed;
                d.last_error.clone_from(&outcome.error);
            }
        }
        true
    }
}

/// The Arrow schema of `gold.alerts` rows (and of `live.alerts`): one row
/// per alert and target; an alert with no target has one row with a null
/// `target` and `status`.
pub fn schema() -> SchemaRef {
    Table::Alerts.schema()
}

/// One row of `gold.alerts`: an alert and one of its deliveries (none for
/// an alert without targets).
type Row<'a> = (&'a Alert, Option<&'a Delivery>);

/// `alerts` as `gold.alerts` rows.
pub fn to_batch(alerts: &[Alert]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let none = [None];
    let rows: Vec<Row<'_>> = alerts
        .iter()
        .flat_map(|a| {
            let ds: Vec<Option<&Delivery>> = if a.deliveries.is_empty() {
                none.to_vec()
            } else {
                a.deliveries.iter().map(Some).collect()
            };
            ds.into_iter().map(move |d| (a, d))
        })
        .collect();
    let s = |f: &dyn Fn(&Row<'_>) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let t = |f: &dyn Fn(&Row<'_>) -> Option<i64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(f)
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        s(&|r| Some(r.0.alert_id.clone())),
        s(&|r| Some(r.0.rule.clone())),
        s(&|r| Some(r.0.kind.as_str().to_owned())),
        s(&|r| Some(r.0.user_id.clone())),
        s(&|r| Some(r.0.login.clone())),
        t(&|r| Some(r.0.fired_at.timestamp_micros())),
        s(&|r| Some(r.0.details.to_string())),
        s(&|r| r.1.map(|d| d.target.clone())),
        s(&|r| r.1.map(|d| d.status.as_str().to_owned())),
        Arc::new(
            rows.iter()
                .map(|r| r.1.map_or(0, |d| d.attempts))
                .collect::<Int64Array>(),
        ),
        t(&|r| {
            r.1.and_then(|d| d.delivered_at)
                .map(|t| t.timestamp_micros())
        }),
        Arc::new(rows.iter().map(|r| r.0.cycle_id).collect::<Int64Array>()),
        s(&|r| Some(r.0.key.clone())),
        s(&|r| r.1.and_then(|d| d.last_error.clone())),
    ];
    RecordBatch::try_new(schema(), columns)
}

/// `gold.alerts` rows read back into alerts (rows of one alert grouped, in
/// first-seen order; the rows of one delivery merged into the furthest),
/// e.g. at start-up to restore cooldowns and re-send what is still pending.
/// A row that does not fit the schema is an error naming the column.
pub fn from_batches(batches: &[RecordBatch]) -> super::Result<Vec<Alert>> {
    read_rows(batches).map_err(super::Error::Record)
}

fn read_rows(batches: &[RecordBatch]) -> Result<Vec<Alert>, String> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
    let mut out: Vec<Alert> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for b in batches {
        let col = |name: &str| {
            b.column_by_name(name)
                .ok_or_else(|| format!("gold.alerts has no column {name}"))
        };
        let text = |name: &str| {
            col(name)?
                .as_string_opt::<i32>()
                .ok_or_else(|| format!("gold.alerts.{name} is not text"))
        };
        let int = |name: &str| {
            col(name)?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| format!("gold.alerts.{name} is not an integer"))
        };
        let time = |name: &str| {
            col(name)?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| format!("gold.alerts.{name} is not a timestamp"))
        };
        let (id, rule, kind, key, user, login) = (
            text("alert_id")?,
            text("rule")?,
            text("kind")?,
            text("key")?,
            text("user_id")?,
            text("login")?,
        );
        let (details, target, status, error) = (
            text("details")?,
            text("target")?,
            text("status")?,
            text("last_error")?,
        );
        let (cycle, attempts) = (int("cycle_id")?, int("attempts")?);
        let (fired, delivered) = (time("fired_at")?, time("delivered_at")?);
        let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
        let at = |m: i64| DateTime::from_timestamp_micros(m).unwrap_or_default();
        for i in 0..b.num_rows() {
            let alert_id = id.value(i).to_owned();
            let n = match index.get(&alert_id) {
                Some(&n) => n,
                None => {
                    let kind = RuleKind::from_name(kind.value(i))
                        .ok_or_else(|| format!("unknown alert kind {:?}", kind.value(i)))?;
                    let details = serde_json::from_str(details.value(i))
                        .map_err(|e| format!("alert {alert_id}: details are not JSON: {e}"))?;
                    out.push(Alert {
                        alert_id: alert_id.clone(),
                        cycle_id: cycle.value(i),
                        rule: rule.value(i).to_owned(),
                        kind,
                        key: opt(key, i).unwrap_or_else(|| user.value(i).to_owned()),
                        user_id: user.value(i).to_owned(),
                        login: login.value(i).to_owned(),
                        fired_at: at(fired.value(i)),
                        details,
                        deliveries: Vec::new(),
                    });
                    index.insert(alert_id.clone(), out.len() - 1);
                    out.len() - 1
                }
            };
            let Some(target) = opt(target, i) else {
                continue;
            };
            let status = opt(status, i)
                .and_then(|s| DeliveryStatus::from_name(&s))
                .ok_or_else(|| format!("alert {alert_id}: unknown delivery status"))?;
            let row = Delivery {
                target,
                status,
                attempts: attempts.value(i),
                delivered_at: (!delivered.is_null(i)).then(|| at(delivered.value(i))),
                last_error: opt(error, i),
            };
            let deliveries = &mut out[n].deliveries;
            match deliveries.iter_mut().find(|d| d.target == row.target) {
                // A later state of the same delivery: the most advanced wins.
                Some(d) if progress(&row) > progress(d) => *d = row,
                Some(_) => {}
                None => deliveries.push(row),
            }
        }
    }
    Ok(out)
}

/// How far a delivery got: rows of one (alert, target) are appended as it
/// moves, and the furthest one is where it stands.
fn progress(d: &Delivery) -> (u8, i64) {
    let rank = match d.status {
        DeliveryStatus::Pending => 0,
        DeliveryStatus::Failed => 1,
        DeliveryStatus::Delivered => 2,
    };
    (rank, d.attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Outcome, OutcomeStatus};
    use chrono::TimeZone;

    #[test]
    fn alerts_round_trip_through_gold_alerts_rows_with_delivery_outcomes() {
        let fired_at = Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap();
        let mut a = Alert {
            alert_id: "a1".into(),
            cycle_id: 7,
            rule: "drop".into(),
            kind: RuleKind::ViewersDrop,
            key: "42".into(),
            user_id: "42".into(),
            login: "alice".into(),
            fired_at,
            details: serde_json::json!({"summary": "alice lost 500 viewers", "from": 1000, "url": "https://www.twitch.tv/alice"}),
            deliveries: vec![Delivery::pending("slack"), Delivery::pending("hook")],
        };
        let outcome = |target: &str, status| Outcome {
            key: "a1".into(),
            target: target.into(),
            status,
            attempts: 3,
            finished_at: fired_at + chrono::TimeDelta::seconds(9),
            error: (status == OutcomeStatus::Failed).then(|| "HTTP 404 Not Found".to_owned()),
        };
        assert!(a.apply(&outcome("slack", OutcomeStatus::Delivered)));
        assert!(a.apply(&outcome("hook", OutcomeStatus::Failed)));
        assert!(!a.apply(&outcome("elsewhere", OutcomeStatus::Delivered)));
        let quiet = Alert {
            alert_id: "a2".into(),
            deliveries: Vec::new(),
            ..a.clone()
        };
        let batch = to_batch(&[a.clone(), quiet.clone()]).unwrap();
        assert_eq!(batch.num_rows(), 3);
        // The outbox appends: the pending rows first, the outcomes later.
        let mut fired = a.clone();
        fired.deliveries = vec![Delivery::pending("slack"), Delivery::pending("hook")];
        let first = to_batch(std::slice::from_ref(&fired)).unwrap();
        let back = from_batches(&[first.clone(), batch.clone()]).unwrap();
        assert_eq!(back, vec![a.clone(), quiet.clone()]);
        // Read in any order, the furthest state of each delivery wins.
        let back = from_batches(&[batch, first]).unwrap();
        assert_eq!(back, vec![a.clone(), quiet]);
        assert_eq!(back[0].deliveries[0].status, DeliveryStatus::Delivered);
        assert_eq!(
            back[0].deliveries[1].last_error.as_deref(),
            Some("HTTP 404 Not Found")
        );

        let m = a.message();
        assert_eq!(m.key, "a1");
        assert_eq!(m.title, "alice lost 500 viewers");
        assert_eq!(m.url.as_deref(), Some("https://www.twitch.tv/alice"));
        assert_eq!(m.fields, vec![notify::Field::new("from", "1000")]);
        assert_eq!(m.data["alert_id"], "a1");
    }
}
