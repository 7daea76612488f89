//! Answers as JSON (`{"cycle_id": N, "rows": [...]}`, one object per row,
//! nulls explicit, timestamps RFC 3339) or as an Arrow IPC stream for
//! notebooks (`pyarrow.ipc.open_stream`, `polars.read_ipc_stream`), both
//! written by the Arrow crates rather than by hand.
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::json::writer::JsonArray;

use super::{Format, Rows};
use crate::http::error::Result;

/// The Arrow IPC stream media type.
pub(super) const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// The header carrying the answer's cycle.
pub(crate) const CYCLE_HEADER: &str = "x-cycle-id";

/// Encodes `batches` (of cycle `cycle`) in `format`.
pub(super) fn encode(format: Format, cycle: Option<i64>, rows: &Rows) -> Result<Response> {
    let batches = &rows.batches;
    let mut response = match format {
        Format::Json => {
            let mut body = Vec::with_capacity(256);
            body.extend_from_slice(b"{\"cycle_id\":");
            body.extend_from_slice(cycle.map_or("null".into(), |c| c.to_string()).as_bytes());
            body.extend_from_slice(b",\"rows\":");
            body.extend_from_slice(&json_rows(batches)?);
            body.push(b'}');
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(body),
            )
                .into_response()
        }
        Format::Arrow => (
            [(header::CONTENT_TYPE, ARROW_STREAM)],
            Body::from(arrow_stream(&rows.schema, batches)?),
        )
            .into_response(),
    };
    if let Some(c) = cycle
        && let Ok(v) = HeaderValue::from_str(&c.to_string())
    {
        response.headers_mut().insert(CYCLE_HEADER, v);
    }
    Ok(response)
}

/// The rows as a JSON array of objects.
pub(super) fn json_rows(batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    let out = writer.into_inner();
    // An empty result writes nothing at all.
    Ok(if out.is_empty() { b"[]".to_vec() } else { out })
}

/// The batches as one Arrow IPC stream.
pub(super) fn arrow_stream(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut writer = StreamWriter::try_new(Vec::new(), schema)?;
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    Ok(writer.into_inner()?)
}
