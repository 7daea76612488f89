//! The ingest cycle: poll Twitch → bronze → silver → gold (+ live), every
//! poll interval, exactly once per cycle.
//!
//! The one path a cycle takes, top to bottom (`docs/architecture.md` draws it):
//!
//! 1. [`runner`]: the [`CycleRunner`] schedules cycles, connects through the
//!    [`source`] seam, polls ([`poll`]: what to ask within the rate-limit
//!    budget, and asking it) into [`CycleInputs`];
//! 2. [`plan`]: the commit plan, a pure function from a cycle's inputs (and
//!    the running state) to its ordered table writes, deriving silver on the
//!    way ([`silver`], [`sessions`]; gold folds in [`gold`]);
//! 3. [`pipeline`]: commits the plan's writes to Delta in order, exactly once
//!    each, and repairs an interrupted cycle at start-up;
//! 4. [`observe`]: the finished cycle — committed or failed — goes to every
//!    consumer (metrics, the live views via [`live`], the query catalog).
//!
//! Chat lines drained from the chat source ride in the same inputs and
//! commit ([`chat`]).
//!
//! [`rebuild`] replays every bronze cycle through the same plan into an
//! [`image`] of the tables (in memory; growing partitions [`spill`] to local
//! disk); [`rows`], [`tables`], [`state`] turn rows into Arrow batches of the
//! contract schemas and back.
mod backlog;
pub mod chat;
pub mod gold;
mod image;
pub mod inputs;
pub mod live;
pub mod observe;
pub mod pipeline;
pub mod plan;
pub mod poll;
pub mod profiles;
pub mod rebuild;
pub mod rows;
pub mod runner;
pub mod sessions;
pub mod silver;
pub mod source;
mod spill;
pub mod state;
pub mod summary;
pub mod tables;

pub use inputs::CycleInputs;
pub use observe::{CycleObserver, FinishedCycle, after_commit};
pub use runner::{CycleRunner, RunnerArgs};
pub use summary::CycleSummary;

/// What can stop a cycle.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Twitch could not be reached or refused the credentials.
    #[error("cannot connect to Twitch: {0}")]
    Connect(#[source] crate::twitch::Error),
    /// The lake refused a read or a commit.
    #[error(transparent)]
    Lake(#[from] crate::lake::Error),
    /// The live views refused an update (a bug).
    #[error(transparent)]
    Live(#[from] crate::live::Error),
    /// Rows did not fit the contract schema (a bug).
    #[error("building a batch failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The in-memory query engine refused a table or plan (a bug).
    #[error("query engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    /// A gold or state query failed.
    #[error("query failed: {source}\n{sql}")]
    Sql {
        /// The SQL.
        sql: String,
        /// Why.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// `rebuild` could not stage rows on local disk (full, not writable).
    #[error("rebuild could not stage rows in {path} (set TMPDIR to a disk with room): {source}")]
    Spill {
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
