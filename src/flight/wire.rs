//! How results and parameters cross the wire: query batches encoded as Flight
//! data as they are produced, FlightInfo for a result, parameter batches read
//! from DoPut, and the parameter schema told to clients (timestamps in
//! milliseconds, which the JDBC driver needs).
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::sql::server::PeekableFlightDataStream;
use arrow_flight::{FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use tonic::{Request, Status};

use super::error::{Error, Result, external};
use super::handles;
use super::service::DoGetStream;
use crate::query;

/// Largest Flight message the encoder produces (it splits batches to fit).
const MAX_FLIGHT_DATA_SIZE: usize = 2 << 20;

/// The FlightInfo of a result: its exact schema and one endpoint without
/// locations (the client reuses its connection).
pub(crate) fn info(
    schema: &SchemaRef,
    ticket: Ticket,
    descriptor: FlightDescriptor,
) -> Result<FlightInfo> {
    let endpoint = FlightEndpoint::new().with_ticket(ticket);
    Ok(FlightInfo::new()
        .try_with_schema(schema)?
        .with_endpoint(endpoint)
        .with_descriptor(descriptor)
        .with_total_records(-1)
        .with_total_bytes(-1)
        .with_ordered(true))
}

/// Streams query batches as Flight data, batch by batch, as they come.
pub(crate) fn encode(stream: SendableRecordBatchStream) -> DoGetStream {
    let schema = stream.schema();
    let batches = stream.map_err(|e| external(query::Error::from(e)));
    let flight = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .with_max_flight_data_size(MAX_FLIGHT_DATA_SIZE)
        .build(batches)
        .map_err(|e| Status::from(Error::from(e)));
    Box::pin(flight)
}

/// Reads the parameter rows a client binds through DoPut.
pub(crate) async fn read_parameters(
    request: Request<PeekableFlightDataStream>,
) -> Result<Option<RecordBatch>> {
    parameters_from(request.into_inner().map_err(FlightError::from)).await
}

/// The parameter rows in a DoPut's flight data, as one batch (`None` if
/// there are none). A panic of arrow-ipc on the client's bytes is a bad
/// request (see [`handles::unless_ipc_panics`]).
pub(crate) async fn parameters_from(
    flight: impl Stream<Item = Result<FlightData, FlightError>> + Send + 'static,
) -> Result<Option<RecordBatch>> {
    let read = async {
        let mut decoded =
            arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(flight);
        let mut batches = Vec::new();
        while let Some(batch) = decoded.next().await {
            batches.push(batch.map_err(Error::from)?);
        }
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        let batch = concat_batches(&first.schema(), &batches)?;
        Ok((batch.num_rows() > 0).then_some(batch))
    };
    AssertUnwindSafe(read)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(handles::malformed_ipc()))
}

/// The parameter schema told to clients: timestamps as milliseconds. The
/// Flight SQL JDBC driver (18.x, 19.0) writes `setTimestamp`'s epoch
/// milliseconds into whatever timestamp vector the schema names without
/// converting the unit, so a microsecond parameter would land in 1970; a
/// bound value of any unit is cast to the column's own type anyway.
pub(crate) fn advertised_parameters(schema: &SchemaRef) -> SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(_, tz) => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(TimeUnit::Millisecond, tz.clone())),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    #[test]
    fn timestamp_parameters_are_advertised_in_milliseconds() {
        let utc = Some("UTC".into());
        let params = Arc::new(Schema::new(vec![
            Field::new(
                "$1",
                DataType::Timestamp(TimeUnit::Microsecond, utc.clone()),
                true,
            ),
            Field::new("$2", DataType::Int64, true),
            Field::new("$3", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        ]));
        let told = advertised_parameters(&params);
        let types: Vec<_> = told
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Timestamp(TimeUnit::Millisecond, utc),
                DataType::Int64,
                DataType::Timestamp(TimeUnit::Millisecond, None),
            ]
        );
        assert_eq!(told.field(0).name(), "$1");
    }
}
