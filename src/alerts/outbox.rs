//! The outbox in memory: fired alerts not yet fully delivered, the rows
//! still to be appended to `gold.alerts`, and the recent alerts that
//! `live.alerts` shows — fed by evaluation (new alerts) and by the delivery
//! workers (outcomes), drained by the alerts commit after each cycle.
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use arrow::array::RecordBatch;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::memory::MemorySourceConfig;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::record::{Alert, DeliveryStatus, schema, to_batch};
use crate::notify::{Outcome, OutcomeStatus};
use crate::query::SourceTable;
use crate::schema::Layer;

/// How many alerts `live.alerts` shows (the newest).
pub const RECENT_ALERTS: usize = 1000;

/// Rows held for `gold.alerts` while the lake refuses them; past this the
/// oldest are dropped with an error in the log (their deliveries go on).
const MAX_UNWRITTEN: usize = 100_000;

/// The `live.alerts` view: the newest alerts with their delivery status as
/// it stands now. Cheap to clone; clones share the rows.
#[derive(Debug, Clone)]
pub struct RecentAlerts {
    current: Arc<ArcSwap<RecordBatch>>,
}

impl Default for RecentAlerts {
    fn default() -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(RecordBatch::new_empty(schema()))),
        }
    }
}

impl RecentAlerts {
    /// The view as a table of schema `live`, for the query catalog.
    pub fn source_table(&self) -> SourceTable {
        let table = RecentTable {
            current: Arc::clone(&self.current),
        };
        SourceTable::new(Layer::Live.as_str(), "alerts", Arc::new(table))
    }

    /// The rows shown now.
    pub fn batch(&self) -> Arc<RecordBatch> {
        self.current.load_full()
    }

    fn show(&self, alerts: &VecDeque<Alert>) {
        // Newest first, as a reader scanning for "what just happened" wants.
        let newest_first: Vec<Alert> = alerts.iter().rev().cloned().collect();
        match to_batch(&newest_first) {
            Ok(batch) => self.current.store(Arc::new(batch)),
            Err(e) => tracing::error!("live.alerts not updated: {e}"),
        }
    }
}

/// `live.alerts` as DataFusion reads it: the rows current at scan time.
#[derive(Debug)]
struct RecentTable {
    current: Arc<ArcSwap<RecordBatch>>,
}

#[async_trait]
impl TableProvider for RecentTable {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batch = RecordBatch::clone(&self.current.load_full());
        let source =
            MemorySourceConfig::try_new(&[vec![batch]], self.schema(), projection.cloned())?
                .with_limit(limit);
        Ok(datafusion::datasource::source::DataSourceExec::from_data_source(source))
    }
}

/// What the outbox holds.
#[derive(Debug, Default)]
struct Book {
    /// Alerts with a delivery still pending, by alert id.
    pending: HashMap<String, Alert>,
    /// The newest alerts, oldest first, at most [`RECENT_ALERTS`].
    recent: VecDeque<Alert>,
    /// Alerts whose rows (new, or a delivery's new state) the lake has not
    /// taken yet, in the order they changed.
    unwritten: Vec<Alert>,
}

/// The shared outbox (see the module documentation).
#[derive(Debug)]
pub(crate) struct Outbox {
    book: Mutex<Book>,
    view: RecentAlerts,
}

impl Outbox {
    pub(crate) fn new(view: RecentAlerts) -> Self {
        Self {
            book: Mutex::new(Book::default()),
            view,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // Every update is a few map operations: never torn by a panic.
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes in what `gold.alerts` holds at start-up; returns the alerts
    /// with a delivery still pending to one of `targets`, oldest first (to
    /// be sent again, with their ids unchanged).
    pub(crate) fn restore(&self, mut alerts: Vec<Alert>, targets: &[&str]) -> Vec<Alert> {
        alerts.sort_by_key(|a| (a.fired_at, a.cycle_id));
        let mut book = self.lock();
        let mut resend = Vec::new();
        for a in &alerts {
            let waiting = a
                .deliveries
                .iter()
                .filter(|d| d.status == DeliveryStatus::Pending)
                .map(|d| d.target.as_str());
            let (known, unknown): (Vec<&str>, Vec<&str>) =
                waiting.partition(|t| targets.contains(t));
            for t in unknown {
                tracing::warn!(
                    alert = %a.alert_id,
                    target = t,
                    "an undelivered alert's target is no longer configured: left pending"
                );
            }
            if !known.is_empty() {
                book.pending.insert(a.alert_id.clone(), a.clone());
                resend.push(a.clone());
            }
        }
        let skip = alerts.len().saturating_sub(RECENT_ALERTS);
        book.recent = alerts.into_iter().skip(skip).collect();
        self.view.show(&book.recent);
        resend
    }

    /// Takes in alerts fired this cycle.
    pub(crate) fn fired(&self, alerts: &[Alert]) {
        if alerts.is_empty() {
            return;
        }
        let mut book = self.lock();
        for a in alerts {
            let waiting = a
                .deliveries
                .iter()
                .any(|d| d.status == DeliveryStatus::Pending);
            if waiting {
                book.pending.insert(a.alert_id.clone(), a.clone());
            }
            book.recent.push_back(a.clone());
        }
        let over = book.recent.len().saturating_sub(RECENT_ALERTS);
        book.recent.drain(..over);
        book.unwritten.extend(alerts.iter().cloned());
        self.view.show(&book.recent);
    }

    /// Records a delivery's end; false if no pending alert expected it.
    pub(crate) fn apply(&self, outcome: &Outcome) -> bool {
        let mut book = self.lock();
        let Some(alert) = book.pending.get_mut(&outcome.key) else {
            return false;
        };
        if !alert.apply(outcome) {
            return false;
        }
        let alert = alert.clone();
        if !alert
            .deliveries
            .iter()
            .any(|d| d.status == DeliveryStatus::Pending)
        {
            book.pending.remove(&alert.alert_id);
        }
        if let Some(shown) = book
            .recent
            .iter_mut()
            .rev()
            .find(|a| a.alert_id == alert.alert_id)
        {
            *shown = alert.clone();
        }
        book.unwritten.push(alert);
        self.view.show(&book.recent);
        true
    }

    /// Deliveries not delivered or failed yet.
    pub(crate) fn pending_deliveries(&self) -> usize {
        self.lock()
            .pending
            .values()
            .flat_map(|a| &a.deliveries)
            .filter(|d| d.status == DeliveryStatus::Pending)
            .count()
    }

    /// The rows to append now (the caller hands them back with
    /// [`Outbox::keep`] if the append fails).
    pub(crate) fn take_unwritten(&self) -> Vec<Alert> {
        std::mem::take(&mut self.lock().unwritten)
    }

    /// Puts back rows an append did not take, before any newer ones.
    pub(crate) fn keep(&self, mut rows: Vec<Alert>) {
        let mut book = self.lock();
        rows.append(&mut book.unwritten);
        let over = rows.len().saturating_sub(MAX_UNWRITTEN);
        if over > 0 {
            tracing::error!(
                dropped = over,
                "gold.alerts has refused rows for too long: the oldest are not recorded"
            );
            rows.drain(..over);
        }
        book.unwritten = rows;
    }
}

/// The metric label of an outcome.
pub(crate) fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome.status {
        OutcomeStatus::Delivered => DeliveryStatus::Delivered.as_str(),
        OutcomeStatus::Failed => DeliveryStatus::Failed.as_str(),
    }
}
