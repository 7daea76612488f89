//! The lake's one error type: every Delta, Arrow and DataFusion failure
//! carries the table and the operation it happened in.
use deltalake::DeltaTableError;
use deltalake::datafusion::error::DataFusionError;

use crate::schema::Table;

/// Result alias for the lake.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake location is neither a usable path nor a supported URL.
    #[error("invalid lake location {location:?}: {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// Why it was refused.
        reason: String,
    },
    /// A local directory for a table could not be created.
    #[error("cannot create lake directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Delta operation on a table failed.
    #[error("{op} on {table} at {location} failed: {source}")]
    Delta {
        /// What was being done (open, create, append, replace, merge, ...).
        op: &'static str,
        /// The table.
        table: Table,
        /// Where the table lives (a URL; never contains credentials).
        location: String,
        /// The underlying error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Planning or running a query over a table failed (includes bad filter SQL).
    #[error("{op} on {table} failed: {source}")]
    Query {
        /// What was being done.
        op: &'static str,
        /// The table.
        table: Table,
        /// The underlying error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// Batches handed to a write do not fit the table's contract schema.
    #[error("batch does not fit the schema of {table}: {source}")]
    BatchSchema {
        /// The table.
        table: Table,
        /// The Arrow error (wrong type, nulls in a non-nullable column, ...).
        #[source]
        source: arrow::error::ArrowError,
    },
    /// An existing table's schema or layout differs from the contract.
    #[error("{table} at {location} does not match the data contract: {reason}")]
    ContractMismatch {
        /// The table.
        table: Table,
        /// Where it lives.
        location: String,
        /// What differs.
        reason: String,
    },
    /// The operation needs something the table does not have.
    #[error("{op} is not supported on {table}: {reason}")]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// The table.
        table: Table,
        /// Why.
        reason: String,
    },
}
