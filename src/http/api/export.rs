//! `GET /api/export/{table}?from=YYYY-MM-DD&to=YYYY-MM-DD&format=…`: one
//! gold table's rows for a day range (both ends included) as CSV, JSON
//! (one object per line), Parquet or an Arrow IPC stream, read through the
//! query engine with the data API's limits and access, of one cycle.
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use datafusion::parquet::arrow::ArrowWriter;
use serde::Deserialize;

use super::encode::{ARROW_STREAM, CYCLE_HEADER};
use super::{Rows, encode};
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

/// The file formats, with their media types.
#[derive(Debug, Clone, Copy)]
enum FileFormat {
    Csv,
    Json,
    Parquet,
    Arrow,
}

impl FileFormat {
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "csv" => Self::Csv,
            "json" => Self::Json,
            "parquet" => Self::Parquet,
            "arrow" => Self::Arrow,
            other => {
                return Err(Error::BadRequest(format!(
                    "format must be csv, json, parquet or arrow, not {other:?}"
                )));
            }
        })
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/x-ndjson",
            Self::Parquet => "application/vnd.apache.parquet",
            Self::Arrow => ARROW_STREAM,
        }
    }
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
    let format = FileFormat::parse(q.format.as_deref().unwrap_or("csv"))?;
    // The dates are parsed values and the table a known name: nothing from
    // the URL reaches the SQL as text.
    let sql = format!(
        "SELECT * FROM twitch.{} WHERE {column} BETWEEN DATE '{from}' AND DATE '{to}'",
        table.qualified_name()
    );
    let sql = sql.as_str();
    let (cycle, rows) = api.consistent(None, || api.rows(sql, &[])).await?;
    let body = match format {
        FileFormat::Arrow => return encode::encode(super::Format::Arrow, cycle, &rows),
        FileFormat::Csv => csv(&rows)?,
        FileFormat::Json => json_lines(&rows)?,
        FileFormat::Parquet => parquet(&rows)?,
    };
    let file = format!(
        "{}_{from}_{to}.{}",
        table.name(),
        q.format.as_deref().unwrap_or("csv")
    );
    let mut response = (
        [
            (header::CONTENT_TYPE, format.media_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from(body),
    )
        .into_response();
    if let Some(c) = cycle
        && let Ok(v) = HeaderValue::from_str(&c.to_string())
    {
        response.headers_mut().insert(CYCLE_HEADER, v);
    }
    Ok(response)
}

fn csv(rows: &Rows) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut out);
        if rows.batches.is_empty() {
            let empty = arrow::array::RecordBatch::new_empty(rows.schema.clone());
            w.write(&csv_ready(&empty)?)?;
        }
        for b in &rows.batches {
            w.write(&csv_ready(b)?)?;
        }
    }
    Ok(out)
}

/// `batch` with its list columns (CSV has none: `gold.chat_daily`'s
/// `top_emotes`) as text, `[a, b]`, in Arrow's own display format.
pub fn csv_ready(
    batch: &arrow::array::RecordBatch,
) -> std::result::Result<arrow::array::RecordBatch, arrow::error::ArrowError> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let schema = batch.schema();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        if !matches!(f.data_type(), DataType::List(_) | DataType::LargeList(_)) {
            fields.push(f.as_ref().clone());
            columns.push(Arc::clone(c));
            continue;
        }
        let shown = ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default())?;
        let text: StringArray = (0..c.len())
            .map(|i| c.is_valid(i).then(|| shown.value(i).to_string()))
            .collect();
        fields.push(Field::new(f.name(), DataType::Utf8, f.is_nullable()));
        columns.push(Arc::new(text));
    }
    arrow::array::RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

fn json_lines(rows: &Rows) -> Result<Vec<u8>> {
    let mut w = arrow::json::LineDelimitedWriter::new(Vec::new());
    for b in &rows.batches {
        w.write(b)?;
    }
    w.finish()?;
    Ok(w.into_inner())
}

fn parquet(rows: &Rows) -> Result<Vec<u8>> {
    let bad = |e: datafusion::parquet::errors::ParquetError| {
        Error::Encode(arrow::error::ArrowError::ExternalError(Box::new(e)))
    };
    let mut w = ArrowWriter::try_new(Vec::new(), rows.schema.clone(), None).map_err(bad)?;
    for b in &rows.batches {
        w.write(b).map_err(bad)?;
    }
    w.into_inner().map_err(bad)
}
