//! The background side of delivery: one queue and one worker per target.
//! Submitting never waits (the ingest cycle hands messages over and moves
//! on); each worker sends its queue in order, so messages about one channel
//! reach a target in the order they were fired, and a target that is down
//! holds only its own queue.
use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Error, Message, Outcome, Result, Sender, Target};

/// Delivers submitted messages in the background; [`Outcome`]s come out of
/// the receiver returned by [`Dispatcher::start`]. Dropping the dispatcher
/// stops its workers at once (what was not delivered stays undelivered: the
/// caller's outbox keeps it); [`Dispatcher::drain`] finishes the queues first.
#[derive(Debug)]
pub struct Dispatcher {
    queues: HashMap<String, mpsc::UnboundedSender<Arc<Message>>>,
    workers: Vec<JoinHandle<()>>,
}

impl Dispatcher {
    /// Starts one worker per target. Outcomes are reported in the order
    /// each target finishes its messages.
    pub fn start(
        targets: Vec<Target>,
        sender: Sender,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Outcome>)> {
        let (outcomes, receiver) = mpsc::unbounded_channel();
        let mut queues = HashMap::new();
        let mut workers = Vec::new();
        for target in targets {
            if queues.contains_key(target.name()) {
                return Err(Error::InvalidTarget {
                    name: target.name().to_owned(),
                    message: "two targets have this name".into(),
                });
            }
            let (tx, rx) = mpsc::unbounded_channel();
            queues.insert(target.name().to_owned(), tx);
            workers.push(tokio::spawn(work(
                target,
                sender.clone(),
                rx,
                outcomes.clone(),
            )));
        }
        Ok((Self { queues, workers }, receiver))
    }

    /// Queues `message` for `target`; returns at once.
    pub fn submit(&self, target: &str, message: Arc<Message>) -> Result<()> {
        let queue = self
            .queues
            .get(target)
            .ok_or_else(|| Error::UnknownTarget(target.to_owned()))?;
        queue.send(message).map_err(|_| Error::Closed)
    }

    /// The names of the targets, sorted.
    pub fn targets(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.queues.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Stops taking messages and waits until every queued one is delivered
    /// or has failed.
    pub async fn drain(mut self) {
        self.queues.clear();
        for worker in std::mem::take(&mut self.workers) {
            // A worker only ends by its queue closing; a panic is a bug
            // already reported by the runtime.
            let _ = worker.await;
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        for worker in &self.workers {
            worker.abort();
        }
    }
}

async fn work(
    target: Target,
    sender: Sender,
    mut queue: mpsc::UnboundedReceiver<Arc<Message>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
) {
    while let Some(message) = queue.recv().await {
        let outcome = sender.deliver(&target, &message).await;
        // Nobody listening any more is no reason to stop delivering.
        let _ = outcomes.send(outcome);
    }
}
