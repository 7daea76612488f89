//! Where queries run: a tokio runtime of their own whose threads run at a
//! lower CPU priority (`nice` +[`QUERY_NICE`] by default, `TM_QUERY_NICE`)
//! than the rest of the service.
//! Under a flood of queries, ingest, alerts and exports still get the cores
//! first, so a cycle keeps to the poll interval; when the service is idle
//! otherwise, queries have every core (a nice value only matters when
//! threads compete).
//!
//! A query's plan is built and driven on a pool thread; its batches cross
//! to the caller through a small bounded channel (so a slow reader holds the
//! query back rather than letting batches pile up), and dropping the
//! caller's stream aborts the query's task, which stops the plan.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::background::lower_priority;
use tokio::task::AbortHandle;

use super::error::{Error, Result};

/// How much lower the query threads' CPU priority is by default (Linux nice
/// values: +10 gives a thread about a tenth of the CPU share of a nice-0 one
/// when both want a core).
pub const QUERY_NICE: i32 = 10;

/// Batches buffered between a query's task and its reader.
const BUFFERED_BATCHES: usize = 2;

/// The query runtime. Dropping the last handle shuts it down without
/// waiting (it may be dropped on an async thread).
#[derive(Debug, Clone)]
pub(crate) struct QueryPool {
    runtime: Arc<Runtime>,
}

#[derive(Debug)]
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl QueryPool {
    /// A pool with one thread per core, `nice` below the caller's priority.
    pub(crate) fn new(nice: i32) -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("tm-query")
            .on_thread_start(move || lower_priority(nice))
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Arc::new(Runtime(Some(runtime))),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.0.as_ref().expect("running").handle()
    }

    /// Starts `start` (which plans a query and returns its stream) on the
    /// pool and hands back a stream of its batches, once it has started.
    pub(crate) async fn stream<F>(&self, start: F) -> Result<SendableRecordBatchStream>
    where
        F: Future<Output = Result<SendableRecordBatchStream>> + Send + 'static,
    {
        let (started_tx, started_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(BUFFERED_BATCHES);
        let task = self.handle().spawn(async move {
            let mut stream = match start.await {
                Ok(stream) => {
                    if started_tx.send(Ok(stream.schema())).is_err() {
                        return;
                    }
                    stream
                }
                Err(e) => return drop(started_tx.send(Err(e))),
            };
            while let Some(item) = stream.next().await {
                if tx.send(item).await.is_err() {
                    return; // the reader is gone
                }
            }
        });
        // From here on, dropping this future or the stream stops the task.
        let abort = AbortOnDrop(task.abort_handle());
        let schema = started_rx.await.map_err(|_| {
            Error::Internal(DataFusionError::Execution(
                "the query's task ended before the query started (it panicked)".into(),
            ))
        })??;
        Ok(Box::pin(PooledStream {
            schema,
            rx,
            _abort: abort,
        }))
    }
}

struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The caller's end of a query running on the pool.
struct PooledStream {
    schema: SchemaRef,
    rx: mpsc::Receiver<DfResult<RecordBatch>>,
    _abort: AbortOnDrop,
}

impl Stream for PooledStream {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl RecordBatchStream for PooledStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::background::tests::nice_of_this_thread;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    fn batches(n: i64) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let s = Arc::clone(&schema);
        let items = futures::stream::iter(0..n).map(move |i| {
            RecordBatch::try_new(Arc::clone(&s), vec![Arc::new(Int64Array::from(vec![i]))])
                .map_err(DataFusionError::from)
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, items))
    }

    #[tokio::test]
    async fn queries_run_on_lower_priority_threads_and_stream_back_in_order() {
        let pool = QueryPool::new(QUERY_NICE).unwrap();
        let (tx, rx) = oneshot::channel();
        let stream = pool
            .stream(async move {
                let thread = std::thread::current();
                let _ = tx.send((thread.name().map(str::to_owned), nice_of_this_thread()));
                Ok(batches(5))
            })
            .await
            .unwrap();
        let (name, nice) = rx.await.unwrap();
        assert_eq!(name.as_deref(), Some("tm-query"));
        assert_eq!(nice, (nice_of_this_thread() + QUERY_NICE).min(19));
        let got: Vec<i64> = stream
            .map(|b| {
                b.unwrap()
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .value(0)
            })
            .collect()
            .await;
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_planning_error_comes_back_and_a_dropped_reader_stops_the_query() {
        let pool = QueryPool::new(QUERY_NICE).unwrap();
        let failed = pool
            .stream(async { Err(Error::InvalidSql("nope".into())) })
            .await;
        assert!(matches!(failed, Err(Error::InvalidSql(m)) if m == "nope"));

        // A query that would never end: dropping its reader ends its task.
        let (tx, mut gone) = mpsc::channel::<()>(1);
        let stream = pool
            .stream(async move {
                let schema = Arc::new(Schema::empty());
                let endless = futures::stream::pending::<DfResult<RecordBatch>>().map(move |b| {
                    let _ = &tx;
                    b
                });
                Ok(Box::pin(RecordBatchStreamAdapter::new(schema, endless))
                    as SendableRecordBatchStream)
            })
            .await
            .unwrap();
        drop(stream);
        // The task held the only sender: it is dropped when the task ends.
        assert_eq!(gone.recv().await, None);
    }
}
