//! Flight SQL bytes through the service as a client's call delivers them:
//! descriptor commands and tickets (`Any`-wrapped protobufs or plain SQL),
//! action bodies, prepared-statement handles, and bound parameters (Arrow
//! IPC). Queries are planned, never run.
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, Any, Command, CommandPreparedStatementQuery,
    ProstMessageExt,
};
use arrow_flight::{Action, FlightData, FlightDescriptor, Ticket};
use bytes::Bytes;
use datafusion::arrow::ipc::root_as_message;
use futures::{Stream, StreamExt};
use prost::Message;
use tonic::Request;

use super::world::world;
use crate::flight::{
    Gateway, PreparedHandle, decode_parameters, encode_parameters, parameters_from,
};

/// The action types Flight SQL defines (`DoAction`); each body is an `Any`.
const ACTIONS: [&str; 9] = [
    "CreatePreparedStatement",
    "ClosePreparedStatement",
    "CreatePreparedSubstraitPlan",
    "BeginTransaction",
    "EndTransaction",
    "BeginSavepoint",
    "EndSavepoint",
    "CancelQuery",
    "NoSuchAction",
];

/// Type URLs of Flight SQL's own messages start with this.
const FLIGHT_SQL: &str = "type.googleapis.com/arrow.flight.protocol.sql.";

/// Sends `data` as the command of GetFlightInfo and GetSchema, as a DoGet
/// ticket (unless it would run a query), and as the body of every action.
pub fn flight_command(data: &[u8]) {
    let world = world();
    let g = &world.gateway;
    world.block_on(async {
        describe(g, data.to_vec()).await;
        if !runs_a_query(data)
            && let Ok(r) = g.do_get(Request::new(Ticket::new(data.to_vec()))).await
        {
            drain(r.into_inner()).await;
        }
        for kind in ACTIONS {
            let action = Action::new(kind, data.to_vec());
            if let Ok(r) = g.do_action(Request::new(action)).await {
                drain(r.into_inner()).await;
            }
        }
    });
}

/// Sends `data` as a prepared-statement handle, the way a client hands one
/// back: in GetFlightInfo/GetSchema commands and ClosePreparedStatement.
/// (Statement tickets have the same two fields and decoder, but DoGet on
/// one runs it.)
pub fn flight_handle(data: &[u8]) {
    let world = world();
    let g = &world.gateway;
    let handle = Bytes::copy_from_slice(data);
    world.block_on(async {
        describe(g, prepared(handle.clone())).await;
        let close = ActionClosePreparedStatementRequest {
            prepared_statement_handle: handle,
        };
        let action = Action::new("ClosePreparedStatement", close.as_any().encode_to_vec());
        if let Ok(r) = g.do_action(Request::new(action)).await {
            drain(r.into_inner()).await;
        }
    });
}

/// Reads `data` as bound parameters (an Arrow IPC stream): as DoPut's
/// flight data (the stream's messages) are read and stored in a handle, and
/// as a handle's stored parameters are bound to a statement with that many
/// placeholders when it is planned.
pub fn flight_params(data: &[u8]) {
    let world = world();
    world.block_on(async {
        let flight = futures::stream::iter(flight_data(data).into_iter().map(Ok));
        if let Ok(Some(batch)) = parameters_from(flight).await
            && let Ok(stored) = encode_parameters(&batch)
        {
            // Read back as a handle's parameters (a type no scalar holds
            // fails here, as a bad request, not when stored).
            if let Ok(values) = decode_parameters(&stored) {
                assert_eq!(values.len(), batch.num_columns(), "a value per column");
            }
        }
        let Ok(values) = decode_parameters(data) else {
            return;
        };
        let handle = PreparedHandle {
            sql: statement(values.len()),
            parameters_ipc: Bytes::copy_from_slice(data),
        };
        describe(&world.gateway, prepared(handle.to_bytes())).await;
    });
}

/// Cuts an Arrow IPC stream into the flight data a client would send: per
/// message, its flatbuffer header and its body (as long as the header says,
/// or what is left). Stops at the end-of-stream mark or at anything else.
fn flight_data(mut ipc: &[u8]) -> Vec<FlightData> {
    let mut out = Vec::new();
    while let Some(rest) = ipc.strip_prefix(&[0xff; 4])
        && let Some((len, rest)) = rest.split_first_chunk::<4>()
        && let Ok(len @ 1..) = usize::try_from(i32::from_le_bytes(*len))
        && let Some((header, rest)) = rest.split_at_checked(len)
    {
        let body = root_as_message(header)
            .ok()
            .and_then(|m| usize::try_from(m.bodyLength()).ok())
            .unwrap_or(0)
            .min(rest.len());
        let (body, rest) = rest.split_at(body);
        out.push(FlightData {
            data_header: Bytes::copy_from_slice(header),
            data_body: Bytes::copy_from_slice(body),
            ..FlightData::default()
        });
        ipc = rest;
    }
    out
}

/// GetFlightInfo and GetSchema of a descriptor with command `cmd`.
async fn describe(g: &Gateway, cmd: Vec<u8>) {
    let descriptor = FlightDescriptor::new_cmd(cmd);
    let _ = g.get_flight_info(Request::new(descriptor.clone())).await;
    let _ = g.get_schema(Request::new(descriptor)).await;
}

/// The command that names a prepared statement by its handle.
fn prepared(handle: Bytes) -> Vec<u8> {
    let cmd = CommandPreparedStatementQuery {
        prepared_statement_handle: handle,
    };
    cmd.as_any().encode_to_vec()
}

/// Whether DoGet with this ticket would run a query (plain SQL, a statement
/// ticket or a prepared statement): their planning is what GetFlightInfo
/// covers; running them is not a decoding surface.
fn runs_a_query(ticket: &[u8]) -> bool {
    match Any::decode(ticket) {
        Ok(any) if any.type_url.starts_with(FLIGHT_SQL) => matches!(
            Command::try_from(any),
            Ok(Command::TicketStatementQuery(_)
                | Command::CommandStatementQuery(_)
                | Command::CommandPreparedStatementQuery(_))
        ),
        // Plain SQL runs; anything else is refused by the same check
        // GetFlightInfo makes first.
        _ => true,
    }
}

/// A statement with `n` placeholders, typed by the columns they meet where
/// there are few (timestamp, text, integer, float, date), else untyped.
fn statement(n: usize) -> String {
    const TYPED: [&str; 5] = [
        "observed_at >= $1",
        "user_login = $2",
        "viewer_count > $3",
        "interval_seconds < $4",
        "observed_date = $5",
    ];
    match n {
        0 => "SELECT count(*) FROM twitch.silver.stream_snapshots".to_owned(),
        1..=5 => format!(
            "SELECT user_login FROM twitch.silver.stream_snapshots WHERE {}",
            TYPED[..n].join(" AND ")
        ),
        _ => {
            let list: Vec<String> = (1..=n.min(64)).map(|i| format!("${i}")).collect();
            format!("SELECT {}", list.join(", "))
        }
    }
}

/// Reads a response stream to its end (metadata and action results are
/// small and already computed).
async fn drain<T>(stream: impl Stream<Item = T>) {
    let mut stream = std::pin::pin!(stream);
    while stream.next().await.is_some() {}
}
