//! Daily exports (issue 15): when a UTC day closes, its gold is summarized
//! ([`summary`]) and sent to the configured targets, once per day and
//! target ([`service`], recorded in `gold.exports`: [`record`]).
pub mod encode;
pub mod files;
pub mod load;
pub mod message;
pub mod record;
pub mod service;
pub mod sheets;
pub mod summary;
pub mod target;

pub use load::load;
pub use message::message;
pub use record::{ExportRow, ExportStatus};
pub use service::{ExportService, ExportServiceArgs};
pub use summary::{DailySummary, DayGold, Scope, Sizes, summarize};
pub use target::{DayExport, DayTarget, Delivery, Files, Notified};

/// Errors building or sending an export.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake could not be read.
    #[error(transparent)]
    Lake(#[from] crate::lake::Error),
    /// A read of the day's rows failed or returned rows of the wrong shape.
    #[error("cannot read the day's rows: {0}")]
    Read(String),
    /// `gold.exports` rows could not be built or read.
    #[error("gold.exports rows: {0}")]
    Record(String),
    /// An export file could not be written.
    #[error("cannot write the export: {0}")]
    Write(String),
    /// A target is misconfigured or its workers have stopped.
    #[error("{0}")]
    Target(String),
    /// The notifier could not be set up or fed.
    #[error(transparent)]
    Notify(#[from] crate::notify::Error),
}

/// `Result` for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
