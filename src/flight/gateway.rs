//! The gRPC face of the service: checks authentication on every call, answers
//! Handshake, lets plain UTF-8 SQL tickets and commands through as queries
//! (arrow-flight's dispatcher only accepts protobuf `Any`), serves GetSchema,
//! and hands everything else to the Flight SQL dispatcher.
use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::{Any, Command, CommandPreparedStatementQuery, CommandStatementQuery};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaAsIpc, SchemaResult, Ticket,
};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use futures::Stream;
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::Authenticator;
use super::error::Error;
use super::handles::{self, PreparedHandle, Request as Payload, StatementTicket};
use super::service::SqlService;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Authentication and plain-SQL front of [`SqlService`].
#[derive(Debug)]
pub(crate) struct Gateway {
    sql: SqlService,
    auth: Arc<Authenticator>,
}

impl Gateway {
    pub(crate) fn new(sql: SqlService, auth: Arc<Authenticator>) -> Self {
        Self { sql, auth }
    }

    async fn check(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), Status> {
        self.auth
            .check(metadata)
            .await
            .map(|_| ())
            .map_err(Status::from)
    }
}

fn plain_ticket(sql: String) -> StatementTicket {
    StatementTicket {
        sql,
        parameters_ipc: Default::default(),
    }
}

#[tonic::async_trait]
impl FlightService for Gateway {
    type HandshakeStream = BoxStream<HandshakeResponse>;
    type ListFlightsStream = BoxStream<FlightInfo>;
    type DoGetStream = BoxStream<FlightData>;
    type DoPutStream = BoxStream<PutResult>;
    type DoActionStream = BoxStream<arrow_flight::Result>;
    type ListActionsStream = BoxStream<ActionType>;
    type DoExchangeStream = BoxStream<FlightData>;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        let metadata = request.metadata().clone();
        let mut incoming = request.into_inner();
        let payload = match incoming.message().await {
            Ok(Some(first)) => first.payload,
            _ => Default::default(),
        };
        let token = self.auth.handshake(&metadata, &payload).await?;
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().unwrap_or_default().into(),
        };
        let mut response: Response<Self::HandshakeStream> =
            Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        if let Some(token) = token {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Status::from(Error::Unauthenticated("unusable token".into())))?;
            response.metadata_mut().insert("authorization", value);
        }
        Ok(response)
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        self.check(request.metadata()).await?;
        Err(Status::from(Error::Unsupported("ListFlights".into())))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(request.metadata()).await?;
        match handles::classify(&request.get_ref().cmd)? {
            Payload::Sql(sql) => {
                let descriptor = request.into_inner();
                Ok(Response::new(
                    self.sql
                        .statement_info(plain_ticket(sql), descriptor)
                        .await?,
                ))
            }
            Payload::FlightSql => FlightService::get_flight_info(&self.sql, request).await,
        }
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        self.check(request.metadata()).await?;
        Err(Status::from(Error::Unsupported("PollFlightInfo".into())))
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        self.check(request.metadata()).await?;
        let cmd = &request.get_ref().cmd;
        let ticket = match handles::classify(cmd)? {
            Payload::Sql(sql) => plain_ticket(sql),
            Payload::FlightSql => {
                let any =
                    Any::decode(cmd.as_ref()).map_err(|e| Error::BadRequest(e.to_string()))?;
                match Command::try_from(any).map_err(Error::from)? {
                    Command::CommandStatementQuery(CommandStatementQuery { query, .. }) => {
                        plain_ticket(query)
                    }
                    Command::CommandPreparedStatementQuery(CommandPreparedStatementQuery {
                        prepared_statement_handle,
                    }) => {
                        let h = PreparedHandle::from_bytes(&prepared_statement_handle)?;
                        StatementTicket {
                            sql: h.sql,
                            parameters_ipc: h.parameters_ipc,
                        }
                    }
                    other => {
                        return Err(Status::from(Error::Unsupported(format!(
                            "GetSchema for {}",
                            other.type_url()
                        ))));
                    }
                }
            }
        };
        let schema = self.sql.statement_schema(&ticket).await?;
        let result = SchemaAsIpc::new(&schema, &IpcWriteOptions::default())
            .try_into()
            .map_err(Error::from)?;
        Ok(Response::new(result))
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        self.check(request.metadata()).await?;
        match handles::classify(&request.get_ref().ticket)? {
            Payload::Sql(sql) => Ok(Response::new(self.sql.run(plain_ticket(sql)).await?)),
            Payload::FlightSql => FlightService::do_get(&self.sql, request).await,
        }
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        self.check(request.metadata()).await?;
        FlightService::do_put(&self.sql, request).await
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        self.check(request.metadata()).await?;
        Err(Status::from(Error::Unsupported("DoExchange".into())))
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        self.check(request.metadata()).await?;
        FlightService::do_action(&self.sql, request).await
    }

    async fn list_actions(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        self.check(request.metadata()).await?;
        FlightService::list_actions(&self.sql, request).await
    }
}
