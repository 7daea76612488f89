//! Reading the lake back through DataFusion: a table provider per table at its
//! newest loaded version (for the query catalog), and small conveniences
//! (`scan`, `read_all`, `sql`) for tests, start-up repair and the ingest cycle.
//!
//! [`Lake::table_provider`] reads strings as `Utf8`, never `Utf8View` or
//! dictionaries: the contract types, which the ingest cycle's own SQL and
//! Rust code expect. [`Lake::query_provider`] (the query catalog) reads
//! strings as `Utf8View`: Parquet's dictionary pages then become views into
//! the dictionary instead of a copy of every value, and group-bys on strings
//! hash views; the query engine turns views back into `Utf8` for clients.
//! It also filters rows as Parquet is decoded (DataFusion's
//! `pushdown_filters`, which delta-rs's scan takes from the session): a
//! filter column is decoded first and the other columns only for the rows
//! that pass. One streamer's minute series of a day by login (1.7 million
//! rows, 286 of them that channel's) took 16–19 ms instead of 25; group-bys
//! over the whole day were unchanged (`scripts/query-bench`, 2026-12-06).
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::TableProvider;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{SendableRecordBatchStream, SessionState};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;

use super::{Error, Lake, Result};
use crate::schema::{Layer, Table};

/// The DataFusion settings every lake read uses.
pub(crate) struct ReadSession {
    state: Arc<SessionState>,
    /// The same with view types, for the query catalog.
    query: Arc<SessionState>,
    /// The runtime of every read, with the footer cache they share
    /// (`super::footers`).
    pub(super) runtime: Arc<RuntimeEnv>,
}

impl ReadSession {
    pub(crate) fn new() -> Self {
        let runtime = super::footers::runtime();
        let ctx = SessionContext::new_with_config_rt(session_config(), Arc::clone(&runtime));
        let query = SessionContext::new_with_config_rt(
            session_config()
                .set_bool("datafusion.execution.parquet.schema_force_view_types", true)
                .set_bool("datafusion.execution.parquet.pushdown_filters", true),
            Arc::clone(&runtime),
        );
        Self {
            state: Arc::new(ctx.state()),
            query: Arc::new(query.state()),
            runtime,
        }
    }

    /// A fresh context of the lake's settings on the shared runtime.
    fn context(&self) -> SessionContext {
        SessionContext::new_with_config_rt(session_config(), Arc::clone(&self.runtime))
    }
}

/// A session config that keeps the contract's string types: no view types
/// from Parquet or from SQL casts.
pub fn session_config() -> SessionConfig {
    SessionConfig::new()
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
}

impl Lake {
    /// A DataFusion table provider for `table` at the newest version this
    /// handle has seen (see [`Lake::refresh`]). The provider is pinned to that
    /// version: to follow new commits, refresh and ask again.
    pub async fn table_provider(&self, table: Table) -> Result<Arc<dyn TableProvider>> {
        self.provider(table, &self.inner.read.state).await
    }

    /// [`Lake::table_provider`] for the query catalog: strings read as
    /// `Utf8View` (faster to scan and group by; see the module docs).
    pub async fn query_provider(&self, table: Table) -> Result<Arc<dyn TableProvider>> {
        self.provider(table, &self.inner.read.query).await
    }

    async fn provider(
        &self,
        table: Table,
        session: &Arc<SessionState>,
    ) -> Result<Arc<dyn TableProvider>> {
        let delta = self.slot(table).latest.load_full();
        let provider = delta
            .table_provider()
            .with_session(Arc::clone(session))
            .await
            .map_err(|source| Error::Query {
                op: "table provider",
                table,
                source: Box::new(source),
            })?;
        Ok(super::provider::contract_types(provider))
    }

    /// A fresh SessionContext with every lake table registered as
    /// `<layer>.<table>` (e.g. `silver.stream_sessions`) at its newest loaded
    /// version. For the ingest cycle's SQL and for tests; the Flight catalog
    /// is built by the query module.
    pub async fn session(&self) -> Result<SessionContext> {
        let ctx = self.inner.read.context();
        self.register(&ctx, &Table::ALL).await?;
        Ok(ctx)
    }

    /// Registers `tables` into `ctx` as `<layer>.<table>` of its default catalog.
    pub async fn register(&self, ctx: &SessionContext, tables: &[Table]) -> Result<()> {
        let catalog = ctx.catalog("datafusion").ok_or_else(|| Error::Query {
            op: "register",
            table: tables.first().copied().unwrap_or(Table::HelixResponses),
            source: Box::new(datafusion::error::DataFusionError::Internal(
                "no default catalog".into(),
            )),
        })?;
        for layer in Layer::LAKE {
            if catalog.schema(layer.as_str()).is_none() {
                // Only fails for duplicate names, which the check above rules out.
                let _ =
                    catalog.register_schema(layer.as_str(), Arc::new(MemorySchemaProvider::new()));
            }
        }
        for &table in tables {
            let provider = self.table_provider(table).await?;
            let schema = catalog.schema(table.layer().as_str());
            let registered = schema
                .as_deref()
                .map(|s| s.register_table(table.name().to_string(), provider));
            if let Some(Err(source)) = registered {
                return Err(Error::Query {
                    op: "register",
                    table,
                    source: Box::new(source),
                });
            }
        }
        Ok(())
    }

    /// Rows of `table` matching `filter` (SQL over its columns, e.g.
    /// `cycle_id = 7`), or all rows without a filter, at the newest loaded version.
    pub async fn scan(&self, table: Table, filter: Option<&str>) -> Result<Vec<RecordBatch>> {
        let sql = match filter {
            Some(f) => format!("SELECT * FROM {} WHERE {f}", table.qualified_name()),
            None => format!("SELECT * FROM {}", table.qualified_name()),
        };
        self.query(table, &sql).await
    }

    /// Every row of `table` (tests and small tables only).
    pub async fn read_all(&self, table: Table) -> Result<Vec<RecordBatch>> {
        self.scan(table, None).await
    }

    /// The number of rows of `table` matching `filter` (all without one).
    pub async fn count(&self, table: Table, filter: Option<&str>) -> Result<u64> {
        let sql = format!(
            "SELECT count(*) AS n FROM {}{}",
            table.qualified_name(),
            filter.map(|f| format!(" WHERE {f}")).unwrap_or_default()
        );
        let batches = self.query(table, &sql).await?;
        let n = batches
            .first()
            .filter(|b| b.num_rows() > 0)
            .and_then(|b| {
                b.column(0)
                    .as_primitive_opt::<Int64Type>()
                    .map(|a| a.value(0))
            })
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Runs `sql` (over `table` alone, by its qualified name) and streams
    /// the result batch by batch: for reads too large to collect.
    pub async fn stream(&self, table: Table, sql: &str) -> Result<SendableRecordBatchStream> {
        let err = |source| Error::Query {
            op: "query",
            table,
            source: Box::new(source),
        };
        let ctx = self.inner.read.context();
        self.register(&ctx, &[table]).await?;
        ctx.sql(sql)
            .await
            .map_err(err)?
            .execute_stream()
            .await
            .map_err(err)
    }

    /// Runs `sql` over a context holding only `table` and collects the result.
    async fn query(&self, table: Table, sql: &str) -> Result<Vec<RecordBatch>> {
        self.stream(table, sql)
            .await?
            .try_collect()
            .await
            .map_err(|source| Error::Query {
                op: "query",
                table,
                source: Box::new(source),
            })
    }
}
