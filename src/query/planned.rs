//! Physical plans made to answer a schema request, kept briefly for the
//! execution that usually follows. A Flight SQL client asks for a
//! statement's schema (GetFlightInfo) and then runs it (DoGet): without
//! this, a small query is parsed, planned and optimized twice, which was
//! most of the server's time per `SELECT 1`.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::common::ScalarValue;
use datafusion::physical_plan::ExecutionPlan;
use tokio::time::Instant;

/// How long a plan waits for its execution.
const KEEP: Duration = Duration::from_secs(30);
/// How many plans wait at most (the oldest goes first).
const CAPACITY: usize = 32;

struct Entry {
    sql: String,
    params: Vec<ScalarValue>,
    plan: Arc<dyn ExecutionPlan>,
    made: Instant,
}

/// Recent physical plans by (SQL, parameters). Each is taken at most once:
/// an execution plan runs once.
#[derive(Default)]
pub(crate) struct Planned(Mutex<Vec<Entry>>);

impl Planned {
    pub(crate) fn put(&self, sql: &str, params: &[ScalarValue], plan: Arc<dyn ExecutionPlan>) {
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.made.elapsed() < KEEP);
        if entries.len() >= CAPACITY {
            entries.remove(0);
        }
        entries.push(Entry {
            sql: sql.to_owned(),
            params: params.to_vec(),
            plan,
            made: Instant::now(),
        });
    }

    /// The newest plan of `sql` with `params`, if one is waiting.
    pub(crate) fn take(&self, sql: &str, params: &[ScalarValue]) -> Option<Arc<dyn ExecutionPlan>> {
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = entries
            .iter()
            .rposition(|e| e.sql == sql && e.params == params && e.made.elapsed() < KEEP)?;
        Some(entries.remove(i).plan)
    }

    /// Forgets every plan (the tables they read were replaced).
    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
