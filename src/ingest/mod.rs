//! The ingest cycle: poll Twitch → bronze → silver → gold (+ live).
//!
//! - [`plan`]: what to poll within the rate-limit budget (pure);
//! - [`poll`]: carries out the plan through the [`crate::twitch::Helix`] seam;
//! - [`sessions`]: time-weighted samples and stream sessions (pure);
//! - [`silver`]: bronze payloads → silver rows (pure; shared by cycles, repair and rebuild);
//! - [`gold`]: the gold of the days a cycle touched, folded in memory cycle by cycle;
//! - [`pipeline`]: commits a cycle layer by layer, exactly once, and repairs after a crash;
//! - [`rebuild`]: silver and gold recomputed from bronze alone;
//! - [`live`]: what a committed cycle tells the live views; their start-up rebuild;
//! - [`cycle`]: one whole cycle (poll + commit) and its summary line;
//! - [`rows`], [`tables`], [`state`]: rows ↔ Arrow batches of the contract schemas.
pub mod cycle;
pub mod gold;
pub mod live;
pub mod pipeline;
pub mod plan;
pub mod poll;
pub mod rebuild;
pub mod rows;
pub mod sessions;
pub mod silver;
pub mod state;
pub mod tables;

/// What can stop a cycle from committing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake refused a read or a commit.
    #[error(transparent)]
    Lake(#[from] crate::lake::Error),
    /// The live views refused an update (a bug).
    #[error(transparent)]
    Live(#[from] crate::live::Error),
    /// Rows did not fit the contract schema (a bug).
    #[error("building a batch failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A gold or state query failed.
    #[error("query failed: {source}\n{sql}")]
    Sql {
        /// The SQL.
        sql: String,
        /// Why.
        #[source]
        source: datafusion::error::DataFusionError,
    },
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
