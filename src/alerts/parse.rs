//! Rule and target definitions as written in TOML → validated [`Rule`]s and
//! [`Target`]s. Every mistake is refused with the rule (or target) named and
//! the problem said, at start-up, before anything runs.
use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::rules::{Change, Condition, Direction, Rule, RuleKind, RuleSet, Scope};
use super::{Error, Result};
use crate::notify::{DeliveryOptions, Target};

/// A rule as written: every key any kind takes, all optional; which ones a
/// kind accepts is checked per kind so the message can say so.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    kind: Option<String>,
    channels: Option<Vec<String>>,
    categories: Option<Vec<String>>,
    languages: Option<Vec<String>>,
    cooldown: Option<String>,
    targets: Option<Vec<String>>,
    percent: Option<f64>,
    by: Option<i64>,
    window: Option<String>,
    min_viewers: Option<i64>,
    min_uptime: Option<String>,
    max_uptime: Option<String>,
    grace: Option<String>,
    n: Option<usize>,
    margin: Option<usize>,
    max_rank: Option<i64>,
    min_score: Option<f64>,
    below: Option<f64>,
    drop: Option<f64>,
    min_messages: Option<f64>,
    direction: Option<String>,
    query: Option<String>,
}

/// The whole alerts section (or alerts file).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    #[serde(default)]
    rules: Vec<toml::Value>,
    #[serde(default)]
    targets: Vec<toml::Value>,
    max_attempts: Option<u32>,
    request_timeout: Option<String>,
    max_backoff: Option<String>,
    max_queued: Option<usize>,
}

/// Rules, targets and delivery settings, validated together.
#[derive(Debug, Clone, Default)]
pub struct AlertsConfig {
    /// The rules in force.
    pub rules: RuleSet,
    /// Where alerts go.
    pub targets: Vec<Target>,
    /// Retry and timeout settings of delivery.
    pub delivery: DeliveryOptions,
}

/// Keys every kind accepts.
const COMMON: &[&str] = &["name", "kind", "cooldown", "targets"];
const SCOPE: &[&str] = &["channels", "categories", "languages"];

/// The keys `kind` accepts besides [`COMMON`].
fn keys_of(kind: RuleKind) -> &'static [&'static str] {
    match kind {
        RuleKind::WentLive => &["max_uptime"],
        RuleKind::WentOffline => &["grace"],
        RuleKind::ViewersDrop | RuleKind::ViewersGain => {
            &["percent", "by", "window", "min_viewers", "min_uptime"]
        }
        RuleKind::FollowersGain | RuleKind::FollowersLoss => &["percent", "by", "window"],
        RuleKind::TopN => &["n", "margin"],
        RuleKind::RisingStar => &["max_rank", "min_score"],
        RuleKind::ChatSentiment => &["below", "drop", "min_messages"],
        RuleKind::ChatRate => &["percent", "direction", "min_messages"],
        RuleKind::Sql => &["query"],
    }
}

/// How long a rule of `kind` stays quiet per channel after firing, unless set.
pub fn default_cooldown(kind: RuleKind) -> Duration {
    let minutes = match kind {
        RuleKind::WentLive | RuleKind::WentOffline | RuleKind::Sql => 60,
        RuleKind::ViewersDrop
        | RuleKind::ViewersGain
        | RuleKind::ChatSentiment
        | RuleKind::ChatRate => 30,
        RuleKind::FollowersGain | RuleKind::FollowersLoss => 6 * 60,
        RuleKind::TopN => 24 * 60,
        RuleKind::RisingStar => 7 * 24 * 60,
    };
    Duration::from_secs(minutes * 60)
}

impl AlertsConfig {
    /// Parses one alerts document (the `[alerts]` section, or an alerts
    /// file's top level). `env` looks up the `*_env` variables.
    pub fn from_table(table: toml::Table, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let raw: RawAlerts = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Invalid(e.message().to_owned()))?;
        let mut delivery = DeliveryOptions::default();
        if let Some(n) = raw.max_attempts {
            if n == 0 {
                return Err(Error::Invalid("max_attempts must be at least 1".into()));
            }
            delivery.max_attempts = n;
        }
        if let Some(t) = &raw.request_timeout {
            delivery.request_timeout =
                positive(duration(t).map_err(|m| Error::Invalid(format!("request_timeout: {m}")))?)
                    .map_err(|m| Error::Invalid(format!("request_timeout: {m}")))?;
        }
        if let Some(t) = &raw.max_backoff {
            delivery.max_backoff =
                duration(t).map_err(|m| Error::Invalid(format!("max_backoff: {m}")))?;
        }
        if let Some(n) = raw.max_queued {
            if n == 0 {
                return Err(Error::Invalid("max_queued must be at least 1".into()));
            }
            delivery.max_queued = n;
        }
        let targets = raw
            .targets
            .into_iter()
            .enumerate()
            .map(|(i, v)| super::target::target(i, v, env))
            .collect::<Result<Vec<_>>>()?;
        let rules = raw
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, v)| rule(i, v))
            .collect::<Result<Vec<_>>>()?;
        Self::assemble(rules, targets, delivery)
    }

    /// Joins several documents (file and section): rules and targets are
    /// concatenated, names must stay unique; the last document's delivery
    /// settings win where given.
    pub fn merge(parts: Vec<AlertsConfig>) -> Result<Self> {
        let mut rules = Vec::new();
        let mut targets = Vec::new();
        let mut delivery = DeliveryOptions::default();
        for p in parts {
            rules.extend(p.rules.rules().iter().cloned());
            targets.extend(p.targets);
            delivery = p.delivery;
        }
        Self::assemble(rules, targets, delivery)
    }

    fn assemble(
        mut rules: Vec<Rule>,
        targets: Vec<Target>,
        delivery: DeliveryOptions,
    ) -> Result<Self> {
        let mut names = HashSet::new();
        for t in &targets {
            if !names.insert(t.name()) {
                return Err(Error::Target {
                    target: t.name().to_owned(),
                    message: "two targets have this name".into(),
                });
            }
        }
        let all: Vec<String> = targets.iter().map(|t| t.name().to_owned()).collect();
        let mut seen = HashSet::new();
        for r in &mut rules {
            if !seen.insert(r.name.clone()) {
                return Err(rule_error(&r.name, "two rules have this name"));
            }
            if let Some(unknown) = r.targets.iter().find(|t| !all.contains(t)) {
                return Err(rule_error(
                    &r.name,
                    format!(
                        "unknown target {unknown:?} (configured: {})",
                        if all.is_empty() {
                            "none".to_owned()
                        } else {
                            all.join(", ")
                        }
                    ),
                ));
            }
            if r.targets.is_empty() {
                r.targets.clone_from(&all);
            }
        }
        Ok(Self {
            rules: RuleSet::from_rules(rules),
            targets,
            delivery,
        })
    }
}

fn rule_error(rule: &str, message: impl Into<String>) -> Error {
    Error::Rule {
        rule: rule.to_owned(),
        message: message.into(),
    }
}

fn duration(s: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration like 90s, 10m or 1h ({e})"))
}

fn positive(d: Duration) -> std::result::Result<Duration, String> {
    if d.is_zero() {
        Err("must be longer than zero".into())
    } else {
        Ok(d)
    }
}

/// The name to quote in errors: the rule's name, else its position.
pub(super) fn label(i: usize, v: &toml::Value) -> String {
    match v.get("name").and_then(toml::Value::as_str) {
        Some(n) if !n.trim().is_empty() => n.to_owned(),
        _ => format!("#{} (no name)", i + 1),
    }
}

fn rule(i: usize, value: toml::Value) -> Result<Rule> {
    let name = label(i, &value);
    let err = |m: String| rule_error(&name, m);
    let present: Vec<String> = value
        .as_table()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    let raw: RawRule = value
        .try_into()
        .map_err(|e: toml::de::Error| err(e.message().trim().to_owned()))?;
    if raw.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(err("`name` is required".into()));
    }
    let kinds = || {
        RuleKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kind_name = raw
        .kind
        .as_deref()
        .ok_or_else(|| err(format!("`kind` is required (one of {})", kinds())))?;
    let kind = RuleKind::from_name(kind_name)
        .ok_or_else(|| err(format!("unknown kind {kind_name:?} (one of {})", kinds())))?;
    let own = keys_of(kind);
    let scoped = kind != RuleKind::Sql;
    for key in &present {
        let ok = COMMON.contains(&key.as_str())
            || own.contains(&key.as_str())
            || (scoped && SCOPE.contains(&key.as_str()));
        if !ok {
            let mut takes: Vec<&str> = own.to_vec();
            if scoped {
                takes.extend(SCOPE);
            }
            takes.extend(&COMMON[2..]);
            return Err(err(format!(
                "`{key}` does not apply to kind {kind} (it takes: {})",
                takes.join(", ")
            )));
        }
    }
    let d = |field: &str, v: &Option<String>, default: Duration| -> Result<Duration> {
        v.as_deref()
            .map_or(Ok(default), duration)
            .map_err(|m| err(format!("`{field}`: {m}")))
    };
    let condition = condition(kind, &raw, &d).map_err(err)?;
    let cooldown = d("cooldown", &raw.cooldown, default_cooldown(kind))?;
    let lower = |v: &Option<Vec<String>>| -> Vec<String> {
        v.iter()
            .flatten()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let scope = Scope {
        channels: lower(&raw.channels),
        categories: lower(&raw.categories),
        languages: lower(&raw.languages),
    };
    Ok(Rule {
        name: name.clone(),
        scope,
        condition,
        cooldown,
        targets: raw.targets.unwrap_or_default(),
    })
}

type DurationField<'a> = dyn Fn(&str, &Option<String>, Duration) -> Result<Duration> + 'a;

fn condition(
    kind: RuleKind,
    raw: &RawRule,
    d: &DurationField<'_>,
) -> std::result::Result<Condition, String> {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    // `d` already names the rule; keep only its message here.
    let d = |field: &str, v: &Option<String>, default| {
        d(field, v, default).map_err(|e| match e {
            Error::Rule { message, .. } => message,
            other => other.to_string(),
        })
    };
    let change = |max_percent: Option<f64>| -> std::result::Result<Change, String> {
        if raw.percent.is_none() && raw.by.is_none() {
            return Err("needs `percent`, `by` or both".into());
        }
        if let Some(p) = raw.percent
            && (!(p.is_finite() && p > 0.0) || max_percent.is_some_and(|m| p > m))
        {
            return Err(match max_percent {
                Some(m) => format!("`percent` must be above 0 and at most {m}"),
                None => "`percent` must be above 0".into(),
            });
        }
        if raw.by.is_some_and(|b| b <= 0) {
            return Err("`by` must be at least 1".into());
        }
        Ok(Change {
            percent: raw.percent,
            by: raw.by,
        })
    };
    Ok(match kind {
        RuleKind::WentLive => Condition::WentLive {
            max_uptime: positive(d("max_uptime", &raw.max_uptime, minutes(30))?)
                .map_err(|m| format!("`max_uptime` {m}"))?,
        },
        RuleKind::WentOffline => Condition::WentOffline {
            grace: d("grace", &raw.grace, Duration::ZERO)?,
        },
        RuleKind::ViewersDrop | RuleKind::ViewersGain => {
            let drop = kind == RuleKind::ViewersDrop;
            Condition::Viewers {
                direction: if drop { Direction::Down } else { Direction::Up },
                // A drop of more than 100% is impossible.
                change: change(drop.then_some(100.0))?,
                window: positive(d("window", &raw.window, minutes(10))?)
                    .map_err(|m| format!("`window` {m}"))?,
                min_viewers: non_negative("min_viewers", raw.min_viewers.unwrap_or(50))?,
                min_uptime: d("min_uptime", &raw.min_uptime, minutes(10))?,
            }
        }
        RuleKind::FollowersGain | RuleKind::FollowersLoss => {
            let loss = kind == RuleKind::FollowersLoss;
            Condition::Followers {
                direction: if loss { Direction::Down } else { Direction::Up },
                change: change(loss.then_some(100.0))?,
                window: positive(d("window", &raw.window, minutes(60))?)
                    .map_err(|m| format!("`window` {m}"))?,
            }
        }
        RuleKind::TopN => {
            let n = raw.n.unwrap_or(10);
            if n == 0 {
                return Err("`n` must be at least 1".into());
            }
            Condition::TopN {
                n,
                margin: raw.margin.unwrap_or((n / 5).max(1)),
            }
        }
        RuleKind::RisingStar => {
            if raw.max_rank.is_some_and(|r| r < 1) {
                return Err("`max_rank` must be at least 1".into());
            }
            if raw.min_score.is_some_and(|s| !s.is_finite()) {
                return Err("`min_score` must be a number".into());
            }
            Condition::RisingStar {
                max_rank: raw.max_rank.or(raw.min_score.is_none().then_some(10)),
                min_score: raw.min_score,
            }
        }
        RuleKind::ChatSentiment => {
            if raw.below.is_none() && raw.drop.is_none() {
                return Err("needs `below`, `drop` or both".into());
            }
            if raw.below.is_some_and(|b| !(-1.0..=1.0).contains(&b)) {
                return Err("`below` must be between -1 and 1 (sentiment's range)".into());
            }
            if raw.drop.is_some_and(|x| !(x > 0.0 && x <= 2.0)) {
                return Err("`drop` must be above 0 and at most 2".into());
            }
            Condition::ChatSentiment {
                below: raw.below,
                drop: raw.drop,
                min_messages: min_messages(raw.min_messages)?,
            }
        }
        RuleKind::ChatRate => {
            let percent = raw.percent.ok_or("needs `percent`")?;
            if !(percent.is_finite() && percent > 0.0) {
                return Err("`percent` must be above 0".into());
            }
            let direction = match raw.direction.as_deref().unwrap_or("any") {
                "up" => Direction::Up,
                "down" => Direction::Down,
                "any" => Direction::Any,
                other => {
                    return Err(format!(
                        "`direction` must be up, down or any, not {other:?}"
                    ));
                }
            };
            if direction == Direction::Down && percent > 100.0 {
                return Err("a fall cannot exceed 100 `percent`".into());
            }
            Condition::ChatRate {
                direction,
                percent,
                min_messages: min_messages(raw.min_messages)?,
            }
        }
        RuleKind::Sql => {
            let query = raw.query.as_deref().unwrap_or("").trim();
            if query.is_empty() {
                return Err("needs `query`".into());
            }
            Condition::Sql {
                query: query.to_owned(),
            }
        }
    })
}

fn non_negative(field: &str, v: i64) -> std::result::Result<i64, String> {
    if v < 0 {
        Err(format!("`{field}` must not be negative"))
    } else {
        Ok(v)
    }
}

fn min_messages(v: Option<f64>) -> std::result::Result<f64, String> {
    let v = v.unwrap_or(5.0);
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err("`min_messages` must be a number of at least 0".into())
    }
}
