//! The Flight SQL commands: statement queries, prepared statements (stateless:
//! the SQL and bound parameters travel in the handle), metadata, and the
//! refusal of everything that would write.
use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, XdbcTypeInfoData};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionBeginSavepointRequest, ActionBeginSavepointResult, ActionBeginTransactionRequest,
    ActionBeginTransactionResult, ActionCancelQueryRequest, ActionCancelQueryResult,
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, ActionCreatePreparedSubstraitPlanRequest,
    ActionEndSavepointRequest, ActionEndTransactionRequest, Any, Command, CommandGetCatalogs,
    CommandGetCrossReference, CommandGetDbSchemas, CommandGetExportedKeys, CommandGetImportedKeys,
    CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandGetXdbcTypeInfo, CommandPreparedStatementQuery, CommandPreparedStatementUpdate,
    CommandStatementIngest, CommandStatementQuery, CommandStatementSubstraitPlan,
    CommandStatementUpdate, DoPutPreparedStatementResult, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{FlightData, FlightDescriptor, FlightInfo, Ticket};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::{Stream, TryStreamExt};
use tonic::{Request, Response, Status};

use super::error::{Error, Result};
use super::handles::{self, PreparedHandle, StatementTicket};
use super::metadata;
use super::sql_info;
use super::wire::{advertised_parameters, encode, info, read_parameters};
use crate::query::QueryEngine;

/// The stream type of DoGet responses.
pub(crate) type DoGetStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send>>;

/// The Flight SQL command handlers over a [`QueryEngine`].
#[derive(Clone)]
pub(crate) struct SqlService {
    engine: QueryEngine,
    sql_info: Arc<SqlInfoData>,
    xdbc: Arc<XdbcTypeInfoData>,
}

impl std::fmt::Debug for SqlService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlService")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl SqlService {
    pub(crate) fn new(engine: QueryEngine) -> Result<Self> {
        let sql_info = Arc::new(sql_info::sql_info(&engine.function_names())?);
        let xdbc = Arc::new(sql_info::xdbc_types()?);
        Ok(Self {
            engine,
            sql_info,
            xdbc,
        })
    }

    /// FlightInfo for a SQL statement: its exact result schema and one
    /// endpoint without locations (the client reuses its connection).
    pub(crate) async fn statement_info(
        &self,
        ticket: StatementTicket,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo> {
        let params = handles::decode_parameters(&ticket.parameters_ipc)?;
        let schema = self.engine.schema(&ticket.sql, &params).await?;
        info(&schema, ticket.to_ticket(), descriptor)
    }

    /// Runs a statement and streams its batches as Flight data.
    pub(crate) async fn run(&self, ticket: StatementTicket) -> Result<DoGetStream> {
        let params = handles::decode_parameters(&ticket.parameters_ipc)?;
        tracing::debug!(sql = %ticket.sql, params = params.len(), "flight query");
        let stream = self.engine.execute(&ticket.sql, &params).await?;
        Ok(encode(stream))
    }

    /// The result schema of a statement, for GetSchema.
    pub(crate) async fn statement_schema(&self, ticket: &StatementTicket) -> Result<SchemaRef> {
        let params = handles::decode_parameters(&ticket.parameters_ipc)?;
        Ok(self.engine.schema(&ticket.sql, &params).await?)
    }

    async fn metadata_batch(&self, command: &Command) -> Result<RecordBatch> {
        metadata::batch(&self.engine, &self.sql_info, &self.xdbc, command).await
    }

    /// FlightInfo for a metadata command: the ticket is the command itself.
    fn metadata_info(
        &self,
        command: Command,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>> {
        let schema = metadata::schema(&self.sql_info, &self.xdbc, &command)?;
        let ticket = Ticket::new(prost::Message::encode_to_vec(&command.into_any()));
        Ok(Response::new(info(&schema, ticket, descriptor)?))
    }

    async fn metadata_get(&self, command: Command) -> Result<Response<DoGetStream>> {
        let batch = self.metadata_batch(&command).await?;
        let schema = batch.schema();
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async { Ok(batch) }))
            .map_err(|e| Status::from(Error::from(e)));
        Ok(Response::new(Box::pin(stream)))
    }
}

fn read_only(what: &str) -> Status {
    Status::from(Error::ReadOnly(format!(
        "{what} is not allowed: this server only answers queries"
    )))
}

fn unsupported(what: &str) -> Status {
    Status::from(Error::Unsupported(what.to_owned()))
}

#[tonic::async_trait]
impl FlightSqlService for SqlService {
    type FlightService = SqlService;

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = StatementTicket {
            sql: query.query,
            parameters_ipc: Default::default(),
        };
        Ok(Response::new(
            self.statement_info(ticket, request.into_inner()).await?,
        ))
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let handle = PreparedHandle::from_bytes(&query.prepared_statement_handle)?;
        let ticket = StatementTicket {
            sql: handle.sql,
            parameters_ipc: handle.parameters_ipc,
        };
        Ok(Response::new(
            self.statement_info(ticket, request.into_inner()).await?,
        ))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ticket = StatementTicket::from_handle(&ticket.statement_handle)?;
        Ok(Response::new(self.run(ticket).await?))
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let handle = PreparedHandle::from_bytes(&query.prepared_statement_handle)?;
        let ticket = StatementTicket {
            sql: handle.sql,
            parameters_ipc: handle.parameters_ipc,
        };
        Ok(Response::new(self.run(ticket).await?))
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let prepared = self
            .engine
            .prepare(&query.query)
            .await
            .map_err(Error::from)?;
        let handle = PreparedHandle {
            sql: prepared.sql,
            parameters_ipc: Default::default(),
        };
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.to_bytes(),
            // Always filled: the JDBC driver treats an empty one as an update.
            dataset_schema: handles::schema_bytes(&prepared.schema)?,
            parameter_schema: handles::schema_bytes(&advertised_parameters(&prepared.parameters))?,
        })
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let mut handle = PreparedHandle::from_bytes(&query.prepared_statement_handle)?;
        handle.parameters_ipc = match read_parameters(request).await? {
            Some(batch) => handles::encode_parameters(&batch)?,
            None => Default::default(),
        };
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle.to_bytes()),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        // Nothing is held per statement; only check the handle is ours.
        PreparedHandle::from_bytes(&query.prepared_statement_handle)?;
        Ok(())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetCatalogs(query), request.into_inner())?)
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetDbSchemas(query), request.into_inner())?)
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetTables(query), request.into_inner())?)
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetTableTypes(query), request.into_inner())?)
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetSqlInfo(query), request.into_inner())?)
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetPrimaryKeys(query), request.into_inner())?)
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetExportedKeys(query), request.into_inner())?)
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetImportedKeys(query), request.into_inner())?)
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(
            Command::CommandGetCrossReference(query),
            request.into_inner(),
        )?)
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(self.metadata_info(Command::CommandGetXdbcTypeInfo(query), request.into_inner())?)
    }

    async fn get_flight_info_substrait_plan(
        &self,
        _query: CommandStatementSubstraitPlan,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Err(unsupported("Substrait"))
    }

    async fn get_flight_info_fallback(
        &self,
        command: Command,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Err(Status::from(Error::BadRequest(format!(
            "unknown command {}",
            command.type_url()
        ))))
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetCatalogs(query))
            .await?)
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetDbSchemas(query))
            .await?)
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self.metadata_get(Command::CommandGetTables(query)).await?)
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetTableTypes(query))
            .await?)
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self.metadata_get(Command::CommandGetSqlInfo(query)).await?)
    }

    async fn do_get_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetPrimaryKeys(query))
            .await?)
    }

    async fn do_get_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetExportedKeys(query))
            .await?)
    }

    async fn do_get_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetImportedKeys(query))
            .await?)
    }

    async fn do_get_cross_reference(
        &self,
        query: CommandGetCrossReference,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetCrossReference(query))
            .await?)
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        Ok(self
            .metadata_get(Command::CommandGetXdbcTypeInfo(query))
            .await?)
    }

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<DoGetStream>, Status> {
        Err(Status::from(Error::BadRequest(format!(
            "unknown ticket {}",
            message.type_url
        ))))
    }

    async fn do_put_statement_update(
        &self,
        _ticket: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only("an update statement"))
    }

    async fn do_put_statement_ingest(
        &self,
        _ticket: CommandStatementIngest,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only("bulk ingestion"))
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only("a prepared update"))
    }

    async fn do_put_substrait_plan(
        &self,
        _query: CommandStatementSubstraitPlan,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only("a Substrait update"))
    }

    async fn do_put_fallback(
        &self,
        _request: Request<PeekableFlightDataStream>,
        message: Any,
    ) -> Result<Response<<Self as FlightService>::DoPutStream>, Status> {
        Err(read_only(&format!("DoPut {}", message.type_url)))
    }

    async fn do_action_create_prepared_substrait_plan(
        &self,
        _query: ActionCreatePreparedSubstraitPlanRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        Err(unsupported("Substrait"))
    }

    async fn do_action_begin_transaction(
        &self,
        _query: ActionBeginTransactionRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<ActionBeginTransactionResult, Status> {
        Err(unsupported("transactions"))
    }

    async fn do_action_end_transaction(
        &self,
        _query: ActionEndTransactionRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        Err(unsupported("transactions"))
    }

    async fn do_action_begin_savepoint(
        &self,
        _query: ActionBeginSavepointRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<ActionBeginSavepointResult, Status> {
        Err(unsupported("savepoints"))
    }

    async fn do_action_end_savepoint(
        &self,
        _query: ActionEndSavepointRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        Err(unsupported("savepoints"))
    }

    async fn do_action_cancel_query(
        &self,
        _query: ActionCancelQueryRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        // Queries are not tracked by ticket; closing the DoGet stream cancels.
        Err(unsupported(
            "CancelQuery (close the DoGet stream to cancel)",
        ))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
