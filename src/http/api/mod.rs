//! The data API under `/api/`: named endpoints with typed parameters (no SQL
//! from the URL), each run through the [`crate::query::QueryEngine`] with
//! Flight SQL's limits, answered as JSON or Arrow IPC; and `POST /api/sql`
//! for authenticated callers, read-only as Flight SQL is.
//!
//! Every answer is of exactly one cycle: a read runs against the catalog and
//! the live snapshot of the published cycle, pinned (`query::Pinned`), so
//! cycles that land meanwhile do not change what it reads. A
//! request may pin the cycle it expects (`cycle=N`); once another cycle is
//! current it gets 409, so a page never mixes two cycles.
mod encode;
mod endpoints;
mod export;
mod sql;
mod streamer;

use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use futures::TryStreamExt;
use serde::de::DeserializeOwned;

pub use endpoints::ENDPOINTS;
pub(crate) use endpoints::index;

use super::DataApi;
use super::error::{Error, Result};
use crate::query::Pinned;

/// Most rows a named endpoint answers with; more is a request to narrow.
const MAX_ROWS: usize = 200_000;
/// Waits for a cycle to be published before a read gives up.
const TRIES: usize = 4;
/// Longest a read waits for a cycle whose live views are swapped in to be
/// published (its catalog refresh takes milliseconds).
const PUBLISH_WAIT: Duration = Duration::from_secs(10);

/// The data routes that need access (see [`super::auth::require`]).
pub(super) fn routes(api: DataApi) -> Router {
    endpoints::routes()
        .route("/sql", post(sql::sql))
        .route("/export/{table}", get(export::export))
        .with_state(api)
}

/// The routes that answer without access: the index and the login.
pub(super) fn open_routes(api: DataApi) -> Router {
    Router::new()
        .route("/", get(endpoints::index))
        .route("/login", post(super::auth::login))
        .route("/logout", post(super::auth::logout))
        .with_state(api.access)
}

/// How an answer is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `{"cycle_id": N, "rows": [{column: value, …}, …]}`.
    Json,
    /// An Arrow IPC stream (`application/vnd.apache.arrow.stream`); the cycle
    /// is in the `x-cycle-id` header.
    Arrow,
}

/// The parameters every endpoint takes.
#[derive(Debug, Clone, Default)]
pub(super) struct Common {
    /// `format=json` (default) or `format=arrow`; an `Accept` of the Arrow
    /// stream type also selects Arrow.
    format: Option<Format>,
    /// `cycle=N`: answer only while N is the current cycle (else 409).
    cycle: Option<i64>,
}

/// An endpoint's parameters from the query string: the [`Common`] ones and
/// the endpoint's own, typed (serde); an unknown or malformed one is a 400.
#[derive(Debug)]
pub(super) struct Params<T> {
    common: Common,
    format: Format,
    own: T,
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| Error::BadRequest(e.to_string());
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|e| bad(&e))?;
        let mut common = Common::default();
        let mut own = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match k.as_str() {
                "format" => {
                    common.format = Some(match v.as_str() {
                        "json" => Format::Json,
                        "arrow" => Format::Arrow,
                        _ => return Err(bad(&"format must be json or arrow")),
                    })
                }
                "cycle" => {
                    common.cycle = Some(v.parse().map_err(|_| bad(&"cycle must be a number"))?)
                }
                _ => own.push((k, v)),
            }
        }
        let own = serde_urlencoded::to_string(own).map_err(|e| bad(&e))?;
        let own: T = serde_urlencoded::from_str(&own).map_err(|e| bad(&e))?;
        let format = common.format.unwrap_or_else(|| negotiate(&parts.headers));
        Ok(Self {
            common,
            format,
            own,
        })
    }
}

fn negotiate(headers: &HeaderMap) -> Format {
    let arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(encode::ARROW_STREAM));
    if arrow { Format::Arrow } else { Format::Json }
}

impl DataApi {
    /// Runs `read` against one cycle: the catalog and the live views as
    /// that cycle published them, pinned, so every statement of the read
    /// answers of that cycle however many cycles land meanwhile. Returns the
    /// cycle with the result; `asked` pins the cycle.
    async fn consistent<T>(
        &self,
        asked: Option<i64>,
        read: impl AsyncFnOnce(Pinned) -> Result<T>,
    ) -> Result<(Option<i64>, T)> {
        let mut cycles = self.cycles.clone();
        for _ in 0..TRIES {
            let published = *cycles.borrow_and_update();
            if let Some(asked) = asked
                && published != Some(asked)
            {
                return Err(Error::StaleCycle {
                    asked,
                    current: published,
                });
            }
            // A cycle swaps in its live views, then refreshes the catalog,
            // then is published. So the catalog is taken first: live views
            // still of the published cycle afterwards mean it had not been
            // refreshed for the next one yet.
            let at = self.engine.pin();
            let live = self.live.snapshot();
            if live.cycle_id() != published {
                // Live views swapped, catalog not refreshed yet: wait for the
                // cycle to be published rather than mix its live rows with
                // the previous cycle's tables.
                let _ = tokio::time::timeout(PUBLISH_WAIT, cycles.changed()).await;
                continue;
            }
            let out = read(at.with_extension(live)).await?;
            return Ok((published, out));
        }
        Err(Error::Unsettled)
    }

    /// Runs one parameterised statement and collects at most [`MAX_ROWS`].
    async fn rows(&self, at: &Pinned, sql: &str, params: &[ScalarValue]) -> Result<Rows> {
        let mut stream = self.engine.execute_pinned(at, sql, params).await?;
        let schema = stream.schema();
        let mut out = Vec::new();
        let mut n = 0;
        while let Some(batch) = stream.try_next().await.map_err(crate::query::Error::from)? {
            n += batch.num_rows();
            if n > MAX_ROWS {
                return Err(Error::BadRequest(format!(
                    "the answer has more than {MAX_ROWS} rows: narrow the range"
                )));
            }
            out.push(batch);
        }
        Ok(Rows {
            schema,
            batches: out,
        })
    }

    /// Reads one statement consistently and encodes it as asked.
    async fn answer(
        &self,
        common: &Common,
        format: Format,
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<Response> {
        let params = &params;
        let (cycle, rows) = self
            .consistent(common.cycle, async |at| self.rows(&at, sql, params).await)
            .await?;
        encode::encode(format, cycle, &rows)
    }
}

/// A collected answer: its schema (kept when there are no rows) and batches.
#[derive(Debug)]
pub(super) struct Rows {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}
