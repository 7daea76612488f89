//! `POST /api/sql`: one read-only SQL statement from an authenticated caller
//! (the body is the SQL, or JSON `{"sql": "...", "params": [...]}` with
//! positional `?`/`$n` values), through the same engine, policy and limits
//! as Flight SQL. Never from the URL, and never for anonymous callers: on an
//! unauthenticated server the named endpoints are the API.
//!
//! Unlike the named endpoints the answer streams as the engine produces it
//! (JSON or Arrow IPC), so it is of the cycle current when it started.
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::common::ScalarValue;
use futures::StreamExt;
use serde::Deserialize;

use super::encode::{ARROW_STREAM, CYCLE_HEADER, json_rows};
use super::{Format, negotiate};
use crate::http::DataApi;
use crate::http::auth::Caller;
use crate::http::error::{Error, Result};

/// The JSON form of a request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    sql: String,
    #[serde(default)]
    params: Vec<serde_json::Value>,
    format: Option<String>,
}

pub(super) async fn sql(
    State(api): State<DataApi>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    if caller == Caller::Anonymous {
        return Err(Error::Forbidden(
            "SQL over HTTP needs authentication (TM_FLIGHT_AUTH); use the named endpoints \
             under /api/ or Flight SQL"
                .into(),
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request = if is_json {
        serde_json::from_slice::<SqlRequest>(&body)
            .map_err(|e| Error::BadRequest(format!("malformed request: {e}")))?
    } else {
        SqlRequest {
            sql: String::from_utf8(body.to_vec())
                .map_err(|_| Error::BadRequest("the SQL is not UTF-8".into()))?,
            params: Vec::new(),
            format: None,
        }
    };
    let format = match request.format.as_deref() {
        None => negotiate(&headers),
        Some("json") => Format::Json,
        Some("arrow") => Format::Arrow,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "format must be json or arrow, not {other}"
            )));
        }
    };
    let params = request
        .params
        .iter()
        .map(scalar)
        .collect::<Result<Vec<_>>>()?;
    let cycle = *api.cycles.borrow();
    let stream = api.engine.execute(&request.sql, &params).await?;
    let schema = stream.schema();
    let body = match format {
        Format::Arrow => {
            // One chunk per IPC message: the schema, each batch as it
            // arrives, then the end-of-stream marker.
            let mut writer = StreamWriter::try_new(Vec::new(), &schema)?;
            let head = std::mem::take(writer.get_mut());
            let batches = futures::stream::unfold(
                (stream, Some(writer)),
                |(mut stream, writer)| async move {
                    let mut w = writer?;
                    let err = |e: datafusion::arrow::error::ArrowError| std::io::Error::other(e);
                    let (written, more) = match stream.next().await {
                        Some(Ok(b)) => (w.write(&b).map_err(err), true),
                        Some(Err(e)) => (Err(std::io::Error::other(e)), false),
                        None => (w.finish().map_err(err), false),
                    };
                    let chunk = written.map(|()| std::mem::take(w.get_mut()));
                    let more = more && chunk.is_ok();
                    Some((chunk, (stream, more.then_some(w))))
                },
            );
            Body::from_stream(futures::stream::once(async { Ok(head) }).chain(batches))
        }
        Format::Json => {
            let head = format!(
                "{{\"cycle_id\":{},\"rows\":[",
                cycle.map_or("null".into(), |c| c.to_string())
            );
            let mut first = true;
            let rows = stream.map(move |b| -> Result<Vec<u8>, std::io::Error> {
                let b = b.map_err(std::io::Error::other)?;
                let array = json_rows(&[b]).map_err(std::io::Error::other)?;
                // `[a,b]` → `a,b`, comma-joined to the rows before.
                let inner = &array[1..array.len() - 1];
                let mut out = Vec::with_capacity(inner.len() + 1);
                if !inner.is_empty() {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(inner);
                }
                Ok(out)
            });
            let tail = futures::stream::once(async { Ok(b"]}".to_vec()) });
            Body::from_stream(
                futures::stream::once(async move { Ok(head.into_bytes()) })
                    .chain(rows)
                    .chain(tail),
            )
        }
    };
    let content_type = match format {
        Format::Arrow => ARROW_STREAM,
        Format::Json => "application/json",
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(c) = cycle
        && let Ok(v) = HeaderValue::from_str(&c.to_string())
    {
        response.headers_mut().insert(CYCLE_HEADER, v);
    }
    Ok(response)
}

/// A JSON parameter value as the engine's scalar (integers as Int64,
/// other numbers as Float64); the engine casts it to the type the
/// statement expects.
fn scalar(v: &serde_json::Value) -> Result<ScalarValue> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int64(Some(i)),
            None => ScalarValue::Float64(n.as_f64()),
        },
        Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
        other => {
            return Err(Error::BadRequest(format!(
                "parameters are null, booleans, numbers or strings, not {other}"
            )));
        }
    })
}
