//! Row batches as file bytes, one batch at a time: CSV (with a header,
//! list columns as text), JSON (one object per line), Parquet and an Arrow
//! IPC stream. The export files and the HTTP export endpoint both encode
//! through [`Encoder`]; the endpoint sends each piece as it comes, so an
//! answer of any size streams in bounded memory.
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::writer::StreamWriter;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::Bytes;
use datafusion::parquet::arrow::ArrowWriter;

/// A Parquet row group is closed (and its bytes handed on) once this much
/// is buffered; the rest of a file never sits in memory.
const ROW_GROUP_BYTES: usize = 16 << 20;

/// The media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Comma-separated, a header line first.
    Csv,
    /// One JSON object per line.
    Json,
    /// Apache Parquet.
    Parquet,
    /// An Arrow IPC stream.
    Arrow,
}

impl Encoding {
    /// The encodings by name (`csv`, `json`, `parquet`, `arrow`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "csv" => Self::Csv,
            "json" => Self::Json,
            "parquet" => Self::Parquet,
            "arrow" => Self::Arrow,
            _ => return None,
        })
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Parquet => "parquet",
            Self::Arrow => "arrows",
        }
    }

    /// The media type (`Content-Type`).
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/x-ndjson",
            Self::Parquet => "application/vnd.apache.parquet",
            Self::Arrow => ARROW_STREAM,
        }
    }
}

impl From<crate::config::ExportFormat> for Encoding {
    fn from(f: crate::config::ExportFormat) -> Self {
        use crate::config::ExportFormat as F;
        match f {
            F::Csv => Self::Csv,
            F::Json => Self::Json,
            F::Parquet => Self::Parquet,
        }
    }
}

/// Encodes batches of one schema into one file, a piece per batch.
pub struct Encoder {
    state: State,
}

enum State {
    Csv { schema: SchemaRef, header: bool },
    Json,
    Parquet(ArrowWriter<Vec<u8>>),
    Arrow(StreamWriter<Vec<u8>>),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.state {
            State::Csv { .. } => "csv",
            State::Json => "json",
            State::Parquet(_) => "parquet",
            State::Arrow(_) => "arrow",
        };
        f.debug_struct("Encoder").field("encoding", &kind).finish()
    }
}

fn parquet_error(e: datafusion::parquet::errors::ParquetError) -> ArrowError {
    ArrowError::ExternalError(Box::new(e))
}

impl Encoder {
    /// An encoder of batches of `schema`.
    pub fn new(encoding: Encoding, schema: SchemaRef) -> Result<Self, ArrowError> {
        let state = match encoding {
            Encoding::Csv => State::Csv {
                schema,
                header: true,
            },
            Encoding::Json => State::Json,
            Encoding::Parquet => State::Parquet(
                ArrowWriter::try_new(Vec::new(), schema, None).map_err(parquet_error)?,
            ),
            Encoding::Arrow => State::Arrow(StreamWriter::try_new(Vec::new(), &schema)?),
        };
        Ok(Self { state })
    }

    /// The bytes of `batch` (and of anything the format had buffered).
    pub fn push(&mut self, batch: &RecordBatch) -> Result<Bytes, ArrowError> {
        match &mut self.state {
            State::Csv { header, .. } => {
                let mut out = Vec::new();
                arrow::csv::WriterBuilder::new()
                    .with_header(std::mem::take(header))
                    .build(&mut out)
                    .write(&csv_ready(batch)?)?;
                Ok(out.into())
            }
            State::Json => {
                let mut w = arrow::json::LineDelimitedWriter::new(Vec::new());
                w.write(batch)?;
                w.finish()?;
                Ok(w.into_inner().into())
            }
            State::Parquet(w) => {
                w.write(batch).map_err(parquet_error)?;
                if w.in_progress_size() >= ROW_GROUP_BYTES {
                    w.flush().map_err(parquet_error)?;
                }
                // The writer counts what it wrote itself: taking the bytes
                // out of its buffer leaves its offsets right.
                Ok(std::mem::take(w.inner_mut()).into())
            }
            State::Arrow(w) => {
                w.write(batch)?;
                Ok(std::mem::take(w.get_mut()).into())
            }
        }
    }

    /// The file's last bytes (a CSV header when no batch came, Parquet's
    /// footer, the Arrow stream's end marker).
    pub fn finish(self) -> Result<Bytes, ArrowError> {
        match self.state {
            State::Csv { schema, header } => {
                if !header {
                    return Ok(Bytes::new());
                }
                // A header alone says which columns there would be.
                let mut out = Vec::new();
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out)
                    .write(&csv_ready(&RecordBatch::new_empty(schema))?)?;
                Ok(out.into())
            }
            State::Json => Ok(Bytes::new()),
            State::Parquet(w) => Ok(w.into_inner().map_err(parquet_error)?.into()),
            State::Arrow(mut w) => {
                w.finish()?;
                Ok(w.into_inner()?.into())
            }
        }
    }
}

/// `batches` (all of `schema`) as one whole file.
pub fn encode_all(
    encoding: Encoding,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, ArrowError> {
    let schema = batches.first().map_or(schema, RecordBatch::schema);
    let mut encoder = Encoder::new(encoding, schema)?;
    let mut out = Vec::new();
    for b in batches {
        out.extend_from_slice(&encoder.push(b)?);
    }
    out.extend_from_slice(&encoder.finish()?);
    Ok(out)
}

/// `batch` with its list columns (CSV has none: `gold.chat_daily`'s
/// `top_emotes`) as text, `[a, b]`, in Arrow's own display format.
pub fn csv_ready(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
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
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, ListBuilder, StringBuilder};

    fn batch(from: i64, n: i64) -> RecordBatch {
        let mut tags = ListBuilder::new(StringBuilder::new());
        for i in from..from + n {
            tags.values().append_value(format!("t{i}"));
            tags.append(true);
        }
        RecordBatch::try_from_iter([
            (
                "n",
                Arc::new(Int64Array::from_iter_values(from..from + n)) as ArrayRef,
            ),
            ("tags", Arc::new(tags.finish()) as ArrayRef),
        ])
        .unwrap()
    }

    /// The pieces of every batch and the end, as one file.
    fn streamed(encoding: Encoding, batches: &[RecordBatch]) -> Vec<u8> {
        let mut e = Encoder::new(encoding, batches[0].schema()).unwrap();
        let mut out = Vec::new();
        for b in batches {
            out.extend_from_slice(&e.push(b).unwrap());
        }
        out.extend_from_slice(&e.finish().unwrap());
        out
    }

    #[test]
    fn pieces_make_files_readers_take_whole() {
        let batches = [batch(0, 3), batch(3, 4)];
        let parquet = streamed(Encoding::Parquet, &batches);
        let read: Vec<RecordBatch> =
            datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
                bytes::Bytes::from(parquet),
                1024,
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);

        let arrow = streamed(Encoding::Arrow, &batches);
        let read: Vec<RecordBatch> =
            arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(arrow), None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(read, batches);

        let csv = String::from_utf8(streamed(Encoding::Csv, &batches)).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        // One header, lists as text.
        assert_eq!(lines.len(), 8, "{csv}");
        assert_eq!(lines[0], "n,tags");
        assert_eq!(lines[1], "0,[t0]");
        let json = String::from_utf8(streamed(Encoding::Json, &batches)).unwrap();
        assert_eq!(json.lines().count(), 7);
    }

    #[test]
    fn no_rows_is_a_header_alone_in_csv() {
        let e = Encoder::new(Encoding::Csv, batch(0, 1).schema()).unwrap();
        assert_eq!(e.finish().unwrap(), "n,tags\n");
    }
}
