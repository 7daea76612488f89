//! Alerts as a consumer of cycles: after each committed cycle, the fresh
//! live set (plus rising stars and SQL rule rows) is evaluated, fired alerts
//! are appended to `gold.alerts` in one exactly-once commit keyed by the
//! cycle id, and only then handed to the delivery workers. Delivery runs in
//! the background; its outcomes reach `live.alerts` at once and
//! `gold.alerts` with the next cycle's commit. At start-up the outbox is
//! read back: cooldowns resume and undelivered alerts are sent again.
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;

use super::outbox::{Outbox, RecentAlerts, outcome_label};
use super::record::{Alert, DeliveryStatus, from_batches, to_batch};
use super::recover::lost_alerts;
use super::rules::{Condition, RuleSet};
use super::sql::{rising_stars, run_sql, validate_sql};
use super::{AlertState, AlertsConfig, ChatActivity, Error, Observation, Result, evaluate};
use crate::clock::SharedClock;
use crate::ingest::{CycleObserver, FinishedCycle, observe::ObserverError};
use crate::lake::Lake;
use crate::live::LiveViews;
use crate::metrics::Metrics;
use crate::notify::{Dispatcher, Sender};
use crate::query::QueryEngine;
use crate::schema::Table;

/// Everything the alerts service is built from.
#[derive(Debug)]
pub struct AlertServiceArgs {
    /// Rules, targets and delivery settings ([`super::load`]).
    pub config: AlertsConfig,
    /// The lake holding `gold.alerts`.
    pub lake: Lake,
    /// The catalog SQL rules and rising-star rules read (refreshed before
    /// the service hears of a cycle).
    pub engine: QueryEngine,
    /// The live views, where a failing SQL rule is reported.
    pub live: LiveViews,
    /// Where alert counts go.
    pub metrics: Metrics,
    /// Times delivery backoff and outcomes.
    pub clock: SharedClock,
    /// The `live.alerts` view, already in the catalog.
    pub recent: RecentAlerts,
    /// The configured session gap: how long a channel missing from
    /// incomplete listings is still taken as on air.
    pub session_gap: Duration,
}

/// Evaluates rules after each committed cycle and delivers what fires
/// (see the module documentation). Cheap to clone.
#[derive(Clone)]
pub struct AlertService {
    inner: Arc<Inner>,
}

struct Inner {
    rules: RuleSet,
    lake: Lake,
    engine: QueryEngine,
    live: LiveViews,
    metrics: Metrics,
    outbox: Arc<Outbox>,
    /// A std mutex: held only while evaluating, never across an `.await`.
    state: Mutex<AlertState>,
    dispatcher: Option<Dispatcher>,
    outcomes: Option<JoinHandle<()>>,
}

impl fmt::Debug for AlertService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets = self.inner.dispatcher.as_ref().map(Dispatcher::targets);
        f.debug_struct("AlertService")
            .field("rules", &self.inner.rules.len())
            .field("targets", &targets)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = &self.outcomes {
            task.abort();
        }
    }
}

impl AlertService {
    /// Checks the SQL rules against the catalog (a bad one is an error
    /// naming it), reads `gold.alerts` back (cooldowns resume; alerts a
    /// previous run did not deliver are queued again under the same id) and
    /// starts one delivery worker per target.
    pub async fn start(args: AlertServiceArgs) -> Result<Self> {
        let AlertsConfig {
            rules,
            targets,
            delivery,
        } = args.config;
        validate_sql(&rules, &args.engine).await?;
        let rows = args
            .lake
            .read_all(Table::Alerts)
            .await
            .map_err(|e| Error::Record(e.to_string()))?;
        let fired = from_batches(&rows)?;
        let fresh = AlertState::default().with_session_gap(args.session_gap);
        let mut state = fresh.clone();
        state.restore(&rules, &fired);
        // A crash between the last cycle's gold commit and its alerts append.
        let lost = match lost_alerts(&args.lake, &rules, &fired, fresh).await {
            Ok(lost) => lost.filter(|(_, alerts)| !alerts.is_empty()),
            Err(e) => {
                tracing::warn!("the last cycle's alerts not checked for a crash: {e}");
                None
            }
        };
        if let Some((_, alerts)) = &lost {
            state.restore(&rules, alerts);
        }
        let outbox = Arc::new(Outbox::new(args.recent));
        let names: Vec<String> = targets.iter().map(|t| t.name().to_owned()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let resend = outbox.restore(fired, &names);
        let (dispatcher, outcomes) = if targets.is_empty() {
            (None, None)
        } else {
            let sender = Sender::new(delivery, args.clock).map_err(Error::Delivery)?;
            let (dispatcher, mut outcomes) =
                Dispatcher::start(targets, sender).map_err(Error::Delivery)?;
            let (outbox, metrics) = (Arc::clone(&outbox), args.metrics.clone());
            let task = tokio::spawn(async move {
                while let Some(o) = outcomes.recv().await {
                    if outbox.apply(&o) {
                        metrics.alert_delivery(&o.target, outcome_label(&o));
                    }
                    metrics.alerts_pending(outbox.pending_deliveries());
                }
            });
            (Some(dispatcher), Some(task))
        };
        tracing::info!(
            rules = rules.len(),
            targets = names.len(),
            undelivered = resend.len(),
            "alerts ready"
        );
        let inner = Inner {
            rules,
            lake: args.lake,
            engine: args.engine,
            live: args.live,
            metrics: args.metrics,
            outbox,
            state: Mutex::new(state),
            dispatcher,
            outcomes,
        };
        for a in &resend {
            inner.submit(a);
        }
        if let Some((cycle_id, alerts)) = lost {
            tracing::warn!(
                cycle_id,
                alerts = alerts.len(),
                "alerts of the last cycle were not recorded (a crash): recording and sending them"
            );
            inner.fire(&alerts, cycle_id).await;
        }
        inner
            .metrics
            .alerts_pending(inner.outbox.pending_deliveries());
        Ok(Self {
            inner: Arc::new(inner),
        })
    }
}

impl Inner {
    /// Records `fired` (and any outcomes not recorded yet) in `gold.alerts`
    /// under `cycle_id`, then queues them for delivery.
    async fn fire(&self, fired: &[Alert], cycle_id: i64) {
        for a in fired {
            self.metrics.alert_fired(&a.rule);
            tracing::info!(alert = %a.alert_id, rule = %a.rule, "{}", a.summary());
        }
        self.outbox.fired(fired);
        // Recorded before it is sent: a crash from here on re-sends it.
        self.record(cycle_id).await;
        for a in fired {
            self.submit(a);
        }
        self.metrics
            .alerts_pending(self.outbox.pending_deliveries());
    }

    /// Queues `alert` for each target it is still pending on.
    fn submit(&self, alert: &Alert) {
        let Some(dispatcher) = &self.dispatcher else {
            return;
        };
        let message = Arc::new(alert.message());
        for d in &alert.deliveries {
            if d.status != DeliveryStatus::Pending {
                continue;
            }
            if let Err(e) = dispatcher.submit(&d.target, Arc::clone(&message)) {
                tracing::warn!(alert = %alert.alert_id, "alert not queued: {e}");
            }
        }
    }

    /// What the cycle tells the rules: the live set, plus what the rules
    /// in force read from the catalog. A SQL rule that fails is reported
    /// (metrics, the cycle's `live.ingest_status` row) and stays idle.
    async fn observe(&self, cycle: &FinishedCycle) -> Option<Observation> {
        let report = cycle.report()?;
        let update = crate::ingest::live::update(&cycle.summary, report);
        let complete = cycle.summary.stream_errors == 0;
        let mut obs = Observation::from_cycle(update, complete);
        let rules = self.rules.rules();
        if rules.iter().any(|r| {
            matches!(
                r.condition,
                Condition::ChatSentiment { .. } | Condition::ChatRate { .. }
            )
        }) {
            // The live views heard of this cycle first: live.chat is its own.
            obs.chat = ChatActivity::from_live(&self.live.snapshot());
        }
        if rules
            .iter()
            .any(|r| matches!(r.condition, Condition::RisingStar { .. }))
        {
            match rising_stars(&self.engine).await {
                Ok(stars) => obs.rising_stars = Some(stars),
                Err(e) => tracing::warn!("rising-star rules skip this cycle: {e}"),
            }
        }
        let run = run_sql(&self.rules, &self.engine).await;
        obs.sql = run.rows;
        if !run.failures.is_empty() {
            let mut messages = Vec::new();
            for (rule, message) in &run.failures {
                self.metrics.alert_rule_failed(rule);
                messages.push(format!("alert rule {rule:?}: {message}"));
            }
            let text = messages.join("; ");
            if let Err(e) = self
                .live
                .note_errors(obs.cycle_id, run.failures.len(), &text)
            {
                tracing::warn!("live.ingest_status not updated: {e}");
            }
        }
        Some(obs)
    }

    /// Appends what the outbox has not recorded yet, exactly once for
    /// `cycle_id`; what the lake refuses is kept for the next cycle.
    async fn record(&self, cycle_id: i64) {
        let rows = self.outbox.take_unwritten();
        if rows.is_empty() {
            return;
        }
        let batch = match to_batch(&rows) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("gold.alerts rows not built: {e}");
                self.outbox.keep(rows);
                return;
            }
        };
        match self.lake.append(Table::Alerts, vec![batch], cycle_id).await {
            Ok(outcome) => {
                tracing::debug!(?outcome, alerts = rows.len(), "gold.alerts appended");
            }
            Err(e) => {
                tracing::warn!("gold.alerts not written this cycle (kept for the next): {e}");
                self.outbox.keep(rows);
            }
        }
    }
}

#[async_trait]
impl CycleObserver for AlertService {
    fn name(&self) -> &str {
        "alerts"
    }

    async fn on_cycle(&self, cycle: &FinishedCycle) -> std::result::Result<(), ObserverError> {
        let inner = &self.inner;
        let Some(obs) = inner.observe(cycle).await else {
            // A failed cycle committed nothing and observed nothing.
            return Ok(());
        };
        let fired = if inner.rules.is_empty() {
            Vec::new()
        } else {
            let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
            let evaluation = evaluate(&inner.rules, std::mem::take(&mut *state), &obs);
            *state = evaluation.state;
            evaluation.alerts
        };
        inner.fire(&fired, obs.cycle_id).await;
        Ok(())
    }
}
