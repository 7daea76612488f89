//! The ingest cycle: poll Twitch → bronze → silver → gold (+ live).
//!
//! - [`plan`]: what to poll within the rate-limit budget (pure);
//! - [`poll`]: carries out the plan through the [`crate::twitch::Helix`] seam;
//! - [`sessions`]: time-weighted samples and stream sessions (pure);
//! - [`silver`]: bronze payloads → silver rows (pure; shared by cycles, repair and rebuild);
//! - [`gold`]: the SQL of the gold aggregates for one day;
//! - [`rows`], [`tables`], [`state`]: rows ↔ Arrow batches of the contract schemas.
pub mod gold;
pub mod plan;
pub mod poll;
pub mod rows;
pub mod sessions;
pub mod silver;
pub mod state;
pub mod tables;
