//! The background side of delivery: one queue and one worker per target.
//! Submitting never waits (the ingest cycle hands messages over and moves
//! on); each worker sends its queue in order, so messages about one channel
//! reach a target in the order they were fired, and a target that is down
//! holds only its own queue — at most [`DeliveryOptions::max_queued`]
//! messages, the oldest waiting one reported failed when a new one arrives
//! at a full queue.
//!
//! [`DeliveryOptions::max_queued`]: super::DeliveryOptions::max_queued
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::{Error, Message, Outcome, Result, Sender, Target};

/// Delivers submitted messages in the background; [`Outcome`]s come out of
/// the receiver returned by [`Dispatcher::start`]. Dropping the dispatcher
/// stops its workers at once (what was not delivered stays undelivered: the
/// caller's outbox keeps it); [`Dispatcher::drain`] finishes the queues first.
#[derive(Debug)]
pub struct Dispatcher {
    queues: HashMap<String, Arc<Queue>>,
    workers: Vec<JoinHandle<()>>,
    sender: Sender,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

/// One target's waiting messages, shared by the dispatcher and the worker.
#[derive(Debug, Default)]
struct Queue {
    waiting: Mutex<Waiting>,
    /// Wakes the worker: a message arrived or the queue closed.
    changed: Notify,
}

#[derive(Debug, Default)]
struct Waiting {
    messages: VecDeque<Arc<Message>>,
    closed: bool,
    /// Messages dropped from the front since the process started.
    dropped: u64,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // Every update is a push or a pop: never torn by a panic.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next message, or `None` once the queue is closed and empty.
    async fn next(&self) -> Option<Arc<Message>> {
        loop {
            {
                let mut waiting = self.lock();
                if let Some(m) = waiting.messages.pop_front() {
                    return Some(m);
                }
                if waiting.closed {
                    return None;
                }
            }
            // A notification sent between the unlock and here is kept as
            // a permit (one worker per queue), so none is missed.
            self.changed.notified().await;
        }
    }
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
            let queue = Arc::new(Queue::default());
            queues.insert(target.name().to_owned(), Arc::clone(&queue));
            workers.push(tokio::spawn(work(
                target,
                sender.clone(),
                queue,
                outcomes.clone(),
            )));
        }
        let dispatcher = Self {
            queues,
            workers,
            sender,
            outcomes,
        };
        Ok((dispatcher, receiver))
    }

    /// Queues `message` for `target`; returns at once. If the target's
    /// queue is full, its oldest waiting message is reported failed.
    pub fn submit(&self, target: &str, message: Arc<Message>) -> Result<()> {
        let queue = self
            .queues
            .get(target)
            .ok_or_else(|| Error::UnknownTarget(target.to_owned()))?;
        let max = self.sender.options().max_queued.max(1);
        let (dropped, total) = {
            let mut waiting = queue.lock();
            if waiting.closed {
                return Err(Error::Closed);
            }
            waiting.messages.push_back(message);
            let dropped = if waiting.messages.len() > max {
                waiting.dropped += 1;
                waiting.messages.pop_front()
            } else {
                None
            };
            (dropped, waiting.dropped)
        };
        queue.changed.notify_one();
        if let Some(old) = dropped {
            // Once per thousand: a target down for days would fill the log.
            if total % 1000 == 1 {
                tracing::warn!(
                    target_name = target,
                    waiting = max,
                    dropped_so_far = total,
                    "a notification target is not keeping up: the oldest waiting messages are dropped"
                );
            }
            let why = format!("not sent: {max} newer messages were waiting for this target");
            // Nobody listening any more is no reason to fail the submit.
            let _ = self.outcomes.send(self.sender.unsent(target, &old, why));
        }
        Ok(())
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
        for queue in self.queues.values() {
            queue.lock().closed = true;
            queue.changed.notify_one();
        }
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
    queue: Arc<Queue>,
    outcomes: mpsc::UnboundedSender<Outcome>,
) {
    while let Some(message) = queue.next().await {
        let outcome = sender.deliver(&target, &message).await;
        // Nobody listening any more is no reason to stop delivering.
        let _ = outcomes.send(outcome);
    }
}
