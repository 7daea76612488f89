//! `GET /api/export/{table}?from=YYYY-MM-DD&to=YYYY-MM-DD&format=…`: one
//! gold table's rows for a day range (both ends included) as CSV, JSON
//! (one object per line), Parquet or an Arrow IPC stream, read through the
//! query engine with the data API's limits and access, of one cycle.
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use futures::TryStreamExt;
use serde::Deserialize;

use super::encode::CYCLE_HEADER;
use crate::export::encode::{Encoder, Encoding};
use crate::http::DataApi;
use crate::http::error::{Error, Result};
use crate::schema::{Layer, Table};

/// Longest day range one request may ask for.
const MAX_DAYS: i64 = 366;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportQuery {
    from: NaiveDate,
    to: Option<NaiveDate>,
    format: Option<String>,
}

pub(super) async fn export(
    State(api): State<DataApi>,
    Path(name): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let table = Table::from_name(&name)
        .filter(|t| t.layer() == Layer::Gold)
        .ok_or_else(|| Error::NotFound(format!("no gold table {name:?}")))?;
    // The day partition, or a state table's `day` column (gold.exports).
    let column = table
        .def()
        .day_partition()
        .or_else(|| {
            table
                .schema()
                .field_with_name("day")
                .is_ok()
                .then_some("day")
        })
        .ok_or_else(|| Error::BadRequest(format!("gold.{name} has no day column")))?;
    let (from, to) = (q.from, q.to.unwrap_or(q.from));
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(Error::BadRequest(format!(
            "from..to must be in order and at most {MAX_DAYS} days"
        )));
    }
    let name_of_format = q.format.as_deref().unwrap_or("csv");
    let encoding = Encoding::parse(name_of_format).ok_or_else(|| {
        Error::BadRequest(format!(
            "format must be csv, json, parquet or arrow, not {name_of_format:?}"
        ))
    })?;
    // The dates are parsed values and the table a known name: nothing from
    // the URL reaches the SQL as text.
    let sql = format!(
        "SELECT * FROM twitch.{} WHERE {column} BETWEEN DATE '{from}' AND DATE '{to}'",
        table.qualified_name()
    );
    let sql = sql.as_str();
    // Planned against one cycle's table versions: the stream reads those
    // files however many cycles commit while it is sent.
    let (cycle, stream) = api
        .consistent(None, async |at| {
            Ok(api.engine.execute_pinned(&at, sql, &[]).await?)
        })
        .await?;
    let encoder = Encoder::new(encoding, stream.schema())?;
    let body = futures::stream::try_unfold(
        (stream, Some(encoder)),
        |(mut stream, encoder)| async move {
            let Some(mut encoder) = encoder else {
                return Ok(None);
            };
            let piece = match stream.try_next().await {
                Ok(Some(batch)) => encoder.push(&batch).map(|b| (b, Some(encoder))),
                // The file's end (Parquet's footer) once every batch is out.
                Ok(None) => encoder.finish().map(|b| (b, None)),
                Err(e) => Err(arrow::error::ArrowError::ExternalError(Box::new(e))),
            };
            match piece {
                Ok((bytes, encoder)) => Ok(Some((bytes, (stream, encoder)))),
                // Cut short: clients see a broken transfer, never a whole-looking file.
                Err(e) => {
                    tracing::warn!("export answer cut short: {e}");
                    Err(std::io::Error::other(e))
                }
            }
        },
    );
    let file = format!("{}_{from}_{to}.{}", table.name(), encoding.extension());
    let mut response = (
        [
            (header::CONTENT_TYPE, encoding.media_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response();
    if let Some(c) = cycle
        && let Ok(v) = HeaderValue::from_str(&c.to_string())
    {
        response.headers_mut().insert(CYCLE_HEADER, v);
    }
    Ok(response)
}
