//! Where a closed day goes. Each target is a [`DayTarget`]: a Slack (or
//! any notifier) message, files in a folder or object store, rows in a
//! Google Sheet. [`Workers`] run one queue per target in the background,
//! so a slow or unreachable target holds only its own days, and report
//! each send's end as a notifier [`Outcome`].
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use chrono::NaiveDate;
use deltalake::ObjectStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::files::{Format, write_day};
use super::message::key;
use super::summary::DailySummary;
use super::{Error, Result};
use crate::clock::SharedClock;
use crate::notify::{Message, Outcome, OutcomeStatus, Sender, Target};
use crate::schema::Table;

/// One closed day, as every target may want it.
#[derive(Debug)]
pub struct DayExport {
    /// The UTC day.
    pub day: NaiveDate,
    /// Its summary.
    pub summary: DailySummary,
    /// The summary as a notification.
    pub message: Message,
    /// The day's gold rows by table (empty unless a target needs them).
    pub rows: Vec<(Table, Vec<RecordBatch>)>,
}

/// How one send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Requests (or writes) made.
    pub attempts: u32,
    /// Why it failed, if it did (never a URL or a secret).
    pub error: Option<String>,
}

impl Delivery {
    fn of(attempts: u32, result: Result<(), String>) -> Self {
        Self {
            attempts,
            error: result.err(),
        }
    }
}

/// A receiver of closed days.
#[async_trait]
pub trait DayTarget: Send + Sync + fmt::Debug {
    /// The name in `gold.exports`, metrics and `export --target`.
    fn name(&self) -> &str;

    /// Whether [`DayExport::rows`] must be loaded for it.
    fn needs_rows(&self) -> bool {
        false
    }

    /// Sends `day`, retrying as the target sees fit; never panics.
    async fn send(&self, day: &DayExport) -> Delivery;
}

/// The summary as a notifier message (Slack's Block Kit), with the
/// notifier's retries, 429 handling and secret hygiene.
#[derive(Debug)]
pub struct Notified {
    target: Target,
    sender: Sender,
}

impl Notified {
    /// `target` reached through `sender`.
    pub fn new(target: Target, sender: Sender) -> Self {
        Self { target, sender }
    }
}

#[async_trait]
impl DayTarget for Notified {
    fn name(&self) -> &str {
        self.target.name()
    }

    async fn send(&self, day: &DayExport) -> Delivery {
        let o = self.sender.deliver(&self.target, &day.message).await;
        Delivery {
            attempts: o.attempts,
            error: match o.status {
                OutcomeStatus::Delivered => None,
                OutcomeStatus::Failed => Some(o.error.unwrap_or_else(|| "failed".into())),
            },
        }
    }
}

/// The day's gold tables as files, `<root>/<day>/<table>.<ext>`, in each
/// configured format. Rewriting a day writes the same files again.
pub struct Files {
    name: String,
    store: Arc<dyn ObjectStore>,
    root: String,
    formats: Vec<Format>,
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Files")
            .field("name", &self.name)
            .field("root", &self.root)
            .field("formats", &self.formats)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// Files under `store` (`root` is how it is shown).
    pub fn new(
        name: impl Into<String>,
        store: Arc<dyn ObjectStore>,
        root: String,
        formats: Vec<Format>,
    ) -> Self {
        Self {
            name: name.into(),
            store,
            root,
            formats,
        }
    }
}

#[async_trait]
impl DayTarget for Files {
    fn name(&self) -> &str {
        &self.name
    }

    fn needs_rows(&self) -> bool {
        true
    }

    async fn send(&self, day: &DayExport) -> Delivery {
        for &format in &self.formats {
            if let Err(e) = write_day(self.store.as_ref(), day.day, format, &day.rows).await {
                return Delivery::of(1, Err(format!("{}: {e}", self.root)));
            }
        }
        tracing::info!(day = %day.day, root = %self.root, "daily files written");
        Delivery::of(1, Ok(()))
    }
}

/// One background queue per target; see the module documentation.
/// Dropping it stops the workers (what was queued is sent again after a
/// restart: `gold.exports` does not say it was sent).
pub struct Workers {
    queues: HashMap<String, mpsc::UnboundedSender<Arc<DayExport>>>,
    workers: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workers")
            .field("targets", &self.queues.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Workers {
    /// Starts one worker per target (names must differ); outcomes come out
    /// of the receiver, timed by `clock`.
    pub fn start(
        targets: Vec<Arc<dyn DayTarget>>,
        clock: SharedClock,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Outcome>)> {
        let (outcomes, receiver) = mpsc::unbounded_channel();
        let mut queues = HashMap::new();
        let mut workers = Vec::new();
        for target in targets {
            let name = target.name().to_owned();
            if queues.contains_key(&name) {
                return Err(Error::Target(format!(
                    "two export targets are named {name:?}"
                )));
            }
            let (tx, mut rx) = mpsc::unbounded_channel::<Arc<DayExport>>();
            queues.insert(name.clone(), tx);
            let (outcomes, clock) = (outcomes.clone(), clock.clone());
            workers.push(tokio::spawn(async move {
                while let Some(day) = rx.recv().await {
                    let d = target.send(&day).await;
                    let outcome = Outcome {
                        key: key(day.day),
                        target: name.clone(),
                        status: if d.error.is_none() {
                            OutcomeStatus::Delivered
                        } else {
                            OutcomeStatus::Failed
                        },
                        attempts: d.attempts,
                        finished_at: clock.now(),
                        error: d.error,
                    };
                    // Nobody listening any more is no reason to stop.
                    let _ = outcomes.send(outcome);
                }
            }));
        }
        Ok((Self { queues, workers }, receiver))
    }

    /// Queues `day` for `target`; returns at once.
    pub fn submit(&self, target: &str, day: Arc<DayExport>) -> Result<()> {
        let queue = self
            .queues
            .get(target)
            .ok_or_else(|| Error::Target(format!("unknown export target {target:?}")))?;
        queue
            .send(day)
            .map_err(|_| Error::Target("the export workers have stopped".into()))
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &self.workers {
            w.abort();
        }
    }
}
