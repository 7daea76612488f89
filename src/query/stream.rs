//! The result stream handed to front ends: batches flow as DataFusion makes
//! them, cast to client-friendly types, bounded by the query's deadline, and
//! holding the query's concurrency slot until the stream ends or is dropped
//! (a client that disconnects drops it, which stops the DataFusion plan).
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use datafusion::error::Result as DfResult;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::{Future, Stream};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::error::Error;

/// The schema a client receives for `schema`: view types become their plain
/// counterparts (`Utf8View` → `Utf8`, `BinaryView` → `Binary`), dictionaries
/// their value type, recursively. Several clients (the JDBC driver up to 18.x
/// among them) cannot read view types.
pub fn client_schema(schema: &Schema) -> SchemaRef {
    let fields: Fields = schema.fields().iter().map(client_field).collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn client_field(field: &FieldRef) -> FieldRef {
    let data_type = client_type(field.data_type());
    if &data_type == field.data_type() {
        Arc::clone(field)
    } else {
        Arc::new(field.as_ref().clone().with_data_type(data_type))
    }
}

fn client_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, value) => client_type(value),
        DataType::List(f) => DataType::List(client_field(f)),
        DataType::LargeList(f) => DataType::LargeList(client_field(f)),
        DataType::ListView(f) => DataType::List(client_field(f)),
        DataType::LargeListView(f) => DataType::LargeList(client_field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(client_field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(client_field).collect()),
        DataType::Map(f, sorted) => DataType::Map(client_field(f), *sorted),
        other => other.clone(),
    }
}

/// Casts `batch` to `target` where column types differ (view → plain).
fn to_client_batch(batch: RecordBatch, target: &SchemaRef) -> DfResult<RecordBatch> {
    if batch.schema_ref().fields() == target.fields() {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(col, field)| {
            if col.data_type() == field.data_type() {
                Ok(Arc::clone(col))
            } else {
                cast(col, field.data_type())
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    // Nullability follows the data: a plan may be more conservative than the batch.
    let fields: Vec<Field> = target
        .fields()
        .iter()
        .zip(batch.schema_ref().fields())
        .map(|(t, b)| {
            t.as_ref()
                .clone()
                .with_nullable(t.is_nullable() || b.is_nullable())
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, target.metadata().clone()));
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        schema, columns, &options,
    )?)
}

/// A [`RecordBatchStream`] with a deadline and a concurrency slot.
pub(crate) struct LimitedStream {
    inner: SendableRecordBatchStream,
    schema: SchemaRef,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
    done: bool,
    _permit: OwnedSemaphorePermit,
    /// Records the outcome when the stream ends (or `cancelled` when dropped early).
    guard: Option<crate::metrics::QueryGuard>,
}

impl std::fmt::Debug for LimitedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitedStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl LimitedStream {
    pub(crate) fn new(
        inner: SendableRecordBatchStream,
        deadline: Instant,
        timeout: Duration,
        permit: OwnedSemaphorePermit,
        guard: crate::metrics::QueryGuard,
    ) -> Self {
        let schema = client_schema(&inner.schema());
        Self {
            inner,
            schema,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            timeout,
            done: false,
            _permit: permit,
            guard: Some(guard),
        }
    }
}

impl LimitedStream {
    fn finish(&mut self, outcome: crate::metrics::Outcome) {
        if let Some(g) = self.guard.take() {
            g.finish(outcome);
        }
    }
}

impl Stream for LimitedStream {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.done = true;
            self.finish(crate::metrics::Outcome::Error);
            return Poll::Ready(Some(Err(Error::Timeout(self.timeout).into_datafusion())));
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(batch))) => Poll::Ready(Some(to_client_batch(batch, &self.schema))),
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                self.finish(crate::metrics::Outcome::Error);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.done = true;
                self.finish(crate::metrics::Outcome::Ok);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl RecordBatchStream for LimitedStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{DictionaryArray, StringViewArray};
    use datafusion::arrow::datatypes::Int32Type;

    #[test]
    fn view_and_dictionary_types_become_plain_for_clients() {
        let schema = Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("b", DataType::BinaryView, false),
            Field::new(
                "d",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
            Field::new_list("l", Field::new_list_field(DataType::Utf8View, true), true),
        ]);
        let client = client_schema(&schema);
        let types: Vec<_> = client
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(types[0], DataType::Utf8);
        assert_eq!(types[1], DataType::Binary);
        assert_eq!(types[2], DataType::Utf8);
        assert_eq!(
            types[3],
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
        );
    }

    #[test]
    fn batches_are_cast_to_the_client_schema() {
        let s: ArrayRef = Arc::new(StringViewArray::from(vec!["a", "b"]));
        let d: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::from_iter(["x", "y"]));
        let batch = RecordBatch::try_from_iter([("s", s), ("d", d)]).unwrap();
        let target = client_schema(batch.schema_ref());
        let out = to_client_batch(batch, &target).unwrap();
        assert_eq!(out.column(0).data_type(), &DataType::Utf8);
        assert_eq!(out.column(1).data_type(), &DataType::Utf8);
        assert_eq!(out.num_rows(), 2);
    }
}
