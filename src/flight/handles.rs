//! Stateless tickets and prepared-statement handles (our protobuf messages in
//! proto/), and bound parameters carried inside them as one-row Arrow IPC.
use arrow_flight::sql::{Any, ProstMessageExt, TicketStatementQuery};
use arrow_flight::{IpcMessage, SchemaAsIpc, Ticket};
use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::ipc::reader::StreamDecoder;
use datafusion::arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use datafusion::common::ScalarValue;
use prost::Message;

use super::error::{Error, Result};

/// The generated protobuf types.
#[allow(missing_docs, unreachable_pub, missing_debug_implementations)]
mod proto {
    include!(concat!(env!("OUT_DIR"), "/twitch_monitor.flight.rs"));
}

pub(crate) use proto::{PreparedHandle, StatementTicket};

/// Type URLs of Flight SQL's own messages start with this.
const FLIGHT_SQL_TYPE_PREFIX: &str = "type.googleapis.com/arrow.flight.protocol.sql.";

/// What the bytes of a ticket or command descriptor hold.
#[derive(Debug)]
pub(crate) enum Request {
    /// A Flight SQL protobuf `Any`: let the Flight SQL dispatcher handle it.
    FlightSql,
    /// Plain UTF-8 SQL text (the `pyarrow.flight` convenience).
    Sql(String),
}

/// Tells a Flight SQL `Any` apart from plain SQL text.
pub(crate) fn classify(bytes: &[u8]) -> Result<Request> {
    if let Ok(any) = Any::decode(bytes)
        && any.type_url.starts_with(FLIGHT_SQL_TYPE_PREFIX)
    {
        return Ok(Request::FlightSql);
    }
    match std::str::from_utf8(bytes) {
        Ok(sql) if !sql.trim().is_empty() => Ok(Request::Sql(sql.to_owned())),
        _ => Err(Error::BadRequest(
            "expected a Flight SQL command or UTF-8 SQL text".into(),
        )),
    }
}

impl StatementTicket {
    /// The Flight ticket that runs this statement through DoGet.
    pub(crate) fn to_ticket(&self) -> Ticket {
        let handle = TicketStatementQuery {
            statement_handle: self.encode_to_vec().into(),
        };
        Ticket::new(handle.as_any().encode_to_vec())
    }

    /// Decodes the `statement_handle` of a `TicketStatementQuery`.
    pub(crate) fn from_handle(handle: &[u8]) -> Result<Self> {
        Self::decode(handle)
            .map_err(|e| Error::BadRequest(format!("invalid statement ticket: {e}")))
    }
}

impl PreparedHandle {
    /// Encodes the handle for the client.
    pub(crate) fn to_bytes(&self) -> Bytes {
        self.encode_to_vec().into()
    }

    /// Decodes a handle a client sent back.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes)
            .map_err(|e| Error::BadRequest(format!("invalid prepared statement handle: {e}")))
    }
}

/// Encodes a schema as the IPC message Flight SQL puts in schema fields.
pub(crate) fn schema_bytes(schema: &Schema) -> Result<Bytes> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default()).try_into()?;
    Ok(bytes)
}

/// Encodes one row of parameter values as an Arrow IPC stream.
pub(crate) fn encode_parameters(batch: &RecordBatch) -> Result<Bytes> {
    if batch.num_rows() != 1 {
        return Err(Error::BadRequest(format!(
            "bind exactly one row of parameters, not {} (batch execution is not supported)",
            batch.num_rows()
        )));
    }
    let mut buf = Vec::new();
    let mut writer = StreamWriter::try_new(&mut buf, batch.schema_ref())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(buf.into())
}

/// Decodes parameters stored by [`encode_parameters`] into positional values.
/// The bytes come back from the client, so they may be anything.
pub(crate) fn decode_parameters(ipc: &[u8]) -> Result<Vec<ScalarValue>> {
    if ipc.is_empty() {
        return Ok(Vec::new());
    }
    unless_ipc_panics(|| read_parameters(ipc))
}

/// Runs `decode` over client bytes, turning a panic into a bad request:
/// arrow-ipc 59 panics instead of failing on some malformed messages (an
/// integer type of an unknown bit width, a buffer beyond the body), found by
/// fuzzing (`fuzz/artifacts/flight_params/`).
pub(crate) fn unless_ipc_panics<T>(decode: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .unwrap_or_else(|_| Err(malformed_ipc()))
}

/// The error for Arrow IPC that arrow-ipc could not read without panicking.
pub(crate) fn malformed_ipc() -> Error {
    Error::BadRequest("invalid bound parameters: malformed Arrow IPC".into())
}

/// The first row of the stream's first non-empty batch. A streaming decoder
/// over the bytes in hand: arrow's `StreamReader` allocates whatever lengths
/// a message claims before reading it (up to 2 GiB of metadata, any body
/// size), and a forged handle must not make the server allocate gigabytes.
fn read_parameters(ipc: &[u8]) -> Result<Vec<ScalarValue>> {
    let bad =
        |e: &dyn std::fmt::Display| Error::BadRequest(format!("invalid bound parameters: {e}"));
    let mut decoder = StreamDecoder::new();
    let mut buffer = Buffer::from(ipc);
    while let Some(batch) = decoder.decode(&mut buffer).map_err(|e| bad(&e))? {
        if batch.num_rows() > 0 {
            return batch
                .columns()
                .iter()
                .map(|column| ScalarValue::try_from_array(column, 0).map_err(|e| bad(&e)))
                .collect();
        }
    }
    decoder.finish().map_err(|e| bad(&e))?;
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_flight::sql::CommandStatementQuery;
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn plain_sql_and_flight_sql_commands_are_told_apart() {
        let cmd = CommandStatementQuery {
            query: "SELECT 1".into(),
            transaction_id: None,
        };
        assert!(matches!(
            classify(&cmd.as_any().encode_to_vec()).unwrap(),
            Request::FlightSql
        ));
        assert!(matches!(classify(b"SELECT 1").unwrap(), Request::Sql(s) if s == "SELECT 1"));
        assert!(classify(&[0xff, 0xfe]).is_err());
        assert!(classify(b"  ").is_err());
    }

    #[test]
    fn parameters_round_trip_through_ipc() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x")]));
        let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
        let ipc = encode_parameters(&batch).unwrap();
        assert_eq!(
            decode_parameters(&ipc).unwrap(),
            vec![
                ScalarValue::Int64(Some(7)),
                ScalarValue::Utf8(Some("x".into()))
            ]
        );
        assert!(decode_parameters(b"junk").is_err());
        assert!(decode_parameters(&[]).unwrap().is_empty());
    }

    #[test]
    fn malformed_ipc_is_a_bad_request_never_a_panic() {
        // Every byte of a stored parameter row overwritten in turn: some of
        // these made arrow-ipc panic (found by fuzzing).
        let a: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x")]));
        let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
        let ipc = encode_parameters(&batch).unwrap();
        for at in 0..ipc.len() {
            for value in [0x00, 0x20, 0x7f, 0xff] {
                let mut bad = ipc.to_vec();
                bad[at] = value;
                match decode_parameters(&bad) {
                    Ok(_) | Err(Error::BadRequest(_)) => {}
                    Err(other) => panic!("byte {at} = {value}: {other}"),
                }
            }
        }
        // A message that claims 2 GiB of metadata is refused without
        // reading (or allocating) it.
        let claims = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3];
        assert!(matches!(
            decode_parameters(&claims),
            Err(Error::BadRequest(_))
        ));
    }
}
