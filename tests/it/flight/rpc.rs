//! RPC-level behaviour through arrow-flight's Rust clients: the JDBC driver's
//! call sequence, authentication, error codes, read-only refusals.
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, BinaryArray, Int64Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::DataType;
use arrow::util::pretty::pretty_format_batches;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{
    CommandGetTables, CommandStatementIngest, CommandStatementQuery, ProstMessageExt,
};
use arrow_flight::{FlightDescriptor, FlightInfo, HandshakeRequest, Ticket};
use futures::TryStreamExt;
use prost::Message;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use twitch_monitor::config::FlightAuth;

use super::{PASSWORD, TOKEN, TestServer, flight_config};

pub(crate) async fn channel(port: u16) -> Channel {
    Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

pub(crate) async fn fetch(
    client: &mut FlightSqlServiceClient<Channel>,
    info: FlightInfo,
) -> Vec<RecordBatch> {
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    client
        .do_get(ticket)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

fn table(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

/// A raw request carrying `authorization: <header>` (if any).
fn with_auth<T>(msg: T, header: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(h) = header {
        req.metadata_mut()
            .insert("authorization", h.parse().unwrap());
    }
    req
}

fn statement(sql: &str) -> FlightDescriptor {
    let cmd = CommandStatementQuery {
        query: sql.into(),
        transaction_id: None,
    };
    FlightDescriptor::new_cmd(cmd.as_any().encode_to_vec())
}

async fn handshake_status(
    port: u16,
    header: Option<&str>,
) -> Result<Option<String>, tonic::Status> {
    let mut raw = FlightServiceClient::new(channel(port).await);
    let hello = futures::stream::iter([HandshakeRequest::default()]);
    let resp = raw.handshake(with_auth(hello, header)).await?;
    let token = resp
        .metadata()
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let _: Vec<_> = resp.into_inner().try_collect().await?;
    Ok(token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jdbc_driver_call_sequence_works() {
    let server = TestServer::start(flight_config(FlightAuth::Basic)).await;
    let mut client = FlightSqlServiceClient::new(channel(server.port()).await);
    // Basic handshake: the bearer comes back in the `authorization` header.
    let payload = client.handshake("alice", PASSWORD).await.unwrap();
    let token = client
        .token()
        .cloned()
        .expect("bearer token in the response header");
    assert_eq!(payload, token.as_bytes());

    // GetSqlInfo with no ids: every key the JDBC driver reads.
    let info = client.get_sql_info(vec![]).await.unwrap();
    let batches = fetch(&mut client, info).await;
    let ids: Vec<u32> = batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<UInt32Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    let wanted = (0..=11).chain([100, 101]).chain(500..=576);
    for id in wanted {
        assert!(ids.contains(&id), "SqlInfo {id} missing");
    }

    // Prepared statement: non-empty dataset schema, parameter schema, bind, run.
    let sql =
        "SELECT login, value FROM twitch.gold.leaderboard_daily WHERE rank <= ? ORDER BY rank";
    let mut stmt = client.prepare(sql.into(), None).await.unwrap();
    let dataset = stmt.dataset_schema().unwrap().clone();
    assert_eq!(dataset.fields().len(), 2);
    assert_eq!(dataset.field(0).data_type(), &DataType::Utf8);
    assert_eq!(
        stmt.parameter_schema().unwrap().field(0).data_type(),
        &DataType::Int64
    );
    let params =
        RecordBatch::try_from_iter([("p", Arc::new(Int64Array::from(vec![2])) as _)]).unwrap();
    stmt.set_parameters(params).unwrap();
    let info = stmt.execute().await.unwrap();
    assert!(info.endpoint[0].location.is_empty());
    let schema = info.clone().try_decode_schema().unwrap();
    let batches = fetch(&mut client, info).await;
    assert_eq!(batches[0].schema().fields(), schema.fields());
    assert_eq!(
        table(&batches),
        "+-------+-------+\n| login | value |\n+-------+-------+\n| alpha | 300.0 |\n| bravo | 200.0 |\n+-------+-------+"
    );

    // GetTables with include_schema: table_schema carries the columns.
    let request = CommandGetTables {
        catalog: Some("twitch".into()),
        db_schema_filter_pattern: Some("gold".into()),
        table_name_filter_pattern: Some("leader%".into()),
        table_types: vec!["TABLE".into()],
        include_schema: true,
    };
    let info = client.get_tables(request).await.unwrap();
    let batches = fetch(&mut client, info).await;
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 1);
    let names = batch
        .column_by_name("table_name")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(names.value(0), "leaderboard_daily");
    let schemas = batch
        .column_by_name("table_schema")
        .unwrap()
        .as_any()
        .downcast_ref::<BinaryArray>()
        .unwrap();
    let columns = arrow::ipc::convert::try_schema_from_ipc_buffer(schemas.value(0)).unwrap();
    assert_eq!(
        columns.field_with_name("login").unwrap().data_type(),
        &DataType::Utf8
    );
    stmt.close().await.unwrap();

    // Metadata commands that must answer, even if empty.
    for info in [
        client.get_table_types().await.unwrap(),
        client.get_catalogs().await.unwrap(),
        client.get_xdbc_type_info(Default::default()).await.unwrap(),
        client.get_primary_keys(Default::default()).await.unwrap(),
        client.get_exported_keys(Default::default()).await.unwrap(),
        client.get_imported_keys(Default::default()).await.unwrap(),
    ] {
        let schema = info.clone().try_decode_schema().unwrap();
        let batches = fetch(&mut client, info).await;
        assert!(
            batches
                .iter()
                .all(|b| b.schema().fields() == schema.fields())
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_only_handshake_and_token_queries() {
    let server = TestServer::start(flight_config(FlightAuth::Basic)).await;
    let bearer = format!("Bearer {TOKEN}");
    let echoed = handshake_status(server.port(), Some(&bearer))
        .await
        .unwrap();
    assert_eq!(echoed.as_deref(), Some(bearer.as_str()));
    let mut client = FlightSqlServiceClient::new(channel(server.port()).await);
    client.set_token(TOKEN.into());
    let info = client
        .execute("SELECT 1 AS one".into(), None)
        .await
        .unwrap();
    assert_eq!(fetch(&mut client, info).await[0].num_rows(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_missing_and_expired_credentials_are_unauthenticated() {
    let server = TestServer::start(flight_config(FlightAuth::Basic)).await;
    let port = server.port();
    let wrong = format!("Basic {}", base64_encode("alice:wrong"));
    let err = handshake_status(port, Some(&wrong)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    let err = handshake_status(port, None).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");

    let mut raw = FlightServiceClient::new(channel(port).await);
    let err = raw
        .get_flight_info(with_auth(statement("SELECT 1"), None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");

    // A ticket obtained with a valid token is re-checked at DoGet.
    let login = format!("Basic {}", base64_encode(&format!("alice:{PASSWORD}")));
    let bearer = handshake_status(port, Some(&login)).await.unwrap().unwrap();
    let info = raw
        .get_flight_info(with_auth(statement("SELECT 1"), Some(&bearer)))
        .await
        .unwrap();
    let ticket = info.into_inner().endpoint[0].ticket.clone().unwrap();
    let err = raw
        .do_get(with_auth(ticket.clone(), None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    raw.do_get(with_auth(ticket.clone(), Some(&bearer)))
        .await
        .unwrap();

    // Past its lifetime the issued token stops working.
    server.clock.advance(Duration::from_secs(601));
    let err = raw
        .do_get(with_auth(ticket, Some(&bearer)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("expired"), "{err}");
    server.stop().await;
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_to_the_right_codes_and_writes_are_refused() {
    let server = TestServer::start(flight_config(FlightAuth::None)).await;
    let mut raw = FlightServiceClient::new(channel(server.port()).await);
    for (sql, code) in [
        ("SELEC 1", Code::InvalidArgument),
        (
            "SELECT nope FROM gold.leaderboard_daily",
            Code::InvalidArgument,
        ),
        ("SELECT * FROM gold.nope", Code::NotFound),
        ("CREATE TABLE gold.t (a INT)", Code::PermissionDenied),
        (
            "COPY (SELECT 1) TO '/tmp/tm-flight-never.csv'",
            Code::PermissionDenied,
        ),
    ] {
        let err = raw.get_flight_info(statement(sql)).await.unwrap_err();
        assert_eq!(err.code(), code, "{sql}: {err}");
    }
    let err = raw.get_flight_info(statement("SELEC 1")).await.unwrap_err();
    assert!(
        err.message().contains("SELEC"),
        "engine message kept: {err}"
    );
    assert!(!std::path::Path::new("/tmp/tm-flight-never.csv").exists());

    let mut client = FlightSqlServiceClient::new(channel(server.port()).await);
    let err = client
        .execute_update("INSERT INTO gold.t VALUES (1)".into(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("PermissionDenied") || err.to_string().contains("read-only"),
        "{err}"
    );
    let err = client
        .prepare("DROP TABLE gold.leaderboard_daily".into(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    let ingest = CommandStatementIngest {
        table: "t".into(),
        ..Default::default()
    };
    let batch =
        RecordBatch::try_from_iter([("a", Arc::new(Int64Array::from(vec![1])) as _)]).unwrap();
    let err = client
        .execute_ingest(ingest, futures::stream::iter([Ok(batch)]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");

    // GetSchema answers for plain SQL and Flight SQL commands alike.
    let schema = raw
        .get_schema(FlightDescriptor::new_cmd(
            "SELECT login FROM gold.leaderboard_daily",
        ))
        .await
        .unwrap();
    let schema = arrow::datatypes::Schema::try_from(&schema.into_inner()).unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
    raw.get_schema(statement("SELECT 1")).await.unwrap();

    // A ticket that is neither Flight SQL nor UTF-8 is a client mistake.
    let err = raw
        .do_get(Ticket::new(vec![0xff, 0xfe, 0x00]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    server.stop().await;
}
